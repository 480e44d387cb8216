"""What one running sandbox gateway holds: its credentials, its books and its Alipay signer."""

from __future__ import annotations

from dataclasses import dataclass, field

from alipay import AliPay

from cloudpos.payments.providers.sandbox import SandboxCredentials
from cloudpos.payments.sandbox.ledger import Ledger


@dataclass
class SandboxState:
    creds: SandboxCredentials
    ledger: Ledger = field(default_factory=Ledger)
    _signer: AliPay | None = None

    @property
    def alipay(self) -> AliPay:
        """The gateway's side of RSA2: signs answers with Alipay's private key, verifies requests
        with the merchant's public key (the SDK is symmetric, so it serves both sides)."""
        if self._signer is None:
            self._signer = AliPay(appid=self.creds.alipay_app_id, app_private_key_string=self.creds.alipay_private_key,
                                  alipay_public_key_string=self.creds.app_public_key, sign_type="RSA2")
        return self._signer
