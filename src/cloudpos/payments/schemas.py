"""Payment shapes: methods, provider settings (secrets masked), payments, refunds, the settlement report."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from cloudpos.schemas import StrictModel, Text

MethodCode = Literal["cash", "card", "wechat", "alipay", "stored_value", "points", "coupon"]
WalletMethod = Literal["wechat", "alipay"]
ProviderCode = Literal["wechat", "alipay"]


class MethodOut(BaseModel):
    code: str
    enabled: bool
    fee_rate_bp: int = Field(description="Fee in basis points: 38 = 0.38 %")
    settlement_cycle_days: int = Field(description="0, 1 or 7: T+0, T+1, T+7 (calendar days)")
    provider: str
    store_id: uuid.UUID | None = Field(description="Set when this store overrides the merchant-wide setting")
    inherited: bool = Field(description="True when the store uses the merchant-wide setting")


class MethodPatch(StrictModel):
    enabled: bool | None = None
    fee_rate_bp: int | None = Field(default=None, ge=0, le=1000)
    settlement_cycle_days: Literal[0, 1, 7] | None = None


class ProviderOut(BaseModel):
    provider: str
    configured: bool = Field(description="Credentials saved for this merchant (else environment or sandbox)")
    source: Literal["merchant", "environment", "sandbox"]
    gateway_url: str
    app_id: str
    mch_id: str
    sign_type: str
    public_key_set: bool
    secret_hint: str = Field(description="The last characters (or a fingerprint) of the secret — never the secret")
    cert_path: str
    key_path: str
    updated_at: datetime | None


class ProviderPatch(StrictModel):
    gateway_url: Text(300) | None = Field(default=None, description="Empty: the sandbox (demo) or the environment")
    app_id: Text(64) | None = None
    mch_id: Text(64) | None = None
    sign_type: Literal["HMAC-SHA256", "MD5"] | None = None
    public_key: str | None = Field(default=None, max_length=8000, description="Alipay's public key (PEM or base64)")
    secret: str | None = Field(default=None, max_length=8000,
                               description="WeChat API key, or the Alipay app private key. Write-only.")
    cert_path: Text(300) | None = None
    key_path: Text(300) | None = None


class ConnectionTestOut(BaseModel):
    ok: bool
    gateway_url: str
    message: str
    code: str = ""


class PaymentOut(BaseModel):
    id: uuid.UUID
    out_trade_no: str
    store_id: uuid.UUID
    terminal_id: uuid.UUID | None
    method: str
    provider: str
    amount: int
    currency: str
    status: str
    provider_trade_no: str
    auth_code_last4: str
    card_brand: str
    card_last4: str
    approval_code: str
    reference: str
    sale_ref: str
    sale_id: uuid.UUID | None
    refunded: int
    attempts: int
    code: str = Field(description="The provider's result code when not succeeded (e.g. NOTENOUGH)")
    message: str = Field(description="What to tell the cashier")
    deadline: datetime | None
    paid_at: datetime | None
    created_at: datetime


class WalletPayIn(StrictModel):
    store_id: uuid.UUID
    terminal_id: uuid.UUID
    method: WalletMethod
    amount: int = Field(gt=0, le=10_000_000, description="Fen")
    auth_code: str = Field(min_length=1, max_length=32,
                           description="The customer's payment code (付款码). Never stored.")
    sale_ref: Text(100) = ""


class RefundOut(BaseModel):
    id: uuid.UUID
    payment_id: uuid.UUID
    amount: int
    status: str
    provider_refund_no: str
    code: str
    message: str
    created_at: datetime


class SettlementRowOut(BaseModel):
    business_day: date
    method: str
    count: int
    gross: int
    refunds: int
    fees: int
    net: int
    settlement_date: date


class SettlementTotals(BaseModel):
    count: int
    gross: int
    refunds: int
    fees: int
    net: int


class SettlementOut(BaseModel):
    store_id: uuid.UUID | None
    date_from: date
    date_to: date
    timezone: str
    rows: list[SettlementRowOut]
    totals: SettlementTotals
    note: str = "Fees are rounded half-up to the fen per payment; settlement dates are calendar days (T+N)."
