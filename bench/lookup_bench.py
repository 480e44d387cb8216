"""Scanner hot path: `GET /api/v1/products/lookup?code=` with 200k products.

Builds a fresh database per backend (SQLite file; PostgreSQL database `cloudpos_bench_lookup` on
CLOUDPOS_TEST_PG_URL's server), signs up a merchant, bulk-inserts N products with one EAN-13
each (Core executemany, like the importer), then measures random lookups:

* service level: `catalog.service.lookup` on a tenant-bound session (what the route calls);
* server side: the request's `Server-Timing: app;dur=` (middleware → auth → lookup → JSON) of `cloudpos serve`
  (uvicorn, httptools, uvloop) in a process of its own, asked over local HTTP: the server's own time, from the
  request's arrival to its response. `--server thread` serves the app in a thread of the benchmark's own process
  instead (the load generator then shares the server's GIL, which lengthens the server's tail).

Usage: .venv/bin/python bench/lookup_bench.py [--products 200000] [--lookups 3000] [--backend sqlite|postgresql|both]
       [--server process|thread]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import httpx  # noqa: E402
from _harness import live, served, speed, unique_ean13  # noqa: E402

from cloudpos import clock  # noqa: E402
from cloudpos.catalog import domain  # noqa: E402
from cloudpos.catalog.models import Product, ProductBarcode  # noqa: E402
from cloudpos.errors import Problem  # noqa: E402
from cloudpos.ids import uuid7  # noqa: E402


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def summary(label: str, ms: list[float]) -> str:
    return (f"{label:<34} n={len(ms):>5}  p50={pct(ms, 50):6.3f} ms  p95={pct(ms, 95):6.3f} ms  "
            f"p99={pct(ms, 99):6.3f} ms  mean={statistics.fmean(ms):6.3f} ms")


_TEMP_DIRS: list[Path] = []


def database(backend: str) -> str:
    from dbs import pg_base_url

    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="cloudpos-bench-"))
        _TEMP_DIRS.append(folder)
        path = folder / "lookup.db"
        return f"sqlite:///{path}"
    import psycopg

    base = pg_base_url().replace("postgresql+psycopg://", "postgresql://")
    admin = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "cloudpos_bench_lookup" WITH (FORCE)')
        conn.execute('CREATE DATABASE "cloudpos_bench_lookup"')
    return base.rsplit("/", 1)[0] + "/cloudpos_bench_lookup"


SCALE = domain.ScaleFormat("2", 13, 5, "price", 5, True)


def weighed_products(app, tenant_id: uuid.UUID, n: int) -> list[str]:
    """n products sold by weight, each with a 5-digit scale PLU as its barcode; returns price labels
    (称重码: prefix 2 + PLU + price in fen + check digit) as the scale prints them."""
    from sqlalchemy import insert

    now = clock.now()
    rows_p, rows_b, labels = [], [], []
    for i in range(n):
        pid, plu, sku = uuid7(), f"{10000 + i}", f"W{i:05d}"
        name = f"散装称重{i}号"
        rows_p.append({"tenant_id": tenant_id, "id": pid, "sku": sku, "name": name, "category_id": None, "brand": "",
                       "unit": "千克", "price": 2580, "cost": 1500, "tax_rate_bp": 900, "spec": "",
                       "sold_by_weight": True, "status": "listed", "low_stock_threshold": None, "barcodes": [plu],
                       "search_text": domain.search_text(name, sku, "", [plu]), "version": 1,
                       "created_at": now, "updated_at": now})
        rows_b.append({"tenant_id": tenant_id, "code": plu, "product_id": pid, "position": 0})
        labels.append(domain.make_scale_code(SCALE, plu, 1000 + i % 5000))
    s = app.state.sessionmaker()
    s.execute(insert(Product.__table__), rows_p)
    s.execute(insert(ProductBarcode.__table__), rows_b)
    s.commit()
    s.close()
    return labels


def bulk_products(app, tenant_id: uuid.UUID, n: int) -> list[str]:
    rng = random.Random(7)
    codes: list[str] = []
    seen: set[str] = set()
    now = clock.now()
    started = time.perf_counter()
    s = app.state.sessionmaker()
    batch_p: list[dict] = []
    batch_b: list[dict] = []
    for i in range(n):
        code = unique_ean13(rng, seen)
        pid = uuid7()
        name = f"测试商品{i}号 {rng.choice(['可乐', '矿泉水', '薯片', '饼干', '牛奶'])}"
        sku = f"B{i:07d}"
        batch_p.append({"tenant_id": tenant_id, "id": pid, "sku": sku, "name": name, "category_id": None, "brand": "",
                        "unit": "件", "price": rng.randrange(100, 5000), "cost": 50, "tax_rate_bp": 1300, "spec": "",
                        "sold_by_weight": False, "status": "listed" if i % 50 else "delisted",
                        "low_stock_threshold": None, "barcodes": [code],
                        "search_text": domain.search_text(name, sku, "", [code]), "version": 1,
                        "created_at": now, "updated_at": now})
        batch_b.append({"tenant_id": tenant_id, "code": code, "product_id": pid, "position": 0})
        codes.append(code)
        if len(batch_p) == 5000 or i == n - 1:
            from sqlalchemy import insert

            s.execute(insert(Product.__table__), batch_p)
            s.execute(insert(ProductBarcode.__table__), batch_b)
            s.commit()
            batch_p, batch_b = [], []
    s.close()
    if app.state.engine.dialect.name == "postgresql":
        # what autovacuum and the checkpointer would do after a bulk load, done now rather than in the middle
        # of the measurement (2 shared cores: a vacuum of 200k rows running alongside moved p99 by milliseconds)
        with app.state.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE) products")
            conn.exec_driver_sql("VACUUM (ANALYZE) product_barcodes")
            conn.exec_driver_sql("CHECKPOINT")  # and the bulk load's dirty pages written out before measuring
    print(f"  inserted {n} products in {time.perf_counter() - started:.1f} s")
    return codes


def run(backend: str, n: int, lookups: int, server: str = "process") -> None:
    from cloudpos.app import create_app
    from cloudpos.config import Settings
    from cloudpos.migrate import upgrade

    url = database(backend)
    upgrade(Settings(database_url=url).db_url)
    var = Path(tempfile.mkdtemp(prefix="cloudpos-bench-var-"))
    _TEMP_DIRS.append(var)
    app = create_app(Settings(database_url=url, var_dir=var, log_json=False))  # the bulk load, service level
    serving = live(app) if server == "thread" else served(url, var)
    with serving as base, httpx.Client(base_url=base, timeout=30) as client:
        print(f"\n== {backend}: {n} products; server in {'a thread' if server == 'thread' else 'its own process'} ==")
        measure(app, client, backend, n, lookups)


def measure(app, client, backend: str, n: int, lookups: int) -> None:
    from cloudpos.auth import sessions
    from cloudpos.catalog import service

    r = client.post("/api/v1/signup", json={
        "merchant_name": "压测超市", "store_name": "一号店", "address": "上海", "phone": "021-1",
        "owner_username": "owner", "owner_password": "Owner-pass-1", "merchant_code": f"b{uuid.uuid4().hex[:8]}"})
    out = r.json()
    tenant_id = uuid.UUID(out["tenant_id"])
    token = client.post("/api/v1/auth/login", json={"merchant_code": out["merchant_code"], "username": "owner",
                                                    "password": "Owner-pass-1"}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    codes = bulk_products(app, tenant_id, n)
    rng = random.Random(11)
    sample = [rng.choice(codes) for _ in range(lookups)]

    # service level: a fresh tenant-bound session per scan, like a request
    s = app.state.sessionmaker()
    s.info["tenant_id"] = tenant_id
    actor = sessions.authenticate(s, token)
    s.close()
    svc: list[float] = []
    cpu0 = time.process_time()
    for i, code in enumerate(sample):
        db = app.state.sessionmaker()
        db.info["tenant_id"] = tenant_id
        t0 = time.perf_counter()
        with contextlib.suppress(Problem):  # delisted products (1 in 50) answer 409: still a full lookup
            service.lookup(db, actor, code)
        db.close()
        if i >= 100:
            svc.append((time.perf_counter() - t0) * 1000)
    print("  " + summary("service.lookup (session + query)", svc))
    print(f"  service.lookup CPU time per scan: {(time.process_time() - cpu0) / len(sample) * 1000:.3f} ms "
          f"(wall-clock tails above include waiting for a CPU on a busy machine)")

    server: list[float] = []
    wall: list[float] = []
    statuses: dict[int, int] = {}
    for i, code in enumerate(sample):
        t0 = time.perf_counter()
        resp = client.get("/api/v1/products/lookup", params={"code": code}, headers=headers)
        elapsed = (time.perf_counter() - t0) * 1000
        statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
        if i >= 100:
            server.append(float(resp.headers["server-timing"].split("dur=")[1]))
            wall.append(elapsed)
    print("  " + summary("HTTP server-side (Server-Timing)", server))
    print("  " + summary("HTTP round trip (client side)", wall))
    print(f"  statuses: {statuses}  (409 = delisted sample products)")
    base: list[float] = []
    for _ in range(500):
        resp = client.get("/api/v1/me", headers=headers)
        base.append(float(resp.headers["server-timing"].split("dur=")[1]))
    print("  " + summary("baseline GET /api/v1/me (auth only)", base[50:]))
    scale = domain.make_scale_code(SCALE, "99999", 1250)
    miss: list[float] = []
    for _ in range(300):
        resp = client.get("/api/v1/products/lookup", params={"code": scale}, headers=headers)
        miss.append(float(resp.headers["server-timing"].split("dur=")[1]))
    print("  " + summary("HTTP unknown code (404 path)", miss))

    # scale labels (称重码): a price-embedded rule and 1000 weighed products with 5-digit PLUs
    r = client.post("/api/v1/scale-barcode-rules", headers=headers, json={
        "name": "价格码", "prefix": SCALE.prefix, "total_length": 13, "item_code_length": 5, "value_kind": "price",
        "value_length": 5, "check_digit": True})
    assert r.status_code == 201, r.text
    labels = weighed_products(app, tenant_id, 1000)
    weighed: list[float] = []
    for i in range(1100):
        resp = client.get("/api/v1/products/lookup", params={"code": rng.choice(labels)}, headers=headers)
        assert resp.status_code == 200 and resp.json()["matched_by"] == "scale", resp.text
        if i >= 100:
            weighed.append(float(resp.headers["server-timing"].split("dur=")[1]))
    print("  " + summary("HTTP scale label (称重码)", weighed))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--products", type=int, default=200_000)
    ap.add_argument("--lookups", type=int, default=3000)
    ap.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    os.environ.setdefault("CLOUDPOS_LOG_JSON", "false")
    ap.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    ap.add_argument("--server", default="process", choices=["process", "thread"])
    args = ap.parse_args()
    print(speed())
    for backend in (["sqlite", "postgresql"] if args.backend == "both" else [args.backend]):
        try:
            run(backend, args.products, args.lookups, args.server)
        finally:
            if not args.keep:
                drop(backend)


def drop(backend: str) -> None:
    """Remove the benchmark's database (~180 MB of SQLite at 200k products) and temporary folders."""
    while _TEMP_DIRS:
        shutil.rmtree(_TEMP_DIRS.pop(), ignore_errors=True)
    if backend == "sqlite":
        return
    import psycopg
    from dbs import pg_base_url

    admin = pg_base_url().replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "cloudpos_bench_lookup" WITH (FORCE)')


if __name__ == "__main__":
    main()
