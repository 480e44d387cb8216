"""Foundation benchmark: login, GET /api/v1/me and audit-append figures on SQLite and PostgreSQL.

    .venv/bin/python bench/foundation_bench.py [--me 500] [--logins 30] [--audit 1000] [--only sqlite|postgresql]

For each database: a fresh migrated database, a real uvicorn server in a thread, httpx as the client.
- login and GET /me latency: p50/p95 server-side (the `Server-Timing: app;dur=` header the middleware
  sets) and client-side (round trip through HTTP on localhost);
- audit append: events/s when every event is its own transaction, and the extra milliseconds an audit
  record adds to a write (a store update use case, one transaction each, timed with and without
  `audit.record`, alternating).
Targets: GET /me p95 < 5 ms server-side; audit append < 1 ms per write. Figures, not assertions.
PostgreSQL comes from CLOUDPOS_BENCH_PG_URL or CLOUDPOS_TEST_PG_URL (default
postgresql://postgres@127.0.0.1:5432/test); a scratch database `cloudpos_bench` is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="cloudpos-bench-"))
os.environ.setdefault("CLOUDPOS_VAR_DIR", str(_TMP / "var"))
os.environ.setdefault("CLOUDPOS_LOG_JSON", "false")

import httpx  # noqa: E402
from _harness import live, postgres_db, server_ms, speed, sqlite_db  # noqa: E402

from cloudpos.app import create_app  # noqa: E402
from cloudpos.config import Settings  # noqa: E402
from cloudpos.migrate import upgrade  # noqa: E402

PASSWORD = "Bench-pass-1"


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))]


def timed(fn: Callable[[], httpx.Response], n: int, warmup: int, ok: int = 200) -> tuple[list[float], list[float]]:
    for _ in range(warmup):
        fn()
    client_ms, srv_ms = [], []
    for _ in range(n):
        t = time.perf_counter()
        r = fn()
        client_ms.append((time.perf_counter() - t) * 1000)
        assert r.status_code == ok, r.text
        srv_ms.append(server_ms(r.headers))
    return srv_ms, client_ms


def audit_figures(app, tenant_id, store_id, n: int) -> dict[str, float]:
    """Events/s (one transaction per event) and the extra ms an audit record adds to a write."""
    from cloudpos.audit import service as audit
    from cloudpos.context import system_actor
    from cloudpos.tenancy import service as tenancy
    from cloudpos.tenancy.schemas import StorePatch

    actor = system_actor(tenant_id, "bench")
    factory = app.state.sessionmaker

    def session():
        db = factory()
        db.info["tenant_id"] = tenant_id
        return db

    db = session()
    try:
        for _ in range(20):  # warm up
            audit.record(db, actor, "bench.event", target_type="bench", details={"i": 0})
            db.commit()
        t = time.perf_counter()
        for i in range(n):
            audit.record(db, actor, "bench.event", target_type="bench", target_label=f"event {i}",
                         before={"n": i}, after={"n": i + 1})
            db.commit()
        events_per_s = n / (time.perf_counter() - t)
    finally:
        db.close()

    def write(i: int) -> float:
        t = time.perf_counter()
        tenancy.update_store(db, actor, store_id, StorePatch(address=f"Bench road {i} {secrets.token_hex(2)}"))
        return (time.perf_counter() - t) * 1000

    # Writes with and without the audit record alternate one by one, so that the machine's drift (its speed
    # moves within minutes) falls on both alike; each side is a trimmed mean (the slowest and fastest tenth
    # left out: a checkpoint or a scheduler hiccup is not the audit's cost).
    k = max(300, n)
    real, skip = audit.record, (lambda *a, **kw: None)
    with_audit: list[float] = []
    without_audit: list[float] = []
    db = session()
    try:
        for i in range(2 * k + 100):
            audit.record = real if i % 2 else skip  # type: ignore[assignment]
            try:
                took = write(i)
            finally:
                audit.record = real  # type: ignore[assignment]
            if i >= 100:
                (with_audit if i % 2 else without_audit).append(took)
    finally:
        db.close()
    w, wo = trimmed_mean(with_audit), trimmed_mean(without_audit)
    return {"events_per_s": events_per_s, "write_ms_with_audit": w, "write_ms_without_audit": wo,
            "audit_extra_ms": w - wo}


def trimmed_mean(values: list[float]) -> float:
    s = sorted(values)
    cut = len(s) // 10
    return statistics.mean(s[cut:len(s) - cut])


def run(backend: str, url: str, args: argparse.Namespace) -> dict[str, object]:
    upgrade(Settings(database_url=url).db_url)
    app = create_app(Settings(database_url=url, var_dir=_TMP / "var"))
    try:
        with live(app) as base, httpx.Client(base_url=base, timeout=30) as http:
            code = f"b{secrets.token_hex(5)}"
            r = http.post("/api/v1/signup", json={
                "merchant_name": "Bench Mart", "store_name": "Bench 1", "address": "1 Bench Road",
                "phone": "021-60000000", "owner_username": "owner", "owner_password": PASSWORD,
                "merchant_code": code})
            assert r.status_code == 201, r.text
            out = r.json()
            creds = {"merchant_code": code, "username": "owner", "password": PASSWORD}
            login_srv, login_cli = timed(lambda: http.post("/api/v1/auth/login", json=creds), args.logins, 3)
            token = http.post("/api/v1/auth/login", json=creds).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            me_srv, me_cli = timed(lambda: http.get("/api/v1/me", headers=headers), args.me, 50)
        import uuid

        audit = audit_figures(app, uuid.UUID(out["tenant_id"]), uuid.UUID(out["store_id"]), args.audit)
    finally:
        app.state.engine.dispose()
    return {"backend": backend, "login": (login_srv, login_cli), "me": (me_srv, me_cli), "audit": audit}


def report(results: list[dict[str, object]]) -> None:
    print()
    print(f"{'database':<11} {'measure':<28} {'p50 server':>11} {'p95 server':>11} {'p50 client':>11} "
          f"{'p95 client':>11}")
    print("-" * 88)
    for res in results:
        for label, key in (("POST /auth/login (ms)", "login"), ("GET /me (ms)", "me")):
            srv, cli = res[key]  # type: ignore[misc]
            print(f"{res['backend']:<11} {label:<28} {pct(srv, 50):>11.2f} {pct(srv, 95):>11.2f} "
                  f"{pct(cli, 50):>11.2f} {pct(cli, 95):>11.2f}")
    print()
    print(f"{'database':<11} {'audit events/s':>15} {'write ms (audit)':>17} {'write ms (no audit)':>20} "
          f"{'audit extra ms/write':>21}")
    print("-" * 88)
    for res in results:
        a = res["audit"]  # type: ignore[assignment]
        print(f"{res['backend']:<11} {a['events_per_s']:>15.0f} {a['write_ms_with_audit']:>17.3f} "
              f"{a['write_ms_without_audit']:>20.3f} {a['audit_extra_ms']:>21.3f}")
    print()
    for res in results:
        me_p95 = pct(res["me"][0], 95)  # type: ignore[index]
        extra = res["audit"]["audit_extra_ms"]  # type: ignore[index]
        print(f"{res['backend']}: GET /me p95 server {me_p95:.2f} ms (target < 5): "
              f"{'OK' if me_p95 < 5 else 'OVER'}; audit extra {extra:.3f} ms/write (target < 1): "
              f"{'OK' if extra < 1 else 'OVER'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--me", type=int, default=500, help="GET /me requests (default 500)")
    parser.add_argument("--logins", type=int, default=30, help="logins (default 30)")
    parser.add_argument("--audit", type=int, default=1000, help="audit events appended (default 1000)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args(argv)
    print(speed())
    results = []
    if args.only in (None, "sqlite"):
        with sqlite_db(_TMP) as url:
            results.append(run("sqlite", url, args))
    if args.only in (None, "postgresql"):
        try:
            with postgres_db("cloudpos_bench") as url:
                results.append(run("postgresql", url, args))
        except Exception as exc:  # noqa: BLE001 - report and carry on with what we have
            print(f"PostgreSQL skipped: {exc.__class__.__name__}: {exc}", file=sys.stderr)
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
