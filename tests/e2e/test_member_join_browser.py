"""A customer scans the store poster and joins on a phone-sized screen (390×844), sees the member card with
its refreshing QR code; the owner then finds the new member in the back office."""

from __future__ import annotations

import re

import pytest
from browser import log_in

pytestmark = pytest.mark.e2e
OWNER_PASSWORD = "Owner-pass-1"  # tests/conftest.py signs the merchant up with it


def _shot(page, artifacts, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def test_member_joins_on_a_phone(browser, live_server, merchant, artifacts):
    posters = merchant.client.get("/member-posters", headers=merchant.owner).text
    join_path = "/" + re.search(r'href="https?://[^/]+/(m/join/[^"]+)"', posters).group(1)
    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                is_mobile=True, has_touch=True)
    phone.set_default_timeout(10_000)
    page = phone.new_page()
    try:
        page.goto(live_server.url + join_path)
        assert page.locator("h1").inner_text() == "成为会员"
        # nothing sticks out sideways on a phone
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, artifacts, "member-join-390")
        page.fill("#f-phone", "13800138000")
        page.fill("#f-name", "陈小姐")
        page.fill("#f-pin", "135790")
        page.click("[data-testid=join-submit]")  # privacy not agreed yet
        assert page.locator("#f-privacy.is-invalid").count() == 1
        _shot(page, artifacts, "member-join-errors-390")
        page.fill("#f-pin", "135790")
        page.fill("#f-birthday", "1992-06-18")
        page.check("#f-privacy")
        page.check("#f-marketing")
        page.click("[data-testid=join-submit]")
        page.wait_for_url(re.compile(r"/m/card"))
        page.wait_for_selector("[data-testid=member-qr] svg")
        assert "欢迎" in page.inner_text("[data-testid=welcome]")
        assert "138****8000" in page.inner_text("[data-testid=member-card]")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, artifacts, "member-card-390")
    finally:
        phone.close()

    desk = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    desk.set_default_timeout(10_000)
    page = desk.new_page()
    try:
        log_in(page, live_server.url, merchant.code, "owner", OWNER_PASSWORD)
        page.goto(f"{live_server.url}/members?q=13800138000")
        row = page.locator("[data-testid=member-table] tbody tr")
        assert row.count() == 1 and "陈小姐" in row.inner_text() and "138****8000" in row.inner_text()
        _shot(page, artifacts, "member-list-1280")
        row.locator("a").first.click()
        page.wait_for_url(re.compile(r"/members/[0-9a-f-]{36}"))
        assert page.inner_text("[data-testid=phone]") == "138****8000"
        page.click("[data-testid=reveal]")
        page.wait_for_function("document.querySelector('[data-testid=phone]').innerText === '13800138000'")
        _shot(page, artifacts, "member-detail-1280")
    finally:
        desk.close()
