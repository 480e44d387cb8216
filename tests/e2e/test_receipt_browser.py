"""Receipts in a real browser: the customer's e-receipt on a phone (390x844), and the receipt template
editor's live preview (htmx) and printer settings in the back office."""

from __future__ import annotations

import re

import pytest
from browser import log_in

OWNER_PASSWORD = "Owner-pass-1"  # the `merchant` fixture's owner (tests/conftest.py)

pytestmark = pytest.mark.e2e


def _login(page, base: str, code: str) -> None:
    log_in(page, base, code, "owner", OWNER_PASSWORD)


def test_e_receipt_on_a_phone(browser, live_server, client, merchant, artifacts):
    url = client.get("/api/v1/receipt-template/sample-link", headers=merchant.owner,
                     params={"store_id": str(merchant.store_id)}).json()["url"]
    path = "/r/" + url.rsplit("/r/", 1)[1]
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(live_server.url + path)
        receipt = page.locator("[data-testid=receipt]")
        assert receipt.is_visible()
        text = receipt.inner_text()
        assert "一号店" in text and "可口可乐" in text and "合计" in text and "59.02" in text
        assert "6201********1234" in text  # the member card is masked
        # phone-first: nothing wider than the screen, the total is readable
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        box = receipt.bounding_box()
        assert box and box["width"] >= 330
        page.screenshot(path=str(artifacts / "e-receipt-390-zh.png"), full_page=True)
        page.goto(live_server.url + path + "?lang=en")
        assert "Total" in page.locator("[data-testid=receipt]").inner_text()
        page.screenshot(path=str(artifacts / "e-receipt-390-en.png"), full_page=False)
        href = page.get_attribute("[data-testid=receipt-pdf]", "href")
        pdf = page.request.get(live_server.url + href)
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")
    finally:
        context.close()


def test_template_live_preview_and_printers(browser, live_server, merchant, artifacts):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        _login(page, live_server.url, merchant.code)
        page.goto(f"{live_server.url}/settings/printing/template?store_id={merchant.store_id}")
        preview = page.locator("#preview [data-testid=preview]")
        assert "会员卡号" in preview.inner_text()
        page.uncheck("[data-testid=show_member]")  # htmx re-renders the preview from sample data
        page.wait_for_function("!document.querySelector('#preview').innerText.includes('会员卡号')")
        page.check("#paper-58")
        page.wait_for_function("document.querySelector('#preview .receipt-58') !== null")
        page.fill("#f-footer_text", "凭小票7日内可退换")
        page.wait_for_function("document.querySelector('#preview').innerText.includes('凭小票7日内可退换')")
        page.screenshot(path=str(artifacts / "printing-template-1280-zh.png"), full_page=True)
        page.click("[data-testid=save-template]")
        page.wait_for_url(re.compile(r"flash=saved"))
        assert page.is_checked("#paper-58") and not page.is_checked("[data-testid=show_member]")

        page.goto(f"{live_server.url}/settings/printing?store_id={merchant.store_id}")
        page.click("[data-testid=add-printer]")
        page.fill("#f-name", "前台小票机")
        page.select_option("#f-connection", "file")
        page.click("[data-testid=save-printer]")
        page.wait_for_url(re.compile(r"/settings/printing\?.*flash=created"))
        page.click("[data-testid=test-print]")
        assert "测试页已发送" in page.locator("[data-testid=test-result]").inner_text()
        page.screenshot(path=str(artifacts / "printing-settings-1280-zh.png"), full_page=True)
    finally:
        context.close()
