"""Health check."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from cloudpos.web.deps import public
from cloudpos.web.routing import APIRouter

router = APIRouter(tags=["ops"])


@router.get("/healthz", dependencies=[Depends(public())])
def healthz(request: Request) -> JSONResponse:
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok"})
