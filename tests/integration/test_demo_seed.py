"""`cloudpos demo seed`: the demo merchant's 60 days of trading come from the real checkout, on SQLite and
PostgreSQL — sales on many business days, receipt numbers gap-free per store (and within each day), each store's
hash chain, the audit chain and the stock ledger verify, the member rollup needs no repair, member analytics
see active members, nothing was queued for printing, and a second run keeps the data."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from cloudpos import clock
from cloudpos.context import system_actor
from cloudpos.members import jobs
from cloudpos.members import service as members
from cloudpos.ops.demo import seed, seed_demo
from cloudpos.ops.stock_verify import verify_stock
from cloudpos.ops.verify import verify_audit
from cloudpos.printing.models import PrintJob
from cloudpos.sales.chain import verify_store
from cloudpos.sales.models import Sale, Shift
from cloudpos.tenancy import service as tenancy
from cloudpos.tenancy.models import Store

API = "/api/v1"


def test_demo_seed_tells_one_consistent_story(app, client, settings):
    out = seed_demo(settings)
    assert out.owner_password, "the demo merchant was created"
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)  # the clock runs again
    c = out.counts
    assert 300 <= c["sales"] <= 600 and c["refunds"] >= 5 and c["voids"] == 1 and c["corrections"] == 1
    assert c["members"] == 60 and c["coupons_redeemed"] >= 5 and c["goods_receipts"] >= 10
    assert c["paid_cash"] and c["paid_card"] and c["paid_wechat"] and c["paid_stored_value"]

    factory = app.state.sessionmaker
    with factory() as db:
        tenant_id = tenancy.merchant_by_code(db, "demo").id
        db.info["tenant_id"] = tenant_id
        docs = db.execute(select(Sale.store_id, Sale.receipt_seq, Sale.receipt_no, Sale.business_day, Sale.kind,
                                 Sale.shift_id, Sale.created_at).where(Sale.tenant_id == tenant_id)
                          .order_by(Sale.store_id, Sale.receipt_seq)).all()
        codes = dict(db.execute(select(Store.id, Store.code).where(Store.tenant_id == tenant_id)).all())
        # sales on (nearly) every one of the 60 business days, at both stores, each in a shift
        days = {d.business_day for d in docs if d.kind == "sale"}
        assert len(days) >= 55 and max(days) - min(days) >= timedelta(days=55)
        assert len({d.store_id for d in docs}) == 2 and all(d.shift_id for d in docs)
        assert {d.kind for d in docs} == {"sale", "refund", "void"}
        # receipt numbers: gap-free per store, in time order, each day a contiguous run named by its day
        by_store, by_day = defaultdict(list), defaultdict(list)
        for d in docs:
            by_store[d.store_id].append(d)
            by_day[(d.store_id, d.business_day)].append(d.receipt_seq)
            assert d.receipt_no == f"{codes[d.store_id]}-{d.business_day:%Y%m%d}-{d.receipt_seq:06d}"
        for rows in by_store.values():
            assert [d.receipt_seq for d in rows] == list(range(1, len(rows) + 1))
            assert [d.created_at for d in rows] == sorted(d.created_at for d in rows)
        for seqs in by_day.values():
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        for store_id in by_store:
            head, broken = verify_store(db, tenant_id, store_id)
            assert broken is None and head == len(by_store[store_id])
        # every till's shifts were opened and closed per day; at most one per till is still open (today's)
        shifts = db.execute(select(Shift.terminal_id, Shift.status, func.count()).where(Shift.tenant_id == tenant_id)
                            .group_by(Shift.terminal_id, Shift.status)).all()
        assert sum(n for _, s, n in shifts if s == "closed") >= 170
        assert all(n == 1 for _, s, n in shifts if s == "open")
        # no receipt or Z report of the past was queued for printing
        assert db.scalar(select(func.count()).select_from(PrintJob).where(PrintJob.tenant_id == tenant_id)) == 0
        assert members.verify_balances(db, tenant_id) == {"points": [], "stored_value": []}
        overview = members.analytics.overview(db, system_actor(tenant_id), 30)
        assert overview["activity"]["active"] > 20 and overview["activity"]["repeat_buyers"] > 10
        assert sum(r["active_members"] for r in overview["daily"]) > 30
        assert sum(r["new_members"] for r in overview["daily"]) > 0
        tiers = {r["tier"]: r["members"] for r in overview["spend_by_tier"]}
        assert len(tiers) >= 2  # some members moved up by what they bought

    assert jobs.rebuild_stats(factory, "demo")["demo"]["repaired"] == 0
    lines: list[str] = []
    assert verify_audit(settings.db_url, "demo", lines.append), lines
    assert verify_stock(settings.db_url, "demo", lines.append), lines
    assert not (settings.var_dir / "printer-out" / str(tenant_id)).exists()

    # what the owner sees through the API
    r = client.post(f"{API}/auth/login", json={"merchant_code": "demo", "username": "admin",
                                               "password": out.owner_password})
    owner = {"Authorization": f"Bearer {r.json()['access_token']}"}
    first = min(days)
    page = client.get(f"{API}/sales", headers=owner, params={"from": first.isoformat(), "to": first.isoformat()})
    assert page.status_code == 200 and page.json()["total"] > 0
    assert client.get(f"{API}/sales", headers=owner, params={"kind": "refund"}).json()["total"] == c["refunds"]
    closed = client.get(f"{API}/shifts", headers=owner, params={"status": "closed", "page_size": 1}).json()
    report = client.get(f"{API}/shifts/{closed['items'][0]['id']}/report", headers=owner).json()
    assert report["kind"] == "Z" and report["sales_count"] > 0 and report["difference"] is not None
    analytics = client.get(f"{API}/member-analytics", headers=owner).json()
    assert analytics["activity"]["active"] == overview["activity"]["active"]
    methods = {m["code"]: m for m in client.get(f"{API}/payment-methods", headers=owner).json()}
    assert (methods["card"]["fee_rate_bp"], methods["card"]["settlement_cycle_days"]) == (60, 1)
    with factory() as db:  # a merchant that trades: the getting-started guide has nothing left to show
        from cloudpos.web.views import GUIDE_STEPS, guide_done

        assert guide_done(db, tenant_id) == {key for key, *_ in GUIDE_STEPS}

    # a second run keeps the data
    assert seed(settings) is None
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(Sale).where(Sale.tenant_id == tenant_id)) == len(docs)
