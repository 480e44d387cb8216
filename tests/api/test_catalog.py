"""Catalog API on SQLite and PostgreSQL: categories, products, lookup, search, approvals, tenancy."""

from __future__ import annotations

import io
import secrets

from PIL import Image

from cloudpos.catalog import domain

SCALE = domain.ScaleFormat("2", 13, 5, "price", 5, True)


def ean(prefix: str = "690") -> str:
    body = prefix + "".join(secrets.choice("0123456789") for _ in range(12 - len(prefix)))
    return domain.with_check_digit(body)


def make_product(m, **over) -> dict:
    body = {"sku": f"P{secrets.token_hex(4)}", "name": "可口可乐 330ml", "barcodes": [ean()], "price": 350,
            "cost": 210, "unit": "罐", "brand": "可口可乐", "tax_rate_bp": 1300, **over}
    r = m.client.post("/api/v1/products", headers=m.owner, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_category_tree_and_filter_by_descendants(client, merchant):
    h = merchant.owner
    food = client.post("/api/v1/categories", headers=h, json={"name": "食品"}).json()
    drinks = client.post("/api/v1/categories", headers=h, json={"name": "饮料", "parent_id": food["id"]}).json()
    soda = client.post("/api/v1/categories", headers=h, json={"name": "碳酸饮料", "parent_id": drinks["id"]}).json()
    assert soda["full_name"] == "食品 > 饮料 > 碳酸饮料" and soda["depth"] == 2
    dup = client.post("/api/v1/categories", headers=h, json={"name": "饮料", "parent_id": food["id"]})
    assert dup.status_code == 409
    p = make_product(merchant, category_id=soda["id"])
    make_product(merchant, name="毛巾")
    listed = client.get("/api/v1/categories", headers=h).json()
    assert [c["name"] for c in listed] == ["食品", "饮料", "碳酸饮料"]
    assert listed[2]["product_count"] == 1
    r = client.get("/api/v1/products", headers=h, params={"category_id": food["id"]}).json()
    assert [i["id"] for i in r["items"]] == [p["id"]] and r["total"] == 1
    cycle = client.patch(f"/api/v1/categories/{food['id']}", headers=h, json={"parent_id": soda["id"]})
    assert cycle.status_code == 422
    assert client.delete(f"/api/v1/categories/{soda['id']}", headers=h).status_code == 409  # has a product
    moved = client.patch(f"/api/v1/categories/{soda['id']}", headers=h, json={"move_to_root": True}).json()
    assert moved["full_name"] == "碳酸饮料"
    r = client.get("/api/v1/products", headers=h, params={"category_id": food["id"]}).json()
    assert r["total"] == 0


def test_product_crud_contract(client, merchant):
    h = merchant.owner
    code = ean()
    p = make_product(merchant, barcodes=[code, "INT-001"], low_stock_threshold="2.5", spec="330ml")
    for key in ("id", "sku", "barcodes", "name", "category_id", "brand", "unit", "price", "cost", "tax_rate_bp",
                "sold_by_weight", "status", "low_stock_threshold"):
        assert key in p
    assert p["barcodes"] == [code, "INT-001"] and p["price"] == 350 and p["status"] == "listed"
    assert p["low_stock_threshold"] == "2.500"
    got = client.get(f"/api/v1/products/{p['id']}", headers=h).json()
    assert got["sku"] == p["sku"]
    r = client.patch(f"/api/v1/products/{p['id']}", headers=h, json={"name": "零度可乐", "status": "delisted"})
    assert r.status_code == 200 and r.json()["name"] == "零度可乐" and r.json()["status"] == "delisted"
    # duplicates and bad input are 4xx problems, nothing written
    dup = client.post("/api/v1/products", headers=h, json={"sku": p["sku"], "name": "x", "price": 1})
    assert dup.status_code == 409 and dup.json()["code"] == "duplicate_sku"
    taken = client.post("/api/v1/products", headers=h, json={"sku": "NEW1", "name": "x", "price": 1,
                                                             "barcodes": [code]})
    assert taken.status_code == 409 and taken.json()["code"] == "barcode_taken"
    bad = client.post("/api/v1/products", headers=h, json={"sku": "NEW2", "name": "x", "price": 1,
                                                           "barcodes": ["6901234567890"]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "barcodes.0"
    floaty = client.post("/api/v1/products", headers=h, json={"sku": "NEW3", "name": "x", "price": 3.5})
    assert floaty.status_code == 422
    assert client.get("/api/v1/products", headers=h, params={"q": "NEW"}).json()["total"] == 0


def test_delete_without_history_is_hard_and_with_history_is_delist(client, merchant):
    from cloudpos.catalog import service

    h = merchant.owner
    p = make_product(merchant)
    r = client.delete(f"/api/v1/products/{p['id']}", headers=h)
    assert r.status_code == 200 and r.json()["deleted"] is True
    assert client.get(f"/api/v1/products/{p['id']}", headers=h).status_code == 404
    q = make_product(merchant)

    def history(db, tenant_id, product_id):
        return str(product_id) == q["id"]

    service.register_history_check(history)
    try:
        r = client.delete(f"/api/v1/products/{q['id']}", headers=h)
        assert r.status_code == 200 and r.json() == {"id": q["id"], "deleted": False, "status": "delisted"}
        assert client.get(f"/api/v1/products/{q['id']}", headers=h).json()["status"] == "delisted"
    finally:
        service._history_checks.remove(history)
    events = client.get("/api/v1/audit-events", headers=h, params={"action": "catalog.product."}).json()
    actions = {e["action"] for e in events["items"]}
    assert {"catalog.product.delete", "catalog.product.delist"} <= actions


def test_lookup_plain_sku_scale_delisted_unknown(client, merchant):
    h = merchant.owner
    code = ean()
    p = make_product(merchant, barcodes=[code], price=350)
    r = client.get("/api/v1/products/lookup", headers=h, params={"code": code})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["product"]["id"] == p["id"] and body["quantity"] == "1.000" and body["amount"] == 350
    assert "app;dur=" in r.headers["server-timing"]
    assert client.get("/api/v1/products/lookup", headers=h, params={"code": p["sku"]}).json()["matched_by"] == "sku"
    # a store price overrides the price at that store
    client.patch(f"/api/v1/products/{p['id']}", headers=h,
                 json={"store_prices": [{"store_id": str(merchant.store_id), "price": 330}]})
    r = client.get("/api/v1/products/lookup", headers=h, params={"code": code, "store_id": str(merchant.store_id)})
    assert r.json()["unit_price"] == 330
    # scale labels: weight and price embedded
    apples = make_product(merchant, name="红富士苹果 散装", barcodes=["10023"], price=1200, unit="千克",
                          sold_by_weight=True)
    rule = client.post("/api/v1/scale-barcode-rules", headers=h,
                       json={"prefix": "2", "item_code_length": 5, "value_kind": "weight", "value_length": 5})
    assert rule.status_code == 201, rule.text
    weight_label = domain.make_scale_code(domain.ScaleFormat("2", 13, 5, "weight", 5, True), "10023", 1250)
    r = client.get("/api/v1/products/lookup", headers=h, params={"code": weight_label}).json()
    assert r["product"]["id"] == apples["id"] and r["matched_by"] == "scale"
    assert r["quantity"] == "1.250" and r["amount"] == 1500
    client.put(f"/api/v1/scale-barcode-rules/{rule.json()['id']}", headers=h,
               json={"prefix": "2", "item_code_length": 5, "value_kind": "price", "value_length": 5})
    price_label = domain.make_scale_code(SCALE, "10023", 1800)
    r = client.get("/api/v1/products/lookup", headers=h, params={"code": price_label}).json()
    assert r["amount"] == 1800 and r["quantity"] == "1.500"
    # delisted and unknown
    client.patch(f"/api/v1/products/{p['id']}", headers=h, json={"status": "delisted"})
    r = client.get("/api/v1/products/lookup", headers=h, params={"code": code})
    assert r.status_code == 409 and r.json()["code"] == "product_delisted"
    assert "已下架" in r.json()["detail"]
    r = client.get("/api/v1/products/lookup", headers=h, params={"code": "6900000000000"})
    assert r.status_code == 404 and r.json()["code"] == "unknown_code"


def test_scale_label_item_code_forms_and_rule_changes_apply_at_once(client, merchant):
    """The item code on a label is the scale's PLU as printed (00123), without its padding (123) or a
    SKU; a product's own barcode wins over a label reading; editing or deleting a rule applies to
    the next scan (the per-tenant rule cache is dropped on commit)."""
    h = merchant.owner
    plu = make_product(merchant, name="散装花生", barcodes=["123"], price=2000, unit="千克", sold_by_weight=True)
    by_sku = make_product(merchant, name="散装瓜子", sku="00456", price=3000, unit="千克", sold_by_weight=True)
    label_plu = domain.make_scale_code(SCALE, "00123", 1000)
    label_sku = domain.make_scale_code(SCALE, "00456", 1500)
    own = make_product(merchant, name="自带条码", barcodes=[domain.make_scale_code(SCALE, "00123", 999)], price=100)

    def scan(code: str):
        return client.get("/api/v1/products/lookup", headers=h, params={"code": code})

    assert scan(label_plu).status_code == 404  # no rule yet
    rule = client.post("/api/v1/scale-barcode-rules", headers=h,
                       json={"prefix": "2", "item_code_length": 5, "value_kind": "price", "value_length": 5}).json()
    r = scan(label_plu).json()
    assert (r["product"]["id"], r["matched_by"], r["amount"], r["quantity"]) == (plu["id"], "scale", 1000, "0.500")
    r = scan(label_sku).json()
    assert (r["product"]["id"], r["matched_by"], r["amount"]) == (by_sku["id"], "scale", 1500)
    r = scan(domain.make_scale_code(SCALE, "00123", 999)).json()
    assert (r["product"]["id"], r["matched_by"], r["amount"]) == (own["id"], "barcode", 100)
    client.put(f"/api/v1/scale-barcode-rules/{rule['id']}", headers=h,
               json={"prefix": "2", "item_code_length": 5, "value_kind": "price", "value_length": 5, "enabled": False})
    assert scan(label_plu).status_code == 404
    client.put(f"/api/v1/scale-barcode-rules/{rule['id']}", headers=h,
               json={"prefix": "2", "item_code_length": 5, "value_kind": "price", "value_length": 5})
    assert scan(label_plu).json()["matched_by"] == "scale"
    assert client.delete(f"/api/v1/scale-barcode-rules/{rule['id']}", headers=h).status_code == 204
    assert scan(label_plu).status_code == 404


def test_search_pinyin_initials_sku_barcode(client, merchant):
    h = merchant.owner
    coke = make_product(merchant, name="可口可乐 330ml")
    make_product(merchant, name="农夫山泉 550ml", brand="农夫山泉")
    for q in ("kkkl", "kekoukele", "可口", "KKKL", coke["sku"].lower(), coke["barcodes"][0]):
        r = client.get("/api/v1/products", headers=h, params={"q": q}).json()
        assert [i["id"] for i in r["items"]] == [coke["id"]], q
    assert client.get("/api/v1/products", headers=h, params={"q": "nfsq"}).json()["total"] == 1
    assert client.get("/api/v1/products", headers=h, params={"q": "％"}).json()["total"] == 0
    page = client.get("/api/v1/products", headers=h, params={"page_size": 1, "page": 2}).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    listed = client.get("/api/v1/products", headers=h, params={"status": "delisted"}).json()
    assert listed["total"] == 0


def test_price_change_audited_and_approval_gated(client, merchant):
    h = merchant.owner
    p = make_product(merchant, price=350)
    r = client.patch(f"/api/v1/products/{p['id']}", headers=h, json={"price": 380})
    assert r.status_code == 200 and r.json()["price"] == 380
    ev = client.get("/api/v1/audit-events", headers=h, params={"action": "catalog.price.change"}).json()["items"][0]
    assert ev["summary"]["before"] == {"price": 350} and ev["summary"]["after"] == {"price": 380}
    r = client.patch("/api/v1/merchant/settings", headers=h,
                     json={"approval_required": ["catalog.price.change", "catalog.product.delete"]})
    assert r.status_code == 200, r.text
    manager = merchant.as_role("store_manager")
    r = client.patch(f"/api/v1/products/{p['id']}", headers=manager, json={"price": 400})
    assert r.status_code == 403 and r.json()["code"] == "approval_required"
    assert client.get(f"/api/v1/products/{p['id']}", headers=h).json()["price"] == 380  # nothing written
    approval_id = r.json()["approval_id"]
    r = client.post(f"/api/v1/approvals/{approval_id}/approve", headers=h, json={})
    assert r.status_code == 200, r.text
    assert client.get(f"/api/v1/products/{p['id']}", headers=h).json()["price"] == 400
    # deletion needs approval too
    r = client.delete(f"/api/v1/products/{p['id']}", headers=manager)
    assert r.status_code == 403 and r.json()["code"] == "approval_required"
    assert client.get(f"/api/v1/products/{p['id']}", headers=h).status_code == 200


def test_permissions_and_tenancy(client, merchant, other_merchant):
    p = make_product(merchant)
    cashier = merchant.as_role("cashier")
    assert client.get("/api/v1/products/lookup", headers=cashier, params={"code": p["barcodes"][0]}).status_code == 200
    r = client.patch(f"/api/v1/products/{p['id']}", headers=cashier, json={"price": 1})
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"
    assert client.delete(f"/api/v1/products/{p['id']}", headers=cashier).status_code == 403
    o = other_merchant.owner
    assert client.get(f"/api/v1/products/{p['id']}", headers=o).status_code == 404
    assert client.patch(f"/api/v1/products/{p['id']}", headers=o, json={"name": "x"}).status_code == 404
    assert client.delete(f"/api/v1/products/{p['id']}", headers=o).status_code == 404
    assert client.get("/api/v1/products/lookup", headers=o, params={"code": p["barcodes"][0]}).status_code == 404
    assert client.get("/api/v1/products", headers=o).json()["total"] == 0
    # the same SKU and barcode are fine in another tenant
    r = client.post("/api/v1/products", headers=o, json={"sku": p["sku"], "name": "x", "price": 1,
                                                         "barcodes": p["barcodes"]})
    assert r.status_code == 201


def test_bulk_status(client, merchant):
    h = merchant.owner
    a, b = make_product(merchant), make_product(merchant)
    r = client.post("/api/v1/products/status", headers=h, json={"ids": [a["id"], b["id"]], "status": "delisted"})
    assert r.json() == {"changed": 2}
    assert client.get("/api/v1/products", headers=h, params={"status": "delisted"}).json()["total"] == 2


def _png(w: int = 600, h: int = 400) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_images_upload_thumbnail_and_tenant_check(client, merchant, other_merchant):
    h = merchant.owner
    p = make_product(merchant)
    r = client.post(f"/api/v1/products/{p['id']}/images", headers=h,
                    files={"file": ("a.png", _png(), "image/png")})
    assert r.status_code == 201, r.text
    img = r.json()
    thumb = client.get(img["thumb_url"], headers=h)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    assert max(Image.open(io.BytesIO(thumb.content)).size) == 256
    assert client.get(img["url"], headers=other_merchant.owner).status_code == 404
    bad = client.post(f"/api/v1/products/{p['id']}/images", headers=h,
                      files={"file": ("a.gif", b"GIF89a" + b"\0" * 100, "image/gif")})
    assert bad.status_code == 422
    from cloudpos.catalog import images

    big = io.BytesIO()
    Image.new("1", (8000, 6000)).save(big, "PNG")  # 48 MP, a small file: a decompression bomb
    assert big.tell() < images.MAX_BYTES
    bomb = client.post(f"/api/v1/products/{p['id']}/images", headers=h,
                       files={"file": ("bomb.png", big.getvalue(), "image/png")})
    assert bomb.status_code == 422
    assert client.get(f"/api/v1/products/{p['id']}", headers=h).json()["images"][0]["id"] == img["id"]
    assert client.delete(img["url"], headers=h).status_code == 204


def test_lookup_bad_query_is_a_422_problem_and_unauthenticated_is_401(client, merchant):
    """The scanner's route (web.routing.LeanRoute) answers bad input as every other route does."""
    h = merchant.owner
    for params, field in (({}, "code"), ({"code": ""}, "code"), ({"code": "x" * 65}, "code"),
                          ({"code": "6900000000000", "store_id": "not-a-uuid"}, "store_id")):
        r = client.get("/api/v1/products/lookup", headers=h, params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in r.json()["errors"]] == [field], r.json()
    r = client.get("/api/v1/products/lookup", params={"code": "6900000000000"})
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    code = ean()
    make_product(merchant, barcodes=[code], price=350, name="可口可乐 330ml")
    r = client.get("/api/v1/products/lookup", headers=h, params={"code": code})
    assert r.headers["content-type"] == "application/json" and "可口可乐" in r.content.decode("utf-8")
    assert r.headers["x-request-id"] and r.headers["x-content-type-options"] == "nosniff"


def test_a_plain_scan_is_read_with_its_caller_and_only_ever_in_the_callers_tenant(client, merchant, other_merchant,
                                                                                   backend, monkeypatch):
    """The scanner's route reads a plain barcode together with the caller (web.deps prefetch): one statement on
    PostgreSQL. The product read is the token's tenant's; a token that no longer works gets a 401, never the
    product. A SKU typed at the till, or a code that is nothing, is answered by the same read (barcode first,
    then SKU)."""
    from cloudpos import fastread

    code = ean()
    mine = make_product(merchant, barcodes=[code], price=350, name="我的可乐")
    make_product(other_merchant, barcodes=[code], price=990, name="别人的可乐")
    reads: list[tuple[str, ...]] = []
    real = fastread.Read.all

    def counted(self, conn, params):
        reads.append(self.keys)
        return real(self, conn, params)

    monkeypatch.setattr(fastread.Read, "all", counted)
    r = client.get("/api/v1/products/lookup", headers=merchant.owner, params={"code": f" {code} "})
    assert r.status_code == 200 and r.json()["product"]["id"] == mine["id"] and r.json()["unit_price"] == 350
    assert len(reads) == (1 if backend == "postgresql" else 2), reads
    r = client.get("/api/v1/products/lookup", headers=other_merchant.owner, params={"code": code})
    assert r.json()["product"]["name"] == "别人的可乐"
    reads.clear()
    r = client.get("/api/v1/products/lookup", headers=merchant.owner, params={"code": mine["sku"]})
    assert r.json()["matched_by"] == "sku" and len(reads) == (1 if backend == "postgresql" else 2)
    reads.clear()
    r = client.get("/api/v1/products/lookup", headers=merchant.owner, params={"code": "NO-SUCH-CODE"})
    assert r.json()["code"] == "unknown_code" and len(reads) == (1 if backend == "postgresql" else 2)
    both = make_product(merchant, barcodes=[mine["sku"]], price=120, name="条码即别人的SKU")
    r = client.get("/api/v1/products/lookup", headers=merchant.owner, params={"code": mine["sku"]})
    assert (r.json()["matched_by"], r.json()["product"]["id"]) == ("barcode", both["id"])  # a barcode wins
    client.post("/api/v1/auth/logout", headers=merchant.owner)
    r = client.get("/api/v1/products/lookup", headers=merchant.owner, params={"code": code})
    assert r.status_code == 401 and "我的可乐" not in r.text


def test_a_scale_label_is_read_with_its_caller_once_the_tills_tenant_is_known(client, merchant, other_merchant,
                                                                              backend, monkeypatch):
    """Once a token has checked out and its tenant's scale rules are cached, a scale label's item codes are read
    with the caller too (one statement on PostgreSQL). Only ever the caller's tenant: another merchant's product
    with the same PLU is never the answer; a label whose item code is a SKU still resolves by its SKU."""
    from sqlalchemy import event

    from cloudpos import fastread

    rule = {"prefix": "2", "item_code_length": 5, "value_kind": "price", "value_length": 5}
    for m in (merchant, other_merchant):
        assert client.post("/api/v1/scale-barcode-rules", headers=m.owner, json=rule).status_code == 201
    mine = make_product(merchant, name="散装核桃", barcodes=["31234"], price=4000, unit="千克", sold_by_weight=True)
    make_product(other_merchant, name="别人的核桃", barcodes=["31234"], price=100, unit="千克", sold_by_weight=True)
    by_sku = make_product(merchant, name="散装红枣", sku="41234", price=2500, unit="千克", sold_by_weight=True)
    label = domain.make_scale_code(SCALE, "31234", 1234)
    statements: list[str] = []  # on the driver's cursor (fastread, PostgreSQL) or through SQLAlchemy
    real = fastread.execute

    def counted(conn, sql, values, **kw):
        statements.append(sql)
        return real(conn, sql, values, **kw)

    def through_sqlalchemy(_conn, _cursor, sql, *_a):
        statements.append(sql)

    def scan(m, code):
        return client.get("/api/v1/products/lookup", headers=m.owner, params={"code": code})

    assert scan(merchant, label).status_code == 200  # the token's tenant and its rules now known
    monkeypatch.setattr(fastread, "execute", counted)
    event.listen(client.app.state.auth_engine, "before_cursor_execute", through_sqlalchemy)
    try:
        r = scan(merchant, label).json()
    finally:
        event.remove(client.app.state.auth_engine, "before_cursor_execute", through_sqlalchemy)
    assert (r["product"]["id"], r["matched_by"], r["amount"]) == (mine["id"], "scale", 1234)
    assert len(statements) == (1 if backend == "postgresql" else 2), statements
    assert scan(other_merchant, label).json()["product"]["name"] == "别人的核桃"
    r = scan(other_merchant, label).json()
    assert r["product"]["name"] == "别人的核桃" and r["amount"] == 1234
    r = scan(merchant, domain.make_scale_code(SCALE, "41234", 800)).json()
    assert (r["product"]["id"], r["matched_by"], r["amount"]) == (by_sku["id"], "scale", 800)
    assert scan(merchant, domain.make_scale_code(SCALE, "59999", 800)).json()["code"] == "unknown_code"
