"""Request and response shapes for shifts, held carts, sales and refunds."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from cloudpos.schemas import StrictModel, Text

Qty = Text(16, 1)


def _qty(value: str) -> str:
    from decimal import Decimal, InvalidOperation

    try:
        d = Decimal(value)
    except InvalidOperation:
        raise ValueError("not a decimal quantity") from None
    if not d.is_finite() or d <= 0 or d.as_tuple().exponent < -3 or d > 100000:
        raise ValueError("a positive quantity with at most 3 decimals")
    return value


# --- shifts ---------------------------------------------------------------------------------

class ShiftOpenIn(StrictModel):
    terminal_id: uuid.UUID
    opening_float: int = Field(ge=0, le=10**9)


class CashMoveIn(StrictModel):
    direction: Literal["in", "out"]
    amount: int = Field(gt=0, le=10**9)
    reason: Text(200, 1)


class ShiftCloseIn(StrictModel):
    counted_cash: int = Field(ge=0, le=10**10)
    counts: dict[Text(20, 1), int] = Field(default_factory=dict, max_length=20)
    notes: Text(500) = ""


class MethodTotal(BaseModel):
    method: str
    sales: int
    refunds: int
    net: int
    count: int


class ShiftReport(BaseModel):
    kind: Literal["X", "Z"]
    shift_id: uuid.UUID
    store_id: uuid.UUID
    terminal_id: uuid.UUID
    opened_by_name: str
    opened_at: datetime
    closed_at: datetime | None
    opening_float: int
    sales_count: int
    refunds_count: int
    gross_sales: int
    refunds_total: int
    discount_total: int
    net_sales: int
    by_method: list[MethodTotal]
    cash_in: int
    cash_out: int
    expected_cash: int
    counted_cash: int | None
    difference: int | None
    counts: dict[str, int]
    overdue: bool


class ShiftOut(BaseModel):
    id: uuid.UUID
    store_id: uuid.UUID
    terminal_id: uuid.UUID
    opened_by_name: str
    opened_at: datetime
    opening_float: int
    status: str
    closed_at: datetime | None
    expected_cash: int | None
    counted_cash: int | None
    overdue: bool


# --- carts and sales ------------------------------------------------------------------------

class LineIn(StrictModel):
    product_id: uuid.UUID | None = None
    code: Text(64) | None = None
    quantity: Qty = "1"

    _check_qty = field_validator("quantity")(_qty)


class ManualDiscountIn(StrictModel):
    scope: Literal["line", "order"] = "order"
    line_index: int | None = Field(default=None, ge=0, le=1000)
    percent_bp: int | None = Field(default=None, gt=0, le=10000)
    amount: int | None = Field(default=None, gt=0, le=10**9)
    reason: Text(200) = ""


class PaymentIn(StrictModel):
    method: Literal["cash", "card", "wechat", "alipay", "stored_value", "points", "coupon"]
    amount: int = Field(gt=0, le=10**10)
    tendered: int | None = Field(default=None, gt=0, le=10**10)
    auth_code: Text(32) | None = None  # wallet 付款码 scanned from the customer's phone
    reference: Text(64) | None = None
    card_brand: Text(20) | None = None
    card_last4: Text(4) | None = Field(default=None, pattern=r"^[0-9]{4}$")
    approval_code: Text(20) | None = None
    member_pin: Text(6) | None = None
    payment_id: uuid.UUID | None = None  # a wallet payment already confirmed by /payments


class ManagerOverrideIn(StrictModel):
    username: Text(40, 1)
    password: str = Field(min_length=1, max_length=128)


class SaleIn(StrictModel):
    store_id: uuid.UUID
    terminal_id: uuid.UUID
    lines: list[LineIn] = Field(min_length=1, max_length=500)
    member_id: uuid.UUID | None = None
    coupon_codes: list[Text(40, 1)] = Field(default_factory=list, max_length=10)
    manual_discounts: list[ManualDiscountIn] = Field(default_factory=list, max_length=50)
    salesperson_id: uuid.UUID | None = None
    payments: list[PaymentIn] = Field(min_length=1, max_length=10)
    note: Text(200) = ""
    client_ref: Text(100) = ""
    replaces_id: uuid.UUID | None = None  # order correction: the voided original
    override: ManagerOverrideIn | None = None  # a manager's credentials for a discount above the role's limit


class SaleLineOut(BaseModel):
    line_no: int
    product_id: uuid.UUID
    sku: str
    name: str
    quantity: str
    unit_price: int
    list_amount: int
    discount: int
    amount: int
    is_gift: bool
    discounts: list[dict[str, Any]]
    refundable_quantity: str | None = None


class SalePaymentOut(BaseModel):
    method: str
    amount: int
    tendered: int | None
    reference: str
    card_brand: str
    card_last4: str
    approval_code: str
    payment_id: uuid.UUID | None


class SaleOut(BaseModel):
    id: uuid.UUID
    kind: str
    receipt_no: str
    store_id: uuid.UUID
    terminal_id: uuid.UUID | None
    shift_id: uuid.UUID | None
    cashier_name: str
    salesperson_id: uuid.UUID | None
    member_id: uuid.UUID | None
    original_id: uuid.UUID | None
    replaces_id: uuid.UUID | None
    business_day: date
    currency: str
    lines: list[SaleLineOut]
    subtotal: int
    discount_total: int
    total: int
    cash_rounding: int
    payments: list[SalePaymentOut]
    paid: int
    change: int
    points_earned: int
    points_redeemed: int
    explanation: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime
    refunded_total: int = 0
    voided: bool = False


class RefundLineIn(StrictModel):
    line_no: int = Field(ge=1, le=1000)
    quantity: Qty

    _check_qty = field_validator("quantity")(_qty)


class RefundIn(StrictModel):
    lines: list[RefundLineIn] | None = Field(default=None, max_length=500)  # None = everything left
    reason: Text(200, 1)
    restock: bool = True  # False: goods go to the damaged bin (no stock back)
    terminal_id: uuid.UUID | None = None  # the till giving cash back (its open shift records it)
    override: ManagerOverrideIn | None = None  # a manager's credentials above the approval limit


class VoidIn(StrictModel):
    reason: Text(200, 1)
    terminal_id: uuid.UUID | None = None
    override: ManagerOverrideIn | None = None


class HoldIn(StrictModel):
    store_id: uuid.UUID
    terminal_id: uuid.UUID | None = None
    note: Text(200) = ""
    cart: dict[str, Any]
    total: int = Field(default=0, ge=0, le=10**10)


class HeldCartOut(BaseModel):
    id: uuid.UUID
    store_id: uuid.UUID
    terminal_id: uuid.UUID | None
    employee_name: str
    note: str
    cart: dict[str, Any]
    total: int
    status: str
    created_at: datetime
