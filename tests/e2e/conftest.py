"""Browser tests: Playwright (sync API) driving Debian's Chromium against the live test server.

They run on SQLite only (the database behaviour is covered by the API tests on both backends)
and are skipped, with the reason, when /usr/bin/chromium or Playwright is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudpos.payments.config import payment_settings
from cloudpos.payments.testing import fast_payments, provider_patches, sandbox  # noqa: F401 (fixtures)

CHROMIUM = os.environ.get("CLOUDPOS_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite")])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests use SQLite only."""
    return request.param


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (make browser) to run browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def browser_payments(fast_payments, monkeypatch):  # noqa: F811
    """The sandbox gateway (real HTTP) paced for a person watching the screen: a USERPAYING payment is
    queried once a second, so the till shows "waiting for the password" for a few seconds."""
    for k, v in {"CLOUDPOS_PAYMENTS_POLL_INTERVAL": "1.0", "CLOUDPOS_PAYMENTS_DEADLINE": "20",
                 "CLOUDPOS_PAYMENTS_HTTP_TIMEOUT": "5"}.items():
        monkeypatch.setenv(k, v)
    payment_settings.cache_clear()
    yield fast_payments
    payment_settings.cache_clear()


@pytest.fixture
def point_wallets_at_sandbox(browser_payments):
    """`point(client, headers)`: what an owner saves on the payment settings page, pointing the merchant's
    WeChat Pay and Alipay at the sandbox."""
    def point(client, headers: dict) -> None:
        for name, patch in provider_patches(browser_payments).items():
            r = client.patch(f"/api/v1/payment-providers/{name}", headers=headers,
                             json=patch.model_dump(mode="json", exclude_none=True))
            assert r.status_code == 200, r.text

    return point
