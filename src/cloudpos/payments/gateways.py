"""Which gateway a merchant talks to, with which credentials: the merchant's saved settings win, then
the environment (CLOUDPOS_WECHAT_* / CLOUDPOS_ALIPAY_*), then the bundled sandbox (demo)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudpos.errors import Conflict
from cloudpos.i18n import N_
from cloudpos.payments import autostart, secrets
from cloudpos.payments.config import payment_settings, read_pem
from cloudpos.payments.models import ProviderConfig
from cloudpos.payments.providers import sandbox
from cloudpos.payments.providers.alipay import Alipay, AlipayConfig
from cloudpos.payments.providers.base import Provider
from cloudpos.payments.providers.wechat import SIGN_TYPES, WechatConfig, WechatPay


@dataclass(frozen=True)
class Resolved:
    provider: str
    source: str  # merchant | environment | sandbox
    gateway_url: str
    app_id: str
    mch_id: str
    sign_type: str
    secret: str  # WeChat API key / Alipay app private key
    public_key: str  # Alipay's public key
    cert_path: str = ""
    key_path: str = ""


def config_row(db: Session, tenant_id: uuid.UUID, provider: str) -> ProviderConfig | None:
    return db.scalar(select(ProviderConfig).where(ProviderConfig.tenant_id == tenant_id,
                                                  ProviderConfig.provider == provider))


def resolve(db: Session, tenant_id: uuid.UUID, provider: str, *, with_sandbox_keys: bool = True) -> Resolved:
    """The effective settings. `with_sandbox_keys=False` (settings page) does not load or create the
    sandbox's keys."""
    s = payment_settings()
    row = config_row(db, tenant_id, provider)
    if provider == "wechat":
        env = Resolved("wechat", "environment", s.wechat_gateway_url, s.wechat_appid, s.wechat_mch_id,
                       s.wechat_sign_type, s.wechat_api_key, "", s.wechat_cert_path, s.wechat_key_path)
    else:
        env = Resolved("alipay", "environment", s.alipay_gateway_url, s.alipay_app_id, "", "RSA2",
                       read_pem(s.alipay_app_private_key), read_pem(s.alipay_public_key))
    secret = secrets.unseal(row.secret_enc) if row else ""
    if row and (row.gateway_url or row.app_id or secret):
        merged = Resolved(provider, "merchant", row.gateway_url or env.gateway_url, row.app_id or env.app_id,
                          row.mch_id or env.mch_id, row.sign_type or env.sign_type, secret or env.secret,
                          row.public_key or env.public_key, row.cert_path or env.cert_path,
                          row.key_path or env.key_path)
    else:
        merged = env
    if merged.app_id and merged.secret and merged.gateway_url:
        return merged
    if merged.gateway_url and merged.gateway_url.rstrip("/") not in _sandbox_urls(provider):
        return merged  # a real endpoint without credentials: `build` refuses it with a clear message
    # Nothing (or only the sandbox URL) configured: the bundled sandbox, as in the demo.
    if with_sandbox_keys:
        autostart.ensure_local_sandbox((merged.gateway_url or s.sandbox_url).removesuffix("/gateway.do"))
    c = sandbox.credentials() if with_sandbox_keys else sandbox.SandboxCredentials(
        sandbox.WECHAT_APPID, sandbox.WECHAT_MCH_ID, "", sandbox.ALIPAY_APP_ID, "", "", "", "")
    base = (merged.gateway_url or s.sandbox_url).rstrip("/")
    if provider == "wechat":
        return Resolved("wechat", "sandbox", base.removesuffix("/gateway.do"), c.wechat_appid, c.wechat_mch_id,
                        "HMAC-SHA256", c.wechat_api_key, "")
    url = base if base.endswith("/gateway.do") else base + "/gateway.do"
    return Resolved("alipay", "sandbox", url, c.alipay_app_id, "", "RSA2", c.app_private_key, c.alipay_public_key)


def _sandbox_urls(provider: str) -> set[str]:
    base = payment_settings().sandbox_url.rstrip("/")
    return {base, base + "/gateway.do"}


def build(r: Resolved) -> Provider:
    """A provider client for the resolved settings; a 409 that names what is missing otherwise."""
    timeout = payment_settings().http_timeout_s
    missing = [name for name, value in (("gateway_url", r.gateway_url), ("app_id", r.app_id),
                                        ("secret", r.secret)) if not value]
    if r.provider == "wechat" and not r.mch_id:
        missing.append("mch_id")
    if r.provider == "alipay" and not r.public_key:
        missing.append("public_key")
    if missing:
        raise Conflict(N_("%(provider)s is not configured (missing: %(fields)s)."), code="provider_not_configured",
                       params={"provider": r.provider, "fields": ", ".join(missing)})
    try:
        if r.provider == "wechat":
            sign_type = r.sign_type if r.sign_type in SIGN_TYPES else "HMAC-SHA256"
            return WechatPay(WechatConfig(r.gateway_url, r.app_id, r.mch_id, r.secret, sign_type, r.cert_path,
                                          r.key_path, timeout))
        return Alipay(AlipayConfig(r.gateway_url, r.app_id, r.secret, r.public_key, timeout))
    except (ValueError, TypeError, IndexError) as exc:
        raise Conflict(N_("The %(provider)s keys cannot be read: check the key format."), code="provider_bad_keys",
                       params={"provider": r.provider}) from exc
