"""Marketing HTML pages (promotions, coupons, member prices) through HTTP, on both databases: they
render in zh and en, forms convert yuan/折 exactly and re-render with inline errors, permissions hold."""

from __future__ import annotations

import re
import secrets

import pytest

from cloudpos.pricing.views import form_field, yuan_to_fen, zhe_to_bp


def _cookie_client(client, headers):
    client.cookies.set("cloudpos_session", headers["Authorization"].split()[1])
    return client


@pytest.fixture
def shop(merchant):
    c, h = merchant.client, merchant.owner
    cat = c.post("/api/v1/categories", headers=h, json={"name": "饮料"}).json()

    def product(name, price):
        r = c.post("/api/v1/products", headers=h, json={"sku": f"P{secrets.token_hex(3)}", "name": name,
                                                       "price": price, "cost": price // 2, "category_id": cat["id"]})
        assert r.status_code == 201, r.text
        return r.json()

    merchant.cat = cat
    merchant.cola = product("可口可乐 330ml", 350)
    merchant.tea = product("东方树叶 500ml", 600)
    return merchant


def test_money_and_zhe_conversions_are_exact():
    assert yuan_to_fen("100") == 10000 and yuan_to_fen("9.90") == 990 and yuan_to_fen("0.1") == 10
    assert yuan_to_fen("１２.３") == 1230 and yuan_to_fen("¥1,000") == 100000
    assert yuan_to_fen("19.99") == 1999  # float(19.99) * 100 would be 1998.9999…
    for bad in ("3.505", "-1", "abc", "nan", "1e20"):
        with pytest.raises(ValueError):
            yuan_to_fen(bad)
    assert zhe_to_bp("8.8") == 1200 and zhe_to_bp("8.8折") == 1200 and zhe_to_bp("5") == 5000
    assert zhe_to_bp("9.95") == 50 and zhe_to_bp("0.1") == 9900
    for bad in ("0", "10", "12", "8.8888", "x"):
        with pytest.raises(ValueError):
            zhe_to_bp(bad)
    assert form_field("rule.spend_save.tiers.0.save", "spend_save") == "tiers"
    assert form_field("rule.tiers[1].threshold_fen", "spend_save") == "tiers"
    assert form_field("rule.percent_off_bp", "percent_off") == "zhe"
    assert form_field("rule.min_spend_fen", "gift") == "gift_min_spend"
    assert form_field("validity.end_date", "spend_save") == "end_date"
    assert form_field("tiers.1.save", "spend_save") == "tiers"
    from cloudpos.errors import FieldError, Invalid
    from cloudpos.pricing.views import bad_tier_cells

    errors = [FieldError("rule.tiers[0].threshold_fen", "x"), FieldError("tiers.2.save", "x"),
              FieldError("rule.tiers[1]", "x")]
    assert bad_tier_cells(Invalid(errors=errors)) == ["0.threshold", "2.save", "1.threshold", "1.save"]


SPEND_SAVE = {"name": "饮料满10减2", "kind": "spend_save", "ss_mode": "tiers", "tier_threshold": ["10", "20"],
              "tier_save": ["2", "4.50"], "scope_mode": "categories", "store_mode": "all", "priority": "0",
              "stacking": "stackable", "stacks_with_member": "1", "active": "1"}


def test_pages_render_in_both_languages_and_the_form_creates(client, shop):
    c = _cookie_client(client, shop.owner)
    for lang, word in (("zh_CN", "促销"), ("en", "Promotions")):
        for url in ("/marketing/promotions", "/marketing/promotions?state=running", "/marketing/promotions/new",
                    "/marketing/promotions/new?kind=bundle", "/marketing/coupons", "/marketing/coupons?status=used",
                    "/marketing/member-prices", "/marketing/member-prices?q=kkkl"):
            r = c.get(url + ("&" if "?" in url else "?") + f"lang={lang}")
            assert r.status_code == 200, (url, r.text[:300])
        assert word in c.get(f"/marketing/promotions?lang={lang}").text
    c.get("/marketing/promotions?lang=zh_CN")
    # bad input: money with 3 decimals, an empty name, save above the threshold → 422, inline errors
    bad = {**SPEND_SAVE, "name": "", "tier_threshold": ["10.005", "5"], "tier_save": ["2", "9"],
           "category_ids": [shop.cat["id"]]}
    r = c.post("/marketing/promotions/new", data=bad)
    assert r.status_code == 422 and "is-invalid" in r.text and "最多 2 位小数" in r.text
    r = c.post("/marketing/promotions/new", data={**SPEND_SAVE, "tier_threshold": ["5"], "tier_save": ["9"],
                                                  "category_ids": [shop.cat["id"]]})
    assert r.status_code == 422 and "满减门槛不能低于优惠金额" in r.text
    r = c.post("/marketing/promotions/new", data={**SPEND_SAVE, "kind": "percent_off", "zhe": "12",
                                                  "scope_mode": "all"})
    assert r.status_code == 422 and "error-zhe" in r.text
    r = c.post("/marketing/promotions/new", data={**SPEND_SAVE, "start_date": "2026-12-10",
                                                  "end_date": "2026-12-01", "category_ids": [shop.cat["id"]]})
    assert r.status_code == 422 and "结束日期不能早于开始日期" in r.text
    # a preview explains the rule and prices a sample cart
    r = c.post("/marketing/promotions/preview", data={**SPEND_SAVE, "category_ids": [shop.cat["id"]],
                                                      "sample_product_id": [shop.cola["id"]], "sample_qty": ["3"]})
    assert r.status_code == 200 and "满 10 减 2" in r.text and "仅限饮料类" in r.text
    assert "¥8.50" in r.text  # 3 × 3.50 = 10.50, minus 2
    # a good POST creates it (money typed in yuan, stored in fen)
    r = c.post("/marketing/promotions/new", data={**SPEND_SAVE, "category_ids": [shop.cat["id"]]},
               follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    promo_id = r.headers["location"].split("/")[-1].split("?")[0]
    promo = c.get(f"/api/v1/promotions/{promo_id}").json()
    assert promo["rule"]["tiers"] == [{"threshold": 1000, "save": 200}, {"threshold": 2000, "save": 450}]
    assert promo["scope"]["category_ids"] == [shop.cat["id"]]
    page = c.get(f"/marketing/promotions/{promo_id}")
    assert page.status_code == 200 and "4.50" in page.text
    listing = c.get("/marketing/promotions")
    assert "饮料满10减2" in listing.text and "仅限饮料类" in listing.text
    # edit, deactivate, activate, end early
    r = c.post(f"/marketing/promotions/{promo_id}", data={**SPEND_SAVE, "category_ids": [shop.cat["id"]],
                                                          "kind": "percent_off", "apply_to": "item", "zhe": "8.8"},
               follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    assert c.get(f"/api/v1/promotions/{promo_id}").json()["rule"]["percent_off_bp"] == 1200
    for action, state in (("deactivate", "inactive"), ("activate", "running"), ("end", "inactive")):
        r = c.post(f"/marketing/promotions/{promo_id}/{action}", data={"back": "/marketing/promotions"},
                   follow_redirects=False)
        assert r.status_code == 303
        assert c.get(f"/api/v1/promotions/{promo_id}").json()["state"] == state
    c.cookies.clear()


def test_every_kind_through_the_form(client, shop):
    c = _cookie_client(client, shop.owner)
    base = {"store_mode": "all", "priority": "1", "stacking": "exclusive", "active": "1", "scope_mode": "all"}
    cola, tea = shop.cola["id"], shop.tea["id"]
    cases = [
        {"kind": "percent_off", "apply_to": "order", "zhe": "9.5", "min_spend": "50"},
        {"kind": "amount_off", "apply_to": "item", "amount": "0.50"},
        {"kind": "special_price", "unit_price": "2.99", "scope_mode": "products", "product_ids": [cola],
         "start_date": "2026-11-01", "end_date": "2027-01-31", "weekdays": ["6", "7"], "time_from": "08:00",
         "time_to": "22:00"},
        {"kind": "spend_save", "ss_mode": "every", "every": "100", "save": "10", "cap": "30"},
        {"kind": "buy_x_get_y", "buy_qty": "1", "get_qty": "1", "get_zhe": "5", "scope_mode": "products",
         "product_ids": [tea]},
        {"kind": "gift", "gift_product_id": [cola], "gift_qty": "1", "gift_min_spend": "30"},
        {"kind": "bundle", "bundle_product_id": [cola, tea], "bundle_qty": ["1", "2"], "bundle_price": "13.8"},
    ]
    for k, case in enumerate(cases):
        r = c.post("/marketing/promotions/new", data={**base, "name": f"kind {k}", **case}, follow_redirects=False)
        assert r.status_code == 303, (case, r.text[:3000])
    rules = {p["kind"]: p["rule"] for p in c.get("/api/v1/promotions").json()["items"]}
    assert rules["percent_off"]["percent_off_bp"] == 500 and rules["percent_off"]["min_spend"] == 5000
    assert rules["amount_off"]["amount"] == 50 and rules["special_price"]["unit_price"] == 299
    assert rules["spend_save"]["every"] == 10000 and rules["spend_save"]["cap"] == 3000
    assert rules["buy_x_get_y"]["get_percent_off_bp"] == 5000
    assert rules["gift"]["min_spend"] == 3000
    assert rules["bundle"]["price"] == 1380 and [i["qty"] for i in rules["bundle"]["items"]] == [1, 2]
    # special price without products: refused inline, never a 500
    r = c.post("/marketing/promotions/new", data={**base, "name": "x", "kind": "special_price", "unit_price": "1"})
    assert r.status_code == 422
    r = c.post("/marketing/promotions/new", data={**base, "name": "x", "kind": "bundle", "bundle_product_id": [cola],
                                                  "bundle_qty": ["abc"], "bundle_price": "1"})
    assert r.status_code == 422
    c.cookies.clear()


def test_coupons_and_member_prices_pages(client, shop):
    c = _cookie_client(client, shop.owner)
    r = c.post("/marketing/coupons/templates", data={"name": "满50减5", "kind": "amount_off", "value": "5",
                                                     "threshold": "50", "validity": "days", "valid_days": "30",
                                                     "scope_mode": "all"}, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    r = c.post("/marketing/coupons/templates", data={"name": "bad", "kind": "amount_off", "value": "60",
                                                     "threshold": "50", "validity": "days", "valid_days": "30",
                                                     "scope_mode": "all"})
    assert r.status_code == 422 and "is-invalid" in r.text
    r = c.post("/marketing/coupons/templates", data={"name": "折", "kind": "percent_off", "value": "8.8",
                                                     "validity": "window", "valid_from": "2026-12-01",
                                                     "valid_until": "2026-12-31", "scope_mode": "all"},
               follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    templates = c.get("/api/v1/coupon-templates").json()
    amount = next(t for t in templates if t["kind"] == "amount_off")
    assert amount["value"] == 500 and amount["threshold"] == 5000
    assert next(t for t in templates if t["kind"] == "percent_off")["value"] == 1200
    r = c.post("/marketing/coupons/issue", data={"template_id": amount["id"], "mode": "codes", "count": "3"})
    assert r.status_code == 200 and r.text.count('class="border rounded px-1 bg-body"') == 3
    r = c.post("/marketing/coupons/issue", data={"template_id": amount["id"], "mode": "member",
                                                 "member": "13900000000"})
    assert r.status_code == 422 and "is-invalid" in r.text
    m = c.post("/api/v1/members", json={"phone": "13900000001", "name": "王会员"})
    assert m.status_code == 201, m.text
    r = c.post("/marketing/coupons/issue", data={"template_id": amount["id"], "mode": "member",
                                                 "member": "13900000001"})
    assert r.status_code == 200
    coupons = c.get("/api/v1/coupons").json()["items"]
    assert len(coupons) == 4 and sum(1 for x in coupons if x["member_id"]) == 1
    r = c.post(f"/marketing/coupons/{coupons[0]['id']}/void", data={"back": "/marketing/coupons"},
               follow_redirects=False)
    assert r.status_code == 303
    r = c.post(f"/marketing/coupons/{coupons[0]['id']}/void", data={})
    assert r.status_code == 409
    assert "满50减5" in c.get("/marketing/coupons?status=void").text
    # member prices: set, refuse above the sale price, clear
    r = c.post("/marketing/member-prices", data={"product_id": [shop.cola["id"]], "member_price": ["3.2"]},
               follow_redirects=False)
    assert r.status_code == 303
    assert c.get("/api/v1/member-prices").json()["items"][0]["member_price"] == 320
    r = c.post("/marketing/member-prices", data={"product_id": [shop.cola["id"]], "member_price": ["9"]})
    assert r.status_code == 422
    r = c.post("/marketing/member-prices", data={"product_id": [shop.cola["id"]], "member_price": ["1.234"]})
    assert r.status_code == 422
    assert "3.20" in c.get("/marketing/member-prices").text
    r = c.post("/marketing/member-prices", data={"product_id": [shop.cola["id"]], "member_price": ["3.20"],
                                                 "clear": shop.cola["id"]}, follow_redirects=False)
    assert r.status_code == 303 and c.get("/api/v1/member-prices").json()["total"] == 0
    c.cookies.clear()


def test_salesperson_sees_lists_but_not_edit_pages(client, shop):
    c = _cookie_client(client, shop.as_role("salesperson"))
    for url in ("/marketing/promotions", "/marketing/coupons", "/marketing/member-prices"):
        r = c.get(url)
        assert r.status_code == 200 and "data-testid=\"new-promotion\"" not in r.text
    assert "Deactivate" not in c.get("/marketing/promotions?lang=en").text
    assert c.get("/marketing/promotions/new").status_code == 403
    assert c.post("/marketing/promotions/new", data=SPEND_SAVE).status_code == 403
    assert c.post("/marketing/promotions/preview", data=SPEND_SAVE).status_code == 403
    assert c.post("/marketing/coupons/issue", data={}).status_code == 403
    assert c.post("/marketing/member-prices", data={}).status_code == 403
    c.cookies.clear()
    cashier = _cookie_client(client, shop.as_role("cashier"))
    assert cashier.get("/marketing/promotions").status_code in (200, 403)
    cashier.cookies.clear()


def test_demo_seed_creates_the_demo_promotions(app, client, shop):
    import uuid

    from cloudpos.context import system_actor
    from cloudpos.pricing import demo

    c, h = shop.client, shop.owner
    extra = [c.post("/api/v1/products", headers=h, json={"sku": f"D{k}", "name": f"商品{k}", "price": 1000 + k * 100,
                                                       "category_id": shop.cat["id"]}).json()["id"] for k in range(4)]
    ids = [uuid.UUID(p) for p in [shop.cola["id"], shop.tea["id"], *extra]]
    actor = system_actor(shop.tenant_id, "demo-seed")
    with app.state.sessionmaker() as db:
        db.info["tenant_id"] = shop.tenant_id
        out = demo.seed(db, actor, category_ids=[uuid.UUID(shop.cat["id"])], product_ids=ids)
        assert out == {"promotions": 3, "member_prices": 3, "coupons": 20}
        assert demo.seed(db, actor, category_ids=[uuid.UUID(shop.cat["id"])], product_ids=ids) == {}
    promos = c.get("/api/v1/promotions", headers=h).json()["items"]
    assert {p["kind"] for p in promos} == {"spend_save", "buy_x_get_y", "special_price"}
    assert all(p["state"] == "running" for p in promos)
    page = _cookie_client(client, h).get("/marketing/promotions")
    assert "满 100 减 10" in page.text and "买 1 送 1" in page.text
    client.cookies.clear()


def test_bad_form_input_is_a_4xx_never_a_500(client, shop):
    c = _cookie_client(client, shop.owner)
    base = {**SPEND_SAVE, "scope_mode": "all"}
    bad = [{"weekdays": ["9"]}, {"start_date": "garbage"}, {"time_from": "25:00", "time_to": "26:00"},
           {"store_mode": "some", "store_ids": ["not-a-uuid"]}, {"store_mode": "some"},
           {"kind": "gift", "gift_product_id": [shop.cola["id"]], "gift_qty": "abc", "gift_min_spend": "1"},
           {"kind": "gift", "gift_min_spend": "1"}, {"kind": "buy_x_get_y", "buy_qty": "-1", "get_qty": "x"},
           {"kind": "bundle", "bundle_product_id": [shop.cola["id"], shop.tea["id"]], "bundle_qty": ["0", "1"],
            "bundle_price": "5"},
           {"max_uses_per_order": "0"}, {"priority": "99999"}, {"name": "x" * 300}, {"kind": "nope"},
           {"tier_threshold": ["1e400"], "tier_save": ["¥"]}, {"ss_mode": "every", "every": "", "save": "5"},
           {"kind": "amount_off", "apply_to": "order", "amount": "20", "min_spend": "10"},
           {"time_from": "10:00", "time_to": "10:00"}, {"stacking": "exclusive", "stack_group": "y" * 100}]
    for extra in bad:
        r = c.post("/marketing/promotions/new", data={**base, **extra})
        assert r.status_code == 422, (extra, r.status_code, r.text[:500])
        p = c.post("/marketing/promotions/preview", data={**base, **extra, "sample_product_id": [shop.cola["id"]],
                                                           "sample_qty": ["abc"]})
        assert p.status_code == 200, (extra, p.text[:500])
    r = c.post("/marketing/promotions/preview", data={**base, "sample_product_id": [shop.cola["id"]],
                                                      "sample_qty": ["-2"]})
    assert r.status_code == 200 and "alert-danger" in r.text
    assert c.post("/marketing/promotions/00000000-0000-0000-0000-000000000000/end").status_code == 404
    assert c.get("/marketing/promotions/not-a-uuid").status_code == 422
    assert c.post("/marketing/coupons/templates", data={"kind": "percent_off", "value": "20"}).status_code == 422
    assert c.post("/marketing/coupons/issue", data={"template_id": "x", "count": "100000"}).status_code == 422
    assert c.get("/marketing/promotions?page=abc&state=zzz").status_code == 200
    assert c.get("/marketing/products/search?q=%E5%8F%AF").status_code == 200
    c.cookies.clear()


def test_form_sets_a_per_member_limit_and_the_list_names_the_stores(client, shop):
    c = _cookie_client(client, shop.owner)
    store = c.post("/api/v1/stores", json={"name": "福田店"}).json()
    data = {**SPEND_SAVE, "category_ids": [shop.cat["id"]], "max_uses_per_member": "0", "store_mode": "some",
            "store_ids": [store["id"]]}
    r = c.post("/marketing/promotions/new?lang=zh_CN", data=data)
    assert r.status_code == 422, r.text[:500]
    hint = r.text.split('id="f-max_uses_per_member-hint">')[1].split("<")[0]
    assert 'is-invalid" id="f-max_uses_per_member"' in r.text and hint == "不能小于 1。", hint
    r = c.post("/marketing/promotions/new", data={**data, "max_uses_per_member": "3"}, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    promo_id = r.headers["location"].split("/")[-1].split("?")[0]
    assert c.get(f"/api/v1/promotions/{promo_id}").json()["max_uses_per_member"] == 3
    page = c.get(f"/marketing/promotions/{promo_id}?lang=zh_CN")
    assert re.search(r'name="max_uses_per_member"\s+type="text" value="3"', page.text)
    listing = c.get("/marketing/promotions?lang=zh_CN").text
    assert "每位会员限 3 次" in listing and "适用门店:福田店" in listing and store["id"] not in listing
    assert "stores: 福田店" in c.get("/marketing/promotions?lang=en").text
    c.cookies.clear()
