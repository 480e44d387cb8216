"""The catalog in a real browser: import an Excel file on the import page (check → report with
row/column errors → fix → confirm with a progress bar), then find the products in the list by
pinyin initials, and edit one."""

from __future__ import annotations

import io
import re

import pytest
from browser import log_in
from openpyxl import Workbook

from cloudpos.catalog import domain

pytestmark = pytest.mark.e2e

OWNER_PASSWORD = "Owner-pass-1"
HEAD = [domain.HEADERS_ZH[f] for f in domain.FIELDS]


def _xlsx(path, rows) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(HEAD)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(buf.getvalue())


def _row(sku: str, name: str, barcode: str, price: str) -> list:
    return [sku, barcode, name, "食品/饮料/碳酸饮料", "可口可乐", "罐", price, "2.00", 13, "330ml", "否", "上架", 12]


def test_import_report_confirm_and_find(browser, live_server, artifacts, merchant, tmp_path):
    m = merchant
    base = live_server.url
    good = [_row("K1", "可口可乐 330ml", domain.with_check_digit("690123456789"), "3.50"),
            _row("K2", "雪碧 330ml", domain.with_check_digit("690123456790"), "3.00")]
    bad = [*good, _row("K3", "芬达 330ml", "6901234567890", "3.505")]
    bad_file, good_file = tmp_path / "bad.xlsx", tmp_path / "good.xlsx"
    _xlsx(bad_file, bad)
    _xlsx(good_file, good)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, base, m.code, "owner", OWNER_PASSWORD)

        page.goto(f"{base}/catalog/import")
        page.set_input_files("[data-testid=import-file]", str(bad_file))
        page.click("[data-testid=import-check]")
        page.wait_for_selector("[data-testid=import-report][data-status=done]", timeout=20000)
        errors = page.inner_text("[data-testid=import-errors]")
        assert "售价" in errors and "条码" in errors and "校验位" in errors
        assert page.inner_text("[data-testid=count-errors]") == "2"
        assert page.locator("[data-testid=import-confirm]").count() == 0  # errors: nothing can be imported
        page.screenshot(path=str(artifacts / "zh-catalog-import-errors.png"), full_page=True)

        page.set_input_files("[data-testid=import-file]", str(good_file))
        page.click("[data-testid=import-check]")
        page.wait_for_selector("[data-testid=import-confirm]", timeout=20000)
        assert page.inner_text("[data-testid=count-created]") == "2"
        page.click("[data-testid=import-confirm]")
        page.wait_for_selector("[data-testid=import-done]", timeout=20000)
        page.screenshot(path=str(artifacts / "zh-catalog-import-done.png"), full_page=True)

        page.goto(f"{base}/catalog/products")
        page.fill("[data-testid=product-search]", "kkkl")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"q=kkkl"))
        table = page.inner_text("[data-testid=product-table]")
        assert "可口可乐 330ml" in table and "雪碧" not in table
        assert "¥3.50" in table
        page.screenshot(path=str(artifacts / "zh-catalog-products.png"), full_page=True)

        page.click("text=可口可乐 330ml")
        page.wait_for_selector("[data-testid=product-form]")
        page.fill("#f-price", "3.805")
        page.click("[data-testid=save-product]")
        assert "最多 2 位小数" in page.inner_text("[data-testid=product-form]")
        page.fill("#f-price", "3.80")
        page.click("[data-testid=save-product]")
        page.wait_for_selector("[data-testid=flash]")
        assert page.input_value("#f-price") == "3.80"
        page.screenshot(path=str(artifacts / "zh-catalog-product-form.png"), full_page=True)
    finally:
        context.close()
