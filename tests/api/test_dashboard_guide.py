"""The first-run guide (新手引导) ticks off what the merchant has done and goes away when all is done."""

import secrets

import pytest


def _dashboard(m):
    m.client.cookies.set("cloudpos_session", m.owner_token)
    try:
        r = m.client.get("/", headers={"Accept-Language": "zh-CN"})
    finally:
        m.client.cookies.clear()
    assert r.status_code == 200
    return r.text


def _done(html: str) -> set[str]:
    chunks = html.split('data-testid="guide-step-')[1:]  # each step's markup up to the next step
    return {chunk.split('"', 1)[0] for chunk in chunks if 'data-testid="guide-done"' in chunk}


def test_guide_ticks_steps_off_and_disappears(merchant, backend):
    if backend != "sqlite":
        pytest.skip("a page: once is enough (the query itself runs on both in test_guide_probe_on_both)")
    m, c, h = merchant, merchant.client, merchant.owner
    html = _dashboard(m)
    assert 'data-testid="guide"' in html and _done(html) == set()

    r = c.post("/api/v1/products", headers=h, json={"sku": f"S{secrets.token_hex(3)}", "name": "可乐", "price": 350})
    assert r.status_code == 201
    m.add_employee(f"c{secrets.token_hex(3)}")
    assert _done(_dashboard(m)) == {"products", "staff"}

    r = c.patch("/api/v1/payment-methods/card", headers=h, json={"fee_rate_bp": 60, "settlement_cycle_days": 1})
    assert r.status_code == 200, r.text
    r = c.post("/api/v1/printers", headers=h, json={"store_id": str(m.store_id), "name": "前台",
                                                     "connection": "browser"})
    assert r.status_code == 201, r.text
    assert _done(_dashboard(m)) == {"products", "staff", "payments", "printer"}

    cashier = m.as_role("cashier")
    r = c.post("/api/v1/shifts", headers=cashier, json={"terminal_id": str(m.terminal_id), "opening_float": 0})
    assert r.status_code == 201, r.text
    product = c.get("/api/v1/products", headers=h).json()["items"][0]
    r = c.post("/api/v1/sales", headers=cashier, json={
        "store_id": str(m.store_id), "terminal_id": str(m.terminal_id),
        "lines": [{"product_id": product["id"], "quantity": "1"}], "payments": [{"method": "cash", "amount": 350}]})
    assert r.status_code == 201, r.text
    assert 'data-testid="guide"' not in _dashboard(m)  # everything done: the guide is gone


def test_guide_probe_on_both(merchant):
    from cloudpos.web.views import guide_done

    m = merchant
    c, h = m.client, m.owner
    db = m.client.app.state.sessionmaker()
    try:
        assert guide_done(db, m.tenant_id) == set()
    finally:
        db.close()
    c.post("/api/v1/products", headers=h, json={"sku": f"S{secrets.token_hex(3)}", "name": "可乐", "price": 350})
    db = m.client.app.state.sessionmaker()
    try:
        assert guide_done(db, m.tenant_id) == {"products"}
    finally:
        db.close()
