"""Engine, sessions (one unit of work per use case) and tenant scoping.

Tenant scoping lives here, in one place: a Session whose `info["tenant_id"]` is set
adds `tenant_id = :tenant` to every SELECT of a tenant-owned model (TenantMixin), so a
query cannot see another tenant's rows even if a service forgets a filter.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, DateTime, MetaData, Uuid, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.types import TypeDecorator

from cloudpos.audit import pending as audit_pending
from cloudpos.ids import uuid7

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timestamps are stored in UTC and always come back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {uuid.UUID: Uuid(), datetime: UTCDateTime(), dict[str, Any]: JSON()}


class TenantMixin:
    """A tenant-owned row: `tenant_id` leads the primary key (Citus-ready), then a time-ordered id."""

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid7)


# --- engine -----------------------------------------------------------------------------------

def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


# Which BEGIN a SQLite transaction takes. Writers take the lock up front (BEGIN IMMEDIATE): no deadlock
# when two readers both try to upgrade, which also keeps per-tenant sequence numbers (audit chain, receipts)
# gap-free. A request that only reads (GET, HEAD, a price quote) says so with `reads_only()` and gets a
# deferred BEGIN: in WAL mode it reads its snapshot without waiting, even while a 100k-row import holds
# the write lock for seconds. A use case (`use_case`) always writes with the lock taken up front.
_reads_only: ContextVar[bool] = ContextVar("sqlite_reads_only", default=False)
DEFERRED = "cloudpos.sqlite_deferred"


def reads_only(flag: bool = True) -> None:
    """This request (this context) only reads: its SQLite transactions begin deferred."""
    _reads_only.set(flag)


def _sqlite_begin(conn: Any) -> None:
    deferred = _reads_only.get()
    conn.info[DEFERRED] = deferred
    conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def _end_deferred_read(db: Session) -> None:
    """Before a use case writes: a deferred (read) SQLite transaction still open on this session ends here,
    so the use case begins its own with the write lock (a read snapshot cannot be upgraded once another
    writer has committed)."""
    if db.in_transaction() and db.connection().info.get(DEFERRED):
        db.commit()


def make_engine(url: str, **kw: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kw)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if "poolclass" not in kw:
        kw.setdefault("pool_size", 10)
        kw.setdefault("max_overflow", 20)
    engine = create_engine(url, **kw)
    if kw.get("pool_pre_ping") is None:
        event.listen(engine, "checkin", _mark_idle)
        event.listen(engine, "checkout", _ping_if_idle)
    audit_pending.install(engine)  # audit events go out with the COMMIT
    return engine


def make_auth_engine(url: str) -> Engine:
    """A small engine for the one read every API request starts with (who is calling), run on the event loop
    before the request takes a worker thread (web/deps.py), and for the few endpoints that answer on the loop
    with a read or two of their own (the scanner's look-up, GET /me; read-only: SQLite's connections here
    are query_only). Autocommit: no BEGIN, no ROLLBACK, no lock held
    past the statement; on SQLite (WAL) a reader never waits for a writer. The loop runs one such read at a
    time and hands the connection back before it awaits anything, so its own pool never runs dry."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 5},
                               isolation_level="AUTOCOMMIT", pool_size=2, max_overflow=8)

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            dbapi_conn.execute("PRAGMA query_only=ON")

        return engine
    engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=2, max_overflow=8, pool_timeout=5,
                           pool_reset_on_return=None)
    event.listen(engine, "checkin", _mark_idle)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


PING_AFTER_IDLE_S = 10.0


def _mark_idle(dbapi_conn: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_conn: Any, record: Any, proxy: Any) -> None:
    """SQLAlchemy's pool_pre_ping costs a round trip on every check-out, i.e. on every request. A connection
    handed back less than PING_AFTER_IDLE_S ago is alive (a server restart in between fails that one
    request, as it would mid-request anyway); an older one is pinged and, if dead, replaced."""
    since = record.info.get("idle_since")
    if since is not None and time.monotonic() - since < PING_AFTER_IDLE_S:
        return
    if not _answers(dbapi_conn):
        raise DisconnectionError()


def _answers(dbapi_conn: Any) -> bool:
    """The server answers `SELECT 1` on this driver connection (left as it was: no transaction open)."""
    try:
        cur = dbapi_conn.cursor()
        cur.execute("SELECT 1")
        cur.close()
        dbapi_conn.rollback()
    except Exception:  # noqa: BLE001 - any failure means: drop this connection, take a fresh one
        return False
    return True


class LoopConnection:
    """The event loop's own connection of the auth engine, kept checked out: `with loop.connect() as conn:`.

    The reads the loop answers itself (who is calling, a scan, GET /me) run one at a time and never await
    while they hold a connection, so a pool check-out and check-in per request (about 30 µs, a sixth of a
    scan's Python) buys nothing. While it is in use (a read inside another, or another thread such as a test
    client's), the pool answers as before. A connection found broken is dropped (`read` runs the read again
    on a fresh one); one idle for PING_AFTER_IDLE_S is pinged first, as the pool's check-out does. PostgreSQL
    only: on SQLite the pool serves every read, as before."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.keeps = engine.dialect.name == "postgresql"
        self._conn: Any = None
        self._used = 0.0
        self._lock = threading.Lock()

    def connect(self) -> _Lease:
        return _Lease(self)

    def read(self, fn: Callable[[Any], T]) -> T:
        """`fn(conn)`, reads only. When it failed because its connection had broken (the server restarted or
        dropped it), it runs once more on a fresh one: a read is safe to repeat, and the till need not see the
        error. Any other error is raised as it is."""
        lease = self.connect()
        try:
            with lease as conn:
                return fn(conn)
        except Exception:
            if not lease.broke:  # set for a database error on a broken connection only
                raise
        with self.connect() as conn:
            return fn(conn)

    def _take(self) -> Any:
        conn = self._conn
        if conn is not None and (conn.closed or conn.invalidated):
            self.drop()
            conn = None
        if (conn is not None and time.monotonic() - self._used >= PING_AFTER_IDLE_S
                and not _answers(conn.connection.dbapi_connection)):
            self.drop()
            conn = None
        if conn is None:
            conn = self._conn = self.engine.connect()
        return conn

    def drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(Exception):  # it is being thrown away
                conn.invalidate()  # the driver's connection is closed, not handed back to the pool


class _Lease:
    __slots__ = ("loop", "conn", "held", "broke")

    def __init__(self, loop: LoopConnection) -> None:
        self.loop, self.conn, self.held, self.broke = loop, None, False, False

    def __enter__(self) -> Any:
        loop = self.loop
        if loop.keeps and loop._lock.acquire(blocking=False):
            try:
                self.conn = loop._take()
            except BaseException:
                loop._lock.release()
                raise
            self.held = True
        else:
            self.conn = loop.engine.connect()
        return self.conn

    def __exit__(self, exc_type: Any, exc: Any, _tb: Any) -> None:
        loop = self.loop
        self.broke = (exc is not None and isinstance(exc, (DBAPIError, loop.engine.dialect.loaded_dbapi.Error))
                      and _broken(self.conn))
        if not self.held:
            if self.broke:  # not back into the pool (the reads here bypass SQLAlchemy's own invalidation)
                with suppress(Exception):
                    self.conn.invalidate()
            self.conn.close()
            return
        try:
            if self.broke:
                loop.drop()
            else:
                loop._used = time.monotonic()
        finally:
            loop._lock.release()


def _broken(conn: Any) -> bool:
    """The driver's connection is closed or broken (not merely a statement that failed on it)."""
    try:
        dbapi = conn.connection.dbapi_connection
    except Exception:  # noqa: BLE001 - SQLAlchemy refuses an invalidated connection: broken
        return True
    return dbapi is None or bool(getattr(dbapi, "broken", False) or getattr(dbapi, "closed", False))


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: Any) -> None:
    tenant_id = state.session.info.get("tenant_id")
    if tenant_id is None or not state.is_select or state.execution_options.get("all_tenants"):
        return
    state.statement = state.statement.options(
        with_loader_criteria(TenantMixin, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    )


@contextmanager
def unit_of_work(factory: sessionmaker[Session], tenant_id: uuid.UUID | None = None) -> Iterator[Session]:
    """One transaction: commits on success, rolls back on any exception."""
    session = factory()
    if tenant_id is not None:
        session.info["tenant_id"] = tenant_id
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


T = TypeVar("T")

RETRYABLE_PG = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def is_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked": the write lock stayed taken past the busy timeout."""
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        code = getattr(getattr(exc, "orig", None), "sqlstate", None)
        if code in RETRYABLE_PG:
            return True
        if is_busy(exc):
            return True
    return False


def retrying(fn: Callable[[], T], attempts: int = 5) -> T:
    """Run `fn` (a whole transaction) again on serialization failures and deadlocks, a bounded number of times."""
    for attempt in range(attempts):
        try:
            return fn()
        except DBAPIError as exc:
            if attempt == attempts - 1 or not is_retryable(exc):
                raise
            time.sleep(0.005 * (2**attempt))
    raise AssertionError("unreachable")


P = TypeVar("P")


def use_case(fn: Callable[..., T]) -> Callable[..., T]:
    """A service use case is one transaction on the session it is given (its first argument):
    commit on success, roll back on any error, run again on a PostgreSQL serialization failure
    or deadlock (a bounded number of times)."""
    import functools

    @functools.wraps(fn)
    def wrapper(db: Session, *args: Any, **kwargs: Any) -> T:
        def attempt() -> T:
            try:
                result = fn(db, *args, **kwargs)
                db.commit()
                return result
            except BaseException:
                db.rollback()
                raise

        intent = _reads_only.set(False)  # nested use cases and retries too: writers lock up front
        try:
            _end_deferred_read(db)
            return retrying(attempt)
        finally:
            _reads_only.reset(intent)

    return wrapper
