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
from fastapi import Request
from fastapi._compat import field_annotation_is_sequence, get_missing_field_error
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute, _effective_route_context_var, _IncludedRouter
from pydantic import TypeAdapter
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


class LeanRoute(APIRoute):
    """The till's hottest reads (a scan, /me): the same contract, without FastAPI's general machinery.

    A lean endpoint is `async def f(request, <query parameters>, actor=Depends(<one permission check that takes
    only the request>))` returning an instance of its response model. FastAPI still reads that signature for
    the OpenAPI document and the permission matrix; a request is answered by calling the permission check,
    validating the query parameters with FastAPI's own fields (the same 422 problem), calling the endpoint and
    writing the model to JSON with pydantic-core. Skipped: the general dependency solver, and validating the
    returned model against itself before serialising it — about a third of a millisecond a request here, on
    a scan whose work is two indexed reads."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        context = _effective_route_context_var.get()
        route = context if context is not None and context.original_route is self else self
        dependant = route.dependant
        assert inspect.iscoroutinefunction(dependant.call), "a lean endpoint answers on the event loop"
        assert not (dependant.path_params or dependant.body_params or dependant.header_params
                    or dependant.cookie_params), "a lean endpoint takes query parameters only"
        (check,) = dependant.dependencies
        assert check.call is not None and inspect.iscoroutinefunction(check.call) and not check.dependencies
        endpoint, actor_name, request_name = dependant.call, check.name, dependant.request_param_name
        query = [_QueryParam(f) for f in dependant.query_params]
        dump_json = TypeAdapter(self.response_model).dump_json
        status = self.status_code or 200

        async def handler(request: Request) -> Response:
            kwargs: dict[str, Any] = {actor_name: await check.call(request)}  # type: ignore[misc]
            if query:
                given, errors = request.query_params, []
                for param in query:
                    param.read(given, kwargs, errors)
                if errors:
                    raise RequestValidationError(errors)
            if request_name:
                kwargs[request_name] = request
            return Response(dump_json(await endpoint(**kwargs)), status_code=status, media_type="application/json")

        return handler


class _QueryParam:
    """One scalar query parameter of a lean endpoint, validated by FastAPI's own field (same errors)."""

    def __init__(self, field: Any) -> None:
        assert not field_annotation_is_sequence(field.field_info.annotation), "scalar query parameters only"
        assert field.field_info.is_required() or isinstance(field.default, (type(None), str, int, bool))
        self.field, self.name, self.alias = field, field.name, field.alias
        self.loc = ("query", field.alias)
        self.required = field.field_info.is_required()

    def read(self, given: Any, into: dict[str, Any], errors: list[Any]) -> None:
        raw = given.get(self.alias)
        if raw is None:
            if self.required:
                errors.append(get_missing_field_error(loc=self.loc))
            else:
                into[self.name] = self.field.default
            return
        value, errs = self.field.validate(raw, into, loc=self.loc)
        if errs:
            errors.extend(errs)
        else:
            into[self.name] = value


def lean_get(router: fastapi.APIRouter, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`@lean_get(router, "/path", response_model=M)`: a GET answered through `LeanRoute`."""
    def register(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        router.add_api_route(path, endpoint, methods=["GET"], route_class_override=LeanRoute, **kwargs)
        return endpoint

    return register


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
