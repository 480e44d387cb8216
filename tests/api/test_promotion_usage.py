"""Per-member usage limits of promotions through checkout, refunds and voids; store names in rule
descriptions and quote explanations. On SQLite and PostgreSQL."""

import secrets
import uuid

import pytest
from sqlalchemy import text

from cloudpos.context import system_actor
from cloudpos.errors import Conflict
from cloudpos.pricing import service as pricing
from cloudpos.pricing.models import PromotionUse


@pytest.fixture
def till(merchant):
    c, h = merchant.client, merchant.owner
    cat = c.post("/api/v1/categories", headers=h, json={"name": "零食"}).json()
    r = c.post("/api/v1/products", headers=h, json={"sku": f"U{secrets.token_hex(3)}", "name": "乐事薯片",
                                                    "price": 1000, "cost": 500, "category_id": cat["id"]})
    assert r.status_code == 201, r.text
    merchant.chips = r.json()
    phone = f"139{secrets.randbelow(10**8):08d}"
    r = c.post("/api/v1/members", headers=h, json={"phone": phone, "name": "张三"})
    assert r.status_code == 201, r.text
    merchant.member = r.json()
    r = c.post("/api/v1/promotions", headers=h, json={
        "name": "会员9折限2次", "rule": {"kind": "percent_off", "percent_off_bp": 1000}, "scope": {"all": True},
        "max_uses_per_member": 2})
    assert r.status_code == 201, r.text
    merchant.promo = r.json()
    merchant.cashier = merchant.as_role("cashier")
    merchant.manager = merchant.as_role("store_manager")
    r = c.post("/api/v1/shifts", headers=merchant.cashier,
               json={"terminal_id": str(merchant.terminal_id), "opening_float": 0})
    assert r.status_code == 201, r.text
    return merchant


def sell(m, member=True):
    body = {"store_id": str(m.store_id), "terminal_id": str(m.terminal_id),
            "lines": [{"product_id": m.chips["id"]}], "payments": [{"method": "cash", "amount": 1000}]}
    if member:
        body["member_id"] = m.member["id"]
    r = m.client.post("/api/v1/sales", headers=m.cashier, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def quote(m, headers=None, member=True):
    body = {"store_id": str(m.store_id), "lines": [{"product_id": m.chips["id"]}]}
    if member:
        body["member_id"] = m.member["id"]
    r = m.client.post("/api/v1/pricing/quote", headers=headers or m.cashier, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_limit_is_saved_and_described(till):
    assert till.promo["max_uses_per_member"] == 2
    assert "每位会员限 2 次" in till.promo["description"]
    r = till.client.post("/api/v1/promotions", headers=till.owner, json={
        "name": "x", "rule": {"kind": "percent_off", "percent_off_bp": 1000}, "scope": {"all": True},
        "max_uses_per_member": 0})
    assert r.status_code == 422


def test_third_sale_of_a_member_does_not_get_it_and_a_refund_gives_one_back(till):
    first, second = sell(till), sell(till)
    assert first["total"] == second["total"] == 900
    third = sell(till)
    assert third["total"] == 1000
    assert any("每位会员限用 2 次,该会员已用 2 次" in e["text"] for e in third["explanation"])
    en = quote(till, headers={**till.cashier, "Accept-Language": "en"})
    assert en["total"] == 1000
    assert any("limited to 2 use(s) per member" in e for e in en["explanation"])
    # a walk-in customer cannot use a per-member promotion
    assert sell(till, member=False)["total"] == 1000
    # a partial refund keeps the use; a full refund gives it back
    r = till.client.post(f"/api/v1/sales/{first['id']}/refunds", headers=till.manager, json={"reason": "退货"})
    assert r.status_code == 201, r.text
    assert quote(till)["total"] == 900
    fourth = sell(till)
    assert fourth["total"] == 900
    assert quote(till)["total"] == 1000
    # a void gives the use back too
    r = till.client.post(f"/api/v1/sales/{fourth['id']}/void", headers=till.manager, json={"reason": "录错"})
    assert r.status_code == 201, r.text
    assert quote(till)["total"] == 900
    # refunding the sale that did not get the promotion gives nothing back
    r = till.client.post(f"/api/v1/sales/{third['id']}/refunds", headers=till.manager, json={"reason": "退货"})
    assert r.status_code == 201, r.text
    assert sell(till)["total"] == 900 and sell(till)["total"] == 1000


def test_uses_are_an_append_only_ledger_and_a_use_recorded_meanwhile_is_a_conflict(till, db):
    sale = sell(till)
    db.info["tenant_id"] = till.tenant_id
    rows = db.query(PromotionUse).filter(PromotionUse.tenant_id == till.tenant_id).all()
    assert [(str(r.sale_id), r.kind, r.delta) for r in rows] == [(sale["id"], "use", 1)]
    with pytest.raises(Exception, match="append-only"):
        db.execute(text("UPDATE promotion_uses SET delta = 0"))
    db.rollback()
    # Two tills price for the same member at once (1 use left): the second to record is refused.
    actor = system_actor(till.tenant_id)
    wanted = [pricing.WantedLine(uuid.UUID(till.chips["id"]), None, "1")]
    priced = [pricing.price(db, actor, till.store_id, wanted, member_id=uuid.UUID(till.member["id"]))
              for _ in range(2)]
    assert all(p.result.total_fen == 900 for p in priced)
    assert pricing.record_promotion_uses(db, actor, priced[0], uuid.uuid4()) == 1
    with pytest.raises(Conflict) as refused:
        pricing.record_promotion_uses(db, actor, priced[1], uuid.uuid4())
    assert refused.value.code == "promotion_limit_reached"
    db.rollback()


def test_store_scope_shows_store_names_in_descriptions_and_quotes(till):
    c, h = till.client, till.owner
    r = c.post("/api/v1/stores", headers=h, json={"name": "福田店"})
    assert r.status_code == 201, r.text
    other = r.json()
    r = c.post("/api/v1/promotions", headers=h, json={
        "name": "福田店开业8折", "rule": {"kind": "percent_off", "percent_off_bp": 2000}, "scope": {"all": True},
        "store_ids": [other["id"]]})
    assert r.status_code == 201, r.text
    assert "适用门店:福田店" in r.json()["description"] and other["id"] not in r.json()["description"]
    en = c.get(f"/api/v1/promotions/{r.json()['id']}", headers={**h, "Accept-Language": "en"}).json()
    assert "stores: 福田店" in en["description"]
    body = quote(till, member=False)
    assert any("「福田店开业8折」仅限 福田店 使用,本店不参与" in e for e in body["explanation"])
