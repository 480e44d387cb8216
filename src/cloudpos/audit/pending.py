"""PostgreSQL: audit events sent with the COMMIT.

An audited write used to append its event as a round trip of its own in the middle of the use case,
and from there to COMMIT the tenant's audit chain head stayed locked (every other writer of the
merchant waited on it while this one built its response). Here an event is kept on the connection
(`add`) and, when the transaction commits, the statements go out together with the COMMIT in one
pipelined round trip (psycopg pipeline mode): same transaction, all or nothing, and the head is
locked for as long as the COMMIT takes — it stays the last lock a transaction takes.

Kept straight with the transaction: a rollback drops the events, a rolled-back savepoint drops the
events recorded inside it. Whoever reads the audit log inside the transaction that wrote to it calls
`flush` first. An engine that was not given the hook (`install`) appends synchronously (`add` says no).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

_KEY = "audit.pending"  # on the pooled connection's info: list of (sql, params)
_MARKS = "audit.pending.savepoints"
_ENSURED = "audit.pending.heads"
_HOOKED = "_cloudpos_audit_pending"


def install(engine: Engine) -> None:
    """Send the audit events kept on this PostgreSQL engine's connections with their COMMIT."""
    if engine.dialect.name != "postgresql" or getattr(engine, _HOOKED, False):
        return
    event.listen(engine, "commit", _commit)
    event.listen(engine, "rollback", _drop)
    event.listen(engine, "savepoint", _savepoint)
    event.listen(engine, "rollback_savepoint", _rollback_savepoint)
    event.listen(engine, "release_savepoint", _release_savepoint)
    event.listen(engine, "checkin", _checkin)
    setattr(engine, _HOOKED, True)


def add(db: Session, sql: str, params: dict[str, Any], head: tuple[str, dict[str, Any]] | None = None) -> bool:
    """Keep one statement (`sql` in psycopg's paramstyle) for the COMMIT; `head`, a statement that makes sure
    the chain head exists, goes before it once per transaction. False when this engine has no hook: the
    caller then sends the statement itself."""
    conn = db.connection()
    if not getattr(conn.engine, _HOOKED, False):
        return False
    info = conn.info
    pending = info.setdefault(_KEY, [])
    if head is not None:
        ensured = info.setdefault(_ENSURED, set())
        key = (head[1].get("h_tenant"), head[1].get("h_chain"))
        if key not in ensured:
            ensured.add(key)
            pending.append(head)
    pending.append((sql, params))
    return True


def flush(db: Session) -> None:
    """Send the kept statements now (whoever reads the audit log in the transaction that wrote to it)."""
    conn = db.connection()
    pending = conn.info.pop(_KEY, None)
    if pending:
        cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for sql, params in pending:
                cur.execute(sql, params)
        finally:
            cur.close()
        marks = conn.info.get(_MARKS)
        if marks:  # what was sent is in the savepoints now: rolling one back takes it back in the database
            conn.info[_MARKS] = [0] * len(marks)


def _commit(conn: Connection) -> None:
    pending = conn.info.pop(_KEY, None)
    _forget(conn)
    if not pending:
        return
    raw: Any = conn.connection.dbapi_connection
    try:
        with raw.pipeline():
            cur = raw.cursor()
            for sql, params in pending:
                cur.execute(sql, params)
            raw.commit()  # SQLAlchemy's own commit then finds nothing left to commit
    except conn.dialect.loaded_dbapi.Error as exc:  # as any statement's error: a DBAPIError with .orig
        raise DBAPIError.instance(None, None, exc, conn.dialect.loaded_dbapi.Error) from exc


def _forget(conn: Connection) -> None:
    conn.info.pop(_MARKS, None)
    conn.info.pop(_ENSURED, None)


def _drop(conn: Connection) -> None:
    conn.info.pop(_KEY, None)
    _forget(conn)


def _savepoint(conn: Connection, name: str) -> None:
    conn.info.setdefault(_MARKS, []).append(len(conn.info.get(_KEY, ())))


def _rollback_savepoint(conn: Connection, name: str, context: Any) -> None:
    marks = conn.info.get(_MARKS)
    if marks:
        del conn.info.setdefault(_KEY, [])[marks.pop():]
        conn.info.pop(_ENSURED, None)  # a head statement may have gone with them: send it again if needed


def _release_savepoint(conn: Connection, name: str, context: Any) -> None:
    marks = conn.info.get(_MARKS)
    if marks:
        marks.pop()


def _checkin(dbapi_conn: Any, record: Any) -> None:
    """A connection handed back without COMMIT (the pool rolls it back): its kept events go with it."""
    record.info.pop(_KEY, None)
    record.info.pop(_MARKS, None)
    record.info.pop(_ENSURED, None)
