"""The FastAPI application factory: routers, middleware and error handlers."""

from __future__ import annotations

import contextlib
import importlib
import itertools
import time
import uuid
from types import ModuleType

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudpos import __version__
from cloudpos.config import Settings, get_settings
from cloudpos.db import LoopConnection, is_busy, make_auth_engine, make_engine, make_sessionmaker, reads_only
from cloudpos.errors import FieldError, Forbidden, Invalid, NotFound, Problem, TooLarge, Unauthorized
from cloudpos.i18n import DEFAULT_LOCALE, current_locale, negotiate, normalize_locale
from cloudpos.web.deps import LANG_COOKIE, SESSION_COOKIE
from cloudpos.web.problems import PROBLEM_JSON, problem_body, problem_response, validation_problem
from cloudpos.web.routing import index_by_first_segment

log = structlog.get_logger("cloudpos")

# Modules with HTTP routes: each has `api.py` (JSON under /api/v1) and may have `views.py` (HTML).
MODULES = [
    "ops", "tenancy", "auth", "audit", "approvals", "web", "catalog", "inventory", "printing", "members", "payments",
    "pricing", "sales",
]
TILL_FIRST = ("sales", "pricing", "catalog", "auth")  # auth: a PIN switch at the till, GET /me


class BodyLimit:
    """Refuse bodies over the limit with 413 before they are read into memory."""

    def __init__(self, app: ASGIApp, max_body: int, max_upload: int) -> None:
        self.app, self.max_body, self.max_upload = app, max_body, max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["method"] in ("GET", "HEAD"):  # no route reads a GET's body: a scan or a page load goes
            return await self.app(scope, receive, send)  # straight through, without the wrappers below
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").decode("latin-1")
        limit = self.max_upload if ctype.startswith("multipart/") else self.max_body
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return await self._too_large(scope, receive, send, limit)
        seen, too_large = 0, False

        async def counting_receive() -> Message:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    too_large = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            # FastAPI turns an error while reading the body into its own 400: once the limit is
            # passed, whatever the app answers is dropped and the 413 below is sent instead.
            if not too_large:
                await send(message)

        with contextlib.suppress(_BodyTooLarge):
            await self.app(scope, counting_receive, guarded_send)
        if too_large:
            await self._too_large(scope, receive, send, limit)

    @staticmethod
    async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        p = TooLarge("The request body is too large (limit %(limit)s bytes).", params={"limit": limit})
        body = problem_body(p, DEFAULT_LOCALE)
        await JSONResponse(body, status_code=413, media_type=PROBLEM_JSON)(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


class RequestContext:
    """Request id, locale and the security headers; refuses cross-site cookie writes and NUL bytes in the
    query. A plain ASGI middleware: `@app.middleware("http")` (BaseHTTPMiddleware) runs every request in an
    extra task with streams in between, about a millisecond of CPU per request on this machine."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request = Request(scope)
        request_id = request.headers.get("x-request-id", "")[:64] or _next_request_id()
        request.state.request_id = request_id
        lang = _lang_asked(request)
        locale = _resolve_locale(request, lang)
        request.state.locale = locale
        set_lang = bool(lang and normalize_locale(lang))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                raw = headers.raw  # the response's own list: appended to in place, one pass for what it has
                present = {k for k, _ in raw}
                raw.append((b"server-timing", f"app;dur={(time.perf_counter() - started) * 1000:.2f}".encode()))
                if b"x-request-id" not in present:
                    raw.append((b"x-request-id", request_id.encode("latin-1")))
                raw.extend(h for h in _SECURITY_HEADERS if h[0] not in present)
                if set_lang:
                    cookie = Response()
                    cookie.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax")
                    headers.append("set-cookie", cookie.headers["set-cookie"])
            await send(message)

        reads_only(request.method in ("GET", "HEAD"))  # SQLite: deferred BEGIN, never waits for a writer (db.py)
        token = current_locale.set(locale)
        try:
            refusal = None
            if request.method not in ("GET", "HEAD", "OPTIONS") and _cross_site_cookie_post(request):
                refusal = Forbidden("Cross-site request refused.", code="csrf")
            elif _nul_in_query(request):  # PostgreSQL text cannot hold NUL: refuse it here, not with a 500 later
                refusal = Invalid(errors=[FieldError("query", "Invalid value.", {}, "nul_byte")])
            if refusal is not None:
                await problem_response(refusal, request)(scope, receive, send_with_headers)
                return
            await self.app(scope, receive, send_with_headers)
        finally:
            current_locale.reset(token)


_SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                     (b"referrer-policy", b"same-origin"))
# Request ids: a random prefix per process and a counter (unique across processes, no system call per request).
_ID_PREFIX = uuid.uuid4().hex[:16]
_ID_COUNTER = itertools.count(1)


def _next_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


def _wants_html(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path in ("/healthz", "/openapi.json"))


def _html_page_request(request: Request) -> bool:
    """A page load, or an HTML form posted from one of our pages: errors render as a page, not JSON."""
    if not _wants_html(request):
        return False
    ctype = request.headers.get("content-type", "")
    return request.method == "GET" or ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def _lang_asked(request: Request) -> str | None:
    """`?lang=` if the query has it. The query is parsed again, on the route's own request object: parsed here
    only when it can hold `lang` (a scan's `?code=` need not be parsed twice)."""
    return request.query_params.get("lang") if b"lang=" in request.scope.get("query_string", b"") else None


def _resolve_locale(request: Request, lang: str | None) -> str:
    return (normalize_locale(lang)
            or normalize_locale(request.cookies.get(LANG_COOKIE))
            or negotiate(request.headers.get("accept-language"))
            or DEFAULT_LOCALE)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.db_url)
    otel = None if settings.opentelemetry else {"tracing": False, "metrics": False, "logs": False}
    app = FastAPI(title="cloudpos API", version=__version__, docs_url="/docs", redoc_url=None,
                  openapi_url="/openapi.json", telemetry=otel,
                  description="Multi-tenant cloud POS. Money is integer fen; errors are application/problem+json.")
    app.state.settings = settings
    app.state.engine = engine
    app.state.auth_engine = make_auth_engine(settings.db_url)
    app.state.loop_db = LoopConnection(app.state.auth_engine)
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.secret = settings.resolved_secret()

    app.add_middleware(RequestContext)
    app.add_middleware(BodyLimit, max_body=settings.max_body_bytes, max_upload=settings.max_upload_bytes)
    _install_error_handlers(app)
    apis, pages = {}, []
    for name in MODULES:  # imported in this order (modules register their menu entries on import)
        apis[name] = importlib.import_module(f"cloudpos.{name}.api")
        if (views := optional_module(f"cloudpos.{name}.views")) is not None:
            pages.append(views)
    # FastAPI tries the routes one by one, in the order routers were included: the till's modules go first,
    # so a scan, a quote or a sale is not matched against some 300 back-office routes (about 1 ms each time).
    # Paths of different modules never overlap, so the order decides nothing else.
    for name in sorted(MODULES, key=lambda n: n not in TILL_FIRST):
        app.include_router(apis[name].router, prefix="/api/v1" if name != "ops" else "")
    for views in pages:
        app.include_router(views.router, include_in_schema=False)
    index_by_first_segment(app)
    static_dir = settings_static_dir()
    app.mount("/static", StaticFiles(directory=static_dir), name="static")
    return app


def optional_module(dotted: str) -> ModuleType | None:
    """The module, or None when it does not exist (a module without pages has no `views`); an import error
    inside it is raised."""
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError as exc:
        if exc.name != dotted:
            raise
        return None


def settings_static_dir() -> str:
    from cloudpos.i18n import PACKAGE_DIR

    return str(PACKAGE_DIR / "web" / "static")


def _nul_in_query(request: Request) -> bool:
    qs = request.scope.get("query_string") or b""
    return b"%00" in qs or b"\x00" in qs


def _cross_site_cookie_post(request: Request) -> bool:
    """Cookie-authenticated writes must come from our own pages (SameSite=Lax plus an Origin check)."""
    if SESSION_COOKIE not in request.cookies or request.headers.get("authorization"):
        return False
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return False
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1].split("/", 1)[0] != host


def _install_error_handlers(app: FastAPI) -> None:
    from cloudpos.web.templating import render

    def html_error(request: Request, p: Problem) -> Response:
        if isinstance(p, Unauthorized):
            nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            if request.method != "GET":  # a form posted after the session ended: back to the page it came from
                from urllib.parse import urlsplit

                ref = urlsplit(request.headers.get("referer", ""))
                nxt = ref.path if ref.netloc == request.headers.get("host", "") and ref.path.startswith("/") else "/"
            return RedirectResponse(f"/login?next={nxt}", status_code=303)
        from cloudpos.i18n import gettext

        locale = request.state.locale
        detail = gettext(p.detail, locale, **p.params) if p.params else gettext(p.detail, locale)
        return render(request, "web/error.html", status_code=p.status, problem=p, detail=detail)

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> Response:
        if _html_page_request(request):
            return html_error(request, exc)
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> Response:
        return problem_response(validation_problem(exc), request)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            p: Problem = NotFound()
        elif exc.status_code == 405:
            p = Problem("Method not allowed.", code="method_not_allowed", status=405)
        else:
            p = Problem(str(exc.detail), code="http_error", status=exc.status_code)
        if _html_page_request(request):
            return html_error(request, p)
        return problem_response(p, request)

    @app.exception_handler(Exception)
    async def on_error(request: Request, exc: Exception) -> Response:
        if is_busy(exc):  # SQLite: another writer held the lock longer than the busy timeout
            log.warning("database busy", path=request.url.path)
            p = Problem("The database is busy with another change. Please try again in a moment.",
                        code="database_busy", status=503)
            busy = html_error(request, p) if _html_page_request(request) else problem_response(p, request)
            busy.headers["Retry-After"] = "2"
            return busy
        log.exception("unhandled error", path=request.url.path, request_id=getattr(request.state, "request_id", ""))
        p = Problem("Something went wrong on our side. The error was logged; please try again.",
                    code="internal_error", status=500)
        return problem_response(p, request)
