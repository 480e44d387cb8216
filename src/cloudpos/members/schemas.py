"""Request and response shapes of the members API. Money is int fen, points int, rates int bp."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from cloudpos.schemas import StrictModel, Text

Gender = Literal["", "female", "male", "other"]
Fen = int


class ProgramSettings(BaseModel):
    """The merchant's loyalty programme (stored per tenant; every field has a safe default)."""

    earn_fen_per_point: int = Field(default=100, ge=1, le=1_000_000, description="Fen of paid amount per point")
    earn_excluded_category_ids: list[str] = Field(default_factory=list, max_length=500)
    redeem_points_per_yuan: int = Field(default=100, ge=1, le=100_000, description="Points worth ¥1")
    redeem_max_order_bp: int = Field(default=5000, ge=0, le=10_000, description="Cap, in bp of the order")
    redeem_min_points: int = Field(default=100, ge=0, le=1_000_000)
    points_expire: bool = Field(default=True, description="Points expire at the end of the following year")
    sv_pin_threshold_fen: int = Field(default=10_000, ge=0, description="Stored-value payments above this need the PIN")
    registration_coupon_template_id: uuid.UUID | None = None
    birthday_coupon_template_id: uuid.UUID | None = None
    visit_coupon_every: int = Field(default=0, ge=0, le=1000, description="Issue a coupon every N visits (0 = off)")
    visit_coupon_template_id: uuid.UUID | None = None
    coupon_valid_days: int | None = Field(default=None, ge=1, le=3650,
                                          description="Days a coupon issued to a member stays valid; empty = the "
                                                      "coupon template's own validity")
    rfm_recent_days: int = Field(default=90, ge=1, le=3650)
    rfm_frequent_visits: int = Field(default=3, ge=1, le=100_000)
    rfm_monetary_fen: int = Field(default=100_000, ge=0)
    active_days: int = Field(default=90, ge=1, le=3650, description="Members seen within this many days are active")
    join_limit_per_hour: int = Field(default=20, ge=1, le=10_000, description="Self-registrations per IP and hour")
    message_max_attempts: int = Field(default=3, ge=1, le=20)
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_starttls: bool = False
    sms_driver: str = "outbox"


class ProgramPatch(StrictModel):
    earn_fen_per_point: int | None = Field(default=None, ge=1, le=1_000_000)
    earn_excluded_category_ids: list[Text(64, 1)] | None = Field(default=None, max_length=500)
    redeem_points_per_yuan: int | None = Field(default=None, ge=1, le=100_000)
    redeem_max_order_bp: int | None = Field(default=None, ge=0, le=10_000)
    redeem_min_points: int | None = Field(default=None, ge=0, le=1_000_000)
    points_expire: bool | None = None
    sv_pin_threshold_fen: int | None = Field(default=None, ge=0, le=100_000_000)
    registration_coupon_template_id: uuid.UUID | None = None
    birthday_coupon_template_id: uuid.UUID | None = None
    visit_coupon_every: int | None = Field(default=None, ge=0, le=1000)
    visit_coupon_template_id: uuid.UUID | None = None
    coupon_valid_days: int | None = Field(default=None, ge=1, le=3650)
    rfm_recent_days: int | None = Field(default=None, ge=1, le=3650)
    rfm_frequent_visits: int | None = Field(default=None, ge=1, le=100_000)
    rfm_monetary_fen: int | None = Field(default=None, ge=0, le=100_000_000_000)
    active_days: int | None = Field(default=None, ge=1, le=3650)
    join_limit_per_hour: int | None = Field(default=None, ge=1, le=10_000)
    message_max_attempts: int | None = Field(default=None, ge=1, le=20)
    smtp_host: Text(200) | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_user: Text(200) | None = None
    smtp_password: str | None = Field(default=None, max_length=200)
    smtp_from: Text(200) | None = None
    smtp_starttls: bool | None = None


class TierRef(BaseModel):
    id: uuid.UUID
    code: str
    name: str


class MemberOut(BaseModel):
    id: uuid.UUID
    card_no: str
    name: str
    phone: str = Field(description="Masked (138****1234) unless the caller holds member.pii.view")
    tier: TierRef | None
    points_balance: int
    stored_value_balance: Fen
    birthday: date | None = Field(description="Null unless the caller holds member.pii.view")
    created_at: datetime


class MemberDetail(MemberOut):
    email: str
    gender: str
    status: str
    channel: str
    visit_count: int
    total_spend_fen: Fen
    first_visit_at: datetime | None
    last_visit_at: datetime | None
    sv_principal_fen: Fen
    sv_bonus_fen: Fen
    has_pin: bool
    privacy_consent_at: datetime | None
    marketing_consent_at: datetime | None
    tier_locked: bool
    pii_visible: bool


class MemberIn(StrictModel):
    phone: Text(32, 5)
    name: Text(60, 1)
    email: Text(200) = ""
    birthday: date | None = None
    gender: Gender = ""
    pin: str | None = Field(default=None, max_length=6, description="Optional 6-digit member PIN")
    marketing_consent: bool = False
    store_id: uuid.UUID | None = None


class MemberPatch(StrictModel):
    name: Text(60, 1) | None = None
    phone: Text(32, 5) | None = None
    email: Text(200) | None = None
    birthday: date | None = None
    gender: Gender | None = None
    pin: str | None = Field(default=None, max_length=6)
    marketing_consent: bool | None = None
    tier_id: uuid.UUID | None = Field(default=None, description="Set a tier by hand (locks it against the jobs)")
    tier_locked: bool | None = None


class JoinIn(StrictModel):
    """The public self-registration form (/m/join/…)."""

    phone: Text(32, 5)
    name: Text(60, 1)
    birthday: date | None = None
    pin: str = Field(min_length=1, max_length=6)
    privacy: bool
    marketing: bool = False


class LedgerEntryOut(BaseModel):
    id: uuid.UUID
    kind: str
    delta: int
    balance_after: int
    sale_id: uuid.UUID | None
    reason: str
    actor_name: str
    occurred_at: datetime


class StoredValueEntryOut(LedgerEntryOut):
    principal_delta: Fen
    bonus_delta: Fen
    payment_method: str
    reference: str


class PointsAdjustIn(StrictModel):
    delta: int = Field(ge=-10_000_000, le=10_000_000)
    reason: Text(200, 2)


class StoredValueAdjustIn(StrictModel):
    principal_delta: Fen = Field(ge=-100_000_000, le=100_000_000)
    bonus_delta: Fen = Field(default=0, ge=-100_000_000, le=100_000_000)
    reason: Text(200, 2)


class TopUpIn(StrictModel):
    amount_fen: Fen = Field(gt=0, le=100_000_000)
    payment_method: Literal["cash", "wechat", "alipay", "card", "unionpay", "other"]
    reference: Text(100) = ""
    store_id: uuid.UUID | None = None


class TopUpOut(BaseModel):
    member_id: uuid.UUID
    amount_fen: Fen
    bonus_fen: Fen
    stored_value_balance: Fen
    entry_id: uuid.UUID


class StoredValuePayIn(StrictModel):
    amount_fen: Fen = Field(gt=0, le=100_000_000)
    sale_id: uuid.UUID
    pin: str | None = Field(default=None, max_length=6)


class StoredValuePayOut(BaseModel):
    member_id: uuid.UUID
    amount_fen: Fen
    principal_fen: Fen
    bonus_fen: Fen
    stored_value_balance: Fen


class PointsQuoteOut(BaseModel):
    member_id: uuid.UUID
    balance: int
    max_points: int
    max_value_fen: Fen
    points_per_yuan: int


class RedeemOut(BaseModel):
    member_id: uuid.UUID
    points: int
    value_fen: Fen
    points_balance: int


class PurchaseOut(BaseModel):
    member_id: uuid.UUID
    sale_id: uuid.UUID
    points_earned: int
    points_balance: int
    tier_id: uuid.UUID | None
    tier_changed: bool
    coupons_issued: list[str] = Field(default_factory=list)


class RefundOut(BaseModel):
    member_id: uuid.UUID
    sale_id: uuid.UUID
    points_reversed: int
    points_returned: int
    points_balance: int


class TierIn(StrictModel):
    code: Text(32, 1)
    name: Text(40, 1)
    rank: int = Field(ge=0, le=1000)
    rule: Literal["spend", "visits", "manual"] = "spend"
    threshold_spend_fen: Fen = Field(default=0, ge=0, le=100_000_000_000)
    threshold_visits: int = Field(default=0, ge=0, le=1_000_000)
    period_days: int = Field(default=0, ge=0, le=3650)
    discount_bp: int = Field(default=0, ge=0, le=10_000)
    member_prices: bool = True
    points_multiplier_bp: int = Field(default=10_000, ge=0, le=100_000)
    birthday_coupon_template_id: uuid.UUID | None = None
    birthday_double_points: bool = False
    is_default: bool = False


class TierPatch(StrictModel):
    name: Text(40, 1) | None = None
    rank: int | None = Field(default=None, ge=0, le=1000)
    rule: Literal["spend", "visits", "manual"] | None = None
    threshold_spend_fen: Fen | None = Field(default=None, ge=0, le=100_000_000_000)
    threshold_visits: int | None = Field(default=None, ge=0, le=1_000_000)
    period_days: int | None = Field(default=None, ge=0, le=3650)
    discount_bp: int | None = Field(default=None, ge=0, le=10_000)
    member_prices: bool | None = None
    points_multiplier_bp: int | None = Field(default=None, ge=0, le=100_000)
    birthday_coupon_template_id: uuid.UUID | None = None
    birthday_double_points: bool | None = None
    is_default: bool | None = None


class TierOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    rank: int
    rule: str
    threshold_spend_fen: Fen
    threshold_visits: int
    period_days: int
    discount_bp: int
    member_prices: bool
    points_multiplier_bp: int
    birthday_coupon_template_id: uuid.UUID | None
    birthday_double_points: bool
    is_default: bool
    member_count: int = 0


class SegmentFilters(StrictModel):
    tier_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    last_visit_older_than_days: int | None = Field(default=None, ge=0, le=3650)
    last_visit_within_days: int | None = Field(default=None, ge=0, le=3650)
    birthday_this_month: bool = False
    min_spend_fen: Fen | None = Field(default=None, ge=0)
    max_spend_fen: Fen | None = Field(default=None, ge=0)
    min_visits: int | None = Field(default=None, ge=0)
    bought_category_ids: list[Text(64, 1)] = Field(default_factory=list, max_length=50)
    rfm_classes: list[Text(32, 1)] = Field(default_factory=list, max_length=10)
    marketing_consent: bool | None = None


class SegmentIn(StrictModel):
    name: Text(60, 1)
    filters: SegmentFilters = Field(default_factory=SegmentFilters)


class SegmentOut(BaseModel):
    id: uuid.UUID
    name: str
    filters: SegmentFilters
    member_count: int
    created_at: datetime


class CountOut(BaseModel):
    count: int


class CampaignIn(StrictModel):
    name: Text(60, 1)
    segment_id: uuid.UUID
    action: Literal["coupon", "double_points", "message"]
    template_id: uuid.UUID | None = Field(default=None, description="coupon: pricing's coupon template")
    multiplier_bp: int = Field(default=20_000, ge=10_000, le=100_000, description="double_points: 20000 = ×2")
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    channel: Literal["email", "sms"] = "sms"
    subject: Text(120) = ""
    body: Text(500) = ""
    scheduled_at: datetime | None = Field(default=None, description="Run automatically at this time")


class CampaignOut(BaseModel):
    id: uuid.UUID
    name: str
    segment_id: uuid.UUID
    action: str
    params: dict
    scheduled_at: datetime | None
    status: str
    last_run_at: datetime | None
    created_at: datetime
    sends: dict[str, int] = Field(default_factory=dict)


class CampaignSendOut(BaseModel):
    id: uuid.UUID
    member_id: uuid.UUID
    member_name: str
    channel: str
    status: str
    error: str
    attempts: int
    sent_at: datetime | None


class RunOut(BaseModel):
    campaign_id: uuid.UUID | None
    sent: int
    failed: int
    skipped: int


class CouponIssueIn(StrictModel):
    template_id: uuid.UUID
    reason: Text(100, 1) = "manual"
    valid_days: int | None = Field(default=None, ge=1, le=3650)


class CouponOut(BaseModel):
    """A member's coupon: one of pricing's coupons (the till redeems it by `code`)."""

    id: uuid.UUID
    member_id: uuid.UUID
    template_id: uuid.UUID
    template_name: str = ""
    code: str
    status: str = Field(description="issued (unused) | used | void | expired")
    valid_from: datetime | None
    valid_to: datetime | None = Field(description="the end of validity (same as valid_until)")
    valid_until: datetime | None = None
    issued_reason: str
    used_sale_id: uuid.UUID | None
    used_at: datetime | None = None
    issued_at: datetime


class TopUpRuleIn(StrictModel):
    threshold_fen: Fen = Field(gt=0, le=100_000_000)
    bonus_fen: Fen = Field(ge=0, le=100_000_000)
    active: bool = True


class TopUpRuleOut(BaseModel):
    id: uuid.UUID
    threshold_fen: Fen
    bonus_fen: Fen
    active: bool


class CatalogItemIn(StrictModel):
    name: Text(100, 1)
    points: int = Field(gt=0, le=100_000_000)
    product_id: uuid.UUID | None = None
    stock: int | None = Field(default=None, ge=0, le=1_000_000)
    active: bool = True


class CatalogItemOut(BaseModel):
    id: uuid.UUID
    name: str
    points: int
    product_id: uuid.UUID | None
    stock: int | None
    active: bool


class CatalogRedeemIn(StrictModel):
    item_id: uuid.UUID
    quantity: int = Field(default=1, ge=1, le=100)


class SmsOut(BaseModel):
    id: uuid.UUID
    phone: str
    body: str
    status: str
    created_at: datetime


class QrTokenOut(BaseModel):
    token: str
    expires_in: int
