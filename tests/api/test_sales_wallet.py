"""Checkout with WeChat Pay / Alipay through the sandbox gateway over real HTTP, on SQLite and PostgreSQL:
split tender, USERPAYING then success, failures charging nothing, refunds going back through the provider,
and a crash between the gateway's success and the sale's commit settled by reconciliation."""

import secrets
import uuid

import pytest

from cloudpos.context import system_actor
from cloudpos.payments import flow, reconcile
from cloudpos.payments import service as payments
from cloudpos.payments.models import Payment
from cloudpos.payments.testing import fast_payments, ledger_trade, payment_code, provider_patches, sandbox  # noqa: F401


@pytest.fixture
def shop(merchant, app, fast_payments):  # noqa: F811
    c, h = merchant.client, merchant.owner
    db = app.state.sessionmaker()
    db.info["tenant_id"] = merchant.tenant_id
    actor = system_actor(merchant.tenant_id, "test")
    for name, patch in provider_patches(fast_payments).items():
        payments.update_provider(db, actor, name, patch)
    db.close()
    merchant.items = []
    for name, price in [("可口可乐", 350), ("薯片", 800)]:
        r = c.post("/api/v1/products", headers=h, json={"sku": f"W{secrets.token_hex(3)}", "name": name,
                                                        "price": price, "cost": price // 2})
        merchant.items.append(r.json())
    merchant.cashier = merchant.as_role("cashier")
    c.post("/api/v1/shifts", headers=merchant.cashier, json={"terminal_id": str(merchant.terminal_id),
                                                             "opening_float": 0})
    merchant.sandbox = fast_payments
    merchant.app = app
    return merchant


def sell(m, payments_, key=None):
    body = {"store_id": str(m.store_id), "terminal_id": str(m.terminal_id),
            "lines": [{"product_id": m.items[0]["id"], "quantity": "2"}, {"product_id": m.items[1]["id"]}],
            "payments": payments_}
    return m.client.post("/api/v1/sales", headers={**m.cashier, "Idempotency-Key": key or str(uuid.uuid4())},
                         json=body)


def charged(m, payment_id):
    with m.app.state.sessionmaker() as db:
        p = db.get(Payment, (m.tenant_id, uuid.UUID(payment_id)))
        return p, ledger_trade(m.sandbox, p.out_trade_no)


@pytest.mark.parametrize("method", ["wechat", "alipay"])
def test_split_cash_and_wallet_with_userpaying(shop, method):
    r = sell(shop, [{"method": "cash", "amount": 500, "tendered": 500},
                    {"method": method, "amount": 1000, "auth_code": payment_code("1301")}])
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["total"] == 1500 and s["change"] == 0
    wallet = next(p for p in s["payments"] if p["method"] == method)
    p, trade = charged(shop, wallet["payment_id"])
    assert p.sale_id == uuid.UUID(s["id"]) and p.status == "succeeded"
    assert trade["state"] == "SUCCESS" and trade["charges"] == 1 and trade["amount_fen"] == 1000
    assert trade["queries"] >= 1  # USERPAYING: the flow polled before the customer confirmed


def test_insufficient_funds_is_402_and_nothing_written(shop):
    r = sell(shop, [{"method": "wechat", "amount": 1500, "auth_code": payment_code("1302")}])
    assert r.status_code == 402 and r.json()["code"] == "payment_failed"
    assert shop.client.get("/api/v1/sales", headers=shop.owner).json()["total"] == 0


def test_retry_with_same_key_never_charges_twice(shop):
    key = str(uuid.uuid4())
    code = payment_code("1300")
    pays = [{"method": "wechat", "amount": 1500, "auth_code": code}]
    first, again = sell(shop, pays, key), sell(shop, pays, key)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    with shop.app.state.sessionmaker() as db:
        from sqlalchemy import func, select
        n = db.scalar(select(func.count()).where(Payment.tenant_id == shop.tenant_id))
    assert n == 1


def test_refund_goes_back_to_the_wallet(shop):
    s = sell(shop, [{"method": "alipay", "amount": 1500, "auth_code": payment_code("1300")}]).json()
    manager = shop.as_role("store_manager")
    r = shop.client.post(f"/api/v1/sales/{s['id']}/refunds", headers=manager,
                         json={"lines": [{"line_no": 2, "quantity": "1"}], "reason": "退货"})
    assert r.status_code == 201, r.text
    assert r.json()["total"] == -800
    p, trade = charged(shop, s["payments"][0]["payment_id"])
    assert p.refunded_fen == 800 and trade["refunded_fen"] == 800 and trade["charges"] == 1


def test_crash_after_charge_is_reversed_by_reconciliation(shop):
    def crash(_payment_id):
        raise flow.SimulatedCrash("process killed between payment success and sale commit")

    flow.after_gateway_success.register(crash)
    try:
        r = sell(shop, [{"method": "wechat", "amount": 1500, "auth_code": payment_code("1300")}])
    finally:
        flow.after_gateway_success.clear()
    assert r.status_code >= 400
    assert shop.client.get("/api/v1/sales", headers=shop.owner).json()["total"] == 0
    report = reconcile.reconcile(shop.app.state.sessionmaker, tenant_id=shop.tenant_id)
    with shop.app.state.sessionmaker() as db:
        from sqlalchemy import select
        rows = db.scalars(select(Payment).where(Payment.tenant_id == shop.tenant_id)).all()
    statuses = [p.status for p in rows]
    assert rows and all(s in ("reversed", "refunded", "failed") for s in statuses), (report, statuses)
    for p in rows:
        trade = ledger_trade(shop.sandbox, p.out_trade_no)
        assert trade is None or trade["reversed"] or trade["refunded_fen"] == trade["amount_fen"]


def test_the_till_sees_the_customer_typing_the_password(shop, live_server, other_merchant, monkeypatch):
    """While `POST /sales` waits for a USERPAYING wallet payment, the till asks by the key it sent (sale key +
    ":" + tender index) and is told the customer is entering the password; afterwards it is succeeded and
    belongs to the sale. The payments module is paced so the wait lasts ~0.6 s."""
    import threading
    import time

    import httpx

    from cloudpos.payments.config import payment_settings

    monkeypatch.setenv("CLOUDPOS_PAYMENTS_POLL_INTERVAL", "0.3")
    monkeypatch.setenv("CLOUDPOS_PAYMENTS_DEADLINE", "10")
    payment_settings.cache_clear()
    key = str(uuid.uuid4())
    body = {"store_id": str(shop.store_id), "terminal_id": str(shop.terminal_id),
            "lines": [{"product_id": shop.items[1]["id"]}],
            "payments": [{"method": "cash", "amount": 300, "tendered": 300},
                         {"method": "wechat", "amount": 500, "auth_code": payment_code("1301")}]}
    answer: dict = {}

    def pay() -> None:
        answer["sale"] = httpx.post(f"{live_server.url}/api/v1/sales", json=body, timeout=30,
                                    headers={**shop.cashier, "Idempotency-Key": key})

    till = threading.Thread(target=pay)
    till.start()
    seen = []
    with httpx.Client(base_url=live_server.url, headers=shop.cashier, timeout=10) as c:
        while till.is_alive():
            r = c.get(f"/api/v1/payments/by-key/{key}:1")
            if r.status_code == 200:
                seen.append((r.json()["status"], r.json()["code"], r.json()["message"]))
            else:
                assert r.status_code == 404, r.text  # not created yet
            time.sleep(0.02)
        till.join()
        sale = answer["sale"]
        assert sale.status_code == 201, sale.text
        assert ("paying", "USERPAYING", "等待顾客在手机上输入支付密码…") in seen, seen
        done = c.get(f"/api/v1/payments/by-key/{key}:1").json()
        wallet = next(p for p in sale.json()["payments"] if p["method"] == "wechat")
        assert (done["status"], done["id"], done["sale_id"]) == ("succeeded", wallet["payment_id"], sale.json()["id"])
        assert c.get(f"/api/v1/payments/by-key/{key}:0").status_code == 404  # cash is no wallet payment
        assert c.get(f"/api/v1/payments/by-key/{key}:1", headers=other_merchant.owner).status_code == 404
