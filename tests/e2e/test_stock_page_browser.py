"""The stock page in a real browser (SQLite): set a store's own low-stock threshold inline, see the
product turn low, clear it again, and download the stock export from the page's button."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest
from browser import log_in
from openpyxl import load_workbook

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from test_inventory_support import make_product, receive  # noqa: E402

pytestmark = pytest.mark.e2e

OWNER_PASSWORD = "Owner-pass-1"  # tests/conftest.py signs the merchant up with it


def test_store_threshold_form_and_stock_export(browser, live_server, artifacts, merchant):
    p = make_product(merchant, name="农夫山泉 550ml", cost=120, threshold="2", sku="NFSQ-550")
    receive(merchant, p["id"], "3", unit_cost=120)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        log_in(page, live_server.url, merchant.code, "owner", OWNER_PASSWORD)

        page.goto(f"{live_server.url}/inventory/stock?q=NFSQ")
        row = page.locator(f"tr[data-product='{p['id']}']")
        assert "偏低" not in row.inner_text()  # 3 on hand, the product's threshold is 2
        row.locator("[data-testid=threshold-edit]").click()
        field = row.locator("[data-testid=threshold-input]")
        # the field takes the focus (Alpine's next tick after the click)
        page.wait_for_function("document.activeElement && document.activeElement.dataset.testid === 'threshold-input'",
                               timeout=5000)
        field.fill("-1")
        row.locator("[data-testid=threshold-save]").click()
        assert "留空" in row.locator("[data-testid=threshold-error]").inner_text()  # refused in the page
        field.fill("5")
        page.screenshot(path=str(artifacts / "zh-stock-threshold-1280.png"), full_page=True)
        row.locator("[data-testid=threshold-save]").click()
        page.wait_for_url(re.compile(r"\?q=NFSQ&flash=saved$"))
        row = page.locator(f"tr[data-product='{p['id']}']")
        assert row.locator("[data-testid=threshold]").inner_text().split()[0] == "5"
        assert "本店" in row.locator("[data-testid=threshold]").inner_text()
        assert "偏低" in row.locator("[data-testid=on-hand]").inner_text()

        with page.expect_download() as info:
            page.click("[data-testid=stock-export]")
        ws = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes())).active
        values = [tuple(c.value for c in r) for r in ws.iter_rows()]
        line = next(v for v in values if v[1] == "NFSQ-550")
        assert (line[6], line[9], line[10], line[12], line[13]) == (3, 5, 5, 3.6, "偏低")

        row.locator("[data-testid=threshold-edit]").click()
        row.locator("[data-testid=threshold-input]").fill("")
        with page.expect_navigation():
            row.locator("[data-testid=threshold-save]").click()  # empty: back to the product's threshold
        assert page.url.endswith("?q=NFSQ&flash=saved")
        row = page.locator(f"tr[data-product='{p['id']}']")
        assert row.locator("[data-testid=threshold]").inner_text().split()[0] == "2"
        assert "本店" not in row.inner_text()
        assert errors == []
    except Exception:
        page.screenshot(path=str(artifacts / "stock-page-browser-failure.png"), full_page=True)
        print("page errors:", errors)
        raise
    finally:
        context.close()
