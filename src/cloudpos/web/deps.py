"""Request dependencies: the database session and the permission check every route declares.

Every route depends on exactly one of `public()`, `authenticated()` or `requires("code")`;
`tests/api/test_permission_matrix.py` walks the routes and fails on any that does not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from cloudpos.auth import service as auth
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


def _actor(request: Request, db: Session) -> Actor:
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    token, how = _token(request)
    if not token:
        raise Unauthorized()
    actor = auth.authenticate(db, token, ip=client_ip(request), request_id=getattr(request.state, "request_id", ""))
    request.state.actor = actor
    request.state.auth_via = how
    return actor


def _mark(dep: Callable, permission: str) -> Callable:
    dep.permission = permission  # type: ignore[attr-defined]
    return dep


def public() -> Callable:
    def dep() -> None:
        return None

    return _mark(dep, "public")


def authenticated() -> Callable:
    def dep(request: Request, db: Session = Depends(get_db)) -> Actor:
        return _actor(request, db)

    return _mark(dep, "authenticated")


def requires(permission: str) -> Callable:
    """The caller must be logged in and hold `permission`; a refusal is audited as denied."""

    def dep(request: Request, db: Session = Depends(get_db)) -> Actor:
        actor = _actor(request, db)
        if not actor.can(permission):
            auth.record_denied(db, actor, permission, f"{request.method} {request.url.path}")
            raise Forbidden(params={"permission": permission}, extra={"permission": permission})
        return actor

    return _mark(dep, permission)


def optional_actor(request: Request, db: Session) -> Actor | None:
    try:
        return _actor(request, db)
    except Unauthorized:
        return None
