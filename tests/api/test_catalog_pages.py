"""Catalog HTML pages through HTTP (both databases): they render, forms validate inline, and the
menu/permissions hold."""

from __future__ import annotations


def _cookie_client(client, headers):
    token = headers["Authorization"].split()[1]
    client.cookies.set("cloudpos_session", token)
    return client


def test_pages_render_and_product_form_validates(client, merchant):
    c = _cookie_client(client, merchant.owner)
    for url in ("/catalog/products", "/catalog/categories", "/catalog/import", "/catalog/scale-rules",
                "/catalog/products/new", "/catalog/products?q=kkkl&status=listed&stock=low"):
        r = c.get(url)
        assert r.status_code == 200, (url, r.text[:300])
    r = c.post("/catalog/categories", data={"name": "饮料"}, follow_redirects=False)
    assert r.status_code == 303
    r = c.post("/catalog/products/new", data={"name": "可乐", "sku": "X1", "price": "3.505", "tax_rate": "13",
                                              "barcodes": "6901234567890"})
    assert r.status_code == 422 and "is-invalid" in r.text
    assert "最多 2 位小数" in r.text
    r = c.post("/catalog/products/new", data={"name": "可乐", "sku": "X1", "price": "3.50", "tax_rate": "13",
                                              "barcodes": "6901234567892"}, follow_redirects=False)
    assert r.status_code == 303
    page = c.get(r.headers["location"])
    assert page.status_code == 200 and "6901234567892" in page.text
    listing = c.get("/catalog/products?q=kl")
    assert "可乐" in listing.text
    c.cookies.clear()


def test_cashier_sees_products_but_not_import(client, merchant):
    c = _cookie_client(client, merchant.as_role("cashier"))
    assert c.get("/catalog/products").status_code == 200
    assert c.get("/catalog/import").status_code == 403
    assert c.post("/catalog/products/new", data={"name": "x", "sku": "Y", "price": "1"}).status_code == 403
    c.cookies.clear()
