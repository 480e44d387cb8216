"""Coupons issued to members — the members side of pricing's coupons.

Until the pricing module owns coupon templates and issued coupons, issued coupons live in this module's
`member_coupons` table (template_id refers to pricing's template). `issue_coupon` is the one entry point;
when pricing's model lands, its body becomes a call to pricing's service and the table is migrated.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, NotFound
from cloudpos.i18n import N_
from cloudpos.members import domain, program
from cloudpos.members.models import MemberCoupon
from cloudpos.members.schemas import CouponOut


def coupon_out(c: MemberCoupon) -> CouponOut:
    status = c.status
    if status == "issued" and c.valid_to < clock.now():
        status = "expired"
    return CouponOut(id=c.id, member_id=c.member_id, template_id=c.template_id, code=c.code, status=status,
                     valid_from=c.valid_from, valid_to=c.valid_to, issued_reason=c.issued_reason,
                     used_sale_id=c.used_sale_id, issued_at=c.issued_at)


def issue_coupon(db: Session, actor: Actor, member_id: uuid.UUID, template_id: uuid.UUID, reason: str,
                 valid_days: int | None = None) -> CouponOut:
    """Issue one coupon of `template_id` to the member, inside the caller's transaction (audited)."""
    m = program.get_member(db, actor, member_id)
    program.require_active(m)
    days = valid_days or program.settings(db, actor.tenant_id).coupon_valid_days
    now = clock.now()
    for _ in range(5):
        code = domain.new_coupon_code()
        if db.scalar(select(MemberCoupon.id).where(MemberCoupon.tenant_id == actor.tenant_id,
                                                   MemberCoupon.code == code)) is None:
            break
    c = MemberCoupon(tenant_id=actor.tenant_id, member_id=m.id, template_id=template_id, code=code,
                     status="issued", valid_from=now, valid_to=now + timedelta(days=days),
                     issued_reason=reason[:100])
    db.add(c)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as exc:  # a code collision between two parallel issuers: astronomically rare
        raise Conflict(N_("Please try again."), code="coupon_code_collision") from exc
    audit.record(db, actor, "member.coupon.issue", target_type="member", target_id=m.id, target_label=m.card_no,
                 after={"code": c.code, "template_id": str(template_id), "reason": c.issued_reason})
    return coupon_out(c)


issue = use_case(issue_coupon)


def list_coupons(db: Session, actor: Actor, member_id: uuid.UUID) -> list[CouponOut]:
    program.get_member(db, actor, member_id)
    rows = db.scalars(select(MemberCoupon).where(MemberCoupon.tenant_id == actor.tenant_id,
                                                 MemberCoupon.member_id == member_id)
                      .order_by(MemberCoupon.issued_at.desc()).limit(500))
    return [coupon_out(c) for c in rows]


def count_by_status(db: Session, actor: Actor, member_id: uuid.UUID) -> dict[str, int]:
    rows = db.execute(select(MemberCoupon.status, func.count()).where(
        MemberCoupon.tenant_id == actor.tenant_id, MemberCoupon.member_id == member_id)
        .group_by(MemberCoupon.status)).all()
    return {s: n for s, n in rows}


def mark_used(db: Session, actor: Actor, code: str, sale_id: uuid.UUID) -> CouponOut:
    """Checkout: the coupon was used on `sale_id` (inside the caller's transaction)."""
    now = clock.now()
    res = db.execute(update(MemberCoupon).where(
        MemberCoupon.tenant_id == actor.tenant_id, MemberCoupon.code == code.upper(),
        MemberCoupon.status == "issued", MemberCoupon.valid_from <= now, MemberCoupon.valid_to >= now)
        .values(status="used", used_sale_id=sale_id).execution_options(synchronize_session=False))
    c = db.scalar(select(MemberCoupon).where(MemberCoupon.tenant_id == actor.tenant_id,
                                             MemberCoupon.code == code.upper())
                  .execution_options(populate_existing=True))
    if c is None:
        raise NotFound(N_("Coupon not found."))
    if res.rowcount != 1:
        raise Conflict(N_("This coupon cannot be used (already used, void or expired)."), code="coupon_unusable")
    audit.record(db, actor, "member.coupon.use", target_type="member", target_id=c.member_id, target_label=c.code,
                 after={"sale_id": str(sale_id)})
    return coupon_out(c)


@use_case
def void_coupon(db: Session, actor: Actor, member_id: uuid.UUID, coupon_id: uuid.UUID) -> CouponOut:
    actor.require("member.edit")
    c = db.get(MemberCoupon, (actor.tenant_id, coupon_id))
    if c is None or c.member_id != member_id:
        raise NotFound(N_("Coupon not found."))
    if c.status != "issued":
        raise Conflict(N_("Only an unused coupon can be voided."), code="coupon_not_issued")
    c.status = "void"
    audit.record(db, actor, "member.coupon.void", target_type="member", target_id=member_id, target_label=c.code,
                 before={"status": "issued"}, after={"status": "void"})
    return coupon_out(c)
