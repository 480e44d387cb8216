"""The hottest reads (who is calling, on every API request; the scanner's look-up; what every sale reads) and
a sale's own writes on PostgreSQL, straight on psycopg's cursor.

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
from collections.abc import Callable
from datetime import UTC
from typing import Any

from sqlalchemy import BindParameter, bindparam
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable, Select


def execute(conn: Connection, sql: str, values: dict[str, Any], rows: bool = False) -> list[tuple[Any, ...]]:
    """`sql` (psycopg's paramstyle) on the driver's cursor of `conn`, in its transaction: the rows it returns
    ([] for none; `rows`: it is a select, whose rows are fetched without asking for its description, which
    psycopg builds column by column). A driver error is raised as SQLAlchemy raises it (IntegrityError,
    OperationalError, … with `.orig`), so callers and `db.retrying` see the same exceptions as through
    SQLAlchemy."""
    cur: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql, values)
        return cur.fetchall() if rows or cur.description is not None else []
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, values, exc, conn.dialect.loaded_dbapi.Error) from exc
    finally:
        cur.close()


class _Prebuilt:
    """A statement compiled once for PostgreSQL: its SQL in psycopg's paramstyle, the values it carries itself
    (literals become parameters) and SQLAlchemy's bind processors (JSON, TypeDecorators), applied to every
    value as an execution through SQLAlchemy would."""

    def __init__(self, stmt: Executable, column_keys: list[str] | None = None) -> None:
        self.stmt, self._column_keys = stmt, column_keys
        self._pg: tuple[str, dict[str, Any], dict[str, Any]] | None = None

    def _values(self, conn: Connection, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if self._pg is None:
            compiled = self.stmt.compile(dialect=conn.dialect, column_keys=self._column_keys)
            assert compiled.positiontup is None, "named parameters only"
            assert not (compiled.insert_prefetch or compiled.update_prefetch), "give every defaulted column"
            procs = dict(compiled._bind_processors)
            own = {name: bind.value for bind, name in compiled.bind_names.items() if not bind.required}
            self._pg = (str(compiled), {k: procs[k](v) if k in procs else v for k, v in own.items()}, procs)
        sql, own, procs = self._pg
        if procs:
            params = {k: procs[k](v) if k in procs and v is not None else v for k, v in params.items()}
        return sql, ({**own, **params} if own else params)


class Read(_Prebuilt):
    """A prebuilt select: named bind parameters (no expanding IN) and literal values."""

    def __init__(self, stmt: Select) -> None:
        from cloudpos.db import UTCDateTime

        super().__init__(stmt)
        self.keys = tuple(c.key for c in stmt.selected_columns)
        self._make = namedtuple("Row", self.keys, rename=True)._make  # type: ignore[misc]
        self._utc = tuple(i for i, c in enumerate(stmt.selected_columns) if isinstance(c.type, UTCDateTime))

    def all(self, conn: Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        if conn.dialect.name != "postgresql":
            return [self._make(r) for r in conn.execute(self.stmt, params)]
        sql, values = self._values(conn, params)
        return [self._make(self._in_utc(r) if self._utc else r) for r in execute(conn, sql, values, rows=True)]

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


class Statement(_Prebuilt):
    """A prebuilt INSERT / UPDATE / text statement, run as a `Read` is; elsewhere than PostgreSQL an ordinary
    SQLAlchemy execution. `column_keys`: for an INSERT whose values come with each execution, its columns.
    Returns the RETURNING rows (plain tuples), [] without RETURNING."""

    def run(self, conn: Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        if conn.dialect.name != "postgresql":
            result = conn.execute(self.stmt, params)
            return [tuple(r) for r in result] if result.returns_rows else []
        return execute(conn, *self._values(conn, params))


class ReadsByCount:
    """One select over n values (`column IN (:<prefix>0, …, :<prefix>n-1)`, built by `build` from the n bind
    parameters), prebuilt as a `Read` per n: the SQL an expanding IN renders, so the database's prepared plans
    are the same, without SQLAlchemy's per-execution work."""

    def __init__(self, prefix: str, type_: Any, build: Callable[[list[BindParameter[Any]]], Select]) -> None:
        self._prefix, self._type, self._build = prefix, type_, build
        self._reads: dict[int, Read] = {}

    def read(self, n: int) -> Read:
        read = self._reads.get(n)
        if read is None:
            binds = [bindparam(f"{self._prefix}{i}", type_=self._type) for i in range(n)]
            read = self._reads[n] = Read(self._build(binds))
        return read

    def params(self, values: list[Any]) -> dict[str, Any]:
        return {f"{self._prefix}{i}": v for i, v in enumerate(values)}
