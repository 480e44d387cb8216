"""A stocktake in a real browser (SQLite): start it, scan with the scanner field (focus stays there),
see the variance, give a reason, post with confirmation, and see the stock change."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from browser import log_in

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from test_inventory_support import make_product, receive  # noqa: E402

pytestmark = pytest.mark.e2e

EAN_A = "6901234567892"
OWNER_PASSWORD = "Owner-pass-1"  # tests/conftest.py signs the merchant up with it


def _shot(page, artifacts, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def test_stocktake_with_a_variance_posts_and_changes_stock(browser, live_server, artifacts, merchant):
    a = make_product(merchant, name="可口可乐 330ml", barcodes=[EAN_A], cost=250, threshold="2")
    b = make_product(merchant, name="康师傅红烧牛肉面", cost=300, sku="KSF-001")
    receive(merchant, a["id"], "5", unit_cost=250)
    receive(merchant, b["id"], "2", unit_cost=300)

    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        log_in(page, live_server.url, merchant.code, "owner", OWNER_PASSWORD)

        page.goto(f"{live_server.url}/inventory/stocktakes/new")
        _shot(page, artifacts, "zh-stocktake-new-1280")
        page.click("[data-testid=create-stocktake]")
        page.wait_for_url(re.compile(r"/inventory/stocktakes/[0-9a-f-]+\?flash=created"))

        scan = page.locator("[data-testid=scan]")
        assert page.evaluate("document.activeElement.id") == "f-scan"
        for _ in range(3):  # three scans of the cola: +1 each
            scan.fill(EAN_A)
            scan.press("Enter")
            page.wait_for_function("document.querySelector('[data-testid=scan]').value === ''")
        page.wait_for_function(f"document.querySelector('[data-counted=\"{a['id']}\"]').textContent.trim() === '3'")
        assert page.evaluate("document.activeElement.id") == "f-scan"  # focus stays in the scan field
        page.fill("[data-testid=qty]", "2")
        page.select_option("[data-testid=mode]", "set")
        scan.fill("KSF-001")
        scan.press("Enter")
        page.wait_for_function(f"document.querySelector('[data-counted=\"{b['id']}\"]').textContent.trim() === '2'")
        scan.fill("0000000")
        scan.press("Enter")
        page.wait_for_selector("[data-testid=count-error]:visible")
        assert "0000000" in page.inner_text("[data-testid=count-error]")
        assert page.evaluate("document.activeElement.id") == "f-scan"
        assert "2 / 2" in page.inner_text("[data-testid=progress]")
        _shot(page, artifacts, "zh-stocktake-count-1280")

        page.click("[data-testid=to-variance]")
        page.wait_for_url(re.compile(r"/variance$"))
        row = page.locator(f"tr[data-product='{a['id']}']")
        assert row.locator("[data-testid=difference]").inner_text().strip() == "-2"
        assert page.inner_text("[data-testid=diff-lines]").strip() == "1"
        row.locator("select").select_option("lost")
        _shot(page, artifacts, "zh-stocktake-variance-1280")
        page.click("[data-testid=post]")
        page.wait_for_selector("#post-modal.show")
        _shot(page, artifacts, "zh-stocktake-post-confirm-1280")
        page.click("[data-testid=confirm-post]")
        page.wait_for_url(re.compile(r"/variance\?flash=saved$"))
        assert page.inner_text("[data-testid=stocktake-status]").strip() == "已过账"
        assert page.locator("[data-testid=post]").count() == 0  # read-only now
        assert "丢失" in page.inner_text(f"tr[data-product='{a['id']}']")
        _shot(page, artifacts, "zh-stocktake-posted-1280")

        page.goto(f"{live_server.url}/inventory/stock")
        cell = page.locator(f"tr[data-product='{a['id']}'] [data-testid=on-hand]")
        assert cell.inner_text().split()[0] == "3"
        assert "偏低" not in cell.inner_text()  # 3 is not below the threshold of 2
        _shot(page, artifacts, "zh-stock-1280")

        page.goto(f"{live_server.url}/inventory/movements?lang=en")
        assert "Stocktake" in page.inner_text("[data-testid=movement-table]")
        _shot(page, artifacts, "en-movements-1280")
        page.goto(f"{live_server.url}/inventory/receipts/new?lang=en")
        page.fill("[data-testid=scan]", EAN_A)
        page.press("[data-testid=scan]", "Enter")
        page.wait_for_selector("text=可口可乐 330ml")
        _shot(page, artifacts, "en-receipt-form-1280")
        # a transfer in transit, received in the browser with a shortfall
        r = merchant.client.post("/api/v1/stores", headers=merchant.owner, json={"name": "二号店"})
        t = merchant.client.post("/api/v1/stock/transfers", headers=merchant.owner, json={
            "from_store_id": str(merchant.store_id), "to_store_id": r.json()["id"], "ship": True,
            "lines": [{"product_id": b["id"], "quantity": "2"}]}).json()
        page.goto(f"{live_server.url}/inventory/transfers/{t['id']}?lang=zh_CN")
        assert page.inner_text("[data-testid=transfer-status]").strip() == "在途"
        page.locator("input[inputmode=decimal]").fill("1.5")
        _shot(page, artifacts, "zh-transfer-receive-1280")
        page.click("[data-testid=receive]")
        page.wait_for_url(re.compile(r"flash=saved$"))
        assert page.inner_text("[data-testid=transfer-status]").strip() == "已收货"
        assert "-0.5" in page.inner_text("main")
        page.goto(f"{live_server.url}/inventory/alerts")
        _shot(page, artifacts, "zh-alerts-1280")
        assert errors == []
    except Exception:
        _shot(page, artifacts, "stocktake-browser-failure")
        print("page errors:", errors)
        raise
    finally:
        context.close()
