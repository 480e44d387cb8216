"""The hottest reads (who is calling, on every API request; the scanner's look-up; what every sale reads) on
PostgreSQL, straight on psycopg's cursor.

Through SQLAlchemy a one-row primary-key read spent more of the server's time in SQLAlchemy than in the
database: the statement's cache key built and hashed on every execution, the compiled-cache look-up, the
result metadata (psycopg describes every column for it). A `Read` is a prebuilt Core select compiled once
per dialect; on PostgreSQL it runs on the driver's cursor (psycopg prepares it after a few executions) and
gives named tuples (attributes and indexes, as SQLAlchemy's rows), timestamps as aware UTC datetimes as
`UTCDateTime` gives them. On other databases (SQLite) it is an ordinary SQLAlchemy execution with the same
results.
"""

from __future__ import annotations

from collections import namedtuple
from datetime import UTC
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select


class Read:
    """A prebuilt select: named bind parameters (no expanding IN) and literal values."""

    def __init__(self, stmt: Select) -> None:
        from cloudpos.db import UTCDateTime

        self.stmt = stmt
        self.keys = tuple(c.key for c in stmt.selected_columns)
        self._make = namedtuple("Row", self.keys, rename=True)._make  # type: ignore[misc]
        self._utc = tuple(i for i, c in enumerate(stmt.selected_columns) if isinstance(c.type, UTCDateTime))
        self._pg: tuple[str, dict[str, Any]] | None = None

    def _compiled(self, conn: Connection) -> tuple[str, dict[str, Any]]:
        """The SQL in psycopg's paramstyle, and the statement's own values (literals become parameters)."""
        if self._pg is None:
            compiled = self.stmt.compile(dialect=conn.dialect)
            assert compiled.positiontup is None, "named parameters only"
            own = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
            self._pg = (str(compiled), own)
        return self._pg

    def all(self, conn: Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        if conn.dialect.name != "postgresql":
            return [self._make(r) for r in conn.execute(self.stmt, params)]
        sql, own = self._compiled(conn)
        cur: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cur.execute(sql, {**own, **params} if own else params)
            rows = cur.fetchall()
        finally:
            cur.close()
        return [self._make(self._in_utc(r) if self._utc else r) for r in rows]

    def first(self, conn: Connection, params: dict[str, Any]) -> tuple[Any, ...] | None:
        rows = self.all(conn, params)
        return rows[0] if rows else None

    def mapping(self, row: tuple[Any, ...]) -> dict[str, Any]:
        return dict(zip(self.keys, row, strict=True))

    def _in_utc(self, row: tuple[Any, ...]) -> list[Any]:
        values = list(row)
        for i in self._utc:
            if values[i] is not None:
                values[i] = values[i].astimezone(UTC)
        return values
