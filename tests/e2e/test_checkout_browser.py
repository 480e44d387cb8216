"""The cashier screen end to end in Chromium (issue 6): log in, open a shift, scan three items (one weighed,
from a scale label), attach a member, hold and recall, split payment (cash + WeChat Pay through the sandbox
gateway over real HTTP: USERPAYING, then success), change and receipt, a manager refunds one line at the
till by receipt number, the cashier closes the shift and reads the Z report.

Every step is checked twice: on the screen, and in what the API says was recorded (the sale, the refund
document, the payments and the sandbox's own books, the stock). Screenshots of the till mid-sale and of
the payment panel while the customer types the password, at 1024×768 and 1920×1080, go to
test-artifacts/pos-checkout-*.png."""

from __future__ import annotations

import re
import secrets
from decimal import Decimal

import httpx
import pytest

from cloudpos.payments.testing import ledger_trade, payment_code

OWNER_PASSWORD = "Owner-pass-1"
STAFF_PASSWORD = "Staff-pass-1"
COLA, CHIPS = "6901234567892", "6902345678903"
SMALL, BIG = {"width": 1024, "height": 768}, {"width": 1920, "height": 1080}

pytestmark = pytest.mark.e2e


def _setup(base: str, point_wallets) -> dict:
    """A merchant with cola 3.50, chips 8.00 and apples 12.90/kg sold by a scale label (21 + 5-digit item +
    5-digit grams), 20 of each in stock, a cashier, a store manager, a member, and WeChat Pay / Alipay
    pointed at the sandbox gateway."""
    c = httpx.Client(base_url=base, timeout=60)
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
            ("COLA", "可口可乐 330ml", 350, COLA, False),
            ("CHIPS", "乐事薯片原味", 800, CHIPS, False),
            ("10001", "红富士苹果", 1290, None, True)]:
        r = c.post("/api/v1/products", headers=h, json={
            "sku": sku, "name": name, "price": price, "cost": price // 2, "category_id": cat["id"],
            "barcodes": [barcode] if barcode else [], "sold_by_weight": weighed, "unit": "千克" if weighed else "件"})
        assert r.status_code == 201, r.text
        products[sku] = r.json()
    r = c.post("/api/v1/stock/receipts", headers=h, json={
        "store_id": ids["store_id"], "supplier": "供货商",
        "lines": [{"product_id": p["id"], "quantity": "20", "unit_cost": p["price"] // 2} for p in products.values()]})
    assert r.status_code == 201, r.text
    r = c.post("/api/v1/scale-barcode-rules", headers=h, json={"name": "称重码", "prefix": "21", "item_code_length": 5,
                                                              "value_kind": "weight", "value_length": 5})
    assert r.status_code == 201, r.text
    for username, name, role in [("cashier", "张收银", "cashier"), ("manager", "王店长", "store_manager")]:
        r = c.post("/api/v1/employees", headers=h, json={"username": username, "display_name": name,
                                                         "password": STAFF_PASSWORD, "role": role,
                                                         "store_ids": [ids["store_id"]], "pin": "1234"})
        assert r.status_code == 201, r.text
    r = c.post("/api/v1/members", headers=h, json={"phone": "13800138000", "name": "李会员"})
    assert r.status_code == 201, r.text
    point_wallets(c, h)
    return {"code": code, "headers": h, "client": c, "products": products, "member": r.json(), **ids}


def _scale_label(item: str, grams: int) -> str:
    body = f"21{item}{grams:05d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _sign_in(page, base: str, env: dict, username: str) -> None:
    page.goto(f"{base}/login?next=/pos")
    page.fill("#f-merchant_code", env["code"])
    page.fill("#f-username", username)
    page.fill("#f-password", STAFF_PASSWORD)
    page.click("[data-testid=login-submit]")


def _stock(env: dict) -> dict[str, Decimal]:
    r = env["client"].get("/api/v1/stock", headers=env["headers"], params={"store_id": env["store_id"]})
    assert r.status_code == 200, r.text
    by_id = {p["id"]: sku for sku, p in env["products"].items()}
    return {by_id[s["product_id"]]: Decimal(str(s["on_hand"])) for s in r.json()["items"]}


def _text(page, testid: str) -> str:
    return " ".join(page.locator(f"[data-testid={testid}]").first.inner_text().split())


def _fits(page) -> dict:
    """No page scrollbar; the element's box inside the window."""
    return page.evaluate("""() => {
        const d = document.documentElement;
        const inView = (el) => { if (!el) return null; const r = el.getBoundingClientRect();
          return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
                 && r.bottom <= window.innerHeight && r.right <= window.innerWidth; };
        return { hscroll: d.scrollWidth > d.clientWidth, vscroll: d.scrollHeight > d.clientHeight,
                 total: inView(document.querySelector('[data-testid=total]')),
                 pay: inView(document.querySelector('[data-testid=btn-pay]')) };
    }""")


def test_cashier_sells_holds_pays_refunds_and_closes(browser, live_server, artifacts, browser_payments,
                                                     point_wallets_at_sandbox):
    env = _setup(live_server.url, point_wallets_at_sandbox)
    api, owner = env["client"], env["headers"]
    base = live_server.url
    ctx = browser.new_context(viewport=SMALL, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(20000)
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    shot = lambda name: page.screenshot(path=str(artifacts / f"pos-checkout-{name}.png"))  # noqa: E731
    try:
        # --- log in, choose the till, open the shift with ¥500 in the drawer
        _sign_in(page, base, env, "cashier")
        page.click("[data-testid=terminal-T01]")
        page.fill("#opening_float", "500")
        page.click("[data-testid=open-shift]")
        scan = page.locator("[data-testid=scan]")
        scan.wait_for()
        assert "张收银" in page.locator(".pos-top").inner_text()

        # --- scan three items: cola, chips and 1.250 kg of apples from the scale's label
        for code in [COLA, CHIPS, _scale_label("10001", 1250)]:
            scan.fill(code)
            scan.press("Enter")
        page.wait_for_function("document.querySelectorAll('[data-testid=line]').length === 3")
        # 3.50 + 8.00 + 1.250 kg × 12.90 (16.125 → 16.13) = 27.63
        page.wait_for_function("document.querySelector('[data-testid=total]').textContent.includes('27.63')")
        lines = page.locator("[data-testid=line]")
        assert "红富士苹果" in lines.nth(2).inner_text() and "1.25" in lines.nth(2).inner_text()
        assert "16.13" in lines.nth(2).inner_text()
        # an unknown code: a message, nothing added
        scan.fill("0000000000000")
        scan.press("Enter")
        page.locator("[data-testid=flash]").wait_for()
        assert lines.count() == 3

        # --- attach the member (F2)
        page.keyboard.press("F2")
        page.fill("[data-testid=member-query]", "13800138000")
        page.press("[data-testid=member-query]", "Enter")
        page.locator("[data-testid=member-name]", has_text="李会员").wait_for()
        page.wait_for_function("document.activeElement && document.activeElement.dataset.testid === 'scan'")
        page.wait_for_timeout(400)  # the member dialog fades out
        shot("till-1024")
        assert _fits(page) == {"hscroll": False, "vscroll": False, "total": True, "pay": True}
        page.set_viewport_size(BIG)
        shot("till-1920")
        assert _fits(page) == {"hscroll": False, "vscroll": False, "total": True, "pay": True}
        page.set_viewport_size(SMALL)

        # --- hold (F6, with a note), the till is free; recall (F7): the same cart, member included
        page.once("dialog", lambda d: d.accept("穿蓝衣服"))
        page.keyboard.press("F6")
        page.wait_for_function("document.querySelectorAll('[data-testid=line]').length === 0")
        assert page.locator("[data-testid=member-name]").count() == 0
        page.keyboard.press("F7")
        held = page.locator("[data-testid=held-list] button", has_text="穿蓝衣服")
        assert "27.63" in held.inner_text()
        held.click()
        page.wait_for_function("document.querySelectorAll('[data-testid=line]').length === 3")
        page.wait_for_function("document.querySelector('[data-testid=total]').textContent.includes('27.63')")
        page.locator("[data-testid=member-name]", has_text="李会员").wait_for()
        assert api.get("/api/v1/held-carts", headers=owner, params={"store_id": env["store_id"]}).json() == []

        # --- pay (F9): ¥10 of it in cash (a ¥20 note: ¥10 change), the rest by WeChat Pay
        page.keyboard.press("F9")
        page.click("[data-testid=method-cash]")
        assert page.locator("[data-testid=pay-amount]").input_value() == "27.63"
        page.fill("[data-testid=pay-amount]", "10")
        page.fill("[data-testid=tendered]", "20")
        assert _text(page, "pay-change") == "¥10.00"
        page.click("[data-testid=add-tender]")
        assert _text(page, "remaining") == "¥17.63"
        page.click("[data-testid=method-wechat]")
        assert page.locator("[data-testid=pay-amount]").input_value() == "17.63"
        # 1301…: the customer has to type the payment password; the gateway says USERPAYING, then success
        page.fill("[data-testid=auth-code]", payment_code("1301"))
        page.click("[data-testid=add-tender]")
        waiting = page.locator("[data-testid=wallet-waiting]")
        waiting.wait_for(state="visible")
        assert _text(page, "wallet-waiting") == "等待顾客在手机上输入支付密码…"
        status = _text(page, "wallet-status")
        assert "微信支付" in status and "¥17.63" in status, status
        shot("userpaying-1024")
        page.set_viewport_size(BIG)
        shot("userpaying-1920")
        page.set_viewport_size(SMALL)
        assert waiting.is_visible(), "the customer confirmed before the screenshots were taken"
        page.keyboard.press("Escape")  # the payment is on its way: the panel stays until it is settled
        assert page.locator("[data-testid=wallet-status]").is_visible()

        # --- then the sale completes: change and the receipt
        page.locator("[data-testid=receipt]").wait_for(state="visible")
        assert _text(page, "change") == "¥10.00"
        receipt_no = _text(page, "receipt-no")
        receipt = page.locator("[data-testid=receipt]").inner_text()
        for expected in ["可口可乐 330ml", "乐事薯片原味", "红富士苹果 × 1.25", "¥27.63", "现金", "¥20.00", "微信支付",
                         "¥17.63"]:
            assert expected in receipt, (expected, receipt)
        page.wait_for_timeout(400)  # the dialog fades in
        shot("receipt-1024")

        sale = api.get(f"/api/v1/sales/by-receipt/{receipt_no}", headers=owner).json()
        assert (sale["kind"], sale["total"], sale["paid"], sale["change"]) == ("sale", 2763, 2763, 1000)
        assert sale["member_id"] == env["member"]["id"] and sale["cashier_name"] == "张收银"
        assert [(ln["sku"], ln["quantity"], ln["amount"]) for ln in sale["lines"]] == [
            ("COLA", "1.000", 350), ("CHIPS", "1.000", 800), ("10001", "1.250", 1613)]
        pays = {p["method"]: p for p in sale["payments"]}
        assert set(pays) == {"cash", "wechat"}
        assert (pays["cash"]["amount"], pays["cash"]["tendered"]) == (1000, 2000)
        assert pays["wechat"]["amount"] == 1763
        wechat = api.get(f"/api/v1/payments/{pays['wechat']['payment_id']}", headers=owner).json()
        assert (wechat["status"], wechat["sale_id"], wechat["amount"]) == ("succeeded", sale["id"], 1763)
        trade = ledger_trade(browser_payments, wechat["out_trade_no"])
        assert trade["charges"] == 1 and trade["amount_fen"] == 1763 and not trade["reversed"]
        assert trade["queries"] >= 2  # the gateway was asked while the customer typed the password
        assert _stock(env) == {"COLA": Decimal(19), "CHIPS": Decimal(19), "10001": Decimal("18.75")}
        page.keyboard.press("Escape")  # next customer
        page.locator("[data-testid=receipt]").wait_for(state="hidden")

        # --- a cashier may not refund: F10 says so; the store manager takes the till
        page.keyboard.press("F10")
        assert _text(page, "flash") == "您无权退货,请联系店长。"
        page.click("[data-testid=switch-cashier]")
        _sign_in(page, base, env, "manager")
        page.locator("[data-testid=scan]").wait_for()
        assert "王店长" in page.locator(".pos-top").inner_text()

        # --- F10: the receipt number, one bag of chips back
        page.keyboard.press("F10")
        page.fill("[data-testid=refund-receipt]", receipt_no)
        page.press("[data-testid=refund-receipt]", "Enter")
        chips_row = page.locator(".pos-dialog tr", has_text="乐事薯片原味")
        chips_row.locator("[data-testid=refund-qty]").fill("1")
        page.wait_for_timeout(400)
        shot("refund-1024")
        page.click("[data-testid=refund-lines]")
        done = page.locator("[data-testid=refund-done]")
        done.wait_for()
        page.wait_for_timeout(400)
        shot("refund-done-1024")
        done_text = " ".join(done.inner_text().split())
        # ¥8.00 goes back in proportion to how the sale was paid: 10.00 / 17.63 of 27.63 → ¥2.90 + ¥5.10
        assert "¥8.00" in done_text, done_text
        assert re.search(r"现金 ¥2\.90", done_text) and re.search(r"微信支付 ¥5\.10", done_text), done_text

        docs = api.get("/api/v1/sales", headers=owner, params={"kind": "refund"}).json()["items"]
        assert len(docs) == 1
        refund = docs[0]
        assert refund["receipt_no"] in done_text
        assert (refund["original_id"], refund["total"], refund["shift_id"]) == (sale["id"], -800, sale["shift_id"])
        assert [(ln["sku"], ln["quantity"], ln["amount"]) for ln in refund["lines"]] == [("CHIPS", "-1.000", -800)]
        back = {p["method"]: p for p in refund["payments"]}
        assert {m: p["amount"] for m, p in back.items()} == {"cash": -290, "wechat": -510}
        assert back["wechat"]["payment_id"] == pays["wechat"]["payment_id"]
        wechat = api.get(f"/api/v1/payments/{pays['wechat']['payment_id']}", headers=owner).json()
        assert wechat["refunded"] == 510
        assert ledger_trade(browser_payments, wechat["out_trade_no"])["refunded_fen"] == 510
        assert _stock(env)["CHIPS"] == Decimal(20)  # back on the shelf
        after = api.get(f"/api/v1/sales/{sale['id']}", headers=owner).json()
        assert [ln["refundable_quantity"] for ln in after["lines"]] == ["1.000", "0.000", "1.250"]
        assert after["refunded_total"] == 800
        page.keyboard.press("Escape")

        # --- the cashier takes the till back and closes the shift with the counted cash → Z report
        page.click("[data-testid=switch-cashier]")
        _sign_in(page, base, env, "cashier")
        page.locator("[data-testid=scan]").wait_for()
        page.click("[data-testid=close-shift]")
        # 500.00 float + 10.00 cash kept − 2.90 cash refunded = 507.10
        page.fill("[data-testid=counted-cash]", "507.10")
        page.click("[data-testid=confirm-close]")
        page.locator("[data-testid=shift-report]").wait_for()
        page.screenshot(path=str(artifacts / "pos-checkout-zreport.png"), full_page=True)
        assert _text(page, "report-kind") == "Z"
        assert _text(page, "sales") == "1 · ¥27.63"
        assert _text(page, "refunds") == "1 · ¥8.00"
        assert _text(page, "net-sales") == "¥19.63"
        assert _text(page, "method-cash").split() == ["现金", "¥10.00", "¥2.90", "¥7.10"]
        assert _text(page, "method-wechat").split() == ["微信支付", "¥17.63", "¥5.10", "¥12.53"]
        assert _text(page, "expected-cash") == "¥507.10"
        assert _text(page, "counted-cash") == "¥507.10"
        assert _text(page, "difference") == "¥0.00"
        shift_id = page.url.rstrip("/").rsplit("/", 1)[-1]
        assert shift_id == sale["shift_id"]
        rep = api.get(f"/api/v1/shifts/{shift_id}/report", headers=owner).json()
        assert (rep["kind"], rep["sales_count"], rep["gross_sales"], rep["refunds_total"], rep["net_sales"]) == \
            ("Z", 1, 2763, 800, 1963)
        assert (rep["expected_cash"], rep["counted_cash"], rep["difference"]) == (50710, 50710, 0)
        assert {m["method"]: (m["sales"], m["refunds"]) for m in rep["by_method"]} == {
            "cash": (1000, 290), "wechat": (1763, 510)}
        assert not problems, problems
    finally:
        ctx.close()


def test_manager_modifies_an_order_from_the_sale_page(browser, live_server, artifacts, point_wallets_at_sandbox):
    """修改订单: from the sale's page to the till; the sale is voided (cash back), its lines come back into the
    cart, one line is removed, the corrected order is paid; both documents stay, linked."""
    env = _setup(live_server.url, point_wallets_at_sandbox)
    api, owner, base = env["client"], env["headers"], live_server.url
    ctx = browser.new_context(viewport=SMALL, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(20000)
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    try:
        _sign_in(page, base, env, "manager")
        page.click("[data-testid=terminal-T01]")
        page.fill("#opening_float", "200")
        page.click("[data-testid=open-shift]")
        scan = page.locator("[data-testid=scan]")
        for code in [COLA, COLA, CHIPS]:
            scan.fill(code)
            scan.press("Enter")
        page.wait_for_function("document.querySelector('[data-testid=total]').textContent.includes('15.00')")
        page.keyboard.press("F9")
        page.click("[data-testid=method-cash]")
        page.fill("[data-testid=tendered]", "20")
        page.click("[data-testid=add-tender]")
        page.locator("[data-testid=receipt]").wait_for(state="visible")
        original_no = _text(page, "receipt-no")
        page.keyboard.press("Escape")
        original = api.get(f"/api/v1/sales/by-receipt/{original_no}", headers=owner).json()

        # --- the sale's page offers the till; the till opens with the sale found
        page.goto(f"{base}/sales/{original['id']}")
        page.click("[data-testid=refund-at-till]")
        page.locator(".pos-dialog tr", has_text="乐事薯片原味").wait_for()
        assert page.locator("[data-testid=refund-receipt]").input_value() == original_no
        page.click("[data-testid=correct-sale]")
        assert _text(page, "flash") == "请填写修改原因。"  # no reason, nothing voided
        assert not api.get(f"/api/v1/sales/{original['id']}", headers=owner).json()["voided"]
        page.fill(".pos-dialog [placeholder='原因']", "顾客不要薯片")
        page.click("[data-testid=correct-sale]")
        page.locator("[data-testid=replaces]").wait_for(state="visible")
        assert original_no in _text(page, "replaces")
        page.wait_for_function("document.querySelectorAll('[data-testid=line]').length === 2")
        page.wait_for_function("document.querySelector('[data-testid=total]').textContent.includes('15.00')")

        # --- take the chips out, pay the corrected order
        page.locator("[data-testid=line]", has_text="乐事薯片原味").click()
        page.keyboard.press("F8")
        page.wait_for_function("document.querySelector('[data-testid=total]').textContent.includes('7.00')")
        page.keyboard.press("F9")
        page.click("[data-testid=method-cash]")
        page.fill("[data-testid=tendered]", "10")
        page.click("[data-testid=add-tender]")
        page.locator("[data-testid=receipt]").wait_for(state="visible")
        new_no = _text(page, "receipt-no")
        assert new_no != original_no and _text(page, "change") == "¥3.00"
        page.keyboard.press("Escape")
        assert not page.locator("[data-testid=replaces]").is_visible()

        # --- the records: original unchanged and voided, a void document, the new sale linked to it
        before = original
        after = api.get(f"/api/v1/sales/{original['id']}", headers=owner).json()
        recorded = lambda s: [{k: v for k, v in ln.items() if k != "refundable_quantity"} for ln in s["lines"]]  # noqa: E731
        assert after["voided"] and recorded(after) == recorded(before) and after["total"] == before["total"] == 1500
        assert [ln["refundable_quantity"] for ln in after["lines"]] == ["0.000", "0.000"]
        voids = api.get("/api/v1/sales", headers=owner, params={"kind": "void"}).json()["items"]
        assert [(v["original_id"], v["total"]) for v in voids] == [(original["id"], -1500)]
        new = api.get(f"/api/v1/sales/by-receipt/{new_no}", headers=owner).json()
        assert (new["replaces_id"], new["total"]) == (original["id"], 700)
        assert [(ln["sku"], ln["quantity"]) for ln in new["lines"]] == [("COLA", "2.000")]
        assert _stock(env) == {"COLA": Decimal(18), "CHIPS": Decimal(20), "10001": Decimal(20)}
        page.goto(f"{base}/sales/{original['id']}")
        assert new_no in page.locator("main").inner_text()  # "It was replaced by …"
        assert not page.locator("[data-testid=refund-at-till]").count()  # a voided sale is not offered again
        assert not problems, problems
    finally:
        ctx.close()
