"""Member analytics (会员数据分析), read from rollups only: `member_stats` (one narrow row per member: visits,
spend, first/last visit, tier) and `member_daily` (per day) — never from sale lines nor the wide member rows.

Each report is one aggregate over one index range of `member_stats`, answered from the index alone
(activity + repeat rate and RFM: (tenant, last_visit_at, visits, spend_fen); spend by tier: (tenant, tier_id,
spend_fen); top members: (tenant, spend_fen) backwards). Counting uses `count(*) FILTER (WHERE …)`, which
both SQLite and PostgreSQL evaluate far cheaper than SUM(CASE …). `bench/members_bench.py` times them at
1M members."""

from __future__ import annotations

import io
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.context import Actor
from cloudpos.members import domain, program, segments, stats
from cloudpos.members.models import (
    Member,
    MemberDaily,
    MemberSale,
    MemberStats,
    MemberTier,
    PointsEntry,
    StoredValueEntry,
)

# The sales module may register: fn(db, tenant_id, member_id, limit) -> [(category_name, amount_fen)].
FavoriteHook = Callable[[Session, uuid.UUID, uuid.UUID, int], list[tuple[str, int]]]
_favorites_hook: FavoriteHook | None = None


def register_favorites_hook(fn: FavoriteHook | None) -> None:
    global _favorites_hook
    _favorites_hook = fn


def member_stats(db: Session, actor: Actor, member_id: uuid.UUID) -> dict[str, Any]:
    """Per member: visits, spend, average ticket, last visit, favourite categories, ledger history by month."""
    actor.require("member.view")
    m = program.get_member(db, actor, member_id)
    row = stats.of(db, actor.tenant_id, m.id)
    visits, spend = (row.visits, row.spend_fen) if row else (0, 0)
    first_visit, last_visit = (row.first_visit_at, row.last_visit_at) if row else (None, None)
    avg = spend // visits if visits > 0 else 0
    if _favorites_hook is not None:
        favorites = _favorites_hook(db, actor.tenant_id, m.id, 5)
    else:  # from what checkout told us per sale (category id → amount)
        totals: Counter[str] = Counter()
        for by_cat in db.scalars(select(MemberSale.by_category).where(
                MemberSale.tenant_id == actor.tenant_id, MemberSale.member_id == m.id)
                .order_by(MemberSale.occurred_at.desc()).limit(500)):
            for k, v in (by_cat or {}).items():
                totals[k] += int(v)
        favorites = totals.most_common(5)
    since = clock.now() - timedelta(days=365)
    pts = db.execute(select(PointsEntry.occurred_at, PointsEntry.balance_after).where(
        PointsEntry.tenant_id == actor.tenant_id, PointsEntry.member_id == m.id, PointsEntry.occurred_at >= since)
        .order_by(PointsEntry.occurred_at, PointsEntry.id)).all()
    sv = db.execute(select(StoredValueEntry.occurred_at, StoredValueEntry.balance_after).where(
        StoredValueEntry.tenant_id == actor.tenant_id, StoredValueEntry.member_id == m.id,
        StoredValueEntry.occurred_at >= since).order_by(StoredValueEntry.occurred_at, StoredValueEntry.id)).all()
    days_since = (clock.now() - last_visit).days if last_visit else None
    return {
        "visits": visits, "spend_fen": spend, "average_ticket_fen": avg,
        "first_visit_at": first_visit, "last_visit_at": last_visit,
        "rfm": domain.rfm_class(days_since, visits, spend, segments.rfm_thresholds(db, actor.tenant_id)),
        "favorite_categories": [{"category": k, "amount_fen": v} for k, v in favorites],
        "points_history": [{"at": a.isoformat(), "balance": b} for a, b in pts],
        "stored_value_history": [{"at": a.isoformat(), "balance_fen": b} for a, b in sv],
    }


def new_members(db: Session, tenant_id: uuid.UUID, start: date, end: date, by: str = "day") -> list[dict[str, Any]]:
    rows = db.execute(select(MemberDaily.day, MemberDaily.new_members, MemberDaily.active_members,
                             MemberDaily.visits, MemberDaily.spend_fen)
                      .where(MemberDaily.tenant_id == tenant_id, MemberDaily.day >= start, MemberDaily.day <= end)
                      .order_by(MemberDaily.day)).all()
    out: dict[str, dict[str, int]] = {}
    for day, new, active, visits, spend in rows:
        key = day.strftime("%Y-%m") if by == "month" else day.isoformat()
        acc = out.setdefault(key, {"new_members": 0, "active_members": 0, "visits": 0, "spend_fen": 0})
        acc["new_members"] += new
        acc["active_members"] += active
        acc["visits"] += visits
        acc["spend_fen"] += spend
    return [{"period": k, **v} for k, v in out.items()]


def activity(db: Session, tenant_id: uuid.UUID, active_days: int) -> dict[str, int]:
    """活跃度: active (seen within N days), dormant (seen before), never bought; repeat rate among buyers."""
    since = clock.now() - timedelta(days=active_days)
    seen = MemberStats.last_visit_at
    row = db.execute(select(
        func.count(), func.count().filter(seen >= since), func.count().filter(seen < since),
        func.count().filter(MemberStats.visits >= 2), func.count().filter(MemberStats.visits >= 1),
    ).where(MemberStats.tenant_id == tenant_id)).one()
    total, active, dormant, repeat, buyers = (int(x or 0) for x in row)
    return {"total": total, "active": active, "dormant": dormant, "never": total - active - dormant,
            "repeat_buyers": repeat, "buyers": buyers,
            "repeat_rate_bp": repeat * 10_000 // buyers if buyers else 0}


def rfm(db: Session, tenant_id: uuid.UUID) -> dict[str, int]:
    """Members per RFM class: two range scans (recent / not recent) of the last-visit index counting, per
    range, buyers, frequent, high-spending and both — the eight classes follow by inclusion–exclusion."""
    t = segments.rfm_thresholds(db, tenant_id)
    since = clock.now() - timedelta(days=t.recent_days)
    v, spend, seen = MemberStats.visits, MemberStats.spend_fen, MemberStats.last_visit_at
    b = v > 0
    f, m = v >= max(t.frequent_visits, 1), spend >= t.monetary_fen

    def part(n: int, where: Any) -> Any:
        return select(literal(n), func.count(), func.count().filter(b), func.count().filter(b & f),
                      func.count().filter(b & m), func.count().filter(b & f & m)
                      ).where(MemberStats.tenant_id == tenant_id, where)

    rows = {int(r[0]): [int(x or 0) for x in r[1:]] for r in db.execute(
        union_all(part(1, seen >= since), part(0, seen < since), part(2, seen.is_(None))))}
    out = {code: 0 for code in domain.RFM_CLASSES}
    for recent in (True, False):
        total, buyers, freq, money, both = rows.get(int(recent), [0, 0, 0, 0, 0])
        counts = {(True, True): both, (True, False): freq - both, (False, True): money - both,
                  (False, False): buyers - freq - money + both}
        for (ff, mm), n in counts.items():
            out[domain.rfm_code_for_flags(recent, ff, mm)] += n
        out["none"] += total - buyers
    out["none"] += rows.get(2, [0])[0]
    return out


def spend_by_tier(db: Session, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    names = {t.id: t.name for t in db.scalars(select(MemberTier).where(MemberTier.tenant_id == tenant_id))}
    rows = db.execute(select(MemberStats.tier_id, func.count(), func.coalesce(func.sum(MemberStats.spend_fen), 0))
                      .where(MemberStats.tenant_id == tenant_id).group_by(MemberStats.tier_id)).all()
    return [{"tier": names.get(tid, "-"), "members": int(n), "spend_fen": int(s)} for tid, n, s in rows]


def top_members(db: Session, actor: Actor, limit: int = 20) -> list[dict[str, Any]]:
    top = db.execute(select(MemberStats.member_id, MemberStats.visits, MemberStats.spend_fen,
                            MemberStats.last_visit_at)
                     .where(MemberStats.tenant_id == actor.tenant_id)
                     .order_by(MemberStats.spend_fen.desc()).limit(limit)).all()
    people = {m.id: m for m in db.scalars(select(Member).where(Member.tenant_id == actor.tenant_id,
                                                              Member.id.in_([r[0] for r in top])))}
    return [{"id": str(mid), "card_no": people[mid].card_no, "name": people[mid].name,
             "phone": domain.mask_phone(people[mid].phone), "visits": visits, "spend_fen": spend,
             "last_visit_at": last.isoformat() if last else None}
            for mid, visits, spend, last in top if mid in people]


def overview(db: Session, actor: Actor, days: int = 30) -> dict[str, Any]:
    actor.require("report.view")
    end = program.today()
    start = end - timedelta(days=days - 1)
    s = program.settings(db, actor.tenant_id)
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "daily": new_members(db, actor.tenant_id, start, end),
        "monthly": new_members(db, actor.tenant_id, end.replace(day=1) - timedelta(days=334), end, by="month"),
        "activity": activity(db, actor.tenant_id, s.active_days),
        "rfm": rfm(db, actor.tenant_id),
        "spend_by_tier": spend_by_tier(db, actor.tenant_id),
        "top_members": top_members(db, actor),
    }


def export_xlsx(db: Session, actor: Actor, days: int = 30) -> bytes:
    from openpyxl import Workbook

    data = overview(db, actor, days)
    wb = Workbook()
    ws = wb.active
    ws.title = "daily"
    ws.append(["day", "new_members", "active_members", "visits", "spend_fen"])
    for r in data["daily"]:
        ws.append([r["period"], r["new_members"], r["active_members"], r["visits"], r["spend_fen"]])
    ws = wb.create_sheet("activity")
    for k, v in data["activity"].items():
        ws.append([k, v])
    ws = wb.create_sheet("rfm")
    for k, v in data["rfm"].items():
        ws.append([k, domain.RFM_CLASSES[k], v])
    ws = wb.create_sheet("tiers")
    ws.append(["tier", "members", "spend_fen"])
    for r in data["spend_by_tier"]:
        ws.append([r["tier"], r["members"], r["spend_fen"]])
    ws = wb.create_sheet("top")
    ws.append(["card_no", "name", "phone", "visits", "spend_fen", "last_visit_at"])
    for r in data["top_members"]:
        ws.append([r["card_no"], r["name"], r["phone"], r["visits"], r["spend_fen"], r["last_visit_at"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
