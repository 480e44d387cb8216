"""PostgreSQL: audit events sent just before the COMMIT.

An audited write used to append its event in the middle of the use case, and from there to COMMIT the
merchant's audit chain head stayed locked: every other audited writer of the merchant waited while this
one went on with its work and built its response. Here an event is kept on the connection (`add`) and
its statement runs when the transaction commits, right before the COMMIT, straight on the driver's
cursor: same transaction, all or nothing, the head locked only for the statement and the COMMIT — it
stays the last lock a transaction takes.

(Sent in one pipelined round trip with the COMMIT it took longer: psycopg's pipeline mode cost more
than the round trip it saved, on raw psycopg 1.22 vs 1.16 ms for a write with its event.)

Kept straight with the transaction: a rollback drops the events, a rolled-back savepoint drops the
events recorded inside it. Whoever reads the audit log inside the transaction that wrote to it calls
`flush` first (audit.service does). An engine that was not given the hook (`install`) appends at once (`add` says no).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from cloudpos.fastread import execute

_KEY = "audit.pending"  # on the pooled connection's info: list of (append statement, head statement)
_MARKS = "audit.pending.savepoints"
_HOOKED = "_cloudpos_audit_pending"
Statement = tuple[str, dict[str, Any]]  # SQL in psycopg's paramstyle, parameters


def install(engine: Engine) -> None:
    """Send the audit events kept on this PostgreSQL engine's connections when they commit."""
    if engine.dialect.name != "postgresql" or getattr(engine, _HOOKED, False):
        return
    event.listen(engine, "commit", _commit)
    event.listen(engine, "rollback", _drop)
    event.listen(engine, "savepoint", _savepoint)
    event.listen(engine, "rollback_savepoint", _rollback_savepoint)
    event.listen(engine, "release_savepoint", _release_savepoint)
    event.listen(engine, "checkin", _checkin)
    setattr(engine, _HOOKED, True)


def add(db: Session, append: Statement, head: Statement) -> bool:
    """Keep an append statement (it returns a row, none when the chain has no head yet) for the COMMIT;
    `head` creates the chain head, run when the append found none. False when this engine has no hook:
    the caller then appends itself."""
    conn = db.connection()
    if not getattr(conn.engine, _HOOKED, False):
        return False
    conn.info.setdefault(_KEY, []).append((append, head))
    return True


def _send(conn: Connection) -> None:
    pending = conn.info.pop(_KEY, None)
    if not pending:
        return
    for (sql, params), head in pending:
        if not execute(conn, sql, params):  # the merchant's first event: make its chain head, then append
            execute(conn, *head)
            execute(conn, sql, params)


def flush(db: Session) -> None:
    """Send the kept statements now (whoever reads the audit log in the transaction that wrote to it)."""
    conn = db.connection()
    _send(conn)
    marks = conn.info.get(_MARKS)
    if marks:  # what was sent is in the savepoints now: rolling one back takes it back in the database
        conn.info[_MARKS] = [0] * len(marks)


def _commit(conn: Connection) -> None:
    conn.info.pop(_MARKS, None)
    _send(conn)


def _drop(conn: Connection) -> None:
    conn.info.pop(_KEY, None)
    conn.info.pop(_MARKS, None)


def _savepoint(conn: Connection, name: str) -> None:
    conn.info.setdefault(_MARKS, []).append(len(conn.info.get(_KEY, ())))


def _rollback_savepoint(conn: Connection, name: str, context: Any) -> None:
    marks = conn.info.get(_MARKS)
    if marks:
        del conn.info.setdefault(_KEY, [])[marks.pop():]


def _release_savepoint(conn: Connection, name: str, context: Any) -> None:
    marks = conn.info.get(_MARKS)
    if marks:
        marks.pop()


def _checkin(dbapi_conn: Any, record: Any) -> None:
    """A connection handed back without COMMIT (the pool rolls it back): its kept events go with it."""
    record.info.pop(_KEY, None)
    record.info.pop(_MARKS, None)
