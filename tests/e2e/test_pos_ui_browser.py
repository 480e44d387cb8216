"""The cashier screen as a cashier sees it, in Chromium: the customer display follows the till live
(server-sent events), a burst of 20 scans loses nothing and keeps the order, the screen fits
1024×768 and 1920×1080 without scrolling, and a tour of every dialog and sales page in Chinese and
English that leaves screenshots in test-artifacts/ (pos-ui-*.png) for people to look at."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

OWNER_PASSWORD = "Owner-pass-1"
STAFF_PASSWORD = "Staff-pass-1"
COLA = "6901234567892"
CHIPS = "6902345678903"

pytestmark = pytest.mark.e2e


def _setup(base: str) -> dict:
    """A merchant with two products (cola 3.50, chips 8.00), 10% off snacks, a cashier and a member."""
    c = httpx.Client(base_url=base, timeout=90)  # a loaded test machine: argon2 and SQLite take their time
    code = f"ui{secrets.token_hex(4)}"
    r = c.post("/api/v1/signup", json={"merchant_name": "界面测试店", "store_name": "人民路店", "address": "上海",
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
    for sku, name, price, barcode, cat in [("COLA", "可口可乐 330ml", 350, COLA, drinks),
                                           ("CHIPS", "乐事薯片原味 大包装 75g", 800, CHIPS, snacks)]:
        r = c.post("/api/v1/products", headers=h, json={
            "sku": sku, "name": name, "price": price, "cost": price // 2, "category_id": cat["id"],
            "barcodes": [barcode], "unit": "件"})
        assert r.status_code == 201, r.text
        products[sku] = r.json()
    r = c.post("/api/v1/promotions", headers=h, json={
        "name": "零食九折", "rule": {"kind": "percent_off", "percent_off_bp": 1000},
        "scope": {"category_ids": [snacks["id"]]}})
    assert r.status_code == 201, r.text
    r = c.post("/api/v1/employees", headers=h, json={"username": "cashier", "display_name": "张收银",
                                                     "password": STAFF_PASSWORD, "role": "cashier",
                                                     "store_ids": [ids["store_id"]], "pin": "1234"})
    assert r.status_code == 201, r.text
    r = c.post("/api/v1/members", headers=h, json={"phone": "13800138000", "name": "李会员"})
    assert r.status_code == 201, r.text
    return {"code": code, "headers": h, "client": c, "products": products, **ids}


def _quote_total(env: dict, quantities: dict[str, int]) -> int:
    """What the server says the cart costs (the test never does the pricing itself)."""
    lines = [{"product_id": env["products"][sku]["id"], "quantity": str(q)} for sku, q in quantities.items()]
    r = env["client"].post("/api/v1/pricing/quote", headers=env["headers"],
                           json={"store_id": env["store_id"], "lines": lines})
    assert r.status_code == 200, r.text
    return r.json()["total"]


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _open_till(page, base: str, env: dict, username: str = "cashier", password: str = STAFF_PASSWORD,
               terminal: str = "T01", shots: str | None = None, artifacts=None) -> None:
    """Log in, choose the till, open a shift (screenshots of the set-up pages when `shots` is a prefix)."""
    page.goto(f"{base}/login?next=/pos")
    page.fill("#f-merchant_code", env["code"])
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    page.click("[data-testid=login-submit]")
    page.locator(f"[data-testid=terminal-{terminal}]").wait_for()
    if shots:
        page.screenshot(path=str(artifacts / f"{shots}-setup-terminal.png"))
    page.click(f"[data-testid=terminal-{terminal}]")
    page.locator("#opening_float").wait_for()
    if shots:
        page.screenshot(path=str(artifacts / f"{shots}-setup-shift.png"))
    page.fill("#opening_float", "500")
    page.click("[data-testid=open-shift]")
    page.locator("[data-testid=scan]").wait_for()


def _scan(page, code: str) -> None:
    scan = page.locator("[data-testid=scan]")
    scan.fill(code)
    scan.press("Enter")


def _wait_total(page, fen: int) -> None:
    page.wait_for_function("t => document.querySelector('[data-testid=total]').textContent.includes(t)",
                           arg=_yuan(fen))


def _watch_errors(page) -> list[str]:
    """JavaScript errors and server errors (a 4xx is an answer the screen shows; a 5xx is a bug)."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    return errors


@contextmanager
def _till(browser, base: str, env: dict) -> Iterator[tuple]:
    """A 1024×768 Chinese browser at the till with a shift open: (page, errors seen)."""
    ctx = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN")
    try:
        page = ctx.new_page()
        page.set_default_timeout(30000)
        errors = _watch_errors(page)
        _open_till(page, base, env)
        yield page, errors
    finally:
        ctx.close()


def test_customer_display_follows_the_till_live(browser, live_server, artifacts):
    env = _setup(live_server.url)
    base = live_server.url
    with _till(browser, base, env) as (till, errors):
        display = till.context.new_page()
        display.set_default_timeout(30000)
        display.goto(f"{base}/pos/display")
        display.get_by_text("欢迎光临").wait_for()
        # one scan at the till → the item and the total on the second screen, pushed by the server
        _scan(till, CHIPS)
        chips_total = _quote_total(env, {"CHIPS": 1})
        _wait_total(till, chips_total)
        display.locator("[data-testid=display-lines]", has_text="乐事薯片原味").wait_for()
        display.wait_for_function(
            "t => (document.querySelector('[data-testid=display-total]') || {}).textContent?.includes(t)",
            arg=_yuan(chips_total))
        _scan(till, COLA)
        total = _quote_total(env, {"CHIPS": 1, "COLA": 1})
        _wait_total(till, total)
        display.locator("[data-testid=display-lines]", has_text="可口可乐").wait_for()
        display.wait_for_function(
            "t => document.querySelector('[data-testid=display-total]').textContent.includes(t)", arg=_yuan(total))
        display.screenshot(path=str(artifacts / "pos-ui-display-cart.png"))
        # a cash sale: the display thanks the customer and shows the change
        till.keyboard.press("F9")
        till.click("[data-testid=method-cash]")
        till.fill("[data-testid=tendered]", "20")
        till.click("[data-testid=add-tender]")
        till.locator("[data-testid=receipt]").wait_for(state="visible")
        thanks = display.locator("[data-testid=display-thanks]")
        thanks.wait_for()
        assert "谢谢惠顾" in thanks.text_content()
        assert _yuan(2000 - total) in thanks.text_content()
        display.screenshot(path=str(artifacts / "pos-ui-display-thanks.png"))
        # the next customer: the display greets again, the scan field has the focus
        till.keyboard.press("Escape")
        display.get_by_text("欢迎光临").wait_for()
        till.wait_for_function("document.activeElement && document.activeElement.dataset.testid === 'scan'")
        assert not errors, errors


def test_twenty_rapid_scans_are_all_counted_in_order(browser, live_server, artifacts):
    env = _setup(live_server.url)
    with _till(browser, live_server.url, env) as (page, errors):
        page.locator("[data-testid=scan]").focus()
        # a scanner: code + Enter, twenty times, without waiting for anything in between
        for i in range(20):
            page.keyboard.type(COLA if i % 2 == 0 else CHIPS)
            page.keyboard.press("Enter")
        page.wait_for_function(
            "() => { const q = [...document.querySelectorAll('[data-testid=qty]')].map(e => e.textContent.trim());"
            " return q.length === 2 && q[0] === '10' && q[1] === '10'; }")
        names = [t.strip() for t in page.locator("[data-testid=line] td:nth-child(2) > span").all_text_contents()]
        assert names == ["可口可乐 330ml", "乐事薯片原味 大包装 75g"]
        _wait_total(page, _quote_total(env, {"COLA": 10, "CHIPS": 10}))
        page.screenshot(path=str(artifacts / "pos-ui-20-scans.png"))
        assert page.locator("[data-testid=flash]").is_hidden() or "未知" not in page.locator(
            "[data-testid=flash]").text_content()
        assert not errors, errors


def test_the_till_fits_the_screen_without_scrolling(browser, live_server, artifacts):
    """1920×1080 and 1024×768, Chinese and English: no scrollbar, the total and Pay in sight."""
    env = _setup(live_server.url)
    base = live_server.url
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    try:
        page = ctx.new_page()
        page.set_default_timeout(30000)
        _open_till(page, base, env)
        total = _quote_total(env, {"COLA": 1, "CHIPS": 1})
        for width, height in [(1920, 1080), (1024, 768)]:
            page.set_viewport_size({"width": width, "height": height})
            for lang in ("zh_CN", "en"):
                page.goto(f"{base}/pos?lang={lang}")
                page.locator("[data-testid=scan]").wait_for()
                for code in [COLA, CHIPS]:
                    _scan(page, code)
                _wait_total(page, total)
                page.screenshot(path=str(artifacts / f"pos-ui-fit-{lang}-{width}.png"))
                fits = page.evaluate("""() => {
                    const d = document.documentElement;
                    const inView = (el) => { const r = el.getBoundingClientRect();
                      return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
                             && r.bottom <= window.innerHeight && r.right <= window.innerWidth; };
                    return { hscroll: d.scrollWidth > d.clientWidth || document.body.scrollWidth > d.clientWidth,
                             vscroll: d.scrollHeight > d.clientHeight,
                             pay: inView(document.querySelector('[data-testid=btn-pay]')),
                             total: inView(document.querySelector('[data-testid=total]')),
                             scan: inView(document.querySelector('[data-testid=scan]')) };
                }""")
                assert fits == {"hscroll": False, "vscroll": False, "pay": True, "total": True, "scan": True}, \
                    (width, lang, fits)
                assert page.locator("[data-testid=btn-pay]").is_enabled()
                # the cart is kept across a reload (test below): forget it, the next round starts empty
                page.evaluate("() => localStorage.clear()")
    finally:
        ctx.close()


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_tour_of_the_cashier_screens(browser, live_server, artifacts, lang):
    """Every dialog and page once, with screenshots; and the small things a cashier relies on:
    F1 lists the shortcuts, the focus is back in the scan field after each dialog, the keypad types,
    payment methods read as words, not codes."""
    env = _setup(live_server.url)
    base = live_server.url
    zh = lang == "zh_CN"
    ctx = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN" if zh else "en-US")
    shot = f"pos-ui-{lang}"
    try:
        page = ctx.new_page()
        page.set_default_timeout(30000)
        errors = _watch_errors(page)
        _open_till(page, base, env, username="owner", password=OWNER_PASSWORD, shots=shot, artifacts=artifacts)
        focused = "document.activeElement && document.activeElement.dataset.testid === 'scan'"
        page.screenshot(path=str(artifacts / f"{shot}-empty.png"))
        # F1: the shortcut list; Esc closes it and the scan field has the focus again
        page.keyboard.press("F1")
        help_box = page.locator("[data-testid=help]")
        help_box.wait_for(state="visible")
        for key in ["F1", "F2", "F3", "F4", "F6", "F7", "F8", "F9", "F10", "Esc"]:
            assert help_box.locator("kbd", has_text=re.compile(f"^{key}$")).count(), key
        page.wait_for_timeout(400)  # the dialog fades in
        page.screenshot(path=str(artifacts / f"{shot}-help.png"))
        page.keyboard.press("Escape")
        help_box.wait_for(state="hidden")
        page.wait_for_function(focused)
        # the keypad types into the scan field (a touch screen) and Enter adds the item
        for k in CHIPS:
            page.click(f"[data-testid='key-{k}']")
        assert page.locator("[data-testid=scan]").input_value() == CHIPS
        page.click("[data-testid='key-↵']")
        page.wait_for_function("document.querySelectorAll('[data-testid=line]').length === 1")
        for code in [COLA, COLA, CHIPS]:
            _scan(page, code)
        _wait_total(page, _quote_total(env, {"CHIPS": 2, "COLA": 2}))
        page.keyboard.press("F2")
        page.fill("[data-testid=member-query]", "13800138000")
        page.press("[data-testid=member-query]", "Enter")
        page.locator("[data-testid=member-name]").wait_for()
        page.wait_for_function(focused)
        page.screenshot(path=str(artifacts / f"{shot}-cart-promo.png"))
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.screenshot(path=str(artifacts / f"{shot}-cart-promo-1920.png"))
        page.set_viewport_size({"width": 1024, "height": 768})
        # hold, then the held-carts dialog (the recall itself is covered by test_checkout_browser)
        page.once("dialog", lambda d: d.accept("穿蓝衣服的顾客" if zh else "Customer in a blue coat"))
        page.keyboard.press("F6")
        page.wait_for_function("document.querySelectorAll('[data-testid=line]').length === 0")
        page.keyboard.press("F7")
        page.locator("[data-testid=held-list] button").first.wait_for()
        page.wait_for_timeout(400)  # the dialog fades in
        page.screenshot(path=str(artifacts / f"{shot}-held.png"))
        page.locator("[data-testid=held-list] button").first.click()
        page.wait_for_function("document.querySelectorAll('[data-testid=line]').length === 2")
        page.wait_for_function(focused)
        # pay: part by card, the rest in cash
        total = _quote_total(env, {"CHIPS": 2, "COLA": 2})
        page.keyboard.press("F9")  # at once: the till waits for the recalled cart's price by itself
        page.locator("[data-testid=pay-amount]").wait_for(state="visible")
        page.click("[data-testid=method-card]")
        page.fill("[data-testid=pay-amount]", "10")
        page.fill("input[maxlength='4']", "1234")
        page.click("[data-testid=add-tender]")
        page.click("[data-testid=method-cash]")
        page.fill("[data-testid=tendered]", "50")
        tender_list = page.locator(".pos-pay-dialog .list-group-item").first
        assert tender_list.text_content().strip().startswith("银行卡" if zh else "Bank card")
        page.wait_for_timeout(400)  # the dialog fades in
        page.screenshot(path=str(artifacts / f"{shot}-pay.png"))
        assert _yuan(5000 - (total - 1000)) in page.locator("[data-testid=pay-change]").text_content()
        page.click("[data-testid=add-tender]")
        page.locator("[data-testid=receipt]").wait_for(state="visible")
        receipt = page.locator("[data-testid=receipt]").text_content()
        assert ("银行卡" if zh else "Bank card") in receipt and ("现金" if zh else "Cash") in receipt
        assert "card" not in receipt.replace("Bank card", "")
        receipt_no = page.locator("[data-testid=receipt-no]").text_content().strip()
        page.wait_for_timeout(400)  # the dialog fades in
        page.screenshot(path=str(artifacts / f"{shot}-receipt.png"))
        page.keyboard.press("Escape")
        page.locator("[data-testid=receipt]").wait_for(state="hidden")
        page.wait_for_function(focused)
        # a return of one chips bag
        page.keyboard.press("F10")
        page.fill("[data-testid=refund-receipt]", receipt_no)
        page.press("[data-testid=refund-receipt]", "Enter")
        page.locator("[data-testid=refund-qty]").first.wait_for()
        page.locator("[data-testid=refund-qty]").first.fill("1")
        page.wait_for_timeout(400)  # the dialog fades in
        page.screenshot(path=str(artifacts / f"{shot}-return.png"))
        page.click("[data-testid=refund-lines]")
        page.locator("[data-testid=refund-done]").wait_for()
        page.wait_for_timeout(400)  # the dialog fades in
        page.screenshot(path=str(artifacts / f"{shot}-return-done.png"))
        page.keyboard.press("Escape")
        page.wait_for_function(focused)
        # the back office pages of the sale
        page.goto(f"{base}/sales")
        page.locator("[data-testid=sales-table]").wait_for()
        page.screenshot(path=str(artifacts / f"{shot}-sales-list.png"), full_page=True)
        page.get_by_text(receipt_no).click()
        page.locator("[data-testid=sale-lines]").wait_for()
        page.screenshot(path=str(artifacts / f"{shot}-sale-detail.png"), full_page=True)
        # close the shift: the Z report
        page.goto(f"{base}/pos")
        page.click("[data-testid=close-shift]")
        page.fill("[data-testid=counted-cash]", "500")
        page.wait_for_timeout(400)  # the dialog fades in
        page.screenshot(path=str(artifacts / f"{shot}-close-shift.png"))
        page.click("[data-testid=confirm-close]")
        page.locator("[data-testid=shift-report]").wait_for()
        page.screenshot(path=str(artifacts / f"{shot}-zreport.png"), full_page=True)
        page.goto(f"{base}/shifts")
        page.screenshot(path=str(artifacts / f"{shot}-shifts.png"), full_page=True)
        assert not errors, errors
    finally:
        ctx.close()


def test_the_cart_comes_back_after_a_reload_priced_again_and_not_after_the_sale(browser, live_server, artifacts):
    """F5 (or a tab that crashed) in the middle of a customer: the cart is back, priced at today's prices; once
    the sale is paid, a reload starts empty. Payments are never kept in the browser."""
    env = _setup(live_server.url)
    with _till(browser, live_server.url, env) as (page, errors):
        for code in (COLA, COLA, CHIPS):
            _scan(page, code)
        _wait_total(page, _quote_total(env, {"COLA": 2, "CHIPS": 1}))
        # the price of cola changes while the page is away
        cola = env["products"]["COLA"]
        r = env["client"].patch(f"/api/v1/products/{cola['id']}", headers=env["headers"], json={"price": 400})
        assert r.status_code == 200, r.text
        page.reload()
        page.locator("[data-testid=scan]").wait_for()
        page.wait_for_function("() => document.querySelectorAll('[data-testid=line]').length === 2")
        assert [q.strip() for q in page.locator("[data-testid=qty]").all_text_contents()] == ["2", "1"]
        new_total = _quote_total(env, {"COLA": 2, "CHIPS": 1})
        assert new_total == 2 * 400 + 720  # chips 10% off
        _wait_total(page, new_total)
        assert "已恢复" in page.locator("[data-testid=flash]").text_content()
        page.screenshot(path=str(artifacts / "pos-ui-cart-restored.png"))
        stored = page.evaluate("() => JSON.stringify(Object.assign({}, localStorage))")
        assert "payments" not in stored and "tendered" not in stored

        page.keyboard.press("F9")
        page.click("[data-testid=method-cash]")
        page.fill("[data-testid=tendered]", "20")
        page.click("[data-testid=add-tender]")
        page.locator("[data-testid=receipt]").wait_for(state="visible")
        page.reload()
        page.locator("[data-testid=scan]").wait_for()
        page.wait_for_timeout(500)
        assert page.locator("[data-testid=line]").count() == 0
        assert page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('cloudpos.cart.')).length") == 0
        assert not errors, errors
