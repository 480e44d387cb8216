"""Per-member usage of promotions (每位会员限用 N 次): an append-only ledger of uses and give-backs.

Only promotions with a per-member limit are counted. A quote loads the member's counts for those
(`counts`) and the engine holds back the ones whose limit is reached, saying why. Checkout calls
`record_sale` inside the sale's transaction: it locks the member's counts, checks again (another
till may have sold to the same member meanwhile → 409, price again) and writes one `use` row per
limited promotion the sale applied. A full refund or void calls `give_back`, which writes the
matching `give_back` rows; rows are never updated or deleted.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.context import Actor
from cloudpos.errors import Conflict
from cloudpos.i18n import N_
from cloudpos.ids import uuid7
from cloudpos.pricing.models import PromotionUse

if TYPE_CHECKING:
    from cloudpos.pricing.quoting import Priced


def counts(db: Session, tenant_id: uuid.UUID, member_id: uuid.UUID, promotion_ids: Iterable[str]) -> dict[str, int]:
    """Uses of each promotion by this member, net of give-backs (promotions never used are absent)."""
    wanted = [uuid.UUID(p) for p in promotion_ids]
    if not wanted:
        return {}
    rows = db.execute(select(PromotionUse.promotion_id, func.sum(PromotionUse.delta))
                      .where(PromotionUse.tenant_id == tenant_id, PromotionUse.member_id == member_id,
                             PromotionUse.promotion_id.in_(wanted))
                      .group_by(PromotionUse.promotion_id)).all()
    return {str(pid): int(n) for pid, n in rows if n}


def _lock_member(db: Session, tenant_id: uuid.UUID, member_id: uuid.UUID) -> None:
    """Serialize the recording of one member's uses until the transaction ends. PostgreSQL: a
    transaction-level advisory lock (read committed would let two tills both see "1 of 2 used").
    SQLite: writers already hold the database lock from BEGIN IMMEDIATE."""
    if db.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"cloudpos.promotion_uses:{tenant_id}:{member_id}".encode()).digest()
    db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int.from_bytes(digest[:8], "big", signed=True)})


def record_sale(db: Session, actor: Actor, priced: Priced, sale_id: uuid.UUID) -> int:
    """Write a use of every per-member-limited promotion the sale applied for its member (in the
    sale's transaction). A limit reached meanwhile → Conflict (nothing of the sale is kept)."""
    member = priced.member
    if member is None or not getattr(member, "is_member", False) or not priced.member_limits:
        return 0
    used = {a.promotion_id: a.name for a in priced.result.applied_promotions if a.promotion_id in priced.member_limits}
    if not used:
        return 0
    member_id = member.member_id
    _lock_member(db, actor.tenant_id, member_id)
    so_far = counts(db, actor.tenant_id, member_id, used)
    for promotion_id, name in sorted(used.items()):
        limit = priced.member_limits[promotion_id]
        if so_far.get(promotion_id, 0) >= limit:
            raise Conflict(N_("This member has already used the promotion %(name)s %(n)s times, its limit per "
                              "member: price the cart again."), code="promotion_limit_reached",
                           params={"name": name, "n": limit}, extra={"promotion_id": promotion_id})
    now = clock.now()
    db.execute(insert(PromotionUse), [
        {"tenant_id": actor.tenant_id, "id": uuid7(), "promotion_id": uuid.UUID(promotion_id), "member_id": member_id,
         "sale_id": sale_id, "document_id": sale_id, "kind": "use", "delta": 1, "created_at": now}
        for promotion_id in sorted(used)])
    return len(used)


def give_back(db: Session, actor: Actor, sale_id: uuid.UUID, document_id: uuid.UUID) -> int:
    """A full refund or void of `sale_id` gives its promotion uses back (once: what is still net used)."""
    rows = db.execute(select(PromotionUse.promotion_id, PromotionUse.member_id, func.sum(PromotionUse.delta))
                      .where(PromotionUse.tenant_id == actor.tenant_id, PromotionUse.sale_id == sale_id)
                      .group_by(PromotionUse.promotion_id, PromotionUse.member_id)).all()
    now = clock.now()
    back = [{"tenant_id": actor.tenant_id, "id": uuid7(), "promotion_id": pid, "member_id": mid, "sale_id": sale_id,
             "document_id": document_id, "kind": "give_back", "delta": -int(n), "created_at": now}
            for pid, mid, n in sorted(rows, key=lambda r: (str(r[0]), str(r[1]))) if n and n > 0]
    if back:
        db.execute(insert(PromotionUse), back)
    return len(back)
