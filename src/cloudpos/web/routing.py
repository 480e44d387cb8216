"""The router every module uses: a synchronous endpoint costs one worker-thread hop per request, not three.

FastAPI runs a sync endpoint in the thread pool, then validates its return value in the thread pool again
(and a sync dependency would be a third hop). Each hop is a hand-over between threads, about 0.2 ms here,
and on the till's hot paths (a scan, a quote, a sale) those hops cost more than the work. `OneHopRoute`
wraps a sync endpoint in a coroutine that runs it in one worker thread; FastAPI then validates and
serialises the (small) response on the event loop. Endpoints and services stay plain synchronous code.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import fastapi
from fastapi.routing import APIRoute, _IncludedRouter
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match, get_route_path


def in_worker_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)  # FastAPI reads the parameters and return type through __wrapped__
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return run


class OneHopRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = in_worker_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)


class APIRouter(fastapi.APIRouter):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", OneHopRoute)
        super().__init__(**kwargs)


def index_by_first_segment(app: fastapi.FastAPI) -> None:
    """Let each included router refuse, in one set lookup, a path none of its routes can match.

    FastAPI asks every included router in turn whether it matches a request, and each one tries all of its
    routes' patterns (about 5 µs a pattern here): `POST /api/v1/sales` was tried against some 60 routes of
    the routers before it, 0.1 ms per request before any work. Every route of a router under a prefix
    starts with a fixed segment after it (`/api/v1/sales…`, `/api/v1/shifts…`), so a router whose routes'
    first segments do not include the request's answers "no match" at once; a router with a route that
    starts with a parameter is left as it is. What matches, and 404/405, are unchanged."""
    for route in app.router.routes:
        if not isinstance(route, _IncludedRouter):
            continue
        prefix = route.include_context.prefix or ""
        firsts = {_first_segment(ctx.path_format, prefix) for ctx in route.effective_route_contexts()}
        if not firsts or None in firsts:
            continue
        route.matches = _filtered(route.matches, prefix, frozenset(firsts))


def _first_segment(path: str, prefix: str) -> str | None:
    if not path.startswith(prefix + "/"):
        return None
    first = path[len(prefix) + 1:].split("/", 1)[0]
    return None if not first or "{" in first else first


def _filtered(matches: Callable[..., Any], prefix: str, firsts: frozenset[str]) -> Callable[..., Any]:
    start = len(prefix) + 1

    def filtered(scope: Any) -> Any:
        path = get_route_path(scope)
        if not path.startswith(prefix + "/") or path[start:].split("/", 1)[0] not in firsts:
            return Match.NONE, {}
        return matches(scope)

    return filtered
