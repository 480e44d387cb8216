"""Coupons issued to members — one coupon store: pricing's `coupons`, the ones the till redeems.

Every member coupon (by hand, on registration, on the birthday, every N visits, by a campaign) is issued
through `pricing.coupons.issue_in_tx` with the member set, so the code the member receives works at the
till (`POST /api/v1/sales`, `coupon_codes`) and only for that member. This module shows them in the
members API's shape (status `issued` = unused, `used`, `void`, `expired`).
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import FieldError, Invalid, NotFound
from cloudpos.i18n import N_
from cloudpos.members import program
from cloudpos.members.schemas import CouponOut
from cloudpos.pricing import coupons as pricing_coupons
from cloudpos.pricing.schemas import CouponOut as PricingCouponOut

# pricing's stored status → the members API's (unchanged since member coupons had their own table)
_STATUS = {"active": "issued"}


def coupon_out(c: PricingCouponOut) -> CouponOut:
    return CouponOut(id=c.id, member_id=c.member_id, template_id=c.template_id, template_name=c.template_name,
                     code=c.code, status=_STATUS.get(c.status, c.status), valid_from=c.valid_from,
                     valid_to=c.valid_until, valid_until=c.valid_until, issued_reason=c.issued_reason,
                     used_sale_id=c.used_sale_id, used_at=c.used_at, issued_at=c.issued_at)


def issue_coupon(db: Session, actor: Actor, member_id: uuid.UUID, template_id: uuid.UUID, reason: str,
                 valid_days: int | None = None) -> CouponOut:
    """Issue one coupon of pricing's template `template_id` to the member, inside the caller's transaction
    (audited by pricing as `coupon.issue` with the member)."""
    m = program.get_member(db, actor, member_id)
    program.require_active(m)
    if valid_days is None:
        valid_days = program.settings(db, actor.tenant_id).coupon_valid_days
    try:
        issued = pricing_coupons.issue_in_tx(db, actor, template_id, m.id, 1, reason[:100], valid_days=valid_days)
    except NotFound:
        raise Invalid(errors=[FieldError("template_id", N_("No such coupon template."), {}, "unknown")]) from None
    return coupon_out(issued[0])


def check_template(db: Session, actor: Actor, template_id: uuid.UUID, field: str = "template_id") -> None:
    """A campaign or programme rule names a coupon template: it must exist and be switched on (422)."""
    try:
        t = pricing_coupons.get_template(db, actor, template_id)
    except NotFound:
        t = None
    if t is None or not t.active:
        raise Invalid(errors=[FieldError(field, N_("No such coupon template (or it is switched off)."), {},
                                         "unknown")])


@use_case
def issue(db: Session, actor: Actor, member_id: uuid.UUID, template_id: uuid.UUID, reason: str,
          valid_days: int | None = None) -> CouponOut:
    """Issue by hand from the member page or the API: money off, so the same permission as pricing's issue."""
    actor.require("promotion.edit")
    return issue_coupon(db, actor, member_id, template_id, reason, valid_days)


def list_coupons(db: Session, actor: Actor, member_id: uuid.UUID) -> list[CouponOut]:
    """The member's coupons (newest first, at most 500) with their status now."""
    actor.require("member.view")
    program.get_member(db, actor, member_id)  # 404 for an unknown member or another merchant's
    return [coupon_out(c) for c in pricing_coupons.member_coupons(db, actor.tenant_id, member_id)]


def unused(db: Session, actor: Actor, member_id: uuid.UUID) -> list[CouponOut]:
    return [c for c in list_coupons(db, actor, member_id) if c.status == "issued"]


@use_case
def void_coupon(db: Session, actor: Actor, member_id: uuid.UUID, coupon_id: uuid.UUID,
                reason: str = "") -> CouponOut:
    """Void an unused coupon of this member (another member's coupon id is a 404)."""
    actor.require("promotion.edit")
    program.get_member(db, actor, member_id)
    return coupon_out(pricing_coupons.void_in_tx(db, actor, coupon_id, reason, member_id=member_id))


def void_all(db: Session, actor: Actor, member_id: uuid.UUID, reason: str) -> int:
    """Void every unused coupon of the member (erase), inside the caller's transaction."""
    return pricing_coupons.void_member_coupons_in_tx(db, actor, member_id, reason)
