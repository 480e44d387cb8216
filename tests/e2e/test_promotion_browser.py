"""A manager creates a 满减 promotion through the form in Chromium: the rule is explained in words while
typing, the preview prices a sample cart with it, saving lists it as running, and the quote the till
asks for applies it."""

from __future__ import annotations

import secrets

import httpx
import pytest

OWNER_PASSWORD = "Owner-pass-1"

pytestmark = pytest.mark.e2e


def _setup(base: str) -> dict:
    c = httpx.Client(base_url=base, timeout=30)
    code = f"pro{secrets.token_hex(4)}"
    r = c.post("/api/v1/signup", json={"merchant_name": "促销测试店", "store_name": "人民路店", "address": "上海",
                                        "phone": "021-60000000", "owner_username": "owner",
                                        "owner_password": OWNER_PASSWORD, "merchant_code": code})
    assert r.status_code == 201, r.text
    ids = r.json()
    tok = c.post("/api/v1/auth/login", json={"merchant_code": code, "username": "owner",
                                              "password": OWNER_PASSWORD}).json()["access_token"]
    h = {"Authorization": f"Bearer {tok}"}
    drinks = c.post("/api/v1/categories", headers=h, json={"name": "饮料"}).json()
    snacks = c.post("/api/v1/categories", headers=h, json={"name": "零食"}).json()
    products = {}
    for sku, name, price, cat in [("COLA", "可口可乐 330ml", 350, drinks), ("TEA", "东方树叶 500ml", 600, drinks),
                                  ("CHIPS", "乐事薯片原味", 800, snacks)]:
        r = c.post("/api/v1/products", headers=h, json={"sku": sku, "name": name, "price": price, "cost": price // 2,
                                                       "category_id": cat["id"]})
        assert r.status_code == 201, r.text
        products[sku] = r.json()
    return {"code": code, "headers": h, "client": c, "products": products, "drinks": drinks, **ids}


def _pick(page, testid: str, query: str, name: str) -> None:
    box = page.locator(f"[data-testid={testid}-search]")
    box.fill(query)
    page.locator(f"[data-testid={testid}] .picker-results button", has_text=name).first.click()


def test_manager_creates_spend_save_and_sees_it_in_a_quote(browser, live_server, artifacts):
    env = _setup(live_server.url)
    base = live_server.url
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page.set_default_timeout(15000)
    console: list[str] = []
    page.on("pageerror", lambda e: console.append(str(e)))
    page.goto(f"{base}/login?next=/marketing/promotions")
    page.fill("#f-merchant_code", env["code"])
    page.fill("#f-username", "owner")
    page.fill("#f-password", OWNER_PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url("**/marketing/promotions")
    page.screenshot(path=str(artifacts / "promotions-empty-1280.png"))
    page.click("[data-testid=new-promotion]")
    page.wait_for_url("**/marketing/promotions/new")

    # 满 10 减 2 and 满 20 减 4.5 on drinks; the rule is explained while typing
    page.fill("#f-name", "饮料满10减2")
    assert page.locator("[data-testid=kind]").input_value() == "spend_save"
    page.fill("[data-testid=tier-threshold-0]", "10")
    page.fill("[data-testid=tier-save-0]", "2")
    page.click("[data-testid=add-tier]")
    page.fill("[data-testid=tier-threshold-1]", "20")
    page.fill("[data-testid=tier-save-1]", "4.5")
    page.check("#f-scope-categories")
    page.check(f"#f-cat-{env['drinks']['id']}")
    try:
        page.wait_for_function(
            "(document.querySelector('[data-testid=preview-description]') || {}).textContent?.includes('仅限饮料类')")
    except Exception:
        page.screenshot(path=str(artifacts / "promotion-form-fail.png"), full_page=True)
        raise AssertionError(f"{console} {page.locator('[data-testid=preview]').inner_html()}") from None
    words = page.locator("[data-testid=preview-description]").text_content()
    assert "满 10 减 2" in words and "满 20 减 4.5" in words, words

    # a sample cart: 3 colas (10.50 of drinks → 满10减2) and chips (not in scope)
    _pick(page, "sample", "COLA", "可口可乐")
    page.locator("[data-testid=sample] input[name=sample_qty]").first.fill("3")
    _pick(page, "sample", "CHIPS", "乐事薯片")
    page.wait_for_function(
        "(document.querySelector('[data-testid=preview-total]') || {}).textContent?.includes('16.50')")
    page.screenshot(path=str(artifacts / "promotion-form-preview-1280.png"), full_page=True)

    # bad input stays on the form with the message next to the field
    page.fill("[data-testid=tier-save-1]", "4.555")
    page.click("[data-testid=save-promotion]")
    page.locator(".invalid-feedback", has_text="最多 2 位小数").first.wait_for()
    page.screenshot(path=str(artifacts / "promotion-form-error-1280.png"), full_page=True)
    page.fill("[data-testid=tier-save-1]", "4.5")
    page.click("[data-testid=save-promotion]")
    page.locator("[data-testid=flash]").wait_for()
    assert "满 10 减 2" in page.locator("[data-testid=saved-description]").text_content()

    page.goto(f"{base}/marketing/promotions")
    row = page.locator("[data-testid=promotion-row]", has_text="饮料满10减2")
    assert "进行中" in row.text_content()
    assert "满 20 减 4.5" in row.locator("[data-testid=promotion-description]").text_content()
    assert page.locator("[data-testid=calendar] .cal-cell.on").count() == 14
    page.screenshot(path=str(artifacts / "promotions-list-1280.png"), full_page=True)

    # the quote the till asks for applies it: 3 × 3.50 + 2 × 6.00 = 22.50 of drinks → 满20减4.5; chips 8.00
    p = env["products"]
    q = env["client"].post("/api/v1/pricing/quote", headers=env["headers"], json={
        "store_id": env["store_id"], "lines": [{"product_id": p["COLA"]["id"], "quantity": "3"},
                                               {"product_id": p["TEA"]["id"], "quantity": "2"},
                                               {"product_id": p["CHIPS"]["id"], "quantity": "1"}]}).json()
    assert q["subtotal"] == 3050 and q["total"] == 2600, q
    assert sum(line["amount"] for line in q["lines"]) == q["total"]

    # English, end early with confirmation
    page.goto(f"{base}/marketing/promotions?lang=en")
    page.once("dialog", lambda d: d.accept())
    page.locator("[data-testid=promotion-row]", has_text="饮料满10减2").get_by_role("button", name="End early").click()
    page.locator("[data-testid=flash]").wait_for()
    assert "Inactive" in page.locator("[data-testid=promotion-row]").first.text_content()
    page.screenshot(path=str(artifacts / "promotions-list-en-1280.png"), full_page=True)

    # coupons: a template through the form, 5 anonymous codes; member prices through the search
    page.goto(f"{base}/marketing/coupons?lang=zh_CN")
    page.locator("[data-testid=template-form-box] summary").click()
    page.fill("[data-testid=template-form] #f-name", "满50减5")
    page.fill("#f-value", "5")
    page.fill("#f-threshold", "50")
    page.click("[data-testid=save-template]")
    page.locator("[data-testid=flash]").wait_for()
    page.select_option("#f-template_id", label=page.locator("#f-template_id option").nth(1).text_content())
    page.fill("#f-count", "5")
    page.click("[data-testid=issue]")
    page.locator("[data-testid=issued]").wait_for()
    assert page.locator("[data-testid=issued-count]").first.text_content().strip() == "5"
    page.screenshot(path=str(artifacts / "coupons-1280.png"), full_page=True)
    page.goto(f"{base}/marketing/member-prices?q=kkkl")
    page.screenshot(path=str(artifacts / "member-prices-search-1280.png"), full_page=True)
    page.locator("[data-testid=mp-results] input[name=member_price]").fill("3.2")
    page.click("[data-testid=mp-save-results]")
    page.locator("[data-testid=flash]").wait_for()
    assert "¥3.50" in page.locator("[data-testid=mp-table]").text_content()
    page.screenshot(path=str(artifacts / "member-prices-1280.png"), full_page=True)
    assert not console, console
    page.close()
