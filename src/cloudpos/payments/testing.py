"""Test support (used by the test suite and by other modules' tests, e.g. sales): a real sandbox gateway
over 127.0.0.1 with a throw-away key pair generated at run time, fast flow timings, and a helper to point
a merchant at the sandbox.

    from cloudpos.payments.testing import sandbox, fast_payments, payment_code  # pytest fixtures/helpers
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from functools import lru_cache

import httpx
import pytest

from cloudpos.payments.config import payment_settings
from cloudpos.payments.providers.sandbox import ALIPAY_APP_ID, WECHAT_APPID, WECHAT_MCH_ID, SandboxCredentials, keypair
from cloudpos.payments.sandbox.app import RunningSandbox, serve_in_thread
from cloudpos.payments.schemas import ProviderPatch

# Flow timings for tests: poll fast, give up fast; the sandbox's "timeout" sleeps past the client timeout.
FAST_ENV = {
    "CLOUDPOS_PAYMENTS_POLL_INTERVAL": "0.05",
    "CLOUDPOS_PAYMENTS_DEADLINE": "1.5",
    "CLOUDPOS_PAYMENTS_HTTP_TIMEOUT": "1.0",
    "CLOUDPOS_PAYMENTS_RECONCILE_AGE": "0",
    "CLOUDPOS_PAYMENTS_ATTACH_GRACE": "0",
}
SLOW_SECONDS = 2.0


@lru_cache
def throwaway_credentials() -> SandboxCredentials:
    """A fresh key pair per test process (1024-bit: fast to generate; never used outside tests)."""
    app_priv, app_pub = keypair(1024)
    ali_priv, ali_pub = keypair(1024)
    return SandboxCredentials(wechat_appid=WECHAT_APPID, wechat_mch_id=WECHAT_MCH_ID,
                              wechat_api_key=secrets.token_hex(16), alipay_app_id=ALIPAY_APP_ID,
                              app_private_key=app_priv, app_public_key=app_pub, alipay_private_key=ali_priv,
                              alipay_public_key=ali_pub)


_running: RunningSandbox | None = None


def running_sandbox() -> RunningSandbox:
    """One sandbox per test process, started on first use (a daemon thread: ends with the process)."""
    global _running
    if _running is None:
        _running = serve_in_thread(throwaway_credentials(), slow_seconds=SLOW_SECONDS)
    return _running


@pytest.fixture
def sandbox() -> RunningSandbox:
    return running_sandbox()


@pytest.fixture
def fast_payments(monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox) -> Iterator[RunningSandbox]:
    for k, v in FAST_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("CLOUDPOS_PAYMENTS_SANDBOX_URL", sandbox.url)
    payment_settings.cache_clear()
    from cloudpos.payments import flow, reconcile

    flow.after_gateway_success.clear()
    reconcile.clear_sale_completers()
    yield sandbox
    flow.after_gateway_success.clear()
    reconcile.clear_sale_completers()
    monkeypatch.undo()
    payment_settings.cache_clear()


def payment_code(scenario: str = "1300") -> str:
    """A fresh 18-digit payment code selecting a sandbox scenario (codes are single-use)."""
    return scenario + "".join(secrets.choice("0123456789") for _ in range(14))


def provider_patches(sb: RunningSandbox) -> dict[str, ProviderPatch]:
    """Settings pointing a merchant at the test sandbox, as the settings page would save them."""
    c = throwaway_credentials()
    return {
        "wechat": ProviderPatch(gateway_url=sb.url, app_id=c.wechat_appid, mch_id=c.wechat_mch_id,
                                sign_type="HMAC-SHA256", secret=c.wechat_api_key),
        "alipay": ProviderPatch(gateway_url=sb.url + "/gateway.do", app_id=c.alipay_app_id,
                                secret=c.app_private_key, public_key=c.alipay_public_key),
    }


def ledger_trade(sb: RunningSandbox, out_trade_no: str) -> dict | None:
    r = httpx.get(f"{sb.url}/sandbox/trades/{out_trade_no}", timeout=5)
    return r.json() if r.status_code == 200 else None
