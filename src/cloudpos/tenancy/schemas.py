"""Sign-up, stores, terminals and merchant settings."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from cloudpos.schemas import StrictModel, Text


class SignupIn(StrictModel):
    merchant_name: Text(100, 1)
    store_name: Text(100, 1)
    address: Text(300, 1)
    phone: Text(32, 5)
    owner_username: Text(40, 1)
    owner_password: str = Field(min_length=1, max_length=128)
    owner_display_name: Text(60) = ""
    merchant_code: Text(32) = Field(default="", description="Optional; generated from the name when empty")
    locale: Text(8) = "zh_CN"


class SignupOut(BaseModel):
    merchant_code: str
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    terminal_id: uuid.UUID


CashRounding = Literal["none", "jiao_down", "jiao_nearest", "yuan_down", "yuan_nearest"]


class StoreOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    address: str
    phone: str
    timezone: str
    locale: str
    active: bool
    cash_rounding: CashRounding | None = Field(
        default=None, description="抹零 in this store; null: the merchant's setting applies")


class StoreIn(StrictModel):
    name: Text(100, 1)
    address: Text(300) = ""
    phone: Text(32) = ""
    timezone: Text(64) = "Asia/Shanghai"
    locale: Text(8) = "zh_CN"
    cash_rounding: CashRounding | None = None


class StorePatch(StrictModel):
    name: Text(100, 1) | None = None
    address: Text(300) | None = None
    phone: Text(32) | None = None
    timezone: Text(64) | None = None
    locale: Text(8) | None = None
    active: bool | None = None
    cash_rounding: CashRounding | Literal["merchant"] | None = Field(
        default=None, description='抹零 in this store; "merchant" goes back to the merchant\'s setting')


class TerminalOut(BaseModel):
    id: uuid.UUID
    store_id: uuid.UUID
    code: str
    name: str
    active: bool


class TerminalIn(StrictModel):
    store_id: uuid.UUID
    name: Text(100, 1)


class TenantSettings(BaseModel):
    """Merchant-wide settings. Later capabilities add their own fields with safe defaults."""

    default_locale: str = "zh_CN"
    approval_required: list[str] = Field(default_factory=list,
                                         description="Operations that need a manager's approval")
    cash_rounding: CashRounding = Field(
        default="none", description="抹零: rounding of the cash amount due (a store may set its own)")
    refund_approval_above: int | None = Field(
        default=None, ge=0, description="Refunds above this amount (fen) need a manager's approval")
    negative_stock: Literal["allow", "block"] = Field(
        default="allow", description="allow: stock may go below zero (retail reality); block: refuse")

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, v: str) -> str:
        if v not in ("zh_CN", "en"):
            raise ValueError("zh_CN or en")
        return v


class SettingsPatch(StrictModel):
    merchant_name: Text(100, 1) | None = None
    default_locale: Text(8) | None = None
    approval_required: list[Text(60, 1)] | None = Field(default=None, max_length=50)
    negative_stock: Literal["allow", "block"] | None = None
    cash_rounding: CashRounding | None = None
    refund_approval_above: int | None = Field(default=None, ge=0, le=10**10)


class MerchantOut(BaseModel):
    tenant_id: uuid.UUID
    merchant_code: str
    merchant_name: str
    phone: str
    settings: TenantSettings
