"""Members and loyalty tables.

Ledgers (points, stored value) are append-only (database triggers refuse UPDATE/DELETE); the balances
cached on the member row are changed by relative UPDATEs in the same transaction as the ledger row,
so they always equal the ledger sums. Per-member rollups (visits, spend, first/last visit, tier) live in
the narrow `member_stats` table and per-day figures in `member_daily`, both kept in the sale's transaction
(members.stats), so analytics never scan sale lines nor the wide member rows.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from cloudpos import clock
from cloudpos.db import Base, TenantMixin


def _store_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", "store_id"], ["stores.tenant_id", "stores.id"])


def _member_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", "member_id"], ["members.tenant_id", "members.id"])


class MemberProgram(Base):
    """The merchant's loyalty settings (points rules, stored value, coupons, messaging): one row per tenant."""

    __tablename__ = "member_programs"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class MemberTier(TenantMixin, Base):
    __tablename__ = "member_tiers"
    __table_args__ = (UniqueConstraint("tenant_id", "code"), ForeignKeyConstraint(["tenant_id"], ["tenants.id"]))

    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(40))
    rank: Mapped[int] = mapped_column(Integer, default=0)  # higher = better
    rule: Mapped[str] = mapped_column(String(16), default="spend")  # spend | visits | manual
    threshold_spend_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    threshold_visits: Mapped[int] = mapped_column(Integer, default=0)
    period_days: Mapped[int] = mapped_column(Integer, default=0)  # 0 = all time
    discount_bp: Mapped[int] = mapped_column(Integer, default=0)  # 500 = 5 % off (9.5折)
    member_prices: Mapped[bool] = mapped_column(Boolean, default=True)
    points_multiplier_bp: Mapped[int] = mapped_column(Integer, default=10000)
    birthday_coupon_template_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    birthday_double_points: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class Member(TenantMixin, Base):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("tenant_id", "card_no"),
        UniqueConstraint("tenant_id", "phone"),
        ForeignKeyConstraint(["tenant_id", "tier_id"], ["member_tiers.tenant_id", "member_tiers.id"]),
        ForeignKeyConstraint(["tenant_id", "store_id"], ["stores.tenant_id", "stores.id"]),
        Index("ix_members_tenant_id_name", "tenant_id", "name"),
        Index("ix_members_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_members_tenant_id_tier_id", "tenant_id", "tier_id"),
        Index("ix_members_tenant_id_birth_month_birth_day", "tenant_id", "birth_month", "birth_day"),
    )

    card_no: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(20), default=None)  # E.164; NULL once erased
    email: Mapped[str | None] = mapped_column(String(200), default=None)
    birthday: Mapped[date | None] = mapped_column(Date, default=None)
    birth_month: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    birth_day: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    gender: Mapped[str] = mapped_column(String(8), default="")
    tier_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    tier_locked: Mapped[bool] = mapped_column(Boolean, default=False)  # set by hand: the jobs leave it
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | erased
    channel: Mapped[str] = mapped_column(String(12), default="till")  # till | online | import
    store_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)  # registered at
    points_balance: Mapped[int] = mapped_column(BigInteger, default=0)
    stored_value_balance: Mapped[int] = mapped_column(BigInteger, default=0)
    sv_principal_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    sv_bonus_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    pin_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    pin_failed: Mapped[int] = mapped_column(Integer, default=0)
    pin_locked_until: Mapped[datetime | None] = mapped_column(default=None)
    privacy_consent_at: Mapped[datetime | None] = mapped_column(default=None)
    marketing_consent_at: Mapped[datetime | None] = mapped_column(default=None)
    registered_ip: Mapped[str] = mapped_column(String(64), default="")
    erased_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class PointsEntry(TenantMixin, Base):
    """Append-only points ledger: earn, redeem, expire, refund_reversal, refund_return, adjust, catalog."""

    __tablename__ = "member_points_ledger"
    __table_args__ = (_member_fk(), Index("ix_member_points_ledger_tenant_id_member_id_occurred_at",
                                          "tenant_id", "member_id", "occurred_at"),
                      Index("ix_member_points_ledger_tenant_id_sale_id", "tenant_id", "sale_id"))

    member_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    kind: Mapped[str] = mapped_column(String(20))
    delta: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    sale_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    reason: Mapped[str] = mapped_column(String(200), default="")
    actor_name: Mapped[str] = mapped_column(String(60), default="")
    occurred_at: Mapped[datetime] = mapped_column(default=clock.now)


class StoredValueEntry(TenantMixin, Base):
    """Append-only stored-value ledger; principal and bonus tracked apart (liability reporting)."""

    __tablename__ = "member_stored_value_ledger"
    __table_args__ = (_member_fk(), Index("ix_member_stored_value_ledger_tenant_id_member_id_occurred_at",
                                          "tenant_id", "member_id", "occurred_at"),
                      Index("ix_member_stored_value_ledger_tenant_id_sale_id", "tenant_id", "sale_id"))

    member_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    kind: Mapped[str] = mapped_column(String(20))  # top_up | payment | refund | adjust
    principal_delta: Mapped[int] = mapped_column(BigInteger)
    bonus_delta: Mapped[int] = mapped_column(BigInteger)
    delta: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    payment_method: Mapped[str] = mapped_column(String(32), default="")
    reference: Mapped[str] = mapped_column(String(100), default="")
    sale_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    store_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    reason: Mapped[str] = mapped_column(String(200), default="")
    actor_name: Mapped[str] = mapped_column(String(60), default="")
    occurred_at: Mapped[datetime] = mapped_column(default=clock.now)


class MemberSale(TenantMixin, Base):
    """What loyalty did on one sale (earned / redeemed points), so a refund can reverse it."""

    __tablename__ = "member_sales"
    __table_args__ = (_member_fk(), UniqueConstraint("tenant_id", "sale_id"),
                      Index("ix_member_sales_tenant_id_member_id_occurred_at", "tenant_id", "member_id",
                            "occurred_at"))

    member_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    sale_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    store_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    eligible_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    by_category: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    multiplier_bp: Mapped[int] = mapped_column(Integer, default=10000)
    points_earned: Mapped[int] = mapped_column(BigInteger, default=0)
    points_redeemed: Mapped[int] = mapped_column(BigInteger, default=0)
    points_reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    points_returned: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_eligible_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    occurred_at: Mapped[datetime] = mapped_column(default=clock.now)


class TopUpRule(TenantMixin, Base):
    """充值 200 送 20: top up at least `threshold_fen`, get `bonus_fen` (the best matching rule applies)."""

    __tablename__ = "member_topup_rules"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),)

    threshold_fen: Mapped[int] = mapped_column(BigInteger)
    bonus_fen: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class PointsCatalogItem(TenantMixin, Base):
    """Goods redeemable for points (积分商城)."""

    __tablename__ = "member_points_catalog"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),)

    name: Mapped[str] = mapped_column(String(100))
    points: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    stock: Mapped[int | None] = mapped_column(Integer, default=None)  # None = unlimited
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class Segment(TenantMixin, Base):
    __tablename__ = "member_segments"
    __table_args__ = (ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),)

    name: Mapped[str] = mapped_column(String(60))
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class Campaign(TenantMixin, Base):
    __tablename__ = "member_campaigns"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "segment_id"], ["member_segments.tenant_id", "member_segments.id"]),
        Index("ix_member_campaigns_tenant_id_status_scheduled_at", "tenant_id", "status", "scheduled_at"),
    )

    name: Mapped[str] = mapped_column(String(60))
    segment_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    action: Mapped[str] = mapped_column(String(16))  # coupon | double_points | message
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    scheduled_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft | scheduled | running | done
    last_run_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class CampaignSend(TenantMixin, Base):
    """One action towards one member (a message, a coupon, a points boost): status, error, attempts."""

    __tablename__ = "member_campaign_sends"
    __table_args__ = (
        _member_fk(),
        UniqueConstraint("tenant_id", "dedupe_key"),
        Index("ix_member_campaign_sends_tenant_id_campaign_id_status", "tenant_id", "campaign_id", "status"),
        Index("ix_member_campaign_sends_tenant_id_member_id", "tenant_id", "member_id"),
    )

    campaign_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)  # None: birthday greeting
    member_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    dedupe_key: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(12))  # email | sms | coupon | points
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | sent | failed | skipped
    error: Mapped[str] = mapped_column(String(300), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class SmsOutbox(TenantMixin, Base):
    """The default SMS driver: messages wait here (visible in the back office) for a real gateway."""

    __tablename__ = "member_sms_outbox"
    __table_args__ = (Index("ix_member_sms_outbox_tenant_id_created_at", "tenant_id", "created_at"),)

    phone: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(String(500))
    member_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class MemberStats(Base):
    """Per-member rollup for analytics and segments: one narrow row per active member (created at registration,
    removed on erase), changed by relative UPDATEs in the transaction of each sale, refund and void
    (members.stats.on_sales_document); `cloudpos members rebuild-stats` recomputes it from the sales.

    visits = sales − voids; spend_fen = Σ document totals (refunds and voids are negative);
    first/last_visit_at = the first/last sale's time (a void keeps the visit's date). `tier_id` mirrors the
    member's tier so spend-by-tier reads this table only. The indexes make every member report one
    index-only range scan: (last_visit_at, visits, spend_fen) for activity, repeat rate and RFM;
    (spend_fen) for top members and spend segments; (tier_id, spend_fen) for spend by tier."""

    __tablename__ = "member_stats"
    __table_args__ = (
        _member_fk(),
        Index("ix_member_stats_tenant_id_last_visit_at", "tenant_id", "last_visit_at", "visits", "spend_fen"),
        Index("ix_member_stats_tenant_id_spend_fen", "tenant_id", "spend_fen"),
        Index("ix_member_stats_tenant_id_tier_id", "tenant_id", "tier_id", "spend_fen"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    tier_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    visits: Mapped[int] = mapped_column(Integer, default=0)
    spend_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    first_visit_at: Mapped[datetime | None] = mapped_column(default=None)
    last_visit_at: Mapped[datetime | None] = mapped_column(default=None)


class MemberDaily(Base):
    """Per-tenant daily member figures, updated in the purchase / registration transaction."""

    __tablename__ = "member_daily"

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    new_members: Mapped[int] = mapped_column(Integer, default=0)
    active_members: Mapped[int] = mapped_column(Integer, default=0)
    visits: Mapped[int] = mapped_column(Integer, default=0)
    spend_fen: Mapped[int] = mapped_column(BigInteger, default=0)
