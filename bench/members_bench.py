"""Members benchmark: 1M members with their rollup (`member_stats`: visits, spend, first/last visit, tier — what
10M sale lines add up to) and daily figures bulk-loaded into SQLite and PostgreSQL, then every analytics query
and the till look-ups timed through the real services, plus the rollup's cost on the sale path.

Run: ``.venv/bin/python bench/members_bench.py [--members 1000000] [--backends sqlite,postgresql]``
PostgreSQL: ``CLOUDPOS_BENCH_PG_URL`` (default: CLOUDPOS_TEST_PG_URL, else postgres@127.0.0.1:5432); the
benchmark creates and drops its own database ``cloudpos_bench_members`` there. Loading uses executemany in
large transactions on SQLite and COPY on PostgreSQL. Prints the load average (the machine is shared), load
time and median / max of 5 runs per query. (Timings are floats from time.perf_counter; money is integer fen.)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

try:
    import cloudpos.members  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sqlalchemy import text

from cloudpos.context import system_actor
from cloudpos.db import make_engine, make_sessionmaker
from cloudpos.ids import uuid7
from cloudpos.members import analytics, domain, registration, segments
from cloudpos.members.schemas import SegmentFilters
from cloudpos.migrate import upgrade

COLUMNS = ["tenant_id", "id", "card_no", "name", "phone", "email", "birthday", "birth_month", "birth_day", "gender",
           "tier_id", "tier_locked", "status", "channel", "store_id", "points_balance", "stored_value_balance",
           "sv_principal_fen", "sv_bonus_fen", "pin_hash", "pin_failed", "pin_locked_until", "privacy_consent_at",
           "marketing_consent_at", "registered_ip", "erased_at", "created_at", "updated_at"]
STATS = ["tenant_id", "member_id", "tier_id", "visits", "spend_fen", "first_visit_at", "last_visit_at"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超"]


def pg_url() -> str:
    base = os.environ.get("CLOUDPOS_BENCH_PG_URL") or os.environ.get("CLOUDPOS_TEST_PG_URL") or \
        "postgresql://postgres@127.0.0.1:5432/postgres"
    return base.replace("postgresql+psycopg://", "postgresql://")


def fresh_pg() -> str:
    import re

    import psycopg

    base = pg_url()
    admin = re.sub(r"/[^/?]*(\?|$)", r"/postgres\1", base, count=1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS cloudpos_bench_members WITH (FORCE)")
        conn.execute("CREATE DATABASE cloudpos_bench_members")
    return re.sub(r"/[^/?]*(\?|$)", r"/cloudpos_bench_members\1", base, count=1)


def rows(n: int, tenant: uuid.UUID, store: uuid.UUID, tier_ids: list[uuid.UUID], sqlite: bool) -> Iterator[tuple]:
    rng = random.Random(42)
    now = datetime.now(UTC)

    def ts(d: datetime | None) -> Any:
        if d is None or not sqlite:
            return d
        return d.replace(tzinfo=None).isoformat(sep=" ")

    def uid(u: uuid.UUID | None) -> Any:
        return (u.hex if sqlite else u) if u else None

    for i in range(n):
        body = str(100_000_000 + i)
        card = body + domain.luhn_check_digit(body)
        birthday = date(1960 + rng.randrange(45), rng.randrange(1, 13), rng.randrange(1, 29))
        visits = min(int(rng.expovariate(1 / 6)), 400)
        spend = visits * rng.randrange(1_000, 30_000)
        created = now - timedelta(days=rng.randrange(0, 1100))
        last = created + (now - created) * rng.random() if visits else None
        tier = tier_ids[0] if spend < 200_000 else (tier_ids[1] if spend < 1_000_000 else tier_ids[2])
        consent = ts(created) if rng.random() < .6 else None
        mid = uid(uuid7())
        yield (uid(tenant), mid, card, rng.choice(SURNAMES) + rng.choice(GIVEN), f"+86138{i:08d}", None,
               birthday.isoformat() if sqlite else birthday, birthday.month, birthday.day, "", uid(tier), False,
               "active", "till", uid(store), rng.randrange(0, 5000), 0, 0, 0, None, 0, None, ts(created), consent,
               "", None, ts(created), ts(created)), \
            (uid(tenant), mid, uid(tier), visits, spend, ts(created) if visits else None, ts(last))


def load(url: str, n: int) -> tuple[Any, uuid.UUID, float]:
    upgrade(url.replace("postgresql://", "postgresql+psycopg://") if url.startswith("postgresql://") else url)
    engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://") if url.startswith("postgresql://")
                         else url)
    sqlite = engine.dialect.name == "sqlite"
    tenant, store = uuid7(), uuid7()
    tier_ids = [uuid7(), uuid7(), uuid7()]
    u = (lambda x: x.hex) if sqlite else (lambda x: x)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO tenants (id, code, name, phone, status, settings, created_at) "
                          "VALUES (:id, 'bench', 'bench', '', 'active', '{}', :now)"), {"id": u(tenant), "now": now})
        conn.execute(text("INSERT INTO stores (tenant_id, id, code, name, address, phone, timezone, locale, active,"
                          " created_at) VALUES (:t, :s, 'S01', 'bench', '', '', 'Asia/Shanghai', 'zh_CN', true, :now)"),
                     {"t": u(tenant), "s": u(store), "now": now})
        for (code, name, rank, spend), tid in zip([("normal", "普通会员", 0, 0), ("silver", "银卡会员", 10, 200_000),
                                                   ("gold", "金卡会员", 20, 1_000_000)], tier_ids, strict=True):
            conn.execute(text("INSERT INTO member_tiers (tenant_id, id, code, name, rank, rule, threshold_spend_fen,"
                              " threshold_visits, period_days, discount_bp, member_prices, points_multiplier_bp,"
                              " birthday_double_points, is_default, created_at) VALUES (:t, :id, :c, :n, :r, 'spend',"
                              " :s, 0, 0, 0, true, 10000, false, :d, :now)"),
                         {"t": u(tenant), "id": u(tid), "c": code, "n": name, "r": rank, "s": spend,
                          "d": code == "normal", "now": now})
    started = time.perf_counter()
    if sqlite:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("BEGIN")
            ins_m = f"INSERT INTO members ({','.join(COLUMNS)}) VALUES ({','.join('?' * len(COLUMNS))})"
            ins_s = f"INSERT INTO member_stats ({','.join(STATS)}) VALUES ({','.join('?' * len(STATS))})"
            batch: list[tuple] = []
            for r in rows(n, tenant, store, tier_ids, True):
                batch.append(r)
                if len(batch) == 50_000:
                    cur.executemany(ins_m, [m for m, _ in batch])
                    cur.executemany(ins_s, [st for _, st in batch])
                    batch.clear()
            if batch:
                cur.executemany(ins_m, [m for m, _ in batch])
                cur.executemany(ins_s, [st for _, st in batch])
            cur.executemany("INSERT INTO member_daily (tenant_id, day, new_members, active_members, visits, spend_fen)"
                            " VALUES (?, ?, ?, ?, ?, ?)", daily_rows(tenant.hex, True))
            cur.execute("COMMIT")
            cur.execute("ANALYZE")
        finally:
            raw.close()
    else:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            with conn.cursor() as cur:
                stats_rows: list[tuple] = []
                with cur.copy(f"COPY members ({','.join(COLUMNS)}) FROM STDIN") as copy:
                    for m, st in rows(n, tenant, store, tier_ids, False):
                        copy.write_row(m)
                        stats_rows.append(st)
                with cur.copy(f"COPY member_stats ({','.join(STATS)}) FROM STDIN") as copy:
                    for st in stats_rows:
                        copy.write_row(st)
                del stats_rows
                with cur.copy("COPY member_daily (tenant_id, day, new_members, active_members, visits, spend_fen)"
                              " FROM STDIN") as copy:
                    for r in daily_rows(tenant, False):
                        copy.write_row(r)
            conn.commit()
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE members")  # what autovacuum does after a bulk load
            conn.execute("VACUUM ANALYZE member_stats")
            conn.execute("VACUUM ANALYZE member_daily")
    return engine, tenant, time.perf_counter() - started


def daily_rows(tenant: Any, sqlite: bool) -> Iterator[tuple]:
    rng = random.Random(7)
    today = date.today()
    for d in range(1100):
        day = today - timedelta(days=d)
        yield (tenant, day.isoformat() if sqlite else day, rng.randrange(500, 1500), rng.randrange(5000, 20000),
               rng.randrange(6000, 25000), rng.randrange(500_000, 5_000_000))


def load_average() -> str:
    """The machine is shared: every figure is printed next to the load it was measured under."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def timed(fn: Callable[[], Any], runs: int = 5) -> tuple[float, float]:
    fn()  # warm up (caches, plans)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), max(samples)


SQLITE_DB = Path(tempfile.gettempdir()) / "cloudpos-members-bench.db"


def reuse(backend: str) -> tuple[Any, uuid.UUID]:
    """The database a previous run loaded (--reuse): time the queries again without reloading."""
    import re

    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{SQLITE_DB}")
        with engine.begin() as conn:
            tenant = uuid.UUID(conn.execute(text("SELECT id FROM tenants WHERE code = 'bench'")).scalar_one())
        return engine, tenant
    url = re.sub(r"/[^/?]*(\?|$)", r"/cloudpos_bench_members\1", pg_url(), count=1)
    engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        tenant = conn.execute(text("SELECT id FROM tenants WHERE code = 'bench'")).scalar_one()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE members"))
        conn.execute(text("VACUUM ANALYZE member_stats"))
    return engine, tenant


def run(backend: str, n: int, reuse: bool = False) -> None:
    if reuse:
        print(f"\n== {backend}: reusing the loaded database", flush=True)
        engine, tenant = reuse(backend)
        with engine.begin() as conn:
            n = conn.execute(text("SELECT count(*) FROM members")).scalar_one()
    else:
        if backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{SQLITE_DB}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{SQLITE_DB}" if backend == "sqlite" else fresh_pg()
        print(f"\n== {backend}: loading {n:,} members …", flush=True)
        engine, tenant, seconds = load(url, n)
        print(f"   loaded in {seconds:.1f} s ({n / seconds:,.0f} rows/s)")
    factory = make_sessionmaker(engine)
    actor = system_actor(tenant, "bench")
    db = factory()
    db.info["tenant_id"] = tenant
    probe = f"138{n // 2:08d}"
    card_body = str(100_000_000 + n // 3)
    card = card_body + domain.luhn_check_digit(card_body)
    today = date.today()
    gold = segments.where(db, tenant, SegmentFilters(min_spend_fen=1_000_000, last_visit_older_than_days=60))
    from types import SimpleNamespace

    from sqlalchemy import func, select

    from cloudpos.members import stats
    from cloudpos.members.models import Member, MemberStats

    sample = list(db.scalars(select(MemberStats.member_id).where(MemberStats.tenant_id == tenant)
                             .order_by(MemberStats.spend_fen).offset(n // 7).limit(64)))
    db.rollback()
    turn = iter(range(10**9))

    def sale_hook() -> None:
        """What a sale with a member adds to its transaction for the rollup (rolled back)."""
        doc = SimpleNamespace(member_id=sample[next(turn) % len(sample)], total=2_350, created_at=datetime.now(UTC),
                              business_day=today)
        stats.on_sales_document("sale", db, actor, doc)
        db.rollback()

    cases: list[tuple[str, Callable[[], Any]]] = [
        ("phone look-up (till)", lambda: registration._search(actor, phone=probe)),
        ("card look-up (till)", lambda: registration._search(actor, card_no=card)),
        ("new members per day, 30 days", lambda: analytics.new_members(db, tenant, today - timedelta(days=29), today)),
        ("new members per month, 1 year", lambda: analytics.new_members(db, tenant, today - timedelta(days=365), today,
                                                                       by="month")),
        ("active vs dormant + repeat rate", lambda: analytics.activity(db, tenant, 90)),
        ("RFM segmentation (8 classes)", lambda: analytics.rfm(db, tenant)),
        ("spend by tier", lambda: analytics.spend_by_tier(db, tenant)),
        ("top 20 members", lambda: analytics.top_members(db, actor)),
        ("segment count: spend>=1万 & away 60d", lambda: db.scalar(select(func.count()).select_from(Member)
                                                                  .where(*gold))),
        ("segment count: birthday this month", lambda: segments.count(db, actor, SegmentFilters(
            birthday_this_month=True))),
        ("segment count: RFM important value", lambda: segments.count(db, actor, SegmentFilters(
            rfm_classes=["important_value"]))),
        ("whole analytics page (overview)", lambda: analytics.overview(db, actor)),
        ("sale path: rollup + daily (per sale)", sale_hook),
    ]
    print(f"   load average before: {load_average()}")
    print(f"   {'query':40s} {'median ms':>10s} {'max ms':>9s}")
    for label, fn in cases:
        if label.endswith("(till)"):
            stmt = fn()
            fn = (lambda s: lambda: db.scalars(s).all())(stmt)  # noqa: PLW2901
        med, worst = timed(fn)
        print(f"   {label:40s} {med:10.2f} {worst:9.2f}", flush=True)
    print(f"   load average after:  {load_average()}")
    db.close()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--reuse", action="store_true", help="time the queries on the last load (no reload)")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        run(backend.strip(), args.members, args.reuse)


if __name__ == "__main__":
    main()
