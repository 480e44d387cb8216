"""Checkout speed (issue 6): scan → totals latency and `POST /api/v1/sales` throughput against a raw-SQL floor.

    .venv/bin/python bench/checkout_bench.py [--products 200000] [--promotions 200] [--sales 1600] [--clients 8]
                                             [--carts 40] [--floor-seconds 8] [--rounds 3] [--workers N]
                                             [--only sqlite|postgresql]
    quick run: --products 20000 --sales 600 --carts 10 --floor-seconds 5

For each database: a fresh migrated database (SQLite file; PostgreSQL scratch database `cloudpos_bench_checkout`,
created and dropped, on CLOUDPOS_BENCH_PG_URL / CLOUDPOS_TEST_PG_URL's server), a real uvicorn server in a
thread of this process, a merchant signed up through the API, N products (one EAN-13 each, 40 categories,
25 brands) bulk-inserted, and P active promotions of mixed kinds (special prices, % and amount off on
categories / brands / products, buy-x-get-y, bundles, 满减 tiers, gifts, order discounts) made through the API.

The PostgreSQL database is ANALYZEd after seeding (a store's database has the planner statistics autovacuum
keeps; a freshly bulk-loaded one does not, and its plans read whole index ranges).

1. Scan → line added → totals shown. What the till (`web/static/pos.js`) asks the server on every scan:
   `GET /api/v1/products/lookup?code=` then `POST /api/v1/pricing/quote` with the whole cart. One till scans
   random listed products into carts that grow to --lines lines; the figure per scan is the server time of
   both requests (the `Server-Timing: app;dur=` header: middleware → auth → work → JSON), p50/p95/p99.
   Target: p95 < 30 ms.
2. Sales throughput. --clients terminals, each with its own cashier (logged in at it) and open shift, run
   by --clients threads of a separate client process (so the load generator does not take the server's
   interpreter lock), each posting 3-line cash sales (3 distinct random products out of 200 stocked "sale
   products", quantity 1, an Idempotency-Key each) back to back: sales/s over the whole run, and server
   time p50/p95. Afterwards the run is checked: receipt numbers gap-free, the store's hash chain verifies.
   With --workers N the sales go to `uvicorn --workers N` processes on the same database instead (cloud
   mode runs several app processes), to see how far throughput scales on this machine.
3. The floor (PostgreSQL): `bench/sale_floor.sql`, a pgbench script that writes the same rows a sale writes
   (idempotency key, payment ledger row, receipt number and hash link, sale, 3 lines, 1 payment, 3 stock
   updates + movements, audit event + chain head) in one transaction, run with
   `pgbench -n -M prepared -c <clients> -j 2 -T <s>` on the same database and store. The app's sales and
   the floor are taken in turns, --rounds times (app, floor, app, floor, …; --sales split between the app
   rounds, --floor-seconds per floor round): this machine's speed swings by up to 2× within minutes, so
   each round compares the two at nearly the same moment. Reported: app sales/s ÷ floor tps per round and
   the median round's ratio (target ≥ 0.3). On SQLite the same transaction is run as raw SQL
   through Python's sqlite3 module by the same number of threads (the floor there), and reported likewise.
   Both floors' rows written per transaction are printed next to the app's, so the work is visibly the same.

Also printed: SQL statements, transactions and pool check-outs per sale (SQLAlchemy engine and pool events
on one sale); CPU per sale of the server process(es) and of the PostgreSQL backends serving the database
(/proc, sampled through pg_stat_activity), next to the floor's; and the machine's load average (2 shared
cores: figures move with whatever else runs). Figures, not assertions. Money stays integer fen; timings
are floats from time.perf_counter.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import random
import re
import resource
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from _harness import live, postgres_db, server_ms, spawned, speed, sqlite_db, unique_ean13

_TMP = Path(tempfile.mkdtemp(prefix="cloudpos-bench-checkout-"))
os.environ.setdefault("CLOUDPOS_VAR_DIR", str(_TMP / "var"))
os.environ.setdefault("CLOUDPOS_LOG_JSON", "false")

BENCH = Path(__file__).resolve().parent
PASSWORD = "Bench-pass-1"
SALE_PRODUCTS = 200
PG_DB = "cloudpos_bench_checkout"
TABLES = ["idempotency_keys", "payments", "sales", "sale_lines", "sale_payments", "stock_movements",
          "audit_events", "print_jobs"]


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))] if s else float("nan")


def load_avg() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


# --- databases and the server ----------------------------------------------------------------------------

def _tree_cpu(root: int) -> float:
    """User + system CPU seconds of a process and its children (Linux /proc), for the worker processes."""
    pids = {root}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == root:
                pids.add(int(entry.name))
        except OSError:
            continue
    return sum(cpu for pid in pids if (cpu := _proc_cpu(pid)) is not None)


def _proc_cpu(pid: int) -> float | None:
    try:
        st = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")


class PgBackendCpu:
    """CPU seconds spent by the PostgreSQL backends serving one database while running (sampled from
    pg_stat_activity and /proc; the server is on this machine). Backends that exist at the start count
    from their CPU then, new ones from zero."""

    def __init__(self, url: str) -> None:
        self.url, self.first, self.last = url, {}, {}
        self.stop_flag = threading.Event()

    def _sample(self, conn, initial: bool = False) -> None:
        for (pid,) in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                   "AND pid <> pg_backend_pid()").fetchall():
            cpu = _proc_cpu(pid)
            if cpu is not None:
                self.first.setdefault(pid, cpu if initial else 0.0)
                self.last[pid] = cpu

    def __enter__(self) -> PgBackendCpu:
        import psycopg

        self.conn = psycopg.connect(self.url, autocommit=True)
        self._sample(self.conn, initial=True)

        def loop() -> None:
            while not self.stop_flag.wait(0.2):
                self._sample(self.conn)

        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_flag.set()
        self.thread.join()
        self._sample(self.conn)
        self.conn.close()

    @property
    def seconds(self) -> float:
        return sum(self.last[p] - self.first[p] for p in self.last)


@contextmanager
def worker_server(url: str, workers: int) -> Iterator[tuple[str, int]]:
    """`uvicorn cloudpos.app:create_app --factory --workers N` on the same database (cloud mode: several
    app processes); yields (base URL, master pid)."""
    from cloudpos.web.threaded import free_port

    port = free_port()
    with spawned([sys.executable, "-m", "uvicorn", "cloudpos.app:create_app", "--factory", "--host", "127.0.0.1",
                  "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
                 port, {"CLOUDPOS_DATABASE_URL": url, "CLOUDPOS_LOG_JSON": "false"}) as proc:
        yield f"http://127.0.0.1:{port}", proc.pid


# --- seeding -------------------------------------------------------------------------------------------------

@dataclass
class Shop:
    code: str
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    owner: dict[str, str]
    categories: list[uuid.UUID] = field(default_factory=list)
    brands: list[str] = field(default_factory=list)
    scan_codes: list[str] = field(default_factory=list)  # barcodes of listed catalog products
    catalog_ids: list[uuid.UUID] = field(default_factory=list)
    sale_ids: list[uuid.UUID] = field(default_factory=list)
    tills: list[dict[str, str]] = field(default_factory=list)  # terminal_id, shift_id, cashier_id, token
    first_terminal: str = ""


def ok(r, status: int = 200):
    assert r.status_code == status, f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}"
    return r.json() if r.content else None


def signup(http) -> Shop:
    code = f"b{secrets.token_hex(5)}"
    out = ok(http.post("/api/v1/signup", json={
        "merchant_name": "压测超市", "store_name": "一号店", "address": "上海市人民路 1 号", "phone": "021-60000000",
        "owner_username": "owner", "owner_password": PASSWORD, "merchant_code": code}), 201)
    token = ok(http.post("/api/v1/auth/login", json={"merchant_code": code, "username": "owner",
                                                     "password": PASSWORD}))["access_token"]
    shop = Shop(code, uuid.UUID(out["tenant_id"]), uuid.UUID(out["store_id"]), {"Authorization": f"Bearer {token}"})
    shop.first_terminal = out["terminal_id"]
    return shop


def seed_catalog(http, app, shop: Shop, n: int) -> None:
    from sqlalchemy import insert, text

    from cloudpos import clock
    from cloudpos.catalog.models import Product, ProductBarcode
    from cloudpos.ids import uuid7

    for p in range(8):
        parent = ok(http.post("/api/v1/categories", headers=shop.owner, json={"name": f"大类{p}"}), 201)
        for c in range(5):
            shop.categories.append(uuid.UUID(ok(http.post("/api/v1/categories", headers=shop.owner, json={
                "name": f"小类{p}-{c}", "parent_id": parent["id"]}), 201)["id"]))
    shop.brands = [f"品牌{b}" for b in range(25)]
    rng = random.Random(7)
    now = clock.now()
    started = time.perf_counter()
    db = app.state.sessionmaker()
    seen: set[str] = set()
    batch_p: list[dict] = []
    batch_b: list[dict] = []

    def flush() -> None:
        if batch_p:
            db.execute(insert(Product.__table__), batch_p)
            db.execute(insert(ProductBarcode.__table__), batch_b)
            db.commit()
            batch_p.clear()
            batch_b.clear()

    total = n + SALE_PRODUCTS
    for i in range(total):
        code = unique_ean13(rng, seen)
        pid = uuid7()
        sale = i >= n
        sku = f"S{i - n + 1:04d}" if sale else f"B{i:07d}"
        name = f"{'促销' if sale else '测试'}商品{i}号 {rng.choice(['可乐', '矿泉水', '薯片', '饼干', '牛奶'])}"
        listed = sale or i % 50 != 49
        batch_p.append({"tenant_id": shop.tenant_id, "id": pid, "sku": sku, "name": name,
                        "category_id": rng.choice(shop.categories), "brand": rng.choice(shop.brands), "unit": "件",
                        "price": rng.randrange(100, 5000), "cost": 50, "tax_rate_bp": 1300, "spec": "",
                        "sold_by_weight": False, "status": "listed" if listed else "delisted",
                        "low_stock_threshold": None, "barcodes": [code], "search_text": f"{name} {sku} {code}".lower(),
                        "version": 1, "created_at": now, "updated_at": now})
        batch_b.append({"tenant_id": shop.tenant_id, "code": code, "product_id": pid, "position": 0})
        if sale:
            shop.sale_ids.append(pid)
        else:
            shop.catalog_ids.append(pid)
            if listed:
                shop.scan_codes.append(code)
        if len(batch_p) == 5000:
            flush()
    flush()
    db.execute(text("ANALYZE"))
    db.commit()
    db.close()
    print(f"  {total} products inserted in {time.perf_counter() - started:.1f} s")


def promotion_body(rng: random.Random, shop: Shop, n: int) -> dict:
    """Mixed kinds, grouped the way merchants set them up (as in pricing_bench.py)."""
    def products(k: int, pool: list[uuid.UUID]) -> list[str]:
        return [str(p) for p in rng.sample(pool, k)]

    def scope(allow_all: bool) -> dict:
        roll = rng.random()
        if allow_all and roll < 0.35:
            return {"all": True}
        if roll < 0.6:
            return {"category_ids": [str(rng.choice(shop.categories))]}
        if roll < 0.8:
            return {"brands": [rng.choice(shop.brands)]}
        return {"product_ids": products(rng.randrange(1, 6), shop.catalog_ids + shop.sale_ids)}

    pool = shop.sale_ids + rng.sample(shop.catalog_ids, min(len(shop.catalog_ids), 2000))
    kind = n % 8
    group: str | None = rng.choice(["brand-day", "category-week", "clearance"])
    if kind in (0, 1):
        rule, sc, group = {"kind": "special_price", "unit_price": rng.randrange(80, 3000)}, \
            {"product_ids": products(rng.randrange(1, 4), pool)}, None
    elif kind == 2:
        rule, sc = {"kind": "percent_off", "percent_off_bp": rng.choice([500, 1000, 1200, 2000])}, scope(False)
    elif kind == 3:
        rule, sc, group = {"kind": "amount_off", "amount": rng.randrange(20, 300)}, \
            {"product_ids": products(rng.randrange(1, 8), pool)}, None
    elif kind == 4:
        rule, sc = {"kind": "buy_x_get_y", "buy_qty": rng.choice([1, 2]), "get_qty": 1,
                    "get_percent_off_bp": rng.choice([5000, 10000]), "mix_and_match": rng.random() < 0.3}, scope(False)
    elif kind == 5:
        rule, sc, group = {"kind": "bundle", "price": rng.randrange(500, 6000),
                           "items": [{"product_id": p, "qty": rng.randrange(1, 3)}
                                     for p in products(rng.randrange(2, 4), pool)]}, {"all": True}, None
    elif kind == 6:
        tiers = [{"threshold": 20000, "save": 1000}, {"threshold": 40000, "save": 3000}]
        rule = ({"kind": "spend_save", "tiers": tiers} if rng.random() < 0.5
                else {"kind": "spend_save", "every": 20000, "save": 1000, "cap": 5000})
        sc, group = scope(True), "满减"
    elif rng.random() < 0.5:
        rule, sc, group = {"kind": "gift", "gift_product_id": str(rng.choice(shop.sale_ids)),
                           "min_spend": rng.randrange(30000, 80000)}, scope(True), None
    else:
        rule, sc, group = {"kind": "percent_off", "percent_off_bp": rng.choice([500, 1000]), "apply_to": "order",
                           "min_spend": 30000}, scope(True), "整单折扣"
    return {"name": f"活动{n}", "rule": rule, "scope": sc, "priority": rng.randrange(0, 5),
            "stacking": "exclusive" if rng.random() < 0.1 else "stackable", "stack_group": group,
            "stacks_with_member": rng.random() < 0.8}


def seed_promotions(http, shop: Shop, n: int) -> None:
    rng = random.Random(20240615)
    started = time.perf_counter()
    for k in range(n):
        ok(http.post("/api/v1/promotions", headers=shop.owner, json=promotion_body(rng, shop, k)), 201)
    print(f"  {n} promotions created through the API in {time.perf_counter() - started:.1f} s")


def seed_tills(http, shop: Shop, terminal_id: str, clients: int) -> None:
    ok(http.post("/api/v1/stock/receipts", headers=shop.owner, json={
        "store_id": str(shop.store_id), "supplier": "开业备货",
        "lines": [{"product_id": str(p), "quantity": "1000000", "unit_cost": 50} for p in shop.sale_ids]}), 201)
    terminals = [terminal_id]
    for i in range(clients - 1):
        terminals.append(ok(http.post("/api/v1/terminals", headers=shop.owner, json={
            "store_id": str(shop.store_id), "name": f"T{i + 2:02d}"}), 201)["id"])
    for i, t in enumerate(terminals):
        emp = ok(http.post("/api/v1/employees", headers=shop.owner, json={
            "username": f"cashier{i + 1}", "display_name": f"收银员{i + 1}", "password": PASSWORD, "role": "cashier",
            "store_ids": [str(shop.store_id)]}), 201)
        token = ok(http.post("/api/v1/auth/login", json={"merchant_code": shop.code, "username": f"cashier{i + 1}",
                                                         "password": PASSWORD, "terminal_id": t}))["access_token"]
        shift = ok(http.post("/api/v1/shifts", headers={"Authorization": f"Bearer {token}"},
                             json={"terminal_id": t, "opening_float": 0}), 201)
        shop.tills.append({"terminal_id": t, "shift_id": shift["id"], "cashier_id": emp["id"], "token": token})


# --- 1. scan → totals ---------------------------------------------------------------------------------------

def scan_to_totals(http, shop: Shop, carts: int, lines: int) -> dict[str, list[float]]:
    till = shop.tills[0]
    headers = {"Authorization": f"Bearer {till['token']}"}
    rng = random.Random(11)
    out: dict[str, list[float]] = {"lookup": [], "quote": [], "scan": []}
    for k in range(carts + 1):  # the first cart warms up
        cart: list[dict] = []
        for _ in range(lines):
            r = http.get("/api/v1/products/lookup", headers=headers,
                         params={"code": rng.choice(shop.scan_codes), "store_id": str(shop.store_id)})
            hit = ok(r)
            lookup = server_ms(r.headers)
            pid = hit["product"]["id"]
            same = next((ln for ln in cart if ln["product_id"] == pid), None)
            if same:
                same["quantity"] = str(int(same["quantity"]) + 1)
            else:
                cart.append({"product_id": pid, "quantity": "1"})
            r = http.post("/api/v1/pricing/quote", headers=headers, json={
                "store_id": str(shop.store_id), "lines": cart, "member_id": None, "coupon_codes": [],
                "manual_discounts": []})
            ok(r)
            if k:
                out["lookup"].append(lookup)
                out["quote"].append(server_ms(r.headers))
                out["scan"].append(lookup + server_ms(r.headers))
    return out


# --- 2. sales throughput (client process) --------------------------------------------------------------------

def sale_body(rng: random.Random, store_id: str, terminal_id: str, products: list[str]) -> dict:
    return {"store_id": store_id, "terminal_id": terminal_id,
            "lines": [{"product_id": p, "quantity": "1"} for p in rng.sample(products, 3)],
            "payments": [{"method": "cash", "amount": 100000}]}


def _client_process(base: str, store_id: str, tills: list[dict], products: list[str], per_client: int,
                    start_at: float, results) -> None:
    """The terminals. Plain http.client on a kept-alive connection: a lighter client than httpx (about a
    third of its CPU per request), since it shares the machine's two cores with the server and PostgreSQL
    (the floor's client is pgbench, in C)."""
    import http.client
    import json
    from urllib.parse import urlsplit

    where = urlsplit(base)

    def run(i: int, till: dict, out: list) -> None:
        rng = random.Random(1000 + i)
        conn = http.client.HTTPConnection(where.hostname, where.port, timeout=120)
        auth = {"Authorization": f"Bearer {till['token']}"}
        conn.request("GET", "/api/v1/me", headers=auth)  # connect before the clock starts
        conn.getresponse().read()
        while time.time() < start_at:
            time.sleep(0.001)
        t0 = time.perf_counter()
        for _ in range(per_client):
            t = time.perf_counter()
            body = json.dumps(sale_body(rng, store_id, till["terminal_id"], products))
            conn.request("POST", "/api/v1/sales", body=body, headers={
                **auth, "Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())})
            r = conn.getresponse()
            text = r.read().decode()
            out.append((r.status, server_ms(r.headers), (time.perf_counter() - t) * 1000,
                        text[:200] if r.status != 201 else ""))
        out.append(("span", time.perf_counter() - t0))
        conn.close()

    outs: list[list] = [[] for _ in tills]
    threads = [threading.Thread(target=run, args=(i, t, outs[i])) for i, t in enumerate(tills)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    outs.append([("cpu", usage.ru_utime + usage.ru_stime)])
    results.put(outs)


def sales_run(base: str, shop: Shop, n: int, server_pid: int | None = None) -> dict:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    per_client = max(1, n // len(shop.tills))
    start_at = time.time() + 4.0
    proc = ctx.Process(target=_client_process, args=(base, str(shop.store_id), shop.tills,
                                                     [str(p) for p in shop.sale_ids], per_client, start_at, results))
    load_before = load_avg()
    proc.start()
    # the server's CPU: this process (server thread; the clients run in `proc`), or the worker processes
    cpu_now = time.process_time if server_pid is None else (lambda: _tree_cpu(server_pid))
    cpu0 = cpu_now()
    outs = results.get(timeout=3600)
    cpu = cpu_now() - cpu0
    proc.join()
    client_cpu = next(s[1] for o in outs for s in o if s[0] == "cpu")
    samples = [s for o in outs for s in o if s[0] not in ("span", "cpu")]
    spans = [s[1] for o in outs for s in o if s[0] == "span"]
    bad = [s for s in samples if s[0] != 201]
    if bad:
        print(f"  !! {len(bad)} sales failed, first: {bad[0][0]} {bad[0][3]}")
    made = len(samples) - len(bad)
    wall = max(spans)
    return {"made": made, "wall": wall, "per_s": made / wall, "cpu_ms": cpu * 1000 / max(made, 1),
            "client_cpu_ms": client_cpu * 1000 / max(made, 1),
            "server": [s[1] for s in samples if s[0] == 201],
            "client": [s[2] for s in samples if s[0] == 201], "load": f"{load_before} → {load_avg()}"}


def count_one_sale(http, app, shop: Shop) -> tuple[int, int, int]:
    """SQL statements, transactions and pool check-outs of one sale, counted with engine and pool events, and
    the statements sent on the driver's cursor (cloudpos.fastread's reads and statements, audit events kept for
    the COMMIT)."""
    from sqlalchemy import event

    from cloudpos import fastread
    from cloudpos.audit import pending

    engine = app.state.engine
    counts = {"stmts": 0, "tx": 0, "checkouts": 0}

    def on_stmt(*_a):
        counts["stmts"] += 1

    real_read, real_run, real_send = fastread.Read.all, fastread.Statement.run, pending._send

    def counted_read(self, conn, params):
        if conn.engine is engine and conn.dialect.name == "postgresql":
            counts["stmts"] += 1
        return real_read(self, conn, params)

    def counted_run(self, conn, params):
        if conn.engine is engine and conn.dialect.name == "postgresql":
            counts["stmts"] += 1
        return real_run(self, conn, params)

    def counted_send(conn):
        counts["stmts"] += len(conn.info.get(pending._KEY) or ())
        return real_send(conn)

    def on_begin(*_a):
        counts["tx"] += 1

    def on_checkout(*_a):
        counts["checkouts"] += 1

    till = shop.tills[0]
    rng = random.Random(5)
    event.listen(engine, "before_cursor_execute", on_stmt)
    event.listen(engine, "begin", on_begin)
    event.listen(engine.pool, "checkout", on_checkout)
    fastread.Read.all, fastread.Statement.run = counted_read, counted_run  # type: ignore[method-assign]
    pending._send = counted_send
    try:
        ok(http.post("/api/v1/sales", json=sale_body(rng, str(shop.store_id), till["terminal_id"],
                                                     [str(p) for p in shop.sale_ids]),
                     headers={"Authorization": f"Bearer {till['token']}", "Idempotency-Key": str(uuid.uuid4())}), 201)
    finally:
        fastread.Read.all, fastread.Statement.run = real_read, real_run  # type: ignore[method-assign]
        pending._send = real_send
        event.remove(engine, "before_cursor_execute", on_stmt)
        event.remove(engine, "begin", on_begin)
        event.remove(engine.pool, "checkout", on_checkout)
    return counts["stmts"], counts["tx"], counts["checkouts"]


def check_run(app, shop: Shop) -> str:
    from sqlalchemy import select

    from cloudpos.sales.chain import verify_store
    from cloudpos.sales.models import Sale

    with app.state.sessionmaker() as db:
        seqs = db.scalars(select(Sale.receipt_seq)
                          .where(Sale.tenant_id == shop.tenant_id, Sale.store_id == shop.store_id)
                          .order_by(Sale.receipt_seq)).all()
        checked, broken = verify_store(db, shop.tenant_id, shop.store_id)
    gapless = list(seqs) == list(range(1, len(seqs) + 1))
    return (f"{len(seqs)} sales, receipt numbers {'gap-free' if gapless else 'WITH GAPS'}, hash chain "
            f"{'verifies' if broken is None and checked == len(seqs) else f'BROKEN at {broken}'}")


def row_counts(app) -> dict[str, int]:
    from sqlalchemy import text

    with app.state.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}  # noqa: S608


def rows_per(before: dict[str, int], after: dict[str, int], n: int) -> str:
    return " ".join(f"{t}={(after[t] - before[t]) / n:.0f}" for t in TABLES if after[t] != before[t]) if n else "-"


# --- 3. floors --------------------------------------------------------------------------------------------------

def pg_floor(url: str, shop: Shop, clients: int, seconds: int) -> float:
    till = shop.tills[0]
    cmd = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(seconds),
           "-f", str(BENCH / "sale_floor.sql"), "-D", f"tenant={shop.tenant_id}", "-D", f"store={shop.store_id}",
           "-D", "storecode=S01", "-D", f"terminal={till['terminal_id']}", "-D", f"shift={till['shift_id']}",
           "-D", f"cashier={till['cashier_id']}", "-D", f"rchain=receipts:{shop.store_id}",
           "-D", f"nsale={SALE_PRODUCTS}", url]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", r.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", r.stdout)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"pgbench failed ({r.returncode}): {r.stderr[-1500:]} {r.stdout[-500:]}")
    if failed and int(failed.group(1)):
        print(f"  !! pgbench: {failed.group(1)} failed transactions")
    return float(m.group(1))


def sqlite_floor(path: str, shop: Shop, clients: int, seconds: int) -> tuple[float, int]:
    """The same transaction as bench/sale_floor.sql, as raw SQL through sqlite3 (BEGIN IMMEDIATE, like the app)."""
    import hashlib
    import json
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from cloudpos.ids import uuid7

    till = shop.tills[0]
    tenant, store = shop.tenant_id.hex, shop.store_id.hex
    chain = f"receipts:{shop.store_id}"
    stop = time.perf_counter() + seconds
    done = [0] * clients

    def worker(i: int) -> None:
        rng = random.Random(i)
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            conn.execute(f"PRAGMA {pragma}")
        while time.perf_counter() < stop:
            skus = [f"S{k:04d}" for k in rng.sample(range(1, SALE_PRODUCTS + 1), 3)]
            now = datetime.now(UTC)
            ts = now.replace(tzinfo=None).isoformat(sep=" ")
            sale_id, pay_id, ev_id = uuid7().hex, uuid7().hex, uuid7().hex
            conn.execute("BEGIN IMMEDIATE")
            key = str(uuid.uuid4())
            conn.execute("INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, status_code, response, "
                         "created_at) VALUES (?, 'sales.create', ?, ?, 0, '{}', ?)",
                         (tenant, key, hashlib.sha256(key.encode()).hexdigest(), ts))
            prods = sorted(conn.execute("SELECT id, sku, name, price, cost FROM products WHERE tenant_id = ? "
                                        "AND sku IN (?, ?, ?)", (tenant, *skus)).fetchall())
            total = sum(p[3] for p in prods)
            conn.execute(
                "INSERT INTO payments (tenant_id, id, store_id, terminal_id, employee_id, method, provider, "
                "amount_fen, currency, status, out_trade_no, provider_trade_no, auth_code_last4, card_brand, "
                "card_last4, approval_code, reference, sale_ref, sale_id, idempotency_key, attempts, deadline, "
                "fee_rate_bp, settlement_cycle_days, refunded_fen, error_code, message, reconcile_claim_at, paid_at, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'cash', '', ?, 'CNY', 'succeeded', ?, '', '', '', "
                "'', '', '', '', ?, NULL, 0, NULL, 0, 0, 0, '', 'Paid', NULL, ?, ?, ?)",
                (tenant, pay_id, store, uuid.UUID(till["terminal_id"]).hex, uuid.UUID(till["cashier_id"]).hex, total,
                 pay_id, sale_id, ts, ts, ts))
            seq, prev = conn.execute("UPDATE chain_heads SET last_seq = last_seq + 1 WHERE tenant_id = ? AND chain = ? "
                                     "RETURNING last_seq, last_hash", (tenant, chain)).fetchone()
            day = now.astimezone(ZoneInfo("Asia/Shanghai")).date()
            payload = json.dumps({"id": sale_id, "seq": seq, "total": total,
                                  "lines": [[k + 1, p[0], 1000, p[3]] for k, p in enumerate(prods)],
                                  "payments": [[1, "cash", total]]}, sort_keys=True)
            sale_hash = hashlib.sha256((prev + payload).encode()).hexdigest()
            conn.execute(
                "INSERT INTO sales (tenant_id, id, kind, original_id, replaces_id, store_id, terminal_id, shift_id, "
                "cashier_id, cashier_name, salesperson_id, member_id, receipt_seq, receipt_no, business_day, currency, "
                "subtotal, discount_total, total, cash_rounding, paid, change, points_earned, points_redeemed, "
                "pricing, note, client_ref, created_at, prev_hash, hash) VALUES (?, ?, 'sale', NULL, NULL, ?, ?, ?, "
                "?, 'Floor', NULL, NULL, ?, ?, ?, 'CNY', ?, 0, ?, 0, ?, ?, 0, 0, ?, '', '', ?, ?, ?)",
                (tenant, sale_id, store, uuid.UUID(till["terminal_id"]).hex, uuid.UUID(till["shift_id"]).hex,
                 uuid.UUID(till["cashier_id"]).hex, seq, f"S01-{day:%Y%m%d}-{seq:06d}", day.isoformat(), total, total,
                 total, 100000 - total, '{"explanation": [], "order_discounts": [], "coupons": []}', ts, prev,
                 sale_hash))
            conn.executemany(
                "INSERT INTO sale_lines (tenant_id, sale_id, line_no, product_id, sku, name, category_id, qty, "
                "unit_price, list_amount, discount, amount, unit_cost, is_gift, original_line_no, discounts) VALUES "
                "(?, ?, ?, ?, ?, ?, NULL, 1000, ?, ?, 0, ?, ?, 0, NULL, '[]')",
                [(tenant, sale_id, k + 1, p[0], p[1], p[2], p[3], p[3], p[3], p[4]) for k, p in enumerate(prods)])
            conn.execute("INSERT INTO sale_payments (tenant_id, sale_id, seq, method, amount, tendered, payment_id, "
                         "reference, card_brand, card_last4, approval_code) VALUES (?, ?, 1, 'cash', ?, 100000, ?, '', "
                         "'', '', '')", (tenant, sale_id, total, pay_id))
            conn.execute("UPDATE chain_heads SET last_hash = ? WHERE tenant_id = ? AND chain = ?",
                         (sale_hash, tenant, chain))
            moves = []
            for p in prods:
                (on_hand,) = conn.execute("UPDATE stock_levels SET on_hand = on_hand - 1000, updated_at = ? WHERE "
                                          "tenant_id = ? AND store_id = ? AND product_id = ? RETURNING on_hand",
                                          (ts, tenant, store, p[0])).fetchone()
                moves.append((tenant, uuid7().hex, store, p[0], p[4], on_hand, sale_id,
                              uuid.UUID(till["cashier_id"]).hex, ts))
            conn.executemany("INSERT INTO stock_movements (tenant_id, id, store_id, product_id, kind, quantity, "
                             "unit_cost, balance_after, ref_type, ref_id, reason, note, actor_id, actor_name, "
                             "occurred_at) VALUES (?, ?, ?, ?, 'sale', -1000, ?, ?, 'sale', ?, '', '', ?, 'Floor', ?)",
                             moves)
            aseq, aprev = conn.execute("UPDATE chain_heads SET last_seq = last_seq + 1 WHERE tenant_id = ? AND "
                                       "chain = 'audit' RETURNING last_seq, last_hash", (tenant,)).fetchone()
            summary = json.dumps({"total": total, "paid": total, "change": 100000 - total,
                                  "payments": [["cash", total]], "lines": 3})
            ev_hash = hashlib.sha256((aprev + sale_id + str(aseq) + summary).encode()).hexdigest()
            conn.execute("INSERT INTO audit_events (tenant_id, id, seq, occurred_at, actor_id, actor_name, store_id, "
                         "terminal_id, ip, action, target_type, target_id, target_label, summary, result, prev_hash, "
                         "hash) VALUES (?, ?, ?, ?, ?, 'Floor', ?, ?, '127.0.0.1', 'sale.create', 'sale', ?, ?, ?, "
                         "'ok', ?, ?)", (tenant, ev_id, aseq, ts, uuid.UUID(till["cashier_id"]).hex, store,
                                         uuid.UUID(till["terminal_id"]).hex, sale_id, str(seq), summary, aprev,
                                         ev_hash))
            conn.execute("UPDATE chain_heads SET last_hash = ? WHERE tenant_id = ? AND chain = 'audit'",
                         (ev_hash, tenant))
            response = json.dumps({"id": sale_id, "receipt_no": seq, "total": total,
                                   "lines": [{"product_id": p[0], "sku": p[1], "name": p[2], "amount": p[3]}
                                             for p in prods]})
            conn.execute("UPDATE idempotency_keys SET status_code = 201, response = ? WHERE tenant_id = ? AND "
                         "scope = 'sales.create' AND key = ?", (response, tenant, key))
            conn.execute("COMMIT")
            done[i] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return sum(done) / (time.perf_counter() - t0), sum(done)


# --- one database ----------------------------------------------------------------------------------------------

def run(backend: str, url: str, args: argparse.Namespace) -> dict:
    import httpx

    from cloudpos.app import create_app
    from cloudpos.config import Settings
    from cloudpos.migrate import upgrade

    print(f"\n== {backend} ==")
    upgrade(Settings(database_url=url).db_url)
    app = create_app(Settings(database_url=url, var_dir=_TMP / "var"))
    res: dict = {"backend": backend}
    try:
        with live(app) as base, httpx.Client(base_url=base, timeout=120) as http:
            shop = signup(http)
            seed_catalog(http, app, shop, args.products)
            seed_promotions(http, shop, args.promotions)
            seed_tills(http, shop, shop.first_terminal, args.clients)
            if backend == "postgresql":  # the planner's statistics, as autovacuum keeps them in a store open a while
                with app.state.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("ANALYZE")
            print(f"  scan → totals: {args.carts} carts × {args.lines} scans (load {load_avg()})")
            res["scan"] = scan_to_totals(http, shop, args.carts, args.lines)
            res["scan_load"] = load_avg()
            for till in shop.tills:  # warm every terminal's path once
                ok(http.post("/api/v1/sales", json=sale_body(random.Random(1), str(shop.store_id), till["terminal_id"],
                                                             [str(p) for p in shop.sale_ids]),
                             headers={"Authorization": f"Bearer {till['token']}",
                                      "Idempotency-Key": str(uuid.uuid4())}), 201)
            res["stmts"], res["tx"], res["checkouts"] = count_one_sale(http, app, shop)
            print(f"  sales: {args.sales} with {args.clients} clients, {args.workers or 1} server process(es), "
                  f"alternating with the floor in {args.rounds} round(s) (load {load_avg()})")
            if args.workers:
                with worker_server(url, args.workers) as (wbase, pid):
                    throughput_rounds(backend, url, app, shop, wbase, pid, args, res)
            else:
                throughput_rounds(backend, url, app, shop, base, None, args, res)
    finally:
        app.state.engine.dispose()
    return res


def throughput_rounds(backend: str, url: str, app, shop: Shop, base: str, pid: int | None,
                      args: argparse.Namespace, res: dict) -> None:
    """The app's sales and the floor, taken in turns (app, floor, app, floor, …): this machine's speed swings
    by up to 2× within minutes, so each round's ratio compares the two at nearly the same moment; the
    headline ratio is the median round's. After each floor round the database is ANALYZEd (autovacuum would
    see to it in a store that grew that fast; stale statistics from a table 20× smaller make any app slow).
    The hash chain is verified after the first app round (the floor's
    rows link to the chain but hash a payload of their own); receipt numbers are checked gap-free at the end."""
    pg = backend == "postgresql"
    runs, floors, ratios = [], [], []
    app_rows: dict[str, int] = dict.fromkeys(TABLES, 0)
    floor_rows: dict[str, int] = dict.fromkeys(TABLES, 0)
    app_db = floor_db = floor_client = 0.0
    floor_made = 0
    for i in range(args.rounds):
        before = row_counts(app)
        with PgBackendCpu(url) if pg else contextlib.nullcontext() as cpu:
            run = sales_run(base, shop, args.sales // args.rounds, pid)
        app_db += cpu.seconds if cpu else 0.0
        after = row_counts(app)
        for t in TABLES:
            app_rows[t] += after[t] - before[t]
        runs.append(run)
        if i == 0:
            res["check"] = check_run(app, shop)
            print(f"  check: {res['check']}")
        if args.floor_seconds <= 0:
            continue
        before = row_counts(app)
        if pg:
            children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            with PgBackendCpu(url) as cpu:
                tps = pg_floor(url, shop, args.clients, args.floor_seconds)
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            floor_db += cpu.seconds
            floor_client += (children.ru_utime + children.ru_stime) - (children0.ru_utime + children0.ru_stime)
        else:
            cpu0 = time.process_time()
            tps, _made = sqlite_floor(url.removeprefix("sqlite:///"), shop, args.clients, args.floor_seconds)
            floor_client += time.process_time() - cpu0
        after = row_counts(app)
        made = after["sales"] - before["sales"]
        floor_made += made
        for t in TABLES:
            floor_rows[t] += after[t] - before[t]
        floors.append(tps)
        ratios.append(run["per_s"] / tps)
        if pg:  # the floor's rows in the planner's statistics before the app's next round, as autovacuum would
            with app.state.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
        print(f"  round {i + 1}: app {run['per_s']:.1f} sales/s, floor {tps:.1f} tx/s, ratio {ratio_text(ratios[-1])} "
              f"(load {load_avg()})")
    made = sum(r["made"] for r in runs)
    res["sales"] = {"made": made, "wall": sum(r["wall"] for r in runs),
                    "per_s": made / sum(r["wall"] for r in runs),
                    "cpu_ms": sum(r["cpu_ms"] * r["made"] for r in runs) / max(made, 1),
                    "client_cpu_ms": sum(r["client_cpu_ms"] * r["made"] for r in runs) / max(made, 1),
                    "server": [v for r in runs for v in r["server"]], "client": [v for r in runs for v in r["client"]],
                    "load": f"{runs[0]['load'].split(' → ')[0]} → {runs[-1]['load'].split(' → ')[-1]}",
                    "db_cpu_ms": app_db * 1000 / max(made, 1)}
    res["app_rows"] = rows_per(dict.fromkeys(TABLES, 0), app_rows, made)
    if floors:
        res["floor"] = sum(floors) / len(floors)
        res["ratios"] = ratios
        per = 1000 / max(floor_made, 1)
        res["floor_cpu"] = (floor_db * per if pg else 0.0, floor_client * per)
        res["floor_rows"] = rows_per(dict.fromkeys(TABLES, 0), floor_rows, floor_made)
        res["floor_load"] = load_avg()
        res["check_after_floor"] = check_run(app, shop).split(", hash")[0]


def ratio_text(r: float) -> str:
    return f"{r:.3f}"


def median_ratio(res: dict) -> float:
    ratios = sorted(res.get("ratios", []))
    return ratios[len(ratios) // 2] if ratios else float("nan")


def report(results: list[dict], args: argparse.Namespace) -> None:
    print()
    print(speed())
    print(f"machine: {os.cpu_count()} CPUs, load average now {load_avg()} (1/5/15 min); "
          f"{args.products} products, {args.promotions} promotions, {args.clients} clients, "
          f"sales served by {f'{args.workers} uvicorn worker processes' if args.workers else 'one server thread'}")
    print()
    print(f"{'database':<11} {'scan → totals, server ms':<30} {'p50':>7} {'p95':>7} {'p99':>7}   n")
    print("-" * 70)
    for r in results:
        for label, key in (("lookup", "lookup"), ("quote (whole cart)", "quote"), ("lookup + quote", "scan")):
            v = r["scan"][key]
            print(f"{r['backend']:<11} {label:<30} {pct(v, 50):>7.2f} {pct(v, 95):>7.2f} {pct(v, 99):>7.2f}   {len(v)}")
        print(f"{'':<11} (load average during the scans: {r['scan_load']})")
    print()
    print(f"{'database':<11} {'sales/s':>8} {'srv p50':>8} {'srv p95':>8} {'floor tx/s':>11} {'ratio':>6} "
          f"{'stmts/sale':>10} {'tx/sale':>7}")
    print("-" * 78)
    for r in results:
        s = r["sales"]
        floor = r.get("floor")
        ratio = median_ratio(r)
        print(f"{r['backend']:<11} {s['per_s']:>8.1f} {pct(s['server'], 50):>8.1f} {pct(s['server'], 95):>8.1f} "
              f"{floor or float('nan'):>11.1f} {ratio:>6.3f} {r['stmts']:>10} {r['tx']:>7}")
        print(f"{'':<11} {s['made']} sales in {s['wall']:.1f} s; load {s['load']}; floor load "
              f"{r.get('floor_load', '-')}")
        if r.get("ratios"):
            print(f"{'':<11} ratio per round (app and floor taken in turns): "
                  f"{', '.join(ratio_text(x) for x in r['ratios'])}; median {ratio_text(ratio)}, "
                  f"from all sales/s ÷ mean floor tx/s {s['per_s'] / floor:.3f}")
        db_cpu, client_cpu = r.get("floor_cpu", (float("nan"), float("nan")))
        if r["backend"] == "postgresql":
            print(f"{'':<11} CPU per sale  app: server {s['cpu_ms']:.1f} ms + PostgreSQL backends "
                  f"{s['db_cpu_ms']:.1f} ms + load generator {s['client_cpu_ms']:.1f} ms  | floor: PostgreSQL "
                  f"backends {db_cpu:.2f} ms + pgbench "
                  f"{client_cpu:.2f} ms")
            print(f"{'':<11} not in stmts/sale: {r['checkouts']} pool pre-ping(s) (SELECT 1 at check-out), "
                  f"BEGIN and COMMIT per transaction")
        else:
            print(f"{'':<11} CPU per sale  app: server (SQLite inside) {s['cpu_ms']:.1f} ms  | floor: Python "
                  f"sqlite3 threads {client_cpu:.2f} ms")
        print(f"{'':<11} rows per sale  app: {r['app_rows']}")
        print(f"{'':<11} rows per tx  floor: {r.get('floor_rows', '-')}")
        print(f"{'':<11} {r['check']}; after the floor: {r.get('check_after_floor', '-')}")
    print()
    for r in results:
        p95 = pct(r["scan"]["scan"], 95)
        line = f"{r['backend']}: scan → totals p95 {p95:.1f} ms (target < 30): {'OK' if p95 < 30 else 'MISSED'}"
        if r.get("floor"):
            ratio = median_ratio(r)
            target = "target ≥ 0.3" if r["backend"] == "postgresql" else "reported"
            verdict = ("OK" if ratio >= 0.3 else "MISSED") if r["backend"] == "postgresql" else "-"
            line += (f"; sales {r['sales']['per_s']:.0f}/s, median round {ratio:.2f} of the raw-SQL floor "
                     f"(mean {r['floor']:.0f} tx/s) ({target}): {verdict}")
        print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--products", type=int, default=200_000)
    parser.add_argument("--promotions", type=int, default=200)
    parser.add_argument("--sales", type=int, default=1600, help="sales in the throughput run (all clients)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--carts", type=int, default=40, help="carts scanned in the scan → totals run")
    parser.add_argument("--lines", type=int, default=20, help="scans per cart")
    parser.add_argument("--floor-seconds", type=int, default=8, help="length of each floor round (0: none)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="app and floor runs taken in turns; --sales and --floor-seconds are per whole run "
                             "and per floor round")
    parser.add_argument("--workers", type=int, default=0,
                        help="run the sales against `uvicorn --workers N` processes instead of the server thread")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args(argv)
    results = []
    if args.only in (None, "sqlite"):
        with sqlite_db(_TMP) as url:
            results.append(run("sqlite", url, args))
    if args.only in (None, "postgresql"):
        with postgres_db(PG_DB) as url:
            results.append(run("postgresql", url, args))
    report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
