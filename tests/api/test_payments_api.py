"""Payments over HTTP on SQLite and PostgreSQL: methods (permission, tenancy, audit), provider settings
(secrets never echoed), wallet payments through the sandbox, notifications, the settlement report."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from cloudpos import clock
from cloudpos.context import system_actor
from cloudpos.errors import Invalid
from cloudpos.payments import flow, service
from cloudpos.payments.testing import fast_payments, payment_code, sandbox, throwaway_credentials  # noqa: F401

API = "/api/v1"


def configure(client, merchant, sb):
    c = throwaway_credentials()
    r = client.patch(f"{API}/payment-providers/wechat", headers=merchant.owner,
                     json={"gateway_url": sb.url, "app_id": c.wechat_appid, "mch_id": c.wechat_mch_id,
                           "sign_type": "HMAC-SHA256", "secret": c.wechat_api_key})
    assert r.status_code == 200, r.text
    r = client.patch(f"{API}/payment-providers/alipay", headers=merchant.owner,
                     json={"gateway_url": sb.url + "/gateway.do", "app_id": c.alipay_app_id,
                           "secret": c.app_private_key, "public_key": c.alipay_public_key})
    assert r.status_code == 200, r.text
    return r.json()


def test_methods_defaults_patch_store_override_and_audit(client, merchant):
    r = client.get(f"{API}/payment-methods", headers=merchant.owner)
    assert r.status_code == 200
    by = {m["code"]: m for m in r.json()}
    assert set(by) == {"cash", "card", "wechat", "alipay", "stored_value", "points", "coupon"}
    assert by["wechat"]["fee_rate_bp"] == 38 and by["wechat"]["settlement_cycle_days"] == 1
    r = client.patch(f"{API}/payment-methods/card", headers=merchant.owner,
                     json={"fee_rate_bp": 55, "settlement_cycle_days": 7})
    assert r.status_code == 200 and r.json()["fee_rate_bp"] == 55
    store = {"store_id": str(merchant.store_id)}
    r = client.get(f"{API}/payment-methods", headers=merchant.owner, params=store)
    card = {m["code"]: m for m in r.json()}["card"]
    assert card["fee_rate_bp"] == 55 and card["inherited"]
    r = client.patch(f"{API}/payment-methods/alipay", headers=merchant.owner, params=store, json={"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False and not r.json()["inherited"]
    r = client.get(f"{API}/payment-methods", headers=merchant.owner)
    assert {m["code"]: m for m in r.json()}["alipay"]["enabled"] is True  # merchant-wide unchanged
    events = client.get(f"{API}/audit-events", headers=merchant.owner, params={"action": "payment.method.update"})
    assert events.status_code == 200 and events.json()["total"] == 2


def test_methods_refuse_bad_input_cashier_and_other_tenant(client, merchant, other_merchant):
    for body in ({"fee_rate_bp": 5000}, {"settlement_cycle_days": 3}, {"fee_rate_bp": "x"}, {"bogus": 1}):
        r = client.patch(f"{API}/payment-methods/card", headers=merchant.owner, json=body)
        assert r.status_code == 422, body
        assert r.headers["content-type"].startswith("application/problem+json")
    assert client.patch(f"{API}/payment-methods/bitcoin", headers=merchant.owner, json={}).status_code == 422
    cashier = merchant.as_role("cashier")
    assert client.get(f"{API}/payment-methods", headers=cashier).status_code == 403
    assert client.patch(f"{API}/payment-methods/card", headers=cashier, json={"enabled": False}).status_code == 403
    assert client.get(f"{API}/payment-providers/wechat", headers=cashier).status_code == 403
    other_store = {"store_id": str(other_merchant.store_id)}
    assert client.get(f"{API}/payment-methods", headers=merchant.owner, params=other_store).status_code == 404
    r = client.patch(f"{API}/payment-methods/card", headers=merchant.owner, params=other_store, json={"enabled": False})
    assert r.status_code == 404


def test_provider_secret_is_write_only_and_test_connection(client, merchant, fast_payments):  # noqa: F811
    out = configure(client, merchant, fast_payments)
    c = throwaway_credentials()
    assert out["source"] == "merchant" and out["public_key_set"] and out["secret_hint"].startswith("sha256:")
    wx = client.get(f"{API}/payment-providers/wechat", headers=merchant.owner).json()
    assert wx["secret_hint"] == "…" + c.wechat_api_key[-4:]
    for text in (client.get(f"{API}/payment-providers/wechat", headers=merchant.owner).text,
                 client.get(f"{API}/payment-providers/alipay", headers=merchant.owner).text,
                 client.get(f"{API}/audit-events", headers=merchant.owner).text):
        assert c.wechat_api_key not in text and "PRIVATE KEY" not in text
    for name in ("wechat", "alipay"):
        r = client.post(f"{API}/payment-providers/{name}/test", headers=merchant.owner)
        assert r.status_code == 200 and r.json()["ok"], r.text
    bad = client.patch(f"{API}/payment-providers/alipay", headers=merchant.owner, json={"public_key": "not a key"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "public_key"
    bad = client.patch(f"{API}/payment-providers/wechat", headers=merchant.owner, json={"secret": "short"})
    assert bad.status_code == 422
    bad = client.patch(f"{API}/payment-providers/wechat", headers=merchant.owner, json={"cert_path": "/no/such.pem"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cert_path"
    wrong = client.patch(f"{API}/payment-providers/wechat", headers=merchant.owner, json={"secret": "f" * 32})
    assert wrong.status_code == 200
    r = client.post(f"{API}/payment-providers/wechat/test", headers=merchant.owner)
    assert r.status_code == 200 and not r.json()["ok"]


def test_wallet_payment_over_http_then_status_and_tenancy(client, merchant, other_merchant, fast_payments):  # noqa: F811
    configure(client, merchant, fast_payments)
    cashier = merchant.as_role("cashier")
    body = {"store_id": str(merchant.store_id), "terminal_id": str(merchant.terminal_id), "method": "alipay",
            "amount": 1250, "auth_code": payment_code("1301")}
    r = client.post(f"{API}/payments/wallet", headers={**cashier, "Idempotency-Key": "k1"}, json=body)
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["status"] == "succeeded" and p["auth_code_last4"] == body["auth_code"][-4:]
    assert body["auth_code"] not in r.text
    again = client.post(f"{API}/payments/wallet", headers={**cashier, "Idempotency-Key": "k1"}, json=body)
    assert again.json()["id"] == p["id"]
    got = client.get(f"{API}/payments/{p['id']}", headers=cashier)
    assert got.status_code == 200 and got.json()["provider_trade_no"] == p["provider_trade_no"]
    assert client.get(f"{API}/payments/{p['id']}", headers=other_merchant.owner).status_code == 404
    assert client.get(f"{API}/payments/{uuid.uuid4()}", headers=cashier).status_code == 404
    declined = client.post(f"{API}/payments/wallet", headers=cashier,
                           json={**body, "method": "wechat", "auth_code": payment_code("1302")})
    assert declined.status_code == 201 and declined.json()["status"] == "failed"
    assert "not enough" in declined.json()["message"] or "余额" in declined.json()["message"]
    for bad in ({**body, "auth_code": "12ab"}, {**body, "amount": 0}, {**body, "amount": 12.5},
                {**body, "method": "cash"}, {**body, "terminal_id": str(other_merchant.terminal_id)},
                {**body, "auth_code": payment_code("1300"), "store_id": str(other_merchant.store_id)}):
        r = client.post(f"{API}/payments/wallet", headers=cashier, json=bad)
        assert r.status_code in (404, 422), (bad, r.text)
    salesperson = merchant.as_role("salesperson")
    assert client.post(f"{API}/payments/wallet", headers=salesperson, json=body).status_code == 403


def test_notifications_verified_and_refused(client, merchant, app, fast_payments):  # noqa: F811
    configure(client, merchant, fast_payments)
    db = app.state.sessionmaker()
    db.info["tenant_id"] = merchant.tenant_id
    actor = system_actor(merchant.tenant_id)
    try:
        for method in ("wechat", "alipay"):
            flow.after_gateway_success.register(lambda pid: (_ for _ in ()).throw(flow.SimulatedCrash(pid)))
            with pytest.raises(flow.SimulatedCrash) as crashed:
                service.start_wallet_payment(db, actor, merchant.store_id, merchant.terminal_id, method, 777,
                                             payment_code("1300"))
            flow.after_gateway_success.clear()
            pid = uuid.UUID(str(crashed.value))
            assert service.payment(db, actor, pid).status == "paying"
            db.commit()
            body = httpx.get(f"{fast_payments.url}/sandbox/notification/{method}/{pid.hex}").content
            tampered = body.replace(b"777", b"778") if method == "wechat" else body.replace(b"7.77", b"7.78")
            r = client.post(f"{API}/payments/notify/{method}", content=tampered)
            assert r.status_code == 400
            db.expire_all()
            assert service.payment(db, actor, pid).status == "paying"
            db.commit()
            r = client.post(f"{API}/payments/notify/{method}", content=body)
            assert r.status_code == 200
            assert r.text.strip() == "success" if method == "alipay" else "SUCCESS" in r.text
            db.expire_all()
            assert service.payment(db, actor, pid).status == "succeeded"
            db.commit()
        assert client.post(f"{API}/payments/notify/wechat", content=b"<xml><a>1</a></xml>").status_code == 400
        assert client.post(f"{API}/payments/notify/alipay", content=b"out_trade_no=nope&sign=x").status_code == 400
        assert client.post(f"{API}/payments/notify/wechat", content=b"\x00\xff garbage").status_code == 400
    finally:
        db.close()


def test_card_number_is_never_accepted(client, merchant, app):
    db = app.state.sessionmaker()
    db.info["tenant_id"] = merchant.tenant_id
    actor = system_actor(merchant.tenant_id)
    try:
        for field in ("approval_code", "reference", "card_brand", "sale_ref"):
            with pytest.raises(Invalid) as exc:
                service.record_offline_payment(db, actor, merchant.store_id, "card", 100,
                                               **{field: "4111 1111 1111 1111"})
            assert exc.value.errors[0].code == "card_number_refused"
        with pytest.raises(Invalid):
            service.record_offline_payment(db, actor, merchant.store_id, "card", 100, card_last4="41111")
        ok = service.record_offline_payment(db, actor, merchant.store_id, "card", 100, card_brand="UnionPay",
                                            card_last4="1111", approval_code="A12345")
        db.commit()
        assert ok.card_last4 == "1111" and ok.status == "succeeded"
    finally:
        db.close()


def test_settlement_report_math(client, merchant):
    owner = merchant.owner
    card = {"fee_rate_bp": 60, "settlement_cycle_days": 1}
    assert client.patch(f"{API}/payment-methods/card", headers=owner, json=card).status_code == 200
    assert client.patch(f"{API}/payment-methods/wechat", headers=owner,
                        json={"settlement_cycle_days": 7}).status_code == 200
    app = client.app
    db = app.state.sessionmaker()
    db.info["tenant_id"] = merchant.tenant_id
    actor = system_actor(merchant.tenant_id)
    try:
        clock.freeze(datetime(2026, 11, 26, 15, 59, tzinfo=UTC))  # 23:59 in Shanghai, Nov 26: another day
        service.record_offline_payment(db, actor, merchant.store_id, "card", 9999)
        clock.freeze(datetime(2026, 11, 26, 16, 30, tzinfo=UTC))  # 00:30 in Shanghai, Nov 27
        c1 = service.record_offline_payment(db, actor, merchant.store_id, "card", 1250)  # fee 7.5 → 8
        service.record_offline_payment(db, actor, merchant.store_id, "card", 1249)  # fee 7.494 → 7
        service.record_offline_payment(db, actor, merchant.store_id, "cash", 5000)
        service.record_offline_payment(db, actor, merchant.store_id, "coupon", 300)
        db.commit()
        service.record_offline_refund(db, actor, c1.id, 1250, reason="return")  # gives the 8 fen fee back
        db.commit()
    finally:
        clock.freeze(None)
        db.close()
    r = client.get(f"{API}/payments/settlement", headers=owner,
                   params={"from": "2026-11-27", "to": "2026-11-27", "store_id": str(merchant.store_id)})
    assert r.status_code == 200, r.text
    out = r.json()
    rows = {row["method"]: row for row in out["rows"]}
    assert set(rows) == {"cash", "card", "coupon"}
    assert rows["card"] == {"business_day": "2026-11-27", "method": "card", "count": 2, "gross": 2499,
                            "refunds": 1250, "fees": 7, "net": 1242, "settlement_date": "2026-11-28"}
    assert rows["cash"]["net"] == 5000 and rows["cash"]["settlement_date"] == "2026-11-27"
    assert out["totals"] == {"count": 4, "gross": 7799, "refunds": 1250, "fees": 7, "net": 6542}
    day_before = client.get(f"{API}/payments/settlement", headers=owner,
                            params={"from": "2026-11-26", "to": "2026-11-26"}).json()
    assert day_before["totals"]["gross"] == 9999 and day_before["rows"][0]["settlement_date"] == "2026-11-27"
    for params in ({"from": "2026-11-28", "to": "2026-11-27"}, {"from": "bad", "to": "2026-11-27"},
                   {"from": "2025-01-01", "to": "2026-11-27"}, {"to": "2026-11-27"}):
        bad = client.get(f"{API}/payments/settlement", headers=owner, params=params)
        assert bad.status_code == 422, params
    assert client.get(f"{API}/payments/settlement", headers=merchant.as_role("cashier"),
                      params={"from": "2026-11-27", "to": "2026-11-27"}).status_code == 403


def test_demo_merchant_uses_the_bundled_sandbox(client, merchant, monkeypatch):
    """No credentials anywhere: payments go to the sandbox at its local address, started on demand."""
    from cloudpos.payments.config import payment_settings
    from cloudpos.payments.testing import FAST_ENV
    from cloudpos.web.threaded import free_port

    for k, v in FAST_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("CLOUDPOS_PAYMENTS_SANDBOX_URL", f"http://127.0.0.1:{free_port()}")
    payment_settings.cache_clear()
    try:
        info = client.get(f"{API}/payment-providers/alipay", headers=merchant.owner).json()
        assert info["source"] == "sandbox" and info["gateway_url"].endswith("/gateway.do")
        body = {"store_id": str(merchant.store_id), "terminal_id": str(merchant.terminal_id), "method": "alipay",
                "amount": 990, "auth_code": payment_code("1300")}
        r = client.post(f"{API}/payments/wallet", headers=merchant.owner, json=body)
        assert r.status_code == 201 and r.json()["status"] == "succeeded", r.text
        r = client.post(f"{API}/payments/wallet", headers=merchant.owner,
                        json={**body, "method": "wechat", "auth_code": payment_code("1300")})
        assert r.json()["status"] == "succeeded", r.text
    finally:
        monkeypatch.undo()
        payment_settings.cache_clear()
