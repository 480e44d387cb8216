"""What each member's sales documents add up to — the source of truth the members module's rollup
(`member_stats`) is rebuilt from. Read-only; one indexed query per batch of members."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from cloudpos.sales.models import Sale


@dataclass(frozen=True)
class MemberTotals:
    visits: int  # sales − voids
    spend_fen: int  # Σ totals of sales, refunds and voids (the last two are negative)
    first_visit_at: datetime | None  # first / last sale (a voided sale keeps its date)
    last_visit_at: datetime | None


def member_totals(db: Session, tenant_id: uuid.UUID, member_ids: list[uuid.UUID]) -> dict[uuid.UUID, MemberTotals]:
    """Totals of the given members' sales documents (members without any are absent)."""
    if not member_ids:
        return {}
    is_sale = Sale.kind == "sale"
    rows = db.execute(select(
        Sale.member_id,
        func.sum(case((is_sale, 1), (Sale.kind == "void", -1), else_=0)),
        func.sum(Sale.total),
        func.min(case((is_sale, Sale.created_at))),
        func.max(case((is_sale, Sale.created_at))),
    ).where(Sale.tenant_id == tenant_id, Sale.member_id.in_(member_ids)).group_by(Sale.member_id)).all()
    return {mid: MemberTotals(int(visits or 0), int(spend or 0), first, last)
            for mid, visits, spend, first, last in rows}
