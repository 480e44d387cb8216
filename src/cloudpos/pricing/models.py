"""Promotions, member prices, coupon templates and issued coupons."""

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
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from cloudpos import clock
from cloudpos.db import Base, TenantMixin


class Promotion(TenantMixin, Base):
    __tablename__ = "promotions"
    __table_args__ = (Index("ix_promotions_tenant_id_status_end_date", "tenant_id", "status", "end_date"),)

    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    rule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # kind-specific parameters
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    start_date: Mapped[date | None] = mapped_column(Date, default=None)
    end_date: Mapped[date | None] = mapped_column(Date, default=None)
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)
    time_from: Mapped[str | None] = mapped_column(String(5), default=None)  # "HH:MM" store local time
    time_to: Mapped[str | None] = mapped_column(String(5), default=None)
    store_ids: Mapped[list[str] | None] = mapped_column(JSON, default=None)  # None = every store
    member_only: Mapped[bool] = mapped_column(Boolean, default=False)
    tier_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    birthday_only: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    stacking: Mapped[str] = mapped_column(String(10), default="stackable")
    stack_group: Mapped[str | None] = mapped_column(String(40), default=None)
    stacks_with_member: Mapped[bool] = mapped_column(Boolean, default=True)
    max_uses_per_order: Mapped[int | None] = mapped_column(Integer, default=None)
    max_uses_per_member: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | inactive | ended
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class PromotionUse(TenantMixin, Base):
    """Ledger of the uses of promotions that have a per-member limit (append-only).

    A sale that applied such a promotion for a member writes ``delta=+1`` (kind "use"); a full
    refund or void of that sale writes ``delta=-1`` (kind "give_back"), pointing at the same sale.
    A member's uses of a promotion = the sum of ``delta``."""

    __tablename__ = "promotion_uses"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "promotion_id"], ["promotions.tenant_id", "promotions.id"]),
        Index("ix_promotion_uses_tenant_id_member_id_promotion_id", "tenant_id", "member_id", "promotion_id"),
        Index("ix_promotion_uses_tenant_id_sale_id", "tenant_id", "sale_id"),
    )

    promotion_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    member_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    sale_id: Mapped[uuid.UUID] = mapped_column(Uuid())  # the sale that used the promotion
    document_id: Mapped[uuid.UUID] = mapped_column(Uuid())  # the sale, or the refund / void giving it back
    kind: Mapped[str] = mapped_column(String(10))  # use | give_back
    delta: Mapped[int] = mapped_column(Integer)  # +1 | -1
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class MemberPrice(Base):
    """会员价: the price a member pays for a product (the engine applies it when the customer is a member)."""

    __tablename__ = "member_prices"
    __table_args__ = (ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"]),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    price: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class CouponTemplate(TenantMixin, Base):
    __tablename__ = "coupon_templates"

    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12))  # amount_off | percent_off
    value: Mapped[int] = mapped_column(BigInteger)  # fen, or bp off
    threshold: Mapped[int] = mapped_column(BigInteger, default=0)
    max_discount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    valid_days: Mapped[int | None] = mapped_column(Integer, default=30)  # from issue; None = fixed window
    valid_from: Mapped[datetime | None] = mapped_column(default=None)
    valid_until: Mapped[datetime | None] = mapped_column(default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class Coupon(TenantMixin, Base):
    """An issued coupon: a unique code, single use."""

    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        Index("ix_coupons_tenant_id_member_id", "tenant_id", "member_id"),
        ForeignKeyConstraint(["tenant_id", "template_id"], ["coupon_templates.tenant_id", "coupon_templates.id"]),
    )

    template_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    code: Mapped[str] = mapped_column(String(40))
    member_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | used | void
    valid_from: Mapped[datetime | None] = mapped_column(default=None)
    valid_until: Mapped[datetime | None] = mapped_column(default=None)
    issued_at: Mapped[datetime] = mapped_column(default=clock.now)
    issued_reason: Mapped[str] = mapped_column(String(100), default="")
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    used_sale_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
