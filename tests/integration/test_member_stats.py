"""The member rollup (`member_stats`, `member_daily`) equals a recomputation from the sales documents after
sales, partial and full refunds and a void — including a refund of a sale that earned no points (paid with
stored value), which the points code never sees — on SQLite and PostgreSQL. The rebuild finds nothing to
repair, then repairs a damaged row and a missing one; analytics (API, pages in zh-CN and en) read it."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, update

from cloudpos.context import system_actor
from cloudpos.members import stats
from cloudpos.members.models import MemberDaily, MemberStats
from cloudpos.sales import service as sales


def _session(app, tenant_id):
    s = app.state.sessionmaker()
    s.info["tenant_id"] = tenant_id
    return s


def _phone() -> str:
    return "136" + "".join(str(secrets.randbelow(10)) for _ in range(8))


def _till(m):
    c, h = m.client, m.owner
    cat = c.post("/api/v1/categories", headers=h, json={"name": "零食"}).json()
    m.chips = c.post("/api/v1/products", headers=h, json={"sku": f"S{secrets.token_hex(3)}", "name": "薯片",
                                                          "price": 800, "cost": 400, "category_id": cat["id"]}).json()
    m.cashier = m.as_role("cashier")
    m.manager = m.as_role("store_manager")
    r = c.post("/api/v1/shifts", headers=m.cashier, json={"terminal_id": str(m.terminal_id), "opening_float": 0})
    assert r.status_code == 201, r.text


def _sale(m, member_id, qty, payments):
    r = m.client.post("/api/v1/sales", headers=m.cashier, json={
        "store_id": str(m.store_id), "terminal_id": str(m.terminal_id), "member_id": member_id,
        "lines": [{"product_id": m.chips["id"], "quantity": str(qty)}], "payments": payments})
    assert r.status_code == 201, r.text
    return r.json()


def _rows(app, tenant):
    with _session(app, tenant) as db:
        return {r.member_id: (r.visits, r.spend_fen, r.first_visit_at, r.last_visit_at, r.tier_id)
                for r in db.scalars(select(MemberStats).where(MemberStats.tenant_id == tenant))}


def _recomputed(app, tenant, member_ids):
    with _session(app, tenant) as db:
        truth = sales.member_totals(db, tenant, list(member_ids))
    return {mid: (truth[mid].visits, truth[mid].spend_fen, truth[mid].first_visit_at, truth[mid].last_visit_at)
            if mid in truth else (0, 0, None, None) for mid in member_ids}


def test_rollup_equals_sales_after_sales_refunds_and_void(app, merchant):
    m, tenant = merchant, merchant.tenant_id
    _till(m)
    ids = {}
    for key in ("alice", "bob", "carol"):
        r = m.client.post("/api/v1/members", headers=m.owner, json={"phone": _phone(), "name": key})
        assert r.status_code == 201, r.text
        ids[key] = uuid.UUID(r.json()["id"])
    alice, bob, carol = (str(ids[k]) for k in ("alice", "bob", "carol"))

    s1 = _sale(m, alice, 3, [{"method": "cash", "amount": 2400}])
    s2 = _sale(m, alice, 1, [{"method": "cash", "amount": 800}])
    _sale(m, None, 2, [{"method": "cash", "amount": 1600}])  # no member: no rollup
    r = m.client.post(f"/api/v1/sales/{s1['id']}/refunds", headers=m.manager,
                      json={"lines": [{"line_no": 1, "quantity": "1"}], "reason": "退一包"})
    assert r.status_code == 201 and r.json()["total"] == -800, r.text
    r = m.client.post(f"/api/v1/sales/{s2['id']}/void", headers=m.manager, json={"reason": "录错"})
    assert r.status_code == 201, r.text
    assert m.client.post(f"/api/v1/members/{bob}/stored-value/top-ups", headers=m.owner,
                         json={"amount_fen": 5000, "payment_method": "cash"}).status_code == 201
    s3 = _sale(m, bob, 1, [{"method": "stored_value", "amount": 800}])
    assert s3["points_earned"] == 0  # paid with stored value: loyalty's refund code is not even called
    r = m.client.post(f"/api/v1/sales/{s3['id']}/refunds", headers=m.manager, json={"reason": "全退"})
    assert r.status_code == 201, r.text

    rows = _rows(app, tenant)
    assert set(rows) == set(ids.values())
    assert {mid: row[:4] for mid, row in rows.items()} == _recomputed(app, tenant, ids.values())
    at = datetime.fromisoformat
    assert rows[ids["alice"]][:4] == (1, 1600, at(s1["created_at"]), at(s2["created_at"]))  # the void keeps the date
    assert rows[ids["bob"]][:2] == (1, 0) and rows[ids["carol"]][:4] == (0, 0, None, None)
    with _session(app, tenant) as db:
        day = db.execute(select(func.sum(MemberDaily.visits), func.sum(MemberDaily.spend_fen),
                                func.sum(MemberDaily.new_members)).where(MemberDaily.tenant_id == tenant)).one()
    assert tuple(day) == (2, 1600, 3)

    # the profile and the reports read the rollup
    detail = m.client.get(f"/api/v1/members/{alice}", headers=m.owner).json()
    assert (detail["visit_count"], detail["total_spend_fen"]) == (1, 1600)
    for lang in ("zh_CN", "en"):
        r = m.client.get("/api/v1/member-analytics", headers={**m.owner, "Accept-Language": lang})
        assert r.status_code == 200, r.text
        a = r.json()
        assert a["activity"] == {"total": 3, "active": 2, "dormant": 0, "never": 1, "repeat_buyers": 0, "buyers": 2,
                                 "repeat_rate_bp": 0}
        assert sum(a["rfm"].values()) == 3 and a["rfm"]["none"] == 1 and a["rfm"]["general_develop"] == 2
        assert sum(t["members"] for t in a["spend_by_tier"]) == 3
        assert sum(t["spend_fen"] for t in a["spend_by_tier"]) == 1600
        assert [t["name"] for t in a["top_members"]][:1] == ["alice"]
        page = m.client.get("/member-analytics", headers=m.owner, params={"lang": lang})
        assert page.status_code == 200 and ("会员分析" if lang == "zh_CN" else "Member analytics") in page.text

    # segments read the same rollup (counted from it alone, or joined to the member row's own filters)
    normal = m.client.get(f"/api/v1/members/{carol}", headers=m.owner).json()["tier"]["id"]
    for filters, expected in [({"rfm_classes": ["general_develop"]}, 2), ({"min_spend_fen": 1000}, 1),
                              ({"min_spend_fen": 1000, "marketing_consent": False}, 1), ({"min_visits": 2}, 0),
                              ({"rfm_classes": ["none"], "tier_ids": [normal]}, 1), ({"last_visit_within_days": 1}, 2),
                              ({"last_visit_older_than_days": 1}, 1)]:
        r = m.client.post("/api/v1/segments/count", headers=m.owner, json=filters)
        assert r.status_code == 200 and r.json()["count"] == expected, (filters, r.text)
    r = m.client.get("/api/v1/members", headers=m.owner, params={"active_days": 30})
    assert {x["name"] for x in r.json()["items"]} == {"alice", "bob"}
    r = m.client.get("/api/v1/members", headers=m.owner, params={"dormant_days": 30})
    assert {x["name"] for x in r.json()["items"]} == {"carol"}

    # the nightly rebuild finds nothing to repair, then repairs a damaged and a lost row
    actor = system_actor(tenant, "job:rebuild-stats")
    with _session(app, tenant) as db:
        assert stats.rebuild(db, actor) == {"members": 3, "repaired": 0}
    with _session(app, tenant) as db:
        db.execute(update(MemberStats).where(MemberStats.member_id == ids["alice"]).values(spend_fen=1, visits=9))
        db.execute(delete(MemberStats).where(MemberStats.member_id == ids["bob"]))
        db.commit()
    with _session(app, tenant) as db:
        assert stats.rebuild(db, actor) == {"members": 3, "repaired": 2}
    assert _rows(app, tenant) == rows

    # an erased member leaves the analytics
    assert m.client.post(f"/api/v1/members/{carol}/erase", headers=m.owner).status_code == 200
    assert set(_rows(app, tenant)) == {ids["alice"], ids["bob"]}
    with _session(app, tenant) as db:
        assert stats.rebuild(db, actor) == {"members": 2, "repaired": 0}
