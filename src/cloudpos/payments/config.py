"""Payment settings from the environment (CLOUDPOS_WECHAT_*, CLOUDPOS_ALIPAY_*, CLOUDPOS_PAYMENTS_*).

Where a merchant has saved credentials (payment settings page / API), those win; otherwise the
environment is used; with neither, the providers talk to the bundled sandbox gateway
(`cloudpos payments sandbox`, default http://127.0.0.1:8900) with keys kept under var/payments-sandbox/.
Real credentials and the real endpoints are configuration only:

    CLOUDPOS_WECHAT_GATEWAY_URL=https://api.mch.weixin.qq.com
    CLOUDPOS_ALIPAY_GATEWAY_URL=https://openapi.alipay.com/gateway.do
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from cloudpos.config import get_settings

WECHAT_PRODUCTION = "https://api.mch.weixin.qq.com"
ALIPAY_PRODUCTION = "https://openapi.alipay.com/gateway.do"
SANDBOX_DEFAULT = "http://127.0.0.1:8900"


class PaymentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLOUDPOS_", env_file=".env", extra="ignore")

    sandbox_url: str = Field(default=SANDBOX_DEFAULT, alias="CLOUDPOS_PAYMENTS_SANDBOX_URL")
    # The wallet flow (WeChat's guidance: on USERPAYING query every few seconds, give up after ~30–60 s).
    poll_interval_s: float = Field(default=3.0, alias="CLOUDPOS_PAYMENTS_POLL_INTERVAL")
    deadline_s: float = Field(default=45.0, alias="CLOUDPOS_PAYMENTS_DEADLINE")
    http_timeout_s: float = Field(default=10.0, alias="CLOUDPOS_PAYMENTS_HTTP_TIMEOUT")
    reverse_attempts: int = Field(default=3, alias="CLOUDPOS_PAYMENTS_REVERSE_ATTEMPTS")
    # Reconciliation: open payments older than this are queried; succeeded payments not attached to a
    # sale this long after their deadline are completed by a registered callback or reversed.
    reconcile_age_s: float = Field(default=60.0, alias="CLOUDPOS_PAYMENTS_RECONCILE_AGE")
    attach_grace_s: float = Field(default=300.0, alias="CLOUDPOS_PAYMENTS_ATTACH_GRACE")

    wechat_gateway_url: str = ""
    wechat_appid: str = ""
    wechat_mch_id: str = ""
    wechat_api_key: str = ""
    wechat_sign_type: str = "HMAC-SHA256"
    wechat_cert_path: str = ""
    wechat_key_path: str = ""

    alipay_gateway_url: str = ""
    alipay_app_id: str = ""
    alipay_app_private_key: str = ""  # PEM text, or a path to a PEM file
    alipay_public_key: str = ""  # Alipay's public key: PEM text or a path


@lru_cache
def payment_settings() -> PaymentSettings:
    return PaymentSettings()


def sandbox_dir() -> Path:
    return get_settings().var_dir / "payments-sandbox"


def read_pem(value: str) -> str:
    """A PEM given inline, or the path of a file holding it."""
    value = value.strip()
    if value and "-----BEGIN" not in value and Path(value).is_file():
        return Path(value).read_text()
    return value
