"""Request dependencies: the database session and the permission check every route declares.

Every route depends on exactly one of `public()`, `authenticated()` or `requires("code")`;
`tests/api/test_permission_matrix.py` walks the routes and fails on any that does not.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cloudpos.auth import service as auth
from cloudpos.auth.passwords import token_hash
from cloudpos.context import Actor
from cloudpos.errors import Forbidden, Unauthorized

SESSION_COOKIE = "cloudpos_session"
LANG_COOKIE = "cloudpos_lang"


async def get_db(request: Request) -> AsyncIterator[Session]:
    """The request's session. An async dependency on purpose: a sync generator would cost two
    thread-pool hops per request (enter and exit); making a session does no I/O until it is used."""
    session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _token(request: Request) -> tuple[str | None, str]:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer " and header[7:].strip():
        return header[7:].strip(), "bearer"
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, "cookie") if cookie else (None, "")


def _caller_token(request: Request) -> tuple[str, str]:
    token, how = _token(request)
    if not token:
        raise Unauthorized()
    return token, how


def _remember(request: Request, actor: Actor, how: str) -> Actor:
    request.state.actor = actor
    request.state.auth_via = how
    return actor


def _actor(request: Request, db: Session) -> Actor:
    """For pages that run in a worker thread anyway (`optional_actor`): the read on the request's session."""
    if (cached := getattr(request.state, "actor", None)) is not None:
        return cached
    token, how = _caller_token(request)
    actor = auth.authenticate(db, token, ip=client_ip(request), request_id=getattr(request.state, "request_id", ""))
    return _remember(request, actor, how)


Prefetch = Callable[[Request, "uuid.UUID | None"], "tuple[Any, dict[str, Any]] | None"]

# The tenant each token checked out for (by the token's hash), so that a prefetch can be shaped for the
# caller's tenant before the caller is read (e.g. the tenant's scale-label rules, cached per process). Only
# a hint: the prefetched read always runs for the tenant of the session it is read with.
_TENANT_OF: dict[str, uuid.UUID] = {}
_TENANT_HINTS_MAX = 50_000


class OnDemand:
    """A connection of the autocommit auth engine for a loop endpoint, opened only if it is asked for
    (`connection()`, as a Session would be): a scan answered by what was read with its caller needs none."""

    def __init__(self, request: Request) -> None:
        self._loop, self._lease, self._conn = request.app.state.loop_db, None, None

    def connection(self) -> Any:
        if self._conn is None:
            self._lease = self._loop.connect()
            self._conn = self._lease.__enter__()
        return self._conn

    def __enter__(self) -> OnDemand:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._lease is not None:
            self._lease.__exit__(*exc)


async def _actor_on_loop(request: Request, db: Session | None, prefetch: Prefetch | None = None) -> Actor:
    """Who is calling, read on the event loop through the autocommit auth engine (db.make_auth_engine, its
    connection kept for the loop: db.LoopConnection): one indexed read of about a tenth of a millisecond,
    cheaper than handing the request to a worker thread and back, which the endpoint does next anyway. The
    rare writes (refreshing last-seen once a minute) go to a worker thread, on the request's own session
    (`db`) or, for an endpoint that has none, one of their own.
    What was read stays on `request.state.session_row`; `db`, if given, is scoped to the caller's tenant.
    `prefetch(request)` may name a read (cloudpos.fastread, tenant `tid`) the endpoint will want, with its
    parameters: it is read with the caller, in one statement on PostgreSQL, and left on
    `request.state.prefetched` as (its parameters, its row or None) — only once the caller checked out."""
    if (cached := getattr(request.state, "actor", None)) is not None:
        return cached
    token, how = _caller_token(request)
    hashed = token_hash(token) if prefetch is not None else ""
    wanted = prefetch(request, _TENANT_OF.get(hashed)) if prefetch is not None else None

    def caller(conn: Any) -> tuple[Any, Any]:  # a read: run again on a fresh connection if this one broke
        if wanted is None:
            return auth.read_session(conn, token), None
        return auth.read_session_and(conn, hashed, *wanted)

    row, extra = request.app.state.loop_db.read(caller)
    actor = auth.check_session(row, ip=client_ip(request), request_id=getattr(request.state, "request_id", ""))
    request.state.session_row = row
    if wanted is not None:
        request.state.prefetched = (wanted[1], extra)
    if hashed and _TENANT_OF.get(hashed) != actor.tenant_id:
        if len(_TENANT_OF) >= _TENANT_HINTS_MAX:
            _TENANT_OF.clear()
        _TENANT_OF[hashed] = actor.tenant_id
    if db is not None:
        auth.bind_session(db, row)
    if auth.needs_touch(row):
        await _write(request, db, auth.touch_session, row)
    return _remember(request, actor, how)


async def _write(request: Request, db: Session | None, fn: Callable, *args: Any) -> None:
    """`fn(session, *args)` in a worker thread, on `db` or on a session of its own."""
    if db is not None:
        await run_in_threadpool(fn, db, *args)
        return

    def own() -> None:
        with request.app.state.sessionmaker() as session:
            fn(session, *args)

    await run_in_threadpool(own)


def _mark(dep: Callable, permission: str) -> Callable:
    dep.permission = permission  # type: ignore[attr-defined]
    return dep


def public() -> Callable:
    async def dep() -> None:
        return None

    return _mark(dep, "public")


def authenticated(loop_only: bool = False) -> Callable:
    """The caller must be logged in. `loop_only`: for an endpoint that answers on the event loop and takes no
    session of its own (no `get_db`: a session made and closed per request for nothing)."""
    if loop_only:
        async def on_loop(request: Request) -> Actor:
            return await _actor_on_loop(request, None)

        return _mark(on_loop, "authenticated")

    async def dep(request: Request, db: Session = Depends(get_db)) -> Actor:
        return await _actor_on_loop(request, db)

    return _mark(dep, "authenticated")


def requires(permission: str, loop_only: bool = False, prefetch: Prefetch | None = None) -> Callable:
    """The caller must be logged in and hold `permission`; a refusal is audited as denied. `loop_only`: as
    for `authenticated`; `prefetch`: see `_actor_on_loop` (loop_only endpoints)."""

    async def check(request: Request, db: Session | None) -> Actor:
        actor = await _actor_on_loop(request, db, prefetch)
        if not actor.can(permission):
            await _write(request, db, auth.record_denied, actor, permission, f"{request.method} {request.url.path}")
            raise Forbidden(params={"permission": permission}, extra={"permission": permission})
        return actor

    if loop_only:
        async def on_loop(request: Request) -> Actor:
            return await check(request, None)

        return _mark(on_loop, permission)

    async def dep(request: Request, db: Session = Depends(get_db)) -> Actor:
        return await check(request, db)

    return _mark(dep, permission)


def optional_actor(request: Request, db: Session) -> Actor | None:
    try:
        return _actor(request, db)
    except Unauthorized:
        return None
