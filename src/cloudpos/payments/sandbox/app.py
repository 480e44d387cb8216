"""The sandbox gateway: one small Starlette app speaking WeChat Pay v2 (/pay/micropay, /pay/orderquery,
/secapi/pay/reverse, /secapi/pay/refund) and Alipay (/gateway.do), plus admin endpoints for tests:

    GET  /sandbox/ledger                         every trade: charges, reversal, refunds
    GET  /sandbox/trades/{out_trade_no}          one trade (404 if unknown)
    POST /sandbox/script    {"out_trade_no", "outcome", "queries"?}   script one payment's outcome
    POST /sandbox/config    {"slow_seconds"}     how long a "timeout" pay call sleeps
    POST /sandbox/reset
    GET  /sandbox/notification/{wechat|alipay}/{out_trade_no}   the signed notification body

Run it with `cloudpos payments sandbox --port 8900`, or in a thread with `serve_in_thread`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cloudpos.payments.providers.sandbox import SandboxCredentials
from cloudpos.payments.sandbox import alipay, wechat
from cloudpos.payments.sandbox.ledger import Ledger
from cloudpos.payments.sandbox.state import SandboxState
from cloudpos.web import threaded


def create_sandbox_app(creds: SandboxCredentials, slow_seconds: float = 15.0, books: Path | None = None) -> Starlette:
    """`books`: a file to keep the ledger in across restarts (the demo's); in memory only without one."""
    state = SandboxState(creds=creds, ledger=Ledger(slow_seconds=slow_seconds, path=books))

    def bind(fn: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            return await fn(state, request)

        return endpoint

    async def ledger(_: Request) -> Response:
        return JSONResponse({"trades": state.ledger.snapshot(), "requests": state.ledger.requests,
                             "rejected_signatures": state.ledger.rejected_signatures})

    async def trade(request: Request) -> Response:
        key = request.path_params["out_trade_no"]
        found = state.ledger.get("wechat", key) or state.ledger.get("alipay", key)
        return JSONResponse(found.as_dict()) if found else JSONResponse({"detail": "unknown trade"}, status_code=404)

    async def script(request: Request) -> Response:
        body = await request.json()
        try:
            state.ledger.script(str(body["out_trade_no"]), str(body["outcome"]), int(body.get("queries", 2)))
        except (KeyError, ValueError, TypeError) as exc:
            return JSONResponse({"detail": str(exc)}, status_code=422)
        return JSONResponse({"ok": True})

    async def config(request: Request) -> Response:
        body = await request.json()
        if "slow_seconds" in body:
            state.ledger.slow_seconds = float(body["slow_seconds"])
        return JSONResponse({"slow_seconds": state.ledger.slow_seconds})

    async def reset(_: Request) -> Response:
        state.ledger.reset()
        return JSONResponse({"ok": True})

    async def notification(request: Request) -> Response:
        protocol, key = request.path_params["protocol"], request.path_params["out_trade_no"]
        found = state.ledger.get(protocol, key)
        if found is None or protocol not in ("wechat", "alipay"):
            return JSONResponse({"detail": "unknown trade"}, status_code=404)
        if protocol == "wechat":
            return Response(wechat.notification(state, found), media_type="application/xml")
        return Response(alipay.notification(state, found), media_type="application/x-www-form-urlencoded")

    routes = [
        Route("/pay/micropay", bind(wechat.micropay), methods=["POST"]),
        Route("/pay/orderquery", bind(wechat.orderquery), methods=["POST"]),
        Route("/secapi/pay/reverse", bind(wechat.reverse), methods=["POST"]),
        Route("/secapi/pay/refund", bind(wechat.refund), methods=["POST"]),
        Route("/gateway.do", bind(alipay.gateway), methods=["GET", "POST"]),
        Route("/sandbox/ledger", ledger),
        Route("/sandbox/trades/{out_trade_no}", trade),
        Route("/sandbox/script", script, methods=["POST"]),
        Route("/sandbox/config", config, methods=["POST"]),
        Route("/sandbox/reset", reset, methods=["POST"]),
        Route("/sandbox/notification/{protocol}/{out_trade_no}", notification),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = state
    return app


@dataclass
class RunningSandbox(threaded.ThreadedServer):
    app: Starlette | None = None

    @property
    def state(self) -> SandboxState:
        return self.app.state.sandbox


def serve_in_thread(creds: SandboxCredentials, port: int = 0, slow_seconds: float = 15.0,
                    books: Path | None = None) -> RunningSandbox:
    """Start the sandbox on 127.0.0.1 in a daemon thread (tests, the demo); `.stop()` ends it."""
    app = create_sandbox_app(creds, slow_seconds=slow_seconds, books=books)
    running = threaded.serve_in_thread(app, port, name="payments-sandbox")
    return RunningSandbox(running.url, running.server, running.thread, app=app)
