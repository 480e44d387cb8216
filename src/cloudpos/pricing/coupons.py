"""Coupon templates and issued coupons (优惠券): unique codes, a validity window, single use."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound
from cloudpos.i18n import N_, current_locale
from cloudpos.pricing import codec
from cloudpos.pricing import domain as d
from cloudpos.pricing.models import Coupon, CouponTemplate
from cloudpos.pricing.schemas import CouponIssueIn, CouponOut, CouponTemplateIn, CouponTemplateOut, CouponTemplatePatch

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at the till


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


def describe_template(t: CouponTemplate) -> str:
    """In words, e.g. 满100减10 / "¥10 off orders over ¥100", 8.8折 / "12% off"."""
    from cloudpos.pricing.engine.text import percent, yuan, zhe

    zh = current_locale.get() == "zh_CN"
    over = yuan(t.threshold)
    if t.kind == "amount_off":
        if zh:
            return f"满{over}减{yuan(t.value)}元" if t.threshold else f"立减{yuan(t.value)}元"
        return f"¥{yuan(t.value)} off orders over ¥{over}" if t.threshold else f"¥{yuan(t.value)} off"
    if zh:
        return f"满{over}元{zhe(t.value)}折" if t.threshold else f"{zhe(t.value)}折"
    return f"{percent(t.value)}% off orders over ¥{over}" if t.threshold else f"{percent(t.value)}% off"


def template_out(db: Session, t: CouponTemplate) -> CouponTemplateOut:
    counts = dict(db.execute(select(Coupon.status, func.count()).where(
        Coupon.tenant_id == t.tenant_id, Coupon.template_id == t.id).group_by(Coupon.status)).all())
    return CouponTemplateOut(id=t.id, name=t.name, kind=t.kind, value=t.value, threshold=t.threshold,
                             max_discount=t.max_discount, scope=t.scope, valid_days=t.valid_days,
                             valid_from=t.valid_from, valid_until=t.valid_until, active=t.active,
                             description=describe_template(t), issued=sum(counts.values()), used=counts.get("used", 0))


def _check_template(data: CouponTemplateIn) -> None:
    errors = []
    if data.kind == "percent_off" and not 1 <= data.value <= 10000:
        errors.append(FieldError("value", N_("A percentage discount is 1 to 10000 basis points."), {}, "range"))
    if data.kind == "amount_off" and data.threshold and data.value > data.threshold:
        errors.append(FieldError("value", N_("The discount cannot be larger than the threshold."), {}, "range"))
    if data.valid_days is None and (data.valid_from is None or data.valid_until is None):
        errors.append(FieldError("valid_until", N_("Give a number of valid days, or a start and an end."), {},
                                 "required"))
    if data.valid_from and data.valid_until and data.valid_until <= data.valid_from:
        errors.append(FieldError("valid_until", N_("The end must be after the start."), {}, "range"))
    scope = data.scope
    if not (scope.all or scope.product_ids or scope.category_ids or scope.brands):
        errors.append(FieldError("scope", N_("Choose what the coupon applies to, or all products."), {}, "empty"))
    if errors:
        raise Invalid(errors=errors)


def list_templates(db: Session, actor: Actor) -> list[CouponTemplateOut]:
    actor.require("promotion.view")
    rows = db.scalars(select(CouponTemplate).where(CouponTemplate.tenant_id == actor.tenant_id)
                      .order_by(CouponTemplate.created_at.desc())).all()
    return [template_out(db, t) for t in rows]


def get_template(db: Session, actor: Actor, template_id: uuid.UUID) -> CouponTemplate:
    t = db.get(CouponTemplate, (actor.tenant_id, template_id))
    if t is None:
        raise NotFound(N_("Coupon template not found."))
    return t


@use_case
def create_template(db: Session, actor: Actor, data: CouponTemplateIn) -> CouponTemplateOut:
    actor.require("promotion.edit")
    _check_template(data)
    t = CouponTemplate(tenant_id=actor.tenant_id, name=data.name, kind=data.kind, value=data.value,
                       threshold=data.threshold, max_discount=data.max_discount,
                       scope=data.scope.model_dump(mode="json"), valid_days=data.valid_days,
                       valid_from=data.valid_from, valid_until=data.valid_until, active=data.active)
    db.add(t)
    db.flush()
    audit.record(db, actor, "coupon_template.create", target_type="coupon_template", target_id=t.id,
                 target_label=t.name, after=data.model_dump(mode="json"))
    return template_out(db, t)


@use_case
def update_template(db: Session, actor: Actor, template_id: uuid.UUID, data: CouponTemplatePatch) -> CouponTemplateOut:
    actor.require("promotion.edit")
    t = get_template(db, actor, template_id)
    before = {"name": t.name, "active": t.active}
    if data.name is not None:
        t.name = data.name
    if data.active is not None:
        t.active = data.active
    b, a = audit.diff(before, {"name": t.name, "active": t.active})
    audit.record(db, actor, "coupon_template.update", target_type="coupon_template", target_id=t.id,
                 target_label=t.name, before=b, after=a)
    return template_out(db, t)


def _status(c: Coupon) -> str:
    if c.status == "active" and c.valid_until is not None and c.valid_until < clock.now():
        return "expired"
    return c.status


def coupon_out(c: Coupon, t: CouponTemplate) -> CouponOut:
    return CouponOut(id=c.id, code=c.code, template_id=c.template_id, template_name=t.name, member_id=c.member_id,
                     status=_status(c), valid_from=c.valid_from, valid_until=c.valid_until, issued_at=c.issued_at,
                     issued_reason=c.issued_reason, used_at=c.used_at, used_sale_id=c.used_sale_id)


def issue_in_tx(db: Session, actor: Actor, template_id: uuid.UUID, member_id: uuid.UUID | None, count: int = 1,
                reason: str = "", valid_days: int | None = None) -> list[CouponOut]:
    """Issue coupons inside the caller's transaction (the members module issues every member coupon here:
    by hand, on registration, birthday, every N visits and by campaigns). `valid_days` overrides the
    template's validity (never past a fixed window's end)."""
    t = get_template(db, actor, template_id)
    if not t.active:
        raise Conflict(N_("This coupon template is switched off."), code="template_inactive")
    now = clock.now()
    start = t.valid_from or now
    until = t.valid_until if t.valid_days is None else start + timedelta(days=t.valid_days)
    if valid_days is not None:
        wanted = start + timedelta(days=valid_days)
        until = min(until, wanted) if t.valid_days is None and until is not None else wanted
    out = []
    for _ in range(count):
        c = Coupon(tenant_id=actor.tenant_id, template_id=t.id, code=new_code(), member_id=member_id,
                   valid_from=start, valid_until=until, issued_reason=reason[:100])
        db.add(c)
        out.append(c)
    db.flush()
    audit.record(db, actor, "coupon.issue", target_type="coupon_template", target_id=t.id, target_label=t.name,
                 details={"count": count, "member_id": str(member_id) if member_id else None, "reason": reason,
                          "codes": [c.code for c in out[:20]]})
    return [coupon_out(c, t) for c in out]


@use_case
def issue(db: Session, actor: Actor, data: CouponIssueIn) -> list[CouponOut]:
    actor.require("promotion.edit")
    if data.member_id is not None and data.count != 1:
        raise Invalid(errors=[FieldError("count", N_("Issue one coupon at a time to a member."), {}, "range")])
    if data.member_id is not None:
        from cloudpos.members import service as members

        members.get_member(db, actor, data.member_id)  # 404 for an unknown member
    return issue_in_tx(db, actor, data.template_id, data.member_id, data.count, data.reason)


def list_coupons(db: Session, actor: Actor, *, member_id: uuid.UUID | None = None,
                 template_id: uuid.UUID | None = None, status: str | None = None, code: str | None = None,
                 page: int = 1, page_size: int = 50) -> tuple[list[CouponOut], int]:
    actor.require("promotion.view")
    stmt = (select(Coupon, CouponTemplate)
            .join(CouponTemplate, (CouponTemplate.tenant_id == Coupon.tenant_id)
                  & (CouponTemplate.id == Coupon.template_id))
            .where(Coupon.tenant_id == actor.tenant_id))
    if member_id:
        stmt = stmt.where(Coupon.member_id == member_id)
    if template_id:
        stmt = stmt.where(Coupon.template_id == template_id)
    if code:
        stmt = stmt.where(Coupon.code == code.strip().upper())
    if status == "expired":
        stmt = stmt.where(Coupon.status == "active", Coupon.valid_until < clock.now())
    elif status == "active":
        stmt = stmt.where(Coupon.status == "active",
                          (Coupon.valid_until.is_(None)) | (Coupon.valid_until >= clock.now()))
    elif status:
        stmt = stmt.where(Coupon.status == status)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.execute(stmt.order_by(Coupon.issued_at.desc()).offset((page - 1) * page_size).limit(page_size)).all()
    return [coupon_out(c, t) for c, t in rows], total


def member_coupons(db: Session, tenant_id: uuid.UUID, member_id: uuid.UUID, limit: int = 500) -> list[CouponOut]:
    """A member's coupons, newest first (the members module checks its own permission before calling)."""
    rows = db.execute(select(Coupon, CouponTemplate)
                      .join(CouponTemplate, (CouponTemplate.tenant_id == Coupon.tenant_id)
                            & (CouponTemplate.id == Coupon.template_id))
                      .where(Coupon.tenant_id == tenant_id, Coupon.member_id == member_id)
                      .order_by(Coupon.issued_at.desc(), Coupon.id.desc()).limit(limit)).all()
    return [coupon_out(c, t) for c, t in rows]


@use_case
def void(db: Session, actor: Actor, coupon_id: uuid.UUID, reason: str = "") -> CouponOut:
    actor.require("promotion.edit")
    return void_in_tx(db, actor, coupon_id, reason)


def void_in_tx(db: Session, actor: Actor, coupon_id: uuid.UUID, reason: str = "",
               member_id: uuid.UUID | None = None) -> CouponOut:
    """Void an unused coupon inside the caller's transaction (audited); with `member_id`, only that member's."""
    c = db.get(Coupon, (actor.tenant_id, coupon_id))
    if c is None or (member_id is not None and c.member_id != member_id):
        raise NotFound(N_("Coupon not found."))
    if c.status != "active":
        raise Conflict(N_("Only an unused coupon can be voided."), code="coupon_not_active")
    c.status = "void"
    audit.record(db, actor, "coupon.void", target_type="coupon", target_id=c.id, target_label=c.code,
                 before={"status": "active"}, after={"status": "void"}, details={"reason": reason})
    return coupon_out(c, db.get(CouponTemplate, (actor.tenant_id, c.template_id)))


def load_for_cart(db: Session, tenant_id: uuid.UUID, codes: list[str],
                  member_id: uuid.UUID | None) -> tuple[list[d.Coupon], dict[str, str]]:
    """Presented codes → engine coupons; codes that cannot even be looked at → {code: reason}."""
    wanted = [c.strip().upper() for c in codes if c.strip()]
    if not wanted:  # most carts: no query at all
        return [], {}
    rows = db.execute(select(Coupon, CouponTemplate)
                      .join(CouponTemplate, (CouponTemplate.tenant_id == Coupon.tenant_id)
                            & (CouponTemplate.id == Coupon.template_id))
                      .where(Coupon.tenant_id == tenant_id, Coupon.code.in_(wanted))).all()
    found = {c.code: (c, t) for c, t in rows}
    coupons, problems = [], {}
    for code in dict.fromkeys(wanted):
        if code not in found:
            problems[code] = "unknown"
            continue
        c, t = found[code]
        if c.member_id is not None and c.member_id != member_id:
            problems[code] = "other_member"
            continue
        coupons.append(codec.coupon_to_domain(c, t, "active" if c.status == "active" else
                                              ("used" if c.status == "used" else "void")))
    return coupons, problems


def redeem(db: Session, actor: Actor, codes: list[str], sale_id: uuid.UUID) -> None:
    """Mark coupons used by a sale, inside the sale's transaction; a coupon used meanwhile → 409."""
    for code in codes:
        n = db.execute(update(Coupon).where(Coupon.tenant_id == actor.tenant_id, Coupon.code == code,
                                            Coupon.status == "active")
                       .values(status="used", used_at=clock.now(), used_sale_id=sale_id)).rowcount
        if not n:
            raise Conflict(N_("Coupon %(code)s has already been used."), code="coupon_used", params={"code": code})


def void_member_coupons_in_tx(db: Session, actor: Actor, member_id: uuid.UUID, reason: str) -> int:
    """Void every unused coupon of a member (their personal data is erased), inside the caller's transaction."""
    n = db.execute(update(Coupon).where(Coupon.tenant_id == actor.tenant_id, Coupon.member_id == member_id,
                                        Coupon.status == "active").values(status="void")
                   .execution_options(synchronize_session=False)).rowcount or 0
    if n:
        audit.record(db, actor, "coupon.void", target_type="member", target_id=member_id, target_label=str(n),
                     before={"status": "active"}, after={"status": "void"}, details={"reason": reason, "count": n})
    return n


def restore(db: Session, actor: Actor, sale_id: uuid.UUID) -> int:
    """A full refund or void gives the sale's coupons back (if still valid)."""
    return db.execute(update(Coupon).where(Coupon.tenant_id == actor.tenant_id, Coupon.used_sale_id == sale_id,
                                           Coupon.status == "used")
                      .values(status="active", used_at=None, used_sale_id=None)).rowcount or 0
