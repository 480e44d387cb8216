"""The foundation in a real browser: sign up, log out and in, add a cashier, and check that the
cashier sees neither the Employees menu nor the page (403), in Chinese and in English."""

from __future__ import annotations

import re
import secrets

import pytest
from browser import log_in

pytestmark = pytest.mark.e2e

OWNER_PASSWORD = "Owner-pass-1"
CASHIER_PASSWORD = "Cashier-pass-1"


def _shot(page, artifacts, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=False)


def _login(page, base: str, code: str, username: str, password: str, query: str = "") -> None:
    log_in(page, base, code, username, password, query=query)


def _logout(page) -> None:
    page.click("[data-testid=user-menu]")
    page.click("[data-testid=logout]")
    page.wait_for_url(re.compile(r"/login"))


def test_signup_staff_and_permissions(browser, live_server, artifacts):
    base = live_server.url
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)  # the test machine may be busy
    page = context.new_page()
    try:
        # 1. Sign up (商户注册): a field error first, then the real thing.
        page.goto(f"{base}/signup")
        assert page.locator("h1").inner_text() == "商户注册"
        page.fill("#f-merchant_name", "浏览器测试便利店")
        page.fill("#f-store_name", "人民路店")
        page.fill("#f-address", "上海市黄浦区人民路 1 号")
        page.fill("#f-phone", "021-60000000")
        page.fill("#f-owner_display_name", "王店主")
        page.fill("#f-owner_username", "boss")
        page.fill("#f-owner_password", OWNER_PASSWORD)
        page.fill("#f-owner_password_confirm", "Not-the-same-1")
        page.click("[data-testid=signup-submit]")
        assert page.locator("#f-owner_password_confirm.is-invalid").count() == 1
        assert "两次输入的密码不一致" in page.inner_text("form")
        _shot(page, artifacts, "zh-signup-errors-1280")
        page.fill("#f-owner_password", OWNER_PASSWORD)
        page.fill("#f-owner_password_confirm", OWNER_PASSWORD)
        page.click("[data-testid=signup-submit]")
        page.wait_for_url(re.compile(r"/\?flash=welcome$"))
        assert page.locator("[data-testid=guide]").is_visible()
        code = page.inner_text("[data-testid=merchant-code]").strip()
        assert re.fullmatch(r"[a-z][a-z0-9\-]{2,31}", code)
        assert "浏览器测试便利店" in page.inner_text("[data-testid=merchant-name]")
        _shot(page, artifacts, "zh-dashboard-1280")

        # 2. Log out, log in again (a wrong password first).
        _logout(page)
        assert "您已退出登录" in page.inner_text("[data-testid=flash]")
        page.fill("#f-merchant_code", code)
        page.fill("#f-username", "boss")
        page.fill("#f-password", "wrong-password-1")
        page.click("[data-testid=login-submit]")
        assert "商户编码、用户名或密码错误" in page.inner_text("[data-testid=login-error]")
        _login(page, base, code, "boss", OWNER_PASSWORD)

        # 3. Add a cashier on the employees page.
        page.click("[data-nav='/staff/employees']")
        page.click("[data-testid=new-employee]")
        username = f"cashier{secrets.token_hex(2)}"
        page.fill("#f-username", username)
        page.fill("#f-display_name", "张收银")
        page.fill("#f-password", CASHIER_PASSWORD)
        page.select_option("#f-role", "cashier")
        page.click("[data-testid=save-employee]")
        page.wait_for_url(re.compile(r"/staff/employees/[0-9a-f-]{36}\?flash=created$"))
        assert "已创建" in page.inner_text("[data-testid=flash]")
        page.set_viewport_size({"width": 1024, "height": 768})
        _shot(page, artifacts, "zh-employee-edit-1024")
        page.set_viewport_size({"width": 1280, "height": 800})
        page.click("[data-nav='/staff/employees']")
        assert "张收银" in page.inner_text("[data-testid=employee-table]")
        _shot(page, artifacts, "zh-employees-1280")
        _logout(page)

        # 4. The cashier: no Employees menu entry, and the page itself is refused with a friendly 403.
        _login(page, base, code, username, CASHIER_PASSWORD)
        nav = page.locator("[data-testid=nav]")
        assert nav.locator("[data-nav='/']").count() == 1
        assert nav.locator("[data-nav='/staff/employees']").count() == 0
        response = page.goto(f"{base}/staff/employees")
        assert response is not None and response.status == 403
        assert page.locator("[data-testid=error-page]").is_visible()
        assert "没有权限" in page.inner_text("h1")
        _shot(page, artifacts, "zh-forbidden-1280")
        page.click("[data-testid=go-home]")
        page.wait_for_url(re.compile(r"/$"))
        _logout(page)

        # 5. The same login in English (?lang=en), at 1024×768.
        page.set_viewport_size({"width": 1024, "height": 768})
        page.goto(f"{base}/login?lang=en")
        assert page.locator("label[for=f-merchant_code]").inner_text().startswith("Merchant code")
        _shot(page, artifacts, "en-login-1024")
        _login(page, base, code, "boss", OWNER_PASSWORD)
        nav = page.locator("[data-testid=nav]")
        assert nav.locator("[data-nav='/staff/employees']").inner_text().strip() == "Employees"
        assert page.locator("h1").inner_text().startswith("Good ")
        _shot(page, artifacts, "en-dashboard-1024")
    finally:
        context.close()
