"""Browser-test helpers shared by tests/e2e (Playwright pages)."""

from __future__ import annotations

import re


def log_in(page, base: str, code: str, username: str, password: str, *, next_path: str = "", query: str = "",
           wait: bool = True) -> None:
    """Log in through the login form; with `wait`, until the dashboard (or `next_path`) has loaded."""
    target = f"{base}/login{query}" + (f"{'&' if query else '?'}next={next_path}" if next_path else "")
    page.goto(target)
    page.fill("#f-merchant_code", code)
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    page.click("[data-testid=login-submit]")
    if wait and not next_path:
        page.wait_for_url(re.compile(r"/(\?.*)?$"))
    elif wait:
        page.wait_for_url(f"**{next_path}")
