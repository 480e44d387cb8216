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
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool


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
