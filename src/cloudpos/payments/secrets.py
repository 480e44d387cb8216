"""Provider secrets at rest: AES-256-GCM under a key derived from the server secret (CLOUDPOS_SECRET_KEY
or var/secret.key), so a database dump alone does not reveal a merchant's API key or private key.
A backup restored elsewhere needs the same server secret to use the saved credentials."""

from __future__ import annotations

import base64
import hashlib
import os

from Cryptodome.Cipher import AES

from cloudpos.config import get_settings

_VERSION = "v1:"


def _key() -> bytes:
    return hashlib.sha256(b"cloudpos.payments.secrets:" + get_settings().resolved_secret().encode()).digest()


def seal(plaintext: str) -> str:
    if not plaintext:
        return ""
    nonce = os.urandom(12)
    cipher = AES.new(_key(), AES.MODE_GCM, nonce=nonce)
    data, tag = cipher.encrypt_and_digest(plaintext.encode())
    return _VERSION + base64.b64encode(nonce + tag + data).decode()


def unseal(sealed: str) -> str:
    """The plaintext, or "" when it cannot be decrypted (another server secret): callers treat it as unset."""
    if not sealed or not sealed.startswith(_VERSION):
        return ""
    raw = base64.b64decode(sealed[len(_VERSION):])
    nonce, tag, data = raw[:12], raw[12:28], raw[28:]
    try:
        return AES.new(_key(), AES.MODE_GCM, nonce=nonce).decrypt_and_verify(data, tag).decode()
    except ValueError:
        return ""


def hint(secret: str) -> str:
    """What the settings page shows of a secret: its last four characters only (a key file: a fingerprint)."""
    if "-----BEGIN" in secret:
        return "sha256:" + hashlib.sha256(secret.strip().encode()).hexdigest()[:8]
    secret = "".join(secret.split())
    return f"…{secret[-4:]}" if len(secret) >= 8 else ("…" if secret else "")
