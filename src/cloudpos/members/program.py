"""Shared pieces of the members services: the loyalty programme settings, loading a member, its JSON,
and the atomic balance update every ledger goes through."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, NotFound
from cloudpos.i18n import N_
from cloudpos.members import domain
from cloudpos.members.models import Member, MemberProgram, MemberStats, MemberTier
from cloudpos.members.schemas import MemberDetail, MemberOut, ProgramPatch, ProgramSettings, TierRef

TZ = ZoneInfo("Asia/Shanghai")
ERASED_NAME = "已注销会员"


def today(at: datetime | None = None) -> date:
    """The business day (Asia/Shanghai) of `at` (default now)."""
    return (at or clock.now()).astimezone(TZ).date()


def settings(db: Session, tenant_id: uuid.UUID) -> ProgramSettings:
    row = db.get(MemberProgram, tenant_id)
    return ProgramSettings.model_validate(row.settings or {}) if row else ProgramSettings()


def _audit_view(s: ProgramSettings) -> dict[str, Any]:
    data = s.model_dump(mode="json")
    data["smtp_password"] = "***" if data.get("smtp_password") else ""
    return data


@use_case
def update_settings(db: Session, actor: Actor, patch: ProgramPatch) -> ProgramSettings:
    actor.require("settings.manage")
    row = db.get(MemberProgram, actor.tenant_id)
    if row is None:
        row = MemberProgram(tenant_id=actor.tenant_id, settings={})
        db.add(row)
    current = ProgramSettings.model_validate(row.settings or {})
    before = _audit_view(current)
    changes = patch.model_dump(exclude_unset=True)
    for key in ("registration_coupon_template_id", "birthday_coupon_template_id", "visit_coupon_template_id"):
        if changes.get(key) and changes[key] != getattr(current, key):
            from cloudpos.members import coupons

            coupons.check_template(db, actor, changes[key], key)
    merged = ProgramSettings.model_validate({**current.model_dump(mode="json"),
                                             **{k: v for k, v in patch.model_dump(mode="json").items()
                                                if k in changes}})
    row.settings = merged.model_dump(mode="json")
    row.updated_at = clock.now()
    b, a = audit.diff(before, _audit_view(merged))
    audit.record(db, actor, "member.settings.update", target_type="member_program", target_id=actor.tenant_id,
                 target_label="members", before=b, after=a)
    return merged


def get_member(db: Session, actor: Actor, member_id: uuid.UUID, *, lock: bool = False) -> Member:
    stmt = select(Member).where(Member.tenant_id == actor.tenant_id, Member.id == member_id)
    if lock:
        stmt = stmt.with_for_update()
    m = db.scalar(stmt.execution_options(populate_existing=True))
    if m is None:
        raise NotFound(N_("Member not found."))
    return m


def tiers_by_id(db: Session, tenant_id: uuid.UUID) -> dict[uuid.UUID, MemberTier]:
    return {t.id: t for t in db.scalars(select(MemberTier).where(MemberTier.tenant_id == tenant_id))}


def tier_ref(t: MemberTier | None) -> TierRef | None:
    return TierRef(id=t.id, code=t.code, name=t.name) if t else None


def member_out(m: Member, tiers: dict[uuid.UUID, MemberTier], pii: bool) -> MemberOut:
    return MemberOut(
        id=m.id, card_no=m.card_no, name=m.name,
        phone=domain.national_phone(m.phone) if pii else domain.mask_phone(m.phone),
        tier=tier_ref(tiers.get(m.tier_id)) if m.tier_id else None,
        points_balance=m.points_balance, stored_value_balance=m.stored_value_balance,
        birthday=m.birthday if pii else None, created_at=m.created_at)


def member_detail(m: Member, tiers: dict[uuid.UUID, MemberTier], pii: bool,
                  stats: MemberStats | None = None) -> MemberDetail:
    """The profile; visits, spend and first/last visit come from the member's rollup row (`stats.of`)."""
    base = member_out(m, tiers, pii).model_dump()
    return MemberDetail(
        **base, email=(m.email or "") if pii else domain.mask_email(m.email), gender=m.gender, status=m.status,
        channel=m.channel, visit_count=stats.visits if stats else 0, total_spend_fen=stats.spend_fen if stats else 0,
        first_visit_at=stats.first_visit_at if stats else None, last_visit_at=stats.last_visit_at if stats else None,
        sv_principal_fen=m.sv_principal_fen,
        sv_bonus_fen=m.sv_bonus_fen, has_pin=m.pin_hash is not None, privacy_consent_at=m.privacy_consent_at,
        marketing_consent_at=m.marketing_consent_at, tier_locked=m.tier_locked, pii_visible=pii)


def audit_pii_view(db: Session, actor: Actor, members: list[Member], how: str) -> None:
    """Every view of full personal data is audited (one event per request)."""
    shown = [m for m in members if m.status == "active"]
    if not shown:
        return
    first = shown[0]
    audit.record(db, actor, "member.pii.view", target_type="member", target_id=first.id,
                 target_label=first.card_no,
                 details={"via": how, "count": len(shown), "member_ids": [str(m.id) for m in shown[:100]]})


def bump(db: Session, tenant_id: uuid.UUID, member_id: uuid.UUID, *, guard: Any = None,
         **deltas: int) -> dict[str, int] | None:
    """One relative UPDATE of cached balances/rollups (`col = col + delta`), returning the new values,
    or None when the member is missing or `guard` (an extra WHERE clause) does not hold."""
    cols = {name: getattr(Member, name) for name in deltas}
    stmt = (update(Member)
            .where(Member.tenant_id == tenant_id, Member.id == member_id)
            .values({col: col + deltas[name] for name, col in cols.items()} | {Member.updated_at: clock.now()})
            .returning(*cols.values())
            .execution_options(synchronize_session=False))
    if guard is not None:
        stmt = stmt.where(guard)
    row = db.execute(stmt).one_or_none()
    if row is None:
        return None
    return dict(zip(cols, row, strict=True))


def require_active(m: Member) -> None:
    if m.status != "active":
        raise Conflict(N_("This membership was closed (personal data erased)."), code="member_erased")
