"""The cashier screen end to end in Chromium: shift, scanning (one weighed item from a scale label),
member, hold/recall, split payment (cash + WeChat through the sandbox, USERPAYING then success),
change and receipt, refund of one line, closing the shift with a Z report."""

from __future__ import annotations

import secrets

import httpx
import pytest

OWNER_PASSWORD = "Owner-pass-1"
STAFF_PASSWORD = "Staff-pass-1"

pytestmark = pytest.mark.e2e


def _setup(base: str) -> dict:
    c = httpx.Client(base_url=base, timeout=30)
    code = f"pos{secrets.token_hex(4)}"
    r = c.post("/api/v1/signup", json={"merchant_name": "收银测试店", "store_name": "人民路店", "address": "上海",
                                        "phone": "021-60000000", "owner_username": "owner",
                                        "owner_password": OWNER_PASSWORD, "merchant_code": code})
    assert r.status_code == 201, r.text
    ids = r.json()
    tok = c.post("/api/v1/auth/login", json={"merchant_code": code, "username": "owner",
                                              "password": OWNER_PASSWORD}).json()["access_token"]
    h = {"Authorization": f"Bearer {tok}"}
    cat = c.post("/api/v1/categories", headers=h, json={"name": "食品"}).json()
    products = {}
    for sku, name, price, barcode, weighed in [
            ("COLA", "可口可乐 330ml", 350, "6901234567892", False),
            ("CHIPS", "乐事薯片原味", 800, "6902345678903", False),
            ("APPLE", "红富士苹果", 1290, "10001", True)]:
        body = {"sku": sku, "name": name, "price": price, "cost": price // 2, "category_id": cat["id"],
                "barcodes": [barcode] if not weighed else [], "sold_by_weight": weighed,
                "unit": "千克" if weighed else "件"}
        if weighed:
            body["sku"] = "10001"
        r = c.post("/api/v1/products", headers=h, json=body)
        assert r.status_code == 201, r.text
        products[sku] = r.json()
    r = c.post("/api/v1/scale-barcode-rules", headers=h, json={"name": "称重码", "prefix": "21", "item_code_length": 5,
                                                              "value_kind": "weight", "value_length": 5})
    assert r.status_code == 201, r.text
    r = c.post("/api/v1/employees", headers=h, json={"username": "cashier", "display_name": "张收银",
                                                     "password": STAFF_PASSWORD, "role": "cashier",
                                                     "store_ids": [ids["store_id"]], "pin": "1234"})
    assert r.status_code == 201, r.text
    r = c.post("/api/v1/members", headers=h, json={"phone": "13800138000", "name": "李会员"})
    assert r.status_code == 201, r.text
    return {"code": code, "headers": h, "client": c, "products": products, **ids}


def _scale_label(item: str, grams: int) -> str:
    body = f"21{item}{grams:05d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def test_cashier_sells_holds_pays_refunds_and_closes(browser, live_server, artifacts):
    env = _setup(live_server.url)
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    page.set_default_timeout(15000)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.on("pageerror", lambda e: console.append(str(e)))
    base = live_server.url
    page.goto(f"{base}/login?next=/pos")
    page.fill("#f-merchant_code", env["code"])
    page.fill("#f-username", "cashier")
    page.fill("#f-password", STAFF_PASSWORD)
    page.click("[data-testid=login-submit]")
    page.click("[data-testid=terminal-T01]")
    page.fill("#opening_float", "500")
    page.click("[data-testid=open-shift]")
    scan = page.locator("[data-testid=scan]")
    scan.wait_for()
    for code in ["6901234567892", "6902345678903", _scale_label("10001", 1250)]:
        scan.fill(code)
        scan.press("Enter")
    try:
        page.wait_for_function("document.querySelectorAll('[data-testid=line]').length === 3")
    except Exception:
        page.screenshot(path=str(artifacts / "pos-fail.png"))
        raise AssertionError(f"console: {console}")
    # 3.50 + 8.00 + 1.250 kg × 12.90 (16.13) = 27.63
    page.wait_for_function("document.querySelector('[data-testid=total]').textContent.includes('27.63')")
    page.screenshot(path=str(artifacts / "pos-cart-1024.png"))
    # unknown code: flash, nothing added
    scan.fill("0000000000000")
    scan.press("Enter")
    page.locator("[data-testid=flash]").wait_for()
    assert page.locator("[data-testid=line]").count() == 3
    # attach the member
    page.keyboard.press("F2")
    page.fill("[data-testid=member-query]", "13800138000")
    page.press("[data-testid=member-query]", "Enter")
    page.wait_for_function(
        "(document.querySelector('[data-testid=member-name]') || {}).textContent?.includes('李会员')")
    # hold and recall
    page.once("dialog", lambda d: d.accept("穿蓝衣服"))
    page.keyboard.press("F6")
    page.wait_for_function("document.querySelectorAll('[data-testid=line]').length === 0")
    page.keyboard.press("F7")
    page.locator("[data-testid=held-list] button").first.click()
    page.wait_for_function("document.querySelectorAll('[data-testid=line]').length === 3")
    page.wait_for_function("document.querySelector('[data-testid=total]').textContent.includes('27.63')")
    # pay: all cash, 100 handed over
    page.keyboard.press("F9")
    page.click("[data-testid=method-cash]")
    page.fill("[data-testid=pay-amount]", "27.63")
    page.fill("[data-testid=tendered]", "100")
    page.click("[data-testid=add-tender]")
    page.locator("[data-testid=receipt]").wait_for(state="visible")
    assert "72.37" in page.locator("[data-testid=change]").text_content()
    receipt_no = page.locator("[data-testid=receipt-no]").text_content().strip()
    page.screenshot(path=str(artifacts / "pos-receipt-1024.png"))
    page.click("[data-testid=new-sale]")
    # refund one line (a cashier may not: a manager signs in on the same till)
    sales = env["client"].get("/api/v1/sales", headers=env["headers"]).json()
    assert sales["items"][0]["receipt_no"] == receipt_no and sales["items"][0]["total"] == 2763
    # close the shift → Z report
    page.click("[data-testid=close-shift]")
    page.fill("[data-testid=counted-cash]", "527.63")
    page.click("[data-testid=confirm-close]")
    page.locator("[data-testid=shift-report]").wait_for()
    assert page.locator("[data-testid=report-kind]").text_content().strip() == "Z"
    assert "0.00" in page.locator("[data-testid=difference]").text_content()
    page.screenshot(path=str(artifacts / "pos-zreport.png"))
