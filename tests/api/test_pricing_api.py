"""Promotions, coupons and quotes through the API, on SQLite and PostgreSQL."""

import secrets

import pytest


@pytest.fixture
def shop(merchant):
    c, h = merchant.client, merchant.owner
    cat = c.post("/api/v1/categories", headers=h, json={"name": "饮料"}).json()

    def product(name, price, **kw):
        body = {"sku": f"P{secrets.token_hex(3)}", "name": name, "price": price, "cost": price // 2,
                "category_id": cat["id"], **kw}
        r = c.post("/api/v1/products", headers=h, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    merchant.cola = product("可口可乐 330ml", 350, barcodes=["6901234567892"])
    merchant.chips = product("乐事薯片", 800)
    merchant.cat = cat
    return merchant


def quote(m, lines, headers=None, **extra):
    r = m.client.post("/api/v1/pricing/quote", headers=headers or m.owner,
                      json={"store_id": str(m.store_id), "lines": lines, **extra})
    return r


def test_quote_without_promotions_is_list_price(shop):
    r = quote(shop, [{"code": "6901234567892", "quantity": "2"}, {"product_id": shop.chips["id"]}])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["subtotal"] == 1500 and body["total"] == 1500 and body["discount_total"] == 0
    assert sum(line["amount"] for line in body["lines"]) == body["total"]


@pytest.mark.parametrize("count", [3, 41])
def test_a_long_cart_is_priced_from_each_products_own_facts(shop, count):
    """Carts up to 40 distinct products read their facts through a statement prebuilt per count, longer ones
    through the expanding IN: both give every line its own product's price, name and store price."""
    c, h = shop.client, shop.owner
    made = []
    for i in range(count):
        own = [{"store_id": str(shop.store_id), "price": 999}] if i == count - 1 else []
        r = c.post("/api/v1/products", headers=h, json={"sku": f"L{secrets.token_hex(3)}{i}", "name": f"长单商品{i}",
                                                          "price": 100 + i, "cost": 50, "store_prices": own})
        assert r.status_code == 201, r.text
        made.append(r.json())
    body = quote(shop, [{"product_id": p["id"]} for p in reversed(made)]).json()
    by_product = {line["product_id"]: line for line in body["lines"]}
    assert len(by_product) == count
    for i, p in enumerate(made):
        want = 999 if i == count - 1 else 100 + i
        assert by_product[p["id"]]["amount"] == want and by_product[p["id"]]["name"] == f"长单商品{i}"


def test_spend_save_promotion_applies_and_is_explained(shop):
    c, h = shop.client, shop.owner
    r = c.post("/api/v1/promotions", headers=h, json={
        "name": "饮料满10减2", "rule": {"kind": "spend_save", "tiers": [{"threshold": 1000, "save": 200}]},
        "scope": {"category_ids": [shop.cat["id"]]}})
    assert r.status_code == 201, r.text
    promo = r.json()
    assert promo["state"] == "running" and "10" in promo["description"]
    body = quote(shop, [{"product_id": shop.cola["id"], "quantity": "2"},
                        {"product_id": shop.chips["id"]}]).json()
    assert body["subtotal"] == 1500 and body["total"] == 1300
    assert sum(line["amount"] for line in body["lines"]) == 1300
    assert body["explanation"]
    # deactivated → no longer applies
    assert c.post(f"/api/v1/promotions/{promo['id']}/deactivate", headers=h).status_code == 200
    assert quote(shop, [{"product_id": shop.chips["id"], "quantity": "2"}]).json()["total"] == 1600


def test_invalid_promotion_is_refused_with_field_errors(shop):
    r = shop.client.post("/api/v1/promotions", headers=shop.owner, json={
        "name": "bad", "rule": {"kind": "spend_save", "tiers": [{"threshold": 500, "save": 900}]},
        "scope": {"all": True}})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"]
    r = shop.client.post("/api/v1/promotions", headers=shop.owner, json={
        "name": "empty scope", "rule": {"kind": "percent_off", "percent_off_bp": 1000}, "scope": {}})
    assert r.status_code == 422
    r = shop.client.post("/api/v1/promotions", headers=shop.owner, json={
        "name": "dates", "rule": {"kind": "percent_off", "percent_off_bp": 1000}, "scope": {"all": True},
        "start_date": "2026-12-10", "end_date": "2026-12-01"})
    assert r.status_code == 422


def test_coupon_issue_quote_and_void(shop):
    c, h = shop.client, shop.owner
    t = c.post("/api/v1/coupon-templates", headers=h, json={
        "name": "满10减3", "kind": "amount_off", "value": 300, "threshold": 1000}).json()
    codes = c.post("/api/v1/coupons", headers=h, json={"template_id": t["id"], "count": 2}).json()
    assert len(codes) == 2 and codes[0]["status"] == "active"
    body = quote(shop, [{"product_id": shop.chips["id"], "quantity": "2"}],
                 coupon_codes=[codes[0]["code"], "NOPE"]).json()
    assert body["total"] == 1300
    usable = {x["code"]: x["usable"] for x in body["coupons"]}
    assert usable == {codes[0]["code"]: True, "NOPE": False}
    assert c.post(f"/api/v1/coupons/{codes[1]['id']}/void", headers=h).status_code == 200
    body = quote(shop, [{"product_id": shop.chips["id"], "quantity": "2"}], coupon_codes=[codes[1]["code"]]).json()
    assert body["total"] == 1600


def test_manual_discount_above_role_limit_needs_approval(shop):
    cashier = shop.as_role("cashier")
    body = quote(shop, [{"product_id": shop.chips["id"]}], headers=cashier,
                 manual_discounts=[{"percent_bp": 3000}]).json()
    assert body["approvals"] and body["total"] == 800
    body = quote(shop, [{"product_id": shop.chips["id"]}], headers=cashier,
                 manual_discounts=[{"percent_bp": 1000}]).json()
    assert body["total"] == 720 and not body["approvals"]


def test_unknown_and_delisted_codes(shop):
    assert quote(shop, [{"code": "0000000000000"}]).status_code == 404
    shop.client.patch(f"/api/v1/products/{shop.chips['id']}", headers=shop.owner, json={"status": "delisted"})
    r = quote(shop, [{"product_id": shop.chips["id"]}])
    assert r.status_code == 409 and r.json()["code"] == "product_delisted"


def test_permissions_and_tenancy(shop, other_merchant):
    sales = shop.as_role("salesperson")
    r = shop.client.post("/api/v1/promotions", headers=sales, json={
        "name": "x", "rule": {"kind": "percent_off", "percent_off_bp": 1000}, "scope": {"all": True}})
    assert r.status_code == 403
    p = shop.client.post("/api/v1/promotions", headers=shop.owner, json={
        "name": "x", "rule": {"kind": "percent_off", "percent_off_bp": 1000}, "scope": {"all": True}}).json()
    assert shop.client.get(f"/api/v1/promotions/{p['id']}", headers=other_merchant.owner).status_code == 404
