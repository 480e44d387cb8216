"""The per-member rollup (`member_stats`) and the daily figures (`member_daily`): kept in the transaction of
every sales document that names a member, and rebuilt from the sales for repair.

The sales module calls `on_sales_document` (registered with its in-transaction hooks) for each sale, refund
and void: a sale adds a visit and its total and moves first/last visit; a refund takes its amount off the
spend; a void also takes the visit back. All changes are relative UPDATEs of one row, so parallel terminals
never lose an update. `rebuild` recomputes every member's row from `sales.service.member_totals` (the nightly
job / `cloudpos members rebuild-stats`) and reports how many rows it had to repair.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.members import domain, program
from cloudpos.members.models import Member, MemberDaily, MemberStats


def create(db: Session, tenant_id: uuid.UUID, member_id: uuid.UUID, tier_id: uuid.UUID | None) -> None:
    """A new member's (empty) row, in the registration's transaction."""
    db.execute(insert(MemberStats).values(tenant_id=tenant_id, member_id=member_id, tier_id=tier_id, visits=0,
                                          spend_fen=0))


def remove(db: Session, tenant_id: uuid.UUID, member_id: uuid.UUID) -> None:
    """An erased member leaves the analytics (their anonymized sales stay in the sales module)."""
    db.execute(delete(MemberStats).where(MemberStats.tenant_id == tenant_id, MemberStats.member_id == member_id))


def set_tier(db: Session, tenant_id: uuid.UUID, member_id: uuid.UUID, tier_id: uuid.UUID | None) -> None:
    db.execute(update(MemberStats).where(MemberStats.tenant_id == tenant_id, MemberStats.member_id == member_id)
               .values(tier_id=tier_id).execution_options(synchronize_session=False))


def of(db: Session, tenant_id: uuid.UUID, member_id: uuid.UUID) -> MemberStats | None:
    return db.execute(select(MemberStats).where(MemberStats.tenant_id == tenant_id,
                                                MemberStats.member_id == member_id)
                      .execution_options(populate_existing=True)).scalar_one_or_none()


def totals(db: Session, tenant_id: uuid.UUID, member_ids: list[uuid.UUID]) -> dict[uuid.UUID, domain.Stats]:
    """All-time visits and spend of these members (absent → zero)."""
    if not member_ids:
        return {}
    rows = db.execute(select(MemberStats.member_id, MemberStats.visits, MemberStats.spend_fen)
                      .where(MemberStats.tenant_id == tenant_id, MemberStats.member_id.in_(member_ids))).all()
    return {mid: domain.Stats(spend_fen=int(spend), visits=int(visits)) for mid, visits, spend in rows}


def daily(db: Session, tenant_id: uuid.UUID, day: Any, **inc: int) -> None:
    """Add to the tenant's daily member figures (upsert, safe under concurrency)."""
    ins = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = ins(MemberDaily).values(tenant_id=tenant_id, day=day, **{k: inc.get(k, 0) for k in
                                                                   ("new_members", "active_members", "visits",
                                                                    "spend_fen")})
    stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "day"], set_={
        k: getattr(MemberDaily, k) + getattr(stmt.excluded, k) for k in inc})
    db.execute(stmt)


def _apply(db: Session, tenant_id: uuid.UUID, member_id: uuid.UUID, *, visits: int, spend_fen: int,
           at: datetime | None) -> int:
    values: dict[Any, Any] = {MemberStats.visits: MemberStats.visits + visits,
                              MemberStats.spend_fen: MemberStats.spend_fen + spend_fen}
    if at is not None:
        at = literal(at, MemberStats.last_visit_at.type)
        values[MemberStats.last_visit_at] = case(
            (MemberStats.last_visit_at.is_(None) | (MemberStats.last_visit_at < at), at),
            else_=MemberStats.last_visit_at)
        values[MemberStats.first_visit_at] = case(
            (MemberStats.first_visit_at.is_(None) | (MemberStats.first_visit_at > at), at),
            else_=MemberStats.first_visit_at)
    return db.execute(update(MemberStats).where(MemberStats.tenant_id == tenant_id,
                                                MemberStats.member_id == member_id)
                      .values(values).execution_options(synchronize_session=False)).rowcount or 0


def on_sales_document(kind: str, db: Session, actor: Actor, doc: Any) -> None:
    """The sales module's in-transaction hook: a sale, refund or void that names a member."""
    member_id = getattr(doc, "member_id", None)
    if member_id is None or kind not in ("sale", "refund", "void"):
        return
    tenant_id, total, day = actor.tenant_id, int(doc.total), doc.business_day
    if kind == "sale":
        at = doc.created_at
        last = db.execute(select(MemberStats.last_visit_at).where(
            MemberStats.tenant_id == tenant_id, MemberStats.member_id == member_id)).one_or_none()
        if last is None:  # a member from before the rollup (or an import): give them their row first
            tier = db.scalar(select(Member.tier_id).where(Member.tenant_id == tenant_id, Member.id == member_id))
            create(db, tenant_id, member_id, tier)
        first_today = last is None or last[0] is None or program.today(last[0]) != program.today(at)
        _apply(db, tenant_id, member_id, visits=1, spend_fen=total, at=at)
        daily(db, tenant_id, day, visits=1, spend_fen=total, active_members=int(first_today))
    else:
        _apply(db, tenant_id, member_id, visits=-1 if kind == "void" else 0, spend_fen=total, at=None)
        daily(db, tenant_id, day, visits=-1 if kind == "void" else 0, spend_fen=total)


def rebuild(db: Session, actor: Actor, batch: int = 2000) -> dict[str, int]:
    """Recompute every active member's row from their sales documents; commits per batch.

    Rows are created for members that lack one, removed for erased members, and a row whose figures or tier
    differ from the recomputation is corrected. Returns {"members": n, "repaired": m}."""
    from cloudpos.sales import service as sales

    tenant_id = actor.tenant_id
    removed = db.execute(delete(MemberStats).where(
        MemberStats.tenant_id == tenant_id,
        ~select(Member.id).where(Member.tenant_id == tenant_id, Member.id == MemberStats.member_id,
                                 Member.status == "active").exists())
        .execution_options(synchronize_session=False)).rowcount or 0
    db.commit()
    members = repaired = 0
    last = uuid.UUID(int=0)
    while True:
        rows = db.execute(select(Member.id, Member.tier_id, MemberStats.member_id, MemberStats.tier_id,
                                 MemberStats.visits, MemberStats.spend_fen, MemberStats.first_visit_at,
                                 MemberStats.last_visit_at)
                          .outerjoin(MemberStats, and_(MemberStats.tenant_id == Member.tenant_id,
                                                       MemberStats.member_id == Member.id))
                          .where(Member.tenant_id == tenant_id, Member.status == "active", Member.id > last)
                          .order_by(Member.id).limit(batch)).all()
        if not rows:
            break
        truth = sales.member_totals(db, tenant_id, [r[0] for r in rows])
        for mid, tier_id, has_row, s_tier, visits, spend, first, last_at in rows:
            t = truth.get(mid)
            want = (tier_id, t.visits if t else 0, t.spend_fen if t else 0, t.first_visit_at if t else None,
                    t.last_visit_at if t else None)
            if has_row is None:
                db.execute(insert(MemberStats).values(tenant_id=tenant_id, member_id=mid, tier_id=want[0],
                                                      visits=want[1], spend_fen=want[2], first_visit_at=want[3],
                                                      last_visit_at=want[4]))
                repaired += 1
            elif (s_tier, visits, spend, first, last_at) != want:
                db.execute(update(MemberStats).where(MemberStats.tenant_id == tenant_id,
                                                     MemberStats.member_id == mid)
                           .values(tier_id=want[0], visits=want[1], spend_fen=want[2], first_visit_at=want[3],
                                   last_visit_at=want[4]).execution_options(synchronize_session=False))
                repaired += 1
        members += len(rows)
        db.commit()
        last = rows[-1][0]
    if repaired or removed:
        audit.record(db, actor, "member.stats.rebuild", target_type="member_program", target_id=tenant_id,
                     target_label="member_stats", details={"members": members, "repaired": repaired,
                                                          "removed": removed})
        db.commit()
    return {"members": members, "repaired": repaired + removed}
