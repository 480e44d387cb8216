"""Credentials for the bundled sandbox gateway: fixed ids, and keys generated once into
var/payments-sandbox/ (never committed). The demo uses them when a merchant has configured nothing."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from Cryptodome.PublicKey import RSA

from cloudpos.payments.config import sandbox_dir

WECHAT_APPID = "wx00000000sandbox"
WECHAT_MCH_ID = "1900000109"
ALIPAY_APP_ID = "2021000000000001"

_lock = threading.Lock()


@dataclass(frozen=True)
class SandboxCredentials:
    wechat_appid: str
    wechat_mch_id: str
    wechat_api_key: str
    alipay_app_id: str
    app_private_key: str  # the merchant's (ours): signs our requests
    app_public_key: str  # the sandbox verifies our requests with it
    alipay_private_key: str  # the sandbox signs its answers with it
    alipay_public_key: str  # we verify the sandbox's answers with it


def keypair(bits: int = 2048) -> tuple[str, str]:
    """(private PEM, public PEM) — used here and by the tests (a throw-away test key pair)."""
    key = RSA.generate(bits)
    return key.export_key().decode(), key.publickey().export_key().decode()


def credentials(folder: Path | None = None) -> SandboxCredentials:
    """The sandbox's credentials, generated on first use (file mode 0600)."""
    folder = folder or sandbox_dir()
    with _lock:
        folder.mkdir(parents=True, exist_ok=True)
        files = {n: folder / n for n in ("wechat_api_key.txt", "app_private.pem", "app_public.pem",
                                         "alipay_private.pem", "alipay_public.pem")}
        if not files["wechat_api_key.txt"].exists():
            _write(files["wechat_api_key.txt"], secrets.token_hex(16))
        if not files["app_private.pem"].exists():
            priv, pub = keypair()
            _write(files["app_private.pem"], priv)
            _write(files["app_public.pem"], pub)
        if not files["alipay_private.pem"].exists():
            priv, pub = keypair()
            _write(files["alipay_private.pem"], priv)
            _write(files["alipay_public.pem"], pub)
        text = {n: p.read_text() for n, p in files.items()}
    return SandboxCredentials(
        wechat_appid=WECHAT_APPID, wechat_mch_id=WECHAT_MCH_ID, wechat_api_key=text["wechat_api_key.txt"].strip(),
        alipay_app_id=ALIPAY_APP_ID, app_private_key=text["app_private.pem"], app_public_key=text["app_public.pem"],
        alipay_private_key=text["alipay_private.pem"], alipay_public_key=text["alipay_public.pem"])


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)
