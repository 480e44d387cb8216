"""Every inventory page renders (zh-CN and en) for the owner, with data in it; a cashier cannot open the forms."""

from __future__ import annotations

import pytest
from test_inventory_support import add_store, make_product, receive


@pytest.fixture
def cookie_client(client, merchant):
    client.cookies.set("cloudpos_session", merchant.owner_token)
    yield client
    client.cookies.clear()


def test_inventory_pages_render(cookie_client, merchant):
    c = cookie_client
    p = make_product(merchant, name="百事可乐", threshold="5", barcodes=["6901234567892"])
    r = receive(merchant, p["id"], "3")
    second = add_store(merchant)
    t = c.post("/api/v1/stock/transfers", headers=merchant.owner, json={
        "from_store_id": str(merchant.store_id), "to_store_id": second, "ship": True,
        "lines": [{"product_id": p["id"], "quantity": "1"}]}).json()
    a = c.post("/api/v1/stock/adjustments", headers=merchant.owner, json={
        "store_id": str(merchant.store_id), "reason": "damaged",
        "lines": [{"product_id": p["id"], "quantity": "-1"}]}).json()
    st = c.post("/api/v1/stocktakes", headers=merchant.owner, json={"store_id": str(merchant.store_id)}).json()
    pages = ["/inventory/stock", "/inventory/stock?state=low", "/inventory/movements", "/inventory/receipts",
             "/inventory/receipts/new", f"/inventory/receipts/{r['id']}", "/inventory/adjustments",
             "/inventory/adjustments/new", f"/inventory/adjustments/{a['id']}", "/inventory/transfers",
             "/inventory/transfers/new", f"/inventory/transfers/{t['id']}", "/inventory/alerts",
             "/inventory/stocktakes", "/inventory/stocktakes/new", f"/inventory/stocktakes/{st['id']}",
             f"/inventory/stocktakes/{st['id']}/variance", f"/inventory/stocktakes/{st['id']}/variance?show=diff"]
    named = {"/inventory/stock", "/inventory/movements", f"/inventory/receipts/{r['id']}",
             f"/inventory/adjustments/{a['id']}", f"/inventory/transfers/{t['id']}", "/inventory/alerts",
             f"/inventory/stocktakes/{st['id']}", f"/inventory/stocktakes/{st['id']}/variance"}
    for lang in ("zh_CN", "en"):
        for url in pages:
            res = c.get(url, params={"lang": lang})
            assert res.status_code == 200, (url, res.text[:500])
            if url.split("?")[0] in named:
                assert "百事可乐" in res.text, url
    assert "库存" in c.get("/inventory/stock", params={"lang": "zh_CN"}).text
    assert c.get("/inventory/lookup", params={"code": "6901234567892"}).json()["id"] == p["id"]
    assert c.get("/inventory/lookup", params={"code": "nope"}).status_code == 404
    assert c.get("/inventory/stocktakes/not-a-uuid").status_code in (404, 422)


def test_cashier_cannot_open_adjustment_form(client, merchant):
    headers = merchant.as_role("cashier")
    assert client.get("/inventory/adjustments/new", headers=headers).status_code == 403
    assert client.get("/inventory/stock", headers=headers).status_code == 200
