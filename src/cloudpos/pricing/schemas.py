"""API shapes for promotions, member prices, coupons and quotes. Money in fen, rates in bp of discount."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from cloudpos.schemas import StrictModel, Text

Fen = Annotated[int, Field(ge=0, le=10**10)]
Bp = Annotated[int, Field(ge=0, le=10000)]
HHMM = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class ScopeIn(StrictModel):
    all: bool = False
    product_ids: list[uuid.UUID] = Field(default_factory=list, max_length=2000)
    category_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    brands: list[Text(60, 1)] = Field(default_factory=list, max_length=200)
    exclude_product_ids: list[uuid.UUID] = Field(default_factory=list, max_length=2000)
    exclude_category_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    exclude_brands: list[Text(60, 1)] = Field(default_factory=list, max_length=200)


class PercentOffRule(StrictModel):
    kind: Literal["percent_off"] = "percent_off"
    percent_off_bp: Bp
    apply_to: Literal["item", "order"] = "item"
    min_spend: Fen = 0


class AmountOffRule(StrictModel):
    kind: Literal["amount_off"] = "amount_off"
    amount: Fen
    apply_to: Literal["item", "order"] = "item"
    min_spend: Fen = 0


class SpecialPriceRule(StrictModel):
    kind: Literal["special_price"] = "special_price"
    unit_price: Fen


class SpendTierIn(StrictModel):
    threshold: Fen
    save: Fen


class SpendSaveRule(StrictModel):
    kind: Literal["spend_save"] = "spend_save"
    tiers: list[SpendTierIn] = Field(default_factory=list, max_length=20)
    every: Fen | None = None
    save: Fen | None = None
    cap: Fen | None = None


class BuyXGetYRule(StrictModel):
    kind: Literal["buy_x_get_y"] = "buy_x_get_y"
    buy_qty: int = Field(ge=0, le=1000)
    get_qty: int = Field(ge=0, le=1000)
    get_percent_off_bp: Bp = 10000
    get_product_ids: list[uuid.UUID] = Field(default_factory=list, max_length=200)
    discount_most_expensive: bool = False
    mix_and_match: bool = False


class GiftRule(StrictModel):
    kind: Literal["gift"] = "gift"
    gift_product_id: uuid.UUID
    gift_qty: Text(16, 1) = "1"
    min_spend: Fen | None = None
    min_qty: Text(16, 1) | None = None
    repeat: bool = False


class BundleItemIn(StrictModel):
    product_id: uuid.UUID
    qty: int = Field(ge=1, le=100)


class BundleRule(StrictModel):
    kind: Literal["bundle"] = "bundle"
    items: list[BundleItemIn] = Field(max_length=20)
    price: Fen


Rule = Annotated[PercentOffRule | AmountOffRule | SpecialPriceRule | SpendSaveRule | BuyXGetYRule | GiftRule
                 | BundleRule, Field(discriminator="kind")]


class PromotionIn(StrictModel):
    name: Text(100, 1)
    rule: Rule
    scope: ScopeIn = Field(default_factory=ScopeIn)
    start_date: date | None = None
    end_date: date | None = None
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(default_factory=list, max_length=7)
    time_from: HHMM | None = None
    time_to: HHMM | None = None
    store_ids: list[uuid.UUID] | None = Field(default=None, max_length=500)
    member_only: bool = False
    tier_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    birthday_only: bool = False
    priority: int = Field(default=0, ge=-1000, le=1000)
    stacking: Literal["stackable", "exclusive"] = "stackable"
    stack_group: Text(40) | None = None
    stacks_with_member: bool = True
    max_uses_per_order: int | None = Field(default=None, ge=1, le=1000)
    # how many sales of one member may use it (members only; uses given back by a full refund or void)
    max_uses_per_member: int | None = Field(default=None, ge=1, le=1000)
    active: bool = True


class PromotionOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    rule: dict[str, Any]
    scope: dict[str, Any]
    start_date: date | None
    end_date: date | None
    weekdays: list[int]
    time_from: str | None
    time_to: str | None
    store_ids: list[uuid.UUID] | None
    member_only: bool
    tier_ids: list[uuid.UUID]
    birthday_only: bool
    priority: int
    stacking: str
    stack_group: str | None
    stacks_with_member: bool
    max_uses_per_order: int | None
    max_uses_per_member: int | None = None
    status: str
    state: str  # running | scheduled | expired | inactive — what a manager wants to know now
    description: str
    created_at: datetime
    updated_at: datetime


class MemberPriceIn(StrictModel):
    product_id: uuid.UUID
    price: Fen | None  # None removes the member price


class MemberPriceOut(BaseModel):
    product_id: uuid.UUID
    sku: str
    name: str
    price: int
    member_price: int


class CouponTemplateIn(StrictModel):
    name: Text(100, 1)
    kind: Literal["amount_off", "percent_off"]
    value: int = Field(gt=0, le=10**9)
    threshold: Fen = 0
    max_discount: Fen | None = None
    scope: ScopeIn = Field(default_factory=lambda: ScopeIn(all=True))
    valid_days: int | None = Field(default=30, ge=1, le=3660)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    active: bool = True


class CouponTemplatePatch(StrictModel):
    name: Text(100, 1) | None = None
    active: bool | None = None


class CouponTemplateOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    value: int
    threshold: int
    max_discount: int | None
    scope: dict[str, Any]
    valid_days: int | None
    valid_from: datetime | None
    valid_until: datetime | None
    active: bool
    description: str
    issued: int = 0
    used: int = 0


class CouponIssueIn(StrictModel):
    template_id: uuid.UUID
    member_id: uuid.UUID | None = None
    count: int = Field(default=1, ge=1, le=10000)  # anonymous codes when no member
    reason: Text(100) = ""


class CouponOut(BaseModel):
    id: uuid.UUID
    code: str
    template_id: uuid.UUID
    template_name: str
    member_id: uuid.UUID | None
    status: str  # active | used | void | expired
    valid_from: datetime | None
    valid_until: datetime | None
    issued_at: datetime
    issued_reason: str
    used_at: datetime | None
    used_sale_id: uuid.UUID | None


class QuoteLineIn(StrictModel):
    product_id: uuid.UUID | None = None
    code: Text(64) | None = None
    quantity: Text(16, 1) = "1"


class QuoteManualIn(StrictModel):
    line_index: int | None = Field(default=None, ge=0, le=1000)  # None = order discount
    percent_bp: int | None = Field(default=None, gt=0, le=10000)
    amount: int | None = Field(default=None, gt=0, le=10**9)
    reason: Text(200) = ""


class QuoteIn(StrictModel):
    store_id: uuid.UUID
    lines: list[QuoteLineIn] = Field(min_length=1, max_length=500)
    member_id: uuid.UUID | None = None
    coupon_codes: list[Text(40, 1)] = Field(default_factory=list, max_length=10)
    manual_discounts: list[QuoteManualIn] = Field(default_factory=list, max_length=50)


class DiscountOut(BaseModel):
    source_kind: str
    source_id: str
    name: str
    amount: int
    level: str


class QuoteLineOut(BaseModel):
    index: int
    product_id: uuid.UUID
    sku: str
    name: str
    quantity: str
    unit_price: int
    list_amount: int
    discounts: list[DiscountOut]
    discount: int
    amount: int
    sold_by_weight: bool = False
    is_gift: bool = False


class QuoteOut(BaseModel):
    store_id: uuid.UUID
    currency: str = "CNY"
    lines: list[QuoteLineOut]
    order_discounts: list[DiscountOut]
    gifts: list[QuoteLineOut]
    subtotal: int
    discount_total: int
    total: int
    cash_rounding: int
    cash_due: int
    coupons: list[dict[str, Any]]
    approvals: list[dict[str, Any]]
    explanation: list[str]
