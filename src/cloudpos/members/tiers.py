"""Tiers (会员等级): settings, evaluation after a sale and by the periodic job, and the price engine's context."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound
from cloudpos.i18n import N_
from cloudpos.members import coupons, domain, program, stats
from cloudpos.members.models import Member, MemberSale, MemberTier
from cloudpos.members.schemas import TierIn, TierOut, TierPatch

DEFAULT_TIERS = [
    # code, name, rank, rule, spend threshold (fen), discount bp, multiplier bp, birthday double, default
    ("normal", "普通会员", 0, "spend", 0, 0, 10_000, False, True),
    ("silver", "银卡会员", 10, "spend", 200_000, 300, 12_000, True, False),
    ("gold", "金卡会员", 20, "spend", 1_000_000, 800, 15_000, True, False),
]


def tier_out(t: MemberTier, count: int = 0) -> TierOut:
    return TierOut(id=t.id, code=t.code, name=t.name, rank=t.rank, rule=t.rule,
                   threshold_spend_fen=t.threshold_spend_fen, threshold_visits=t.threshold_visits,
                   period_days=t.period_days, discount_bp=t.discount_bp, member_prices=t.member_prices,
                   points_multiplier_bp=t.points_multiplier_bp,
                   birthday_coupon_template_id=t.birthday_coupon_template_id,
                   birthday_double_points=t.birthday_double_points, is_default=t.is_default, member_count=count)


def _snapshot(t: MemberTier) -> dict:
    return tier_out(t).model_dump(mode="json", exclude={"member_count", "id"})


def ensure_tiers(db: Session, actor: Actor) -> list[MemberTier]:
    """The merchant's tiers; the three usual ones (普通/银卡/金卡) are created on first use."""
    tiers = list(db.scalars(select(MemberTier).where(MemberTier.tenant_id == actor.tenant_id)
                            .order_by(MemberTier.rank)))
    if tiers:
        return tiers
    for code, name, rank, rule, spend, disc, mult, bday, default in DEFAULT_TIERS:
        t = MemberTier(tenant_id=actor.tenant_id, code=code, name=name, rank=rank, rule=rule,
                       threshold_spend_fen=spend, discount_bp=disc, points_multiplier_bp=mult,
                       birthday_double_points=bday, is_default=default, period_days=0)
        db.add(t)
        tiers.append(t)
    db.flush()
    audit.record(db, actor, "member.tier.create", target_type="member_tier", target_id=tiers[0].id,
                 target_label="defaults", after={"tiers": [t.code for t in tiers]})
    return tiers


def default_tier(tiers: Iterable[MemberTier]) -> MemberTier | None:
    tiers = list(tiers)
    return next((t for t in tiers if t.is_default), min(tiers, key=lambda t: t.rank) if tiers else None)


def list_tiers(db: Session, actor: Actor) -> list[TierOut]:
    tiers = db.scalars(select(MemberTier).where(MemberTier.tenant_id == actor.tenant_id).order_by(MemberTier.rank))
    counts = dict(db.execute(select(Member.tier_id, func.count()).where(Member.tenant_id == actor.tenant_id)
                             .group_by(Member.tier_id)).all())
    return [tier_out(t, counts.get(t.id, 0)) for t in tiers]


def _get(db: Session, actor: Actor, tier_id: uuid.UUID) -> MemberTier:
    t = db.get(MemberTier, (actor.tenant_id, tier_id))
    if t is None:
        raise NotFound(N_("Tier not found."))
    return t


def _check(t: MemberTier) -> None:
    errors = []
    if t.rule == "spend" and not t.is_default and t.threshold_spend_fen <= 0:
        errors.append(FieldError("threshold_spend_fen", N_("Give the spend needed to reach this tier."), {},
                                 "required"))
    if t.rule == "visits" and not t.is_default and t.threshold_visits <= 0:
        errors.append(FieldError("threshold_visits", N_("Give the number of visits needed."), {}, "required"))
    if errors:
        raise Invalid(errors=errors)


def _single_default(db: Session, actor: Actor, t: MemberTier) -> None:
    if t.is_default:
        for other in db.scalars(select(MemberTier).where(MemberTier.tenant_id == actor.tenant_id,
                                                         MemberTier.id != t.id, MemberTier.is_default.is_(True))):
            other.is_default = False


@use_case
def create_tier(db: Session, actor: Actor, data: TierIn) -> TierOut:
    actor.require("settings.manage")
    if db.scalar(select(MemberTier.id).where(MemberTier.tenant_id == actor.tenant_id, MemberTier.code == data.code)):
        raise Conflict(N_("A tier with this code exists."), code="duplicate_tier",
                       errors=[FieldError("code", N_("Already taken."), {}, "duplicate")])
    t = MemberTier(tenant_id=actor.tenant_id, **data.model_dump())
    _check(t)
    if t.birthday_coupon_template_id:
        coupons.check_template(db, actor, t.birthday_coupon_template_id, "birthday_coupon_template_id")
    db.add(t)
    db.flush()
    _single_default(db, actor, t)
    audit.record(db, actor, "member.tier.create", target_type="member_tier", target_id=t.id, target_label=t.name,
                 after=_snapshot(t))
    return tier_out(t)


@use_case
def update_tier(db: Session, actor: Actor, tier_id: uuid.UUID, data: TierPatch) -> TierOut:
    actor.require("settings.manage")
    t = _get(db, actor, tier_id)
    before = _snapshot(t)
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is None and key != "birthday_coupon_template_id":
            continue
        setattr(t, key, value)
    _check(t)
    new_template = data.birthday_coupon_template_id
    if new_template and str(new_template) != before.get("birthday_coupon_template_id"):
        coupons.check_template(db, actor, new_template, "birthday_coupon_template_id")
    _single_default(db, actor, t)
    b, a = audit.diff(before, _snapshot(t))
    audit.record(db, actor, "member.tier.update", target_type="member_tier", target_id=t.id, target_label=t.name,
                 before=b, after=a)
    return tier_out(t)


@use_case
def delete_tier(db: Session, actor: Actor, tier_id: uuid.UUID) -> None:
    actor.require("settings.manage")
    t = _get(db, actor, tier_id)
    if db.scalar(select(func.count()).where(Member.tenant_id == actor.tenant_id, Member.tier_id == t.id)):
        raise Conflict(N_("Members hold this tier; move them first."), code="tier_in_use")
    audit.record(db, actor, "member.tier.delete", target_type="member_tier", target_id=t.id, target_label=t.name,
                 before=_snapshot(t))
    db.delete(t)


def _rules(tiers: Iterable[MemberTier]) -> list[domain.TierRule]:
    return [domain.TierRule(id=str(t.id), rank=t.rank, rule=t.rule, threshold_spend_fen=t.threshold_spend_fen,
                            threshold_visits=t.threshold_visits, period_days=t.period_days, is_default=t.is_default)
            for t in tiers]


def _window_stats(db: Session, tenant_id: uuid.UUID, member_ids: list[uuid.UUID], days: int
                  ) -> dict[uuid.UUID, domain.Stats]:
    since = clock.now() - timedelta(days=days)
    rows = db.execute(select(MemberSale.member_id, func.count(), func.coalesce(func.sum(MemberSale.paid_fen), 0)
                             - func.coalesce(func.sum(MemberSale.refunded_fen), 0))
                      .where(MemberSale.tenant_id == tenant_id, MemberSale.member_id.in_(member_ids),
                             MemberSale.occurred_at >= since)
                      .group_by(MemberSale.member_id)).all()
    return {mid: domain.Stats(spend_fen=int(spend), visits=int(n)) for mid, n, spend in rows}


def stats_for(db: Session, tenant_id: uuid.UUID, members: list[Member], tiers: list[MemberTier],
              pending: domain.Stats | None = None) -> dict[uuid.UUID, dict[int, domain.Stats]]:
    """All-time figures (key 0, from `member_stats`, plus `pending`: the sale being recorded, whose document
    reaches the rollup later in the same transaction) and per tier period (from loyalty's own sale rows)."""
    ids = [m.id for m in members]
    all_time = stats.totals(db, tenant_id, ids)
    extra = pending or domain.Stats()
    out: dict[uuid.UUID, dict[int, domain.Stats]] = {}
    for mid in ids:
        s = all_time.get(mid, domain.Stats())
        out[mid] = {0: domain.Stats(spend_fen=s.spend_fen + extra.spend_fen, visits=s.visits + extra.visits)}
    for days in sorted({t.period_days for t in tiers if t.period_days > 0}):
        window = _window_stats(db, tenant_id, ids, days)
        for mid in ids:
            out[mid][days] = window.get(mid, domain.Stats())
    return out


def evaluate_member(db: Session, actor: Actor, m: Member, *, allow_downgrade: bool,
                    tiers: list[MemberTier] | None = None, pending: domain.Stats | None = None) -> bool:
    """Move the member to the tier their figures (+ `pending`) earn, inside the caller's transaction.
    True if changed."""
    tiers = tiers if tiers is not None else ensure_tiers(db, actor)
    if not tiers or m.status != "active":
        return False
    figures = stats_for(db, actor.tenant_id, [m], tiers, pending)[m.id]
    target = domain.next_tier(_rules(tiers), str(m.tier_id) if m.tier_id else None, m.tier_locked, figures,
                              allow_downgrade)
    new_id = uuid.UUID(target) if target else None
    if new_id == m.tier_id:
        return False
    by_id = {t.id: t for t in tiers}
    old = by_id.get(m.tier_id) if m.tier_id else None
    m.tier_id = new_id
    stats.set_tier(db, actor.tenant_id, m.id, new_id)
    audit.record(db, actor, "member.tier.change", target_type="member", target_id=m.id, target_label=m.card_no,
                 before={"tier": old.code if old else None},
                 after={"tier": by_id[new_id].code if new_id else None, "auto": True})
    return True


def evaluate_all(db: Session, actor: Actor, batch: int = 500) -> int:
    """The periodic re-evaluation (upgrades and downgrades); commits per batch. Returns members moved."""
    tiers = ensure_tiers(db, actor)
    db.commit()
    moved, last = 0, uuid.UUID(int=0)
    while True:
        members = list(db.scalars(select(Member).where(Member.tenant_id == actor.tenant_id, Member.id > last,
                                                       Member.status == "active", Member.tier_locked.is_(False))
                                  .order_by(Member.id).limit(batch)))
        if not members:
            return moved
        figures = stats_for(db, actor.tenant_id, members, tiers)
        rules = _rules(tiers)
        by_id = {t.id: t for t in tiers}
        for m in members:
            target = domain.next_tier(rules, str(m.tier_id) if m.tier_id else None, False, figures[m.id], True)
            new_id = uuid.UUID(target) if target else None
            if new_id != m.tier_id:
                old = by_id.get(m.tier_id) if m.tier_id else None
                m.tier_id = new_id
                stats.set_tier(db, actor.tenant_id, m.id, new_id)
                moved += 1
                audit.record(db, actor, "member.tier.change", target_type="member", target_id=m.id,
                             target_label=m.card_no, before={"tier": old.code if old else None},
                             after={"tier": by_id[new_id].code if new_id else None, "job": "evaluate-tiers"})
        db.commit()
        last = members[-1].id


@dataclass(frozen=True)
class PricingContext:
    """What the price engine needs to know about the customer (mirrors pricing.engine.model.Customer)."""

    member_id: uuid.UUID | None
    tier_id: uuid.UUID | None
    tier_code: str
    tier_discount_bp: int  # 500 = 5 % off (9.5折)
    member_prices: bool
    points_multiplier_bp: int
    birthday_today: bool
    birthday_month: bool
    is_member: bool
    points_balance: int = 0
    stored_value_balance: int = 0


NO_MEMBER = PricingContext(None, None, "", 0, False, 10_000, False, False, False)


def pricing_context(db: Session, actor: Actor, member_id: uuid.UUID | None) -> PricingContext:
    if member_id is None:
        return NO_MEMBER
    m = program.get_member(db, actor, member_id)
    if m.status != "active":
        return NO_MEMBER
    t = db.get(MemberTier, (actor.tenant_id, m.tier_id)) if m.tier_id else None
    day = program.today()
    return PricingContext(
        member_id=m.id, tier_id=m.tier_id, tier_code=t.code if t else "",
        tier_discount_bp=t.discount_bp if t else 0, member_prices=bool(t.member_prices) if t else True,
        points_multiplier_bp=t.points_multiplier_bp if t else 10_000,
        birthday_today=domain.is_birthday(m.birthday, day), birthday_month=domain.in_birthday_month(m.birthday, day),
        is_member=True, points_balance=m.points_balance, stored_value_balance=m.stored_value_balance)
