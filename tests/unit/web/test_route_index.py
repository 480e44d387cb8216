"""The first-segment index in front of FastAPI's route matching changes no match: every route is still
found, a wrong method is still a 405 (partial match) and an unknown path still a 404."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from fastapi.routing import _IncludedRouter
from starlette.routing import Match

from cloudpos.app import create_app
from cloudpos.config import Settings


def _probes(app) -> list[str]:
    paths = {"/", "/api", "/api/v1", "/api/v1/", "/api/v1/nope", "/api/v1/sales/", "/api/v1/products/lookup/x",
             "/pos/", "/healthz", "/no/such/page"}
    for route in app.router.routes:
        if isinstance(route, _IncludedRouter):
            for ctx in route.effective_route_contexts():
                path = re.sub(r"\{[^}]+\}", "0190f3a4-0000-7000-8000-000000000001", ctx.path_format)
                paths.update({path, path + "/", path + "/extra"})
    return sorted(paths)


def test_indexed_routers_match_exactly_as_before() -> None:
    app = create_app(Settings(database_url=f"sqlite:///{Path(tempfile.mkdtemp()) / 'x.db'}"))
    routers = [r for r in app.router.routes if isinstance(r, _IncludedRouter)]
    indexed = [r for r in routers if "matches" in vars(r)]
    assert len(indexed) >= len(routers) - 2, "most routers should be indexed"
    full = 0
    for path in _probes(app):
        for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": [],
                     "query_string": b""}
            for r in indexed:
                got = r.matches(dict(scope))[0]
                want = type(r).matches(r, dict(scope))[0]  # FastAPI's own matching, without the index
                assert got == want, (method, path, r.include_context.prefix)
                full += got == Match.FULL
    assert full > 200  # every route was reached through the index
