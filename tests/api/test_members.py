"""Members API on SQLite and PostgreSQL: registration, masking and its audit, look-ups (phone, card, QR),
points adjustments, stored value (top-up bonus, PIN threshold, insufficient balance), erase, tenancy."""

from __future__ import annotations

import secrets
import uuid

import pytest
from itsdangerous import timed

from cloudpos.members import domain, registration


def phone() -> str:
    return "139" + "".join(str(secrets.randbelow(10)) for _ in range(8))


def register(m, headers=None, **extra) -> dict:
    body = {"phone": phone(), "name": "张三", **extra}
    r = m.client.post("/api/v1/members", headers=headers or m.owner, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def audit_actions(m, action: str) -> list[dict]:
    r = m.client.get("/api/v1/audit-events", headers=m.owner, params={"action": action, "page_size": 200})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_register_and_card_number(merchant):
    p = phone()
    r = merchant.client.post("/api/v1/members", headers=merchant.owner,
                             json={"phone": p, "name": "李四", "email": "li@example.com", "birthday": "1990-05-06",
                                   "gender": "female"})
    assert r.status_code == 201, r.text
    body = r.json()
    for key in ("id", "card_no", "name", "phone", "tier", "points_balance", "stored_value_balance", "birthday",
                "created_at"):
        assert key in body
    assert domain.luhn_valid(body["card_no"]) and len(body["card_no"]) == 10
    assert body["phone"] == p  # the owner holds member.pii.view
    assert body["tier"]["code"] == "normal"
    assert body["points_balance"] == 0 and body["stored_value_balance"] == 0
    assert audit_actions(merchant, "member.create")


def test_duplicate_and_invalid_phone_write_nothing(merchant):
    first = register(merchant)
    r = merchant.client.post("/api/v1/members", headers=merchant.owner,
                             json={"phone": first["phone"], "name": "王五"})
    assert r.status_code == 409 and r.json()["code"] == "member_exists"
    r = merchant.client.post("/api/v1/members", headers=merchant.owner, json={"phone": "12345", "name": "王五"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "phone"
    r = merchant.client.post("/api/v1/members", headers=merchant.owner,
                             json={"phone": phone(), "name": "王五", "pin": "111111"})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "weak_pin"
    r = merchant.client.post("/api/v1/members", headers=merchant.owner, json={"phone": phone(), "name": "x", "y": 1})
    assert r.status_code == 422
    listed = merchant.client.get("/api/v1/members", headers=merchant.owner).json()
    assert listed["total"] == 1


def test_masking_and_pii_audit(merchant):
    cashier = merchant.as_role("cashier")
    m = register(merchant, birthday="1988-02-03")
    full = m["phone"]
    before = len(audit_actions(merchant, "member.pii.view"))
    r = merchant.client.get(f"/api/v1/members/{m['id']}", headers=cashier)
    assert r.status_code == 200
    assert r.json()["phone"] == full[:3] + "****" + full[-4:]
    assert r.json()["birthday"] is None
    assert len(audit_actions(merchant, "member.pii.view")) == before  # masked views are not PII views
    r = merchant.client.get(f"/api/v1/members/{m['id']}", headers=merchant.owner)
    assert r.json()["phone"] == full and r.json()["birthday"] == "1988-02-03"
    events = audit_actions(merchant, "member.pii.view")
    assert len(events) == before + 1 and events[0]["target_id"] == m["id"]
    listed = merchant.client.get("/api/v1/members", headers=cashier).json()
    assert listed["items"][0]["phone"].count("*") == 4


def test_lookup_by_phone_card_and_qr(merchant, app, monkeypatch):
    cashier = merchant.as_role("cashier")
    m = register(merchant)
    register(merchant)
    for params in ({"phone": m["phone"]}, {"card_no": m["card_no"]}, {"q": m["card_no"]}):
        r = merchant.client.get("/api/v1/members", headers=cashier, params=params)
        assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == [m["id"]], params
    token = registration.qr_token(app.state.secret, merchant.tenant_id, uuid.UUID(m["id"]))
    r = merchant.client.get("/api/v1/members", headers=cashier, params={"qr": token})
    assert r.status_code == 200 and r.json()["items"][0]["id"] == m["id"]
    real = timed.time.time
    monkeypatch.setattr(timed.time, "time", lambda: real() - 120)
    old = registration.qr_token(app.state.secret, merchant.tenant_id, uuid.UUID(m["id"]))
    monkeypatch.setattr(timed.time, "time", real)
    r = merchant.client.get("/api/v1/members", headers=cashier, params={"qr": old})
    assert r.status_code == 422 and r.json()["code"] == "qr_expired"
    r = merchant.client.get("/api/v1/members", headers=cashier, params={"qr": token[:-3] + "abc"})
    assert r.status_code == 422 and r.json()["code"] == "qr_invalid"


def test_points_adjust_and_permissions(merchant):
    cashier = merchant.as_role("cashier")
    m = register(merchant)
    url = f"/api/v1/members/{m['id']}/points"
    r = merchant.client.post(url, headers=cashier, json={"delta": 100, "reason": "goodwill"})
    assert r.status_code == 403
    r = merchant.client.post(url, headers=merchant.owner, json={"delta": 500, "reason": "开业赠送"})
    assert r.status_code == 201, r.text
    assert r.json()["balance_after"] == 500
    r = merchant.client.post(url, headers=merchant.owner, json={"delta": -600, "reason": "too much"})
    assert r.status_code == 409 and r.json()["code"] == "insufficient_points"
    r = merchant.client.post(url, headers=merchant.owner, json={"delta": -200, "reason": "correction"})
    assert r.status_code == 201
    r = merchant.client.post(url, headers=merchant.owner, json={"delta": 0, "reason": "nothing"})
    assert r.status_code == 422
    r = merchant.client.post(url, headers=merchant.owner, json={"delta": 5, "reason": ""})
    assert r.status_code == 422
    ledger = merchant.client.get(url, headers=cashier).json()
    assert [e["delta"] for e in ledger["items"]] == [-200, 500]
    assert merchant.client.get(f"/api/v1/members/{m['id']}", headers=cashier).json()["points_balance"] == 300
    events = audit_actions(merchant, "member.points.adjust")
    assert len(events) == 2


def test_top_up_with_bonus_and_pay(merchant):
    r = merchant.client.post("/api/v1/member-topup-rules", headers=merchant.owner,
                             json={"threshold_fen": 20000, "bonus_fen": 2000})
    assert r.status_code == 201, r.text
    merchant.client.post("/api/v1/member-topup-rules", headers=merchant.owner,
                         json={"threshold_fen": 50000, "bonus_fen": 8000})
    cashier = merchant.as_role("cashier")
    m = register(merchant, pin="135790")
    url = f"/api/v1/members/{m['id']}/stored-value"
    r = merchant.client.post(f"{url}/top-ups", headers=cashier,
                             json={"amount_fen": 30000, "payment_method": "wechat", "reference": "WX123"})
    assert r.status_code == 201, r.text
    assert r.json()["bonus_fen"] == 2000 and r.json()["stored_value_balance"] == 32000
    r = merchant.client.post(f"{url}/top-ups", headers=cashier, json={"amount_fen": 0, "payment_method": "cash"})
    assert r.status_code == 422
    r = merchant.client.post(f"{url}/top-ups", headers=cashier, json={"amount_fen": 100, "payment_method": "bitcoin"})
    assert r.status_code == 422
    pay = f"{url}/payments"
    sale = str(uuid.uuid4())
    r = merchant.client.post(pay, headers=cashier, json={"amount_fen": 5000, "sale_id": sale})  # under ¥100: no PIN
    assert r.status_code == 200, r.text
    assert r.json()["stored_value_balance"] == 27000
    assert r.json()["principal_fen"] + r.json()["bonus_fen"] == 5000
    r = merchant.client.post(pay, headers=cashier, json={"amount_fen": 15000, "sale_id": sale})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "pin_required"
    r = merchant.client.post(pay, headers=cashier, json={"amount_fen": 15000, "sale_id": sale, "pin": "000000"})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "pin_wrong"
    r = merchant.client.post(pay, headers=cashier, json={"amount_fen": 15000, "sale_id": sale, "pin": "135790"})
    assert r.status_code == 200 and r.json()["stored_value_balance"] == 12000
    r = merchant.client.post(pay, headers=cashier, json={"amount_fen": 12001, "sale_id": sale, "pin": "135790"})
    assert r.status_code == 409 and r.json()["code"] == "insufficient_balance"
    ledger = merchant.client.get(url, headers=cashier).json()
    assert sum(e["delta"] for e in ledger["items"]) == 12000
    assert [e["kind"] for e in ledger["items"]] == ["payment", "payment", "top_up"]
    assert ledger["items"][-1]["bonus_delta"] == 2000 and ledger["items"][-1]["payment_method"] == "wechat"
    detail = merchant.client.get(f"/api/v1/members/{m['id']}", headers=merchant.owner).json()
    assert detail["sv_principal_fen"] + detail["sv_bonus_fen"] == 12000


def test_erase_keeps_ledgers(merchant):
    m = register(merchant, email="a@b.cn", birthday="1991-01-01")
    merchant.client.post(f"/api/v1/members/{m['id']}/points", headers=merchant.owner,
                         json={"delta": 800, "reason": "welcome"})
    r = merchant.client.get(f"/api/v1/members/{m['id']}/export", headers=merchant.owner)
    assert r.status_code == 200 and r.json()["profile"]["phone"] == m["phone"]
    r = merchant.client.get(f"/api/v1/members/{m['id']}/export", headers=merchant.owner, params={"format": "xlsx"})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    cashier = merchant.as_role("cashier")
    assert merchant.client.post(f"/api/v1/members/{m['id']}/erase", headers=cashier).status_code == 403
    r = merchant.client.post(f"/api/v1/members/{m['id']}/erase", headers=merchant.owner)
    assert r.status_code == 200, r.text
    body = merchant.client.get(f"/api/v1/members/{m['id']}", headers=merchant.owner).json()
    assert body["name"] == "已注销会员" and body["phone"] == "" and body["birthday"] is None and body["email"] == ""
    assert body["card_no"] == m["card_no"] and body["points_balance"] == 800
    ledger = merchant.client.get(f"/api/v1/members/{m['id']}/points", headers=merchant.owner).json()
    assert ledger["total"] == 1
    assert audit_actions(merchant, "member.erase") and audit_actions(merchant, "member.export")
    # the phone is free again
    r = merchant.client.post("/api/v1/members", headers=merchant.owner, json={"phone": m["phone"], "name": "新"})
    assert r.status_code == 201


def test_cross_tenant_is_404(merchant, other_merchant):
    m = register(merchant)
    for method, url, body in [
        ("get", f"/api/v1/members/{m['id']}", None),
        ("get", f"/api/v1/members/{m['id']}/points", None),
        ("post", f"/api/v1/members/{m['id']}/points", {"delta": 5, "reason": "steal"}),
        ("post", f"/api/v1/members/{m['id']}/stored-value/top-ups", {"amount_fen": 100, "payment_method": "cash"}),
        ("get", f"/api/v1/members/{m['id']}/coupons", None),
    ]:
        r = getattr(other_merchant.client, method)(url, headers=other_merchant.owner,
                                                   **({"json": body} if body else {}))
        assert r.status_code == 404, (url, r.text)
    r = other_merchant.client.get("/api/v1/members", headers=other_merchant.owner, params={"phone": m["phone"]})
    assert r.json()["total"] == 0


def test_tiers_segments_coupons(merchant):
    tiers = merchant.client.get("/api/v1/member-tiers", headers=merchant.owner).json()
    assert [t["code"] for t in tiers] == []  # created on first use
    m = register(merchant, birthday="1990-01-15")
    tiers = merchant.client.get("/api/v1/member-tiers", headers=merchant.owner).json()
    assert [t["code"] for t in tiers] == ["normal", "silver", "gold"] and tiers[0]["member_count"] == 1
    r = merchant.client.post("/api/v1/member-tiers", headers=merchant.owner,
                             json={"code": "vip", "name": "钻石", "rank": 30, "rule": "spend"})
    assert r.status_code == 422  # spend tier without a threshold
    r = merchant.client.post("/api/v1/member-tiers", headers=merchant.owner,
                             json={"code": "vip", "name": "钻石", "rank": 30, "rule": "manual", "discount_bp": 1200})
    assert r.status_code == 201
    r = merchant.client.patch(f"/api/v1/members/{m['id']}", headers=merchant.owner, json={"tier_id": r.json()["id"]})
    assert r.status_code == 200 and r.json()["tier"]["code"] == "vip" and r.json()["tier_locked"]
    r = merchant.client.post("/api/v1/segments/count", headers=merchant.owner, json={"tier_ids": [m["tier"]["id"]]})
    assert r.json()["count"] == 0
    r = merchant.client.post("/api/v1/segments", headers=merchant.owner,
                             json={"name": "从未消费", "filters": {"rfm_classes": ["none"]}})
    assert r.status_code == 201 and r.json()["member_count"] == 1
    r = merchant.client.post("/api/v1/segments", headers=merchant.owner,
                             json={"name": "bad", "filters": {"rfm_classes": ["nope"]}})
    assert r.status_code == 422
    template = merchant.client.post("/api/v1/coupon-templates", headers=merchant.owner, json={
        "name": "赔礼券", "kind": "amount_off", "value": 300, "valid_days": 10}).json()["id"]
    r = merchant.client.post(f"/api/v1/members/{m['id']}/coupons", headers=merchant.owner,
                             json={"template_id": template, "reason": "apology"})
    assert r.status_code == 201 and len(r.json()["code"]) == 10
    coupons = merchant.client.get(f"/api/v1/members/{m['id']}/coupons", headers=merchant.owner).json()
    assert coupons[0]["status"] == "issued" and coupons[0]["template_id"] == template


@pytest.mark.parametrize("bad", [{"amount_fen": "abc", "payment_method": "cash"}, {"amount_fen": 1.5,
                                                                                  "payment_method": "cash"}])
def test_bad_input_is_4xx(merchant, bad):
    m = register(merchant)
    r = merchant.client.post(f"/api/v1/members/{m['id']}/stored-value/top-ups", headers=merchant.owner, json=bad)
    assert r.status_code == 422
    assert merchant.client.get(f"/api/v1/members/{uuid.uuid4()}", headers=merchant.owner).status_code == 404
    assert merchant.client.get("/api/v1/members/not-a-uuid", headers=merchant.owner).status_code == 422
