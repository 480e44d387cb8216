"""Segments: saved member filters (tier, last visit, birthday month, spend, category bought, RFM class)
with a live count. Filters compile to one WHERE clause over the member row; filters on visits, spend and last
visit become one indexed sub-select of the `member_stats` rollup."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound
from cloudpos.i18n import N_
from cloudpos.members import domain, program
from cloudpos.members.models import Campaign, Member, MemberStats, Segment
from cloudpos.members.schemas import SegmentFilters, SegmentIn, SegmentOut

# The sales module registers: fn(db, tenant_id, category_ids) -> a SELECT of member ids who bought in them.
CategoryHook = Callable[[Session, uuid.UUID, list[str]], Any]
_category_hook: CategoryHook | None = None


def register_category_hook(fn: CategoryHook | None) -> None:
    """Let the sales module answer "which members bought category Y" (absent: the filter is ignored)."""
    global _category_hook
    _category_hook = fn


def rfm_thresholds(db: Session, tenant_id: uuid.UUID) -> domain.RfmThresholds:
    s = program.settings(db, tenant_id)
    return domain.RfmThresholds(recent_days=s.rfm_recent_days, frequent_visits=s.rfm_frequent_visits,
                                monetary_fen=s.rfm_monetary_fen)


def rfm_conditions(t: domain.RfmThresholds) -> tuple[Any, Any, Any]:
    """SQL for the three RFM flags, mirroring domain.rfm_flags."""
    since = clock.now() - timedelta(days=t.recent_days)
    return (MemberStats.last_visit_at >= since, MemberStats.visits >= t.frequent_visits,
            MemberStats.spend_fen >= t.monetary_fen)


def bought() -> Any:
    return and_(MemberStats.visits > 0, MemberStats.last_visit_at.is_not(None))


def rfm_class_condition(code: str, t: domain.RfmThresholds) -> Any:
    if code == "none":
        return or_(MemberStats.visits <= 0, MemberStats.last_visit_at.is_(None))
    flags = next((f for f, c in domain._RFM_BY_FLAGS.items() if c == code), None)
    if flags is None:
        return false()
    conds = rfm_conditions(t)
    return and_(bought(), *[(c if want else ~c) for c, want in zip(conds, flags, strict=True)])


def _parts(db: Session, tenant_id: uuid.UUID, f: SegmentFilters) -> tuple[list[Any], list[Any]]:
    """(conditions on the member row, conditions on its `member_stats` row); the tier filter is in neither."""
    now = clock.now()
    person: list[Any] = []
    rollup: list[Any] = []
    if f.last_visit_older_than_days is not None:
        rollup.append(or_(MemberStats.last_visit_at.is_(None),
                          MemberStats.last_visit_at < now - timedelta(days=f.last_visit_older_than_days)))
    if f.last_visit_within_days is not None:
        rollup.append(MemberStats.last_visit_at >= now - timedelta(days=f.last_visit_within_days))
    if f.birthday_this_month:
        person.append(Member.birth_month == program.today().month)
    if f.min_spend_fen is not None:
        rollup.append(MemberStats.spend_fen >= f.min_spend_fen)
    if f.max_spend_fen is not None:
        rollup.append(MemberStats.spend_fen <= f.max_spend_fen)
    if f.min_visits is not None:
        rollup.append(MemberStats.visits >= f.min_visits)
    if f.marketing_consent is not None:
        person.append(Member.marketing_consent_at.is_not(None) if f.marketing_consent
                      else Member.marketing_consent_at.is_(None))
    if f.rfm_classes:
        t = rfm_thresholds(db, tenant_id)
        unknown = [c for c in f.rfm_classes if c not in domain.RFM_CLASSES]
        if unknown:
            raise Invalid(errors=[FieldError("filters.rfm_classes", N_("Unknown RFM class: %(code)s"),
                                             {"code": unknown[0]}, "unknown")])
        rollup.append(or_(*[rfm_class_condition(c, t) for c in f.rfm_classes]))
    if f.bought_category_ids and _category_hook is not None:
        person.append(Member.id.in_(_category_hook(db, tenant_id, list(f.bought_category_ids))))
    return person, rollup


def where(db: Session, tenant_id: uuid.UUID, f: SegmentFilters) -> list[Any]:
    """The segment as conditions on `members` (the rollup's as one indexed sub-select)."""
    person, rollup = _parts(db, tenant_id, f)
    conds: list[Any] = [Member.tenant_id == tenant_id, Member.status == "active", *person]
    if f.tier_ids:
        conds.append(Member.tier_id.in_(f.tier_ids))
    if rollup:
        conds.append(Member.id.in_(select(MemberStats.member_id).where(MemberStats.tenant_id == tenant_id, *rollup)))
    return conds


def _count(db: Session, tenant_id: uuid.UUID, f: SegmentFilters) -> int:
    person, rollup = _parts(db, tenant_id, f)
    if rollup and not person:  # only figures (and tier): the rollup alone answers — one row per active member
        tier = [MemberStats.tier_id.in_(f.tier_ids)] if f.tier_ids else []
        return db.scalar(select(func.count()).select_from(MemberStats)
                         .where(MemberStats.tenant_id == tenant_id, *rollup, *tier)) or 0
    return db.scalar(select(func.count()).select_from(Member).where(*where(db, tenant_id, f))) or 0


def count(db: Session, actor: Actor, f: SegmentFilters) -> int:
    actor.require("member.view")
    return _count(db, actor.tenant_id, f)


def member_ids(db: Session, tenant_id: uuid.UUID, f: SegmentFilters, batch: int = 500) -> Iterator[list[uuid.UUID]]:
    """The segment's members, in id order, a batch at a time (keyset pagination: fine at 1M members)."""
    last = uuid.UUID(int=0)
    conds = where(db, tenant_id, f)
    while True:
        ids = list(db.scalars(select(Member.id).where(*conds, Member.id > last).order_by(Member.id).limit(batch)))
        if not ids:
            return
        yield ids
        last = ids[-1]


def segment_out(db: Session, s: Segment) -> SegmentOut:
    f = SegmentFilters.model_validate(s.filters or {})
    n = _count(db, s.tenant_id, f)
    return SegmentOut(id=s.id, name=s.name, filters=f, member_count=n, created_at=s.created_at)


def list_segments(db: Session, actor: Actor) -> list[SegmentOut]:
    actor.require("member.view")
    return [segment_out(db, s) for s in db.scalars(select(Segment).where(Segment.tenant_id == actor.tenant_id)
                                                   .order_by(Segment.created_at))]


def get(db: Session, actor: Actor, segment_id: uuid.UUID) -> Segment:
    s = db.get(Segment, (actor.tenant_id, segment_id))
    if s is None:
        raise NotFound(N_("Segment not found."))
    return s


@use_case
def save(db: Session, actor: Actor, data: SegmentIn, segment_id: uuid.UUID | None = None) -> SegmentOut:
    actor.require("member.campaign")
    where(db, actor.tenant_id, data.filters)  # validates
    filters = data.filters.model_dump(mode="json")
    if segment_id is None:
        s = Segment(tenant_id=actor.tenant_id, name=data.name, filters=filters)
        db.add(s)
        db.flush()
        before = None
    else:
        s = get(db, actor, segment_id)
        before = {"name": s.name, "filters": s.filters}
        s.name, s.filters, s.updated_at = data.name, filters, clock.now()
    audit.record(db, actor, "member.segment.save", target_type="segment", target_id=s.id, target_label=s.name,
                 before=before, after={"name": s.name, "filters": filters})
    return segment_out(db, s)


@use_case
def delete(db: Session, actor: Actor, segment_id: uuid.UUID) -> None:
    actor.require("member.campaign")
    s = get(db, actor, segment_id)
    if db.scalar(select(Campaign.id).where(Campaign.tenant_id == actor.tenant_id, Campaign.segment_id == s.id)):
        raise Conflict(N_("A campaign uses this segment."), code="segment_in_use")
    audit.record(db, actor, "member.segment.delete", target_type="segment", target_id=s.id, target_label=s.name,
                 before={"name": s.name, "filters": s.filters})
    db.delete(s)
