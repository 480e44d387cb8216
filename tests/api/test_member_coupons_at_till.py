"""Coupons issued to members are pricing's coupons, so the till redeems them (SQLite and PostgreSQL).

A registration benefit and a campaign each issue a coupon to a member; the cashier presents the code in
`POST /api/v1/sales` with that member: the discount applies, the coupon becomes used (and shows so in
`GET /api/v1/members/{id}/coupons`); the same code again, or for another member, gives no discount.
"""

from __future__ import annotations

import secrets
import uuid


def _phone() -> str:
    return "137" + "".join(str(secrets.randbelow(10)) for _ in range(8))


def _setup(m):
    c, h = m.client, m.owner
    cat = c.post("/api/v1/categories", headers=h, json={"name": "零食"}).json()
    r = c.post("/api/v1/products", headers=h, json={"sku": f"S{secrets.token_hex(3)}", "name": "乐事薯片",
                                                      "price": 800, "cost": 400, "category_id": cat["id"]})
    assert r.status_code == 201, r.text
    m.chips = r.json()
    m.cashier = m.as_role("cashier")
    r = c.post("/api/v1/shifts", headers=m.cashier, json={"terminal_id": str(m.terminal_id), "opening_float": 0})
    assert r.status_code == 201, r.text
    r = c.post("/api/v1/coupon-templates", headers=h, json={
        "name": "新会员满10减5", "kind": "amount_off", "value": 500, "threshold": 1000, "valid_days": 30})
    assert r.status_code == 201, r.text
    return r.json()


def _sale(m, member_id, codes, pay):
    return m.client.post("/api/v1/sales", headers=m.cashier, json={
        "store_id": str(m.store_id), "terminal_id": str(m.terminal_id), "member_id": member_id,
        "lines": [{"product_id": m.chips["id"], "quantity": "2"}], "coupon_codes": codes,
        "payments": [{"method": "cash", "amount": pay}]})


def _coupons(m, member_id):
    r = m.client.get(f"/api/v1/members/{member_id}/coupons", headers=m.owner)
    assert r.status_code == 200, r.text
    return r.json()


def test_registration_and_campaign_coupons_are_redeemed_at_the_till_once(merchant):
    m = merchant
    template = _setup(m)
    r = m.client.patch("/api/v1/member-program", headers=m.owner,
                       json={"registration_coupon_template_id": template["id"]})
    assert r.status_code == 200, r.text
    # registration at the till (by the cashier) brings the coupon
    r = m.client.post("/api/v1/members", headers=m.cashier, json={"phone": _phone(), "name": "新会员"})
    assert r.status_code == 201, r.text
    alice = r.json()["id"]
    [coupon] = _coupons(m, alice)
    assert coupon["status"] == "issued" and coupon["template_id"] == template["id"]
    assert coupon["template_name"] == "新会员满10减5" and coupon["issued_reason"] == "registration"
    assert coupon["valid_to"] == coupon["valid_until"] and coupon["valid_until"] > coupon["valid_from"]
    for key in ("id", "member_id", "code", "used_sale_id", "issued_at"):
        assert key in coupon

    # the cashier presents the code: 2 × ¥8 = ¥16, ¥5 off → ¥11
    r = _sale(m, alice, [coupon["code"].lower()], 1100)
    assert r.status_code == 201, r.text
    sale = r.json()
    assert sale["subtotal"] == 1600 and sale["total"] == 1100
    [used] = _coupons(m, alice)
    assert used["status"] == "used" and used["used_sale_id"] == sale["id"] and used["used_at"]

    # a second use gives no discount: charged ¥11 for ¥16 of goods is refused, nothing is written
    sales_before = m.client.get("/api/v1/sales", headers=m.owner).json()["total"]
    r = _sale(m, alice, [coupon["code"]], 1100)
    assert r.status_code == 422 and r.json()["code"] == "payment_mismatch", r.text
    assert m.client.get("/api/v1/sales", headers=m.owner).json()["total"] == sales_before
    r = m.client.post("/api/v1/pricing/quote", headers=m.cashier, json={
        "store_id": str(m.store_id), "member_id": alice, "coupon_codes": [coupon["code"]],
        "lines": [{"product_id": m.chips["id"], "quantity": "2"}]})
    assert r.status_code == 200, r.text
    assert [(c["code"], c["usable"]) for c in r.json()["coupons"]] == [(coupon["code"], False)]

    # a campaign to a segment issues the coupon to each member in it; only that member can use it
    bob = m.client.post("/api/v1/members", headers=m.owner,
                        json={"phone": _phone(), "name": "老客", "marketing_consent": True}).json()["id"]
    seg = m.client.post("/api/v1/segments", headers=m.owner,
                        json={"name": "同意营销", "filters": {"marketing_consent": True}}).json()
    camp = m.client.post("/api/v1/campaigns", headers=m.owner, json={
        "name": "回馈券", "segment_id": seg["id"], "action": "coupon", "template_id": template["id"]})
    assert camp.status_code == 201, camp.text
    r = m.client.post(f"/api/v1/campaigns/{camp.json()['id']}/run", headers=m.owner)
    assert r.status_code == 200 and r.json()["sent"] == 1, r.text
    by_reason = {c["issued_reason"]: c for c in _coupons(m, bob)}  # Bob registered after the benefit too
    assert set(by_reason) == {"registration", "campaign:回馈券"}
    gift = by_reason["campaign:回馈券"]
    assert gift["status"] == "issued" and gift["template_id"] == template["id"]
    r = _sale(m, alice, [gift["code"]], 1100)  # Bob's coupon presented for Alice
    assert r.status_code == 422 and r.json()["code"] == "payment_mismatch", r.text
    r = _sale(m, bob, [gift["code"]], 1100)
    assert r.status_code == 201 and r.json()["total"] == 1100, r.text
    assert {c["issued_reason"]: c["status"] for c in _coupons(m, bob)} == {"registration": "issued",
                                                                           "campaign:回馈券": "used"}


def test_manual_issue_and_void_from_the_member_page_api(merchant):
    m = merchant
    template = _setup(m)
    member = m.client.post("/api/v1/members", headers=m.owner, json={"phone": _phone(), "name": "张三"}).json()
    url = f"/api/v1/members/{member['id']}/coupons"
    # money off: a cashier may look coupons up but not issue or void them
    assert m.client.post(url, headers=m.cashier, json={"template_id": template["id"]}).status_code == 403
    r = m.client.post(url, headers=m.owner, json={"template_id": str(uuid.uuid4()), "reason": "apology"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "template_id"
    r = m.client.post(url, headers=m.owner, json={"template_id": template["id"], "reason": "apology",
                                                   "valid_days": 7})
    assert r.status_code == 201, r.text
    issued = r.json()
    assert issued["status"] == "issued" and issued["issued_reason"] == "apology"
    assert [c["id"] for c in m.client.get(url, headers=m.cashier).json()] == [issued["id"]]
    # the pricing side sees the same coupon
    r = m.client.get("/api/v1/coupons", headers=m.owner, params={"member_id": member["id"]})
    assert [c["code"] for c in r.json()["items"]] == [issued["code"]]
    assert m.client.post(f"{url}/{issued['id']}/void", headers=m.cashier).status_code == 403
    r = m.client.post(f"{url}/{issued['id']}/void", headers=m.owner, json={"reason": "mistake"})
    assert r.status_code == 200 and r.json()["status"] == "void", r.text
    assert m.client.post(f"{url}/{issued['id']}/void", headers=m.owner).status_code == 409
    r = _sale(m, member["id"], [issued["code"]], 1100)
    assert r.status_code == 422  # a void coupon gives nothing
    other = m.client.post("/api/v1/members", headers=m.owner, json={"phone": _phone(), "name": "李四"}).json()
    assert m.client.post(f"/api/v1/members/{other['id']}/coupons/{issued['id']}/void",
                         headers=m.owner).status_code == 404
    audit = m.client.get("/api/v1/audit-events", headers=m.owner, params={"page_size": 200}).json()["items"]
    assert {"coupon.issue", "coupon.void"} <= {e["action"] for e in audit}


def test_member_page_offers_templates_and_lists_coupons(merchant):
    m = merchant
    template = _setup(m)
    member = m.client.post("/api/v1/members", headers=m.owner, json={"phone": _phone(), "name": "王五"}).json()
    issued = m.client.post(f"/api/v1/members/{member['id']}/coupons", headers=m.owner,
                           json={"template_id": template["id"]}).json()
    for lang, label in (("zh_CN", "发放优惠券"), ("en", "Issue a coupon")):
        page = m.client.get(f"/members/{member['id']}", headers=m.owner, params={"lang": lang})
        assert page.status_code == 200, page.text[:2000]
        assert label in page.text and f'<option value="{template["id"]}">新会员满10减5' in page.text
        assert issued["code"] in page.text and f"/coupons/{issued['id']}/void" in page.text
    page = m.client.get(f"/members/{member['id']}", headers=m.cashier)  # the cashier sees, cannot issue or void
    assert issued["code"] in page.text and "/void" not in page.text and 'data-testid="issue-coupon"' not in page.text
    m.client.post("/api/v1/segments", headers=m.owner, json={"name": "全部"})
    page = m.client.get("/member-campaigns", headers=m.owner)
    assert f'<option value="{template["id"]}">' in page.text
