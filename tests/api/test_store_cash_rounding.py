"""抹零 per store (issue 6: "cash rounding per store setting"): a store's own rule wins over the merchant's,
the till's quote and the sale follow it, and the settings pages set both. SQLite and PostgreSQL."""

import secrets
import uuid

import pytest
from foundation_util import events


@pytest.fixture
def shop(merchant):
    c, h = merchant.client, merchant.owner
    r = c.post("/api/v1/products", headers=h, json={"sku": f"S{secrets.token_hex(3)}", "name": "薯片", "price": 2763})
    assert r.status_code == 201, r.text
    merchant.chips = r.json()
    r = c.post("/api/v1/stores", headers=h, json={"name": "二号店"})
    assert r.status_code == 201, r.text
    merchant.store2 = r.json()
    return merchant


def _due(m, store_id) -> tuple[int, int]:
    r = m.client.post("/api/v1/pricing/quote", headers=m.owner,
                      json={"store_id": str(store_id), "lines": [{"product_id": m.chips["id"], "quantity": "1"}]})
    assert r.status_code == 200, r.text
    return r.json()["total"], r.json()["cash_due"]


def test_a_store_rounds_cash_its_own_way_and_goes_back_to_the_merchant(shop):
    m, c, h = shop, shop.client, shop.owner
    assert c.get(f"/api/v1/stores/{m.store_id}", headers=h).json()["cash_rounding"] is None
    assert _due(m, m.store_id) == (2763, 2763)

    r = c.patch(f"/api/v1/stores/{m.store_id}", headers=h, json={"cash_rounding": "yuan_down"})
    assert r.status_code == 200 and r.json()["cash_rounding"] == "yuan_down"
    assert _due(m, m.store_id) == (2763, 2700)
    assert _due(m, m.store2["id"]) == (2763, 2763)  # the other store keeps the merchant's "none"

    r = c.patch("/api/v1/merchant/settings", headers=h, json={"cash_rounding": "jiao_down"})
    assert r.status_code == 200
    assert _due(m, m.store_id) == (2763, 2700)  # its own rule still wins
    assert _due(m, m.store2["id"]) == (2763, 2760)

    r = c.patch(f"/api/v1/stores/{m.store_id}", headers=h, json={"cash_rounding": "merchant"})
    assert r.status_code == 200 and r.json()["cash_rounding"] is None
    assert _due(m, m.store_id) == (2763, 2760)
    changes = [e for e in events(m, action="store.update") if e["target_id"] == str(m.store_id)]
    assert [e["summary"]["after"]["cash_rounding"] for e in changes[:2]] == [None, "yuan_down"]  # newest first


def test_the_sale_is_paid_to_the_store_rounded_amount(shop):
    m, c, h = shop, shop.client, shop.owner
    c.patch(f"/api/v1/stores/{m.store_id}", headers=h, json={"cash_rounding": "yuan_down"})
    cashier = m.as_role("cashier")
    r = c.post("/api/v1/shifts", headers=cashier, json={"terminal_id": str(m.terminal_id), "opening_float": 0})
    assert r.status_code == 201, r.text
    body = {"store_id": str(m.store_id), "terminal_id": str(m.terminal_id),
            "lines": [{"product_id": m.chips["id"], "quantity": "1"}],
            "payments": [{"method": "cash", "amount": 2700, "tendered": 3000}]}
    r = c.post("/api/v1/sales", headers={**cashier, "Idempotency-Key": str(uuid.uuid4())}, json=body)
    assert r.status_code == 201, r.text
    s = r.json()
    assert (s["total"], s["cash_rounding"], s["paid"], s["change"]) == (2763, -63, 2700, 300)


def test_bad_rounding_is_refused_and_changes_nothing(shop):
    m, c, h = shop, shop.client, shop.owner
    for bad in ["fen_up", "", 5, None]:
        r = c.patch(f"/api/v1/stores/{m.store_id}", headers=h, json={"cash_rounding": bad})
        assert r.status_code in (200, 422), r.text  # null is "leave as is"
        if bad is not None:
            assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert c.get(f"/api/v1/stores/{m.store_id}", headers=h).json()["cash_rounding"] is None


def test_settings_pages_set_the_merchant_and_the_store_rules(shop, backend):
    if backend != "sqlite":
        pytest.skip("web forms: once is enough")
    m, c = shop, shop.client
    c.cookies.set("cloudpos_session", m.owner_token)
    page = c.get("/settings", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and "现金抹零" in page.text and "退款超过此金额需店长审批(元)" in page.text

    form = {"merchant_name": "测试便利店", "default_locale": "zh_CN", "cash_rounding": "jiao_nearest",
            "negative_stock": "block", "refund_approval_above": "abc"}
    r = c.post("/settings", data=form, follow_redirects=False)
    assert r.status_code == 422 and "请输入以元为单位的金额" in r.text
    settings = c.get("/api/v1/merchant", headers=m.owner).json()["settings"]
    assert (settings["cash_rounding"], settings["negative_stock"], settings["refund_approval_above"]) == \
        ("none", "allow", None)  # nothing changed

    r = c.post("/settings", data={**form, "refund_approval_above": "199.50"}, follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    settings = c.get("/api/v1/merchant", headers=m.owner).json()["settings"]
    assert (settings["cash_rounding"], settings["negative_stock"], settings["refund_approval_above"]) == \
        ("jiao_nearest", "block", 19950)

    page = c.get(f"/settings/stores/{m.store_id}")
    assert "跟随商户设置(四舍五入到角)" in page.text
    store = c.get(f"/api/v1/stores/{m.store_id}", headers=m.owner).json()
    r = c.post(f"/settings/stores/{m.store_id}", data={"name": store["name"], "address": store["address"],
                                                       "phone": store["phone"], "timezone": store["timezone"],
                                                       "locale": store["locale"], "active": "1",
                                                       "cash_rounding": "yuan_nearest"}, follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    assert c.get(f"/api/v1/stores/{m.store_id}", headers=m.owner).json()["cash_rounding"] == "yuan_nearest"
    c.cookies.clear()
