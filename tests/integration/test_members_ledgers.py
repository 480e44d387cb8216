"""Ledgers equal balances on SQLite and PostgreSQL under concurrent earn / redeem / pay / adjust / refund
(24 threads, each with its own session, calling the service functions checkout will call), plus a
hypothesis run of random operation sequences through the real services."""

from __future__ import annotations

import random
import threading
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from cloudpos.context import system_actor
from cloudpos.errors import Problem
from cloudpos.members import service
from cloudpos.members.models import Member, PointsEntry, StoredValueEntry
from cloudpos.members.schemas import MemberIn


def _phone(i: int) -> str:
    return f"137{random.randrange(10**7, 10**8)}"[:11]


def _session(app, tenant_id):
    s = app.state.sessionmaker()
    s.info["tenant_id"] = tenant_id
    return s


def _members(app, tenant_id, n: int) -> list[uuid.UUID]:
    actor = system_actor(tenant_id)
    ids = []
    for i in range(n):
        with _session(app, tenant_id) as db:
            ids.append(service.register(db, actor, MemberIn(phone=_phone(i), name=f"并发{i}", pin="135790")).id)
        with _session(app, tenant_id) as db:
            service.adjust_points(db, actor, ids[-1], 50_000, "seed")
        with _session(app, tenant_id) as db:
            service.top_up(db, actor, ids[-1], 500_000, "cash")
    return ids


def _check(app, tenant_id) -> None:
    with _session(app, tenant_id) as db:
        assert service.verify_balances(db, tenant_id) == {"points": [], "stored_value": []}
        for m in db.scalars(select(Member).where(Member.tenant_id == tenant_id)):
            pts = db.scalar(select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
                PointsEntry.tenant_id == tenant_id, PointsEntry.member_id == m.id))
            sv = db.scalar(select(func.coalesce(func.sum(StoredValueEntry.delta), 0)).where(
                StoredValueEntry.tenant_id == tenant_id, StoredValueEntry.member_id == m.id))
            assert (m.points_balance, m.stored_value_balance) == (pts, sv)
            assert m.stored_value_balance == m.sv_principal_fen + m.sv_bonus_fen >= 0


def test_concurrent_earn_redeem_pay(app, merchant):
    tenant = merchant.tenant_id
    members = _members(app, tenant, 3)
    actor = system_actor(tenant, "till")
    errors: list[BaseException] = []
    counts = {"ok": 0, "refused": 0}
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        my_sales: list[tuple[uuid.UUID, uuid.UUID, int]] = []
        for _ in range(8):
            mid = rng.choice(members)
            op = rng.choice(["earn", "earn", "redeem", "pay", "adjust", "refund"])
            try:
                with _session(app, tenant) as db:
                    if op == "earn":
                        sale, paid = uuid.uuid4(), rng.randrange(100, 50_000)
                        service.record_purchase_now(db, actor, mid, sale, paid, {"food": paid})
                        my_sales.append((mid, sale, paid))
                    elif op == "redeem":
                        service.redeem_points_now(db, actor, mid, rng.randrange(100, 20_000), uuid.uuid4())
                    elif op == "pay":
                        service.pay_with_stored_value_now(db, actor, mid, rng.randrange(1, 9_000), uuid.uuid4())
                    elif op == "adjust":
                        service.adjust_points(db, actor, mid, rng.randrange(-3_000, 3_000) or 1, "concurrency")
                    elif my_sales:
                        m2, sale, paid = my_sales.pop()
                        service.reverse_for_refund_now(db, actor, m2, sale, paid)
                with lock:
                    counts["ok"] += 1
            except Problem:
                with lock:
                    counts["refused"] += 1
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert counts["ok"] > 100
    _check(app, tenant)


OPS = st.lists(st.tuples(st.sampled_from(["earn", "redeem", "adjust", "pay", "top_up", "refund"]),
                         st.integers(1, 30_000)), min_size=1, max_size=12)


def test_random_sequences_keep_balance_equal_to_ledger(app, merchant):
    tenant = merchant.tenant_id
    actor = system_actor(tenant, "hypothesis")
    with _session(app, tenant) as db:
        mid = service.register(db, actor, MemberIn(phone=_phone(0), name="随机", pin="135790")).id

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(OPS)
    def run(ops):
        sales: list[tuple[uuid.UUID, int]] = []
        for op, n in ops:
            with _session(app, tenant) as db:
                try:
                    if op == "earn":
                        sale = uuid.uuid4()
                        service.record_purchase_now(db, actor, mid, sale, n, {"x": n}, stored_value_paid_fen=n // 3)
                        sales.append((sale, n))
                    elif op == "redeem":
                        service.redeem_points_now(db, actor, mid, 100 + n, uuid.uuid4())
                    elif op == "adjust":
                        service.adjust_points(db, actor, mid, n - 15_000 or 1, "random")
                    elif op == "pay":
                        service.pay_with_stored_value_now(db, actor, mid, min(n, 10_000), uuid.uuid4())
                    elif op == "top_up":
                        service.top_up(db, actor, mid, n, "cash")
                    elif sales:
                        sale, paid = sales.pop()
                        service.reverse_for_refund_now(db, actor, mid, sale, max(1, paid // 2))
                except Problem:
                    pass
            with _session(app, tenant) as db:
                assert service.verify_balances(db, tenant) == {"points": [], "stored_value": []}

    run()


def test_ledgers_are_append_only(app, merchant):
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    tenant = merchant.tenant_id
    _members(app, tenant, 1)
    for table in ("member_points_ledger", "member_stored_value_ledger"):
        with _session(app, tenant) as db, pytest.raises(DBAPIError, match="append-only"):
            db.execute(text(f"UPDATE {table} SET delta = delta + 1"))
        with _session(app, tenant) as db, pytest.raises(DBAPIError, match="append-only"):
            db.execute(text(f"DELETE FROM {table}"))
