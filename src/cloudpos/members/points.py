"""Points (积分): earn on a purchase, redeem at checkout or from the points catalog, expire, reverse on refunds,
adjust by hand. The ledger is append-only; the balance on the member row moves in the same statement batch."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound
from cloudpos.i18n import N_
from cloudpos.members import coupons, domain, program, stats, tiers
from cloudpos.members.models import (
    Campaign,
    CampaignSend,
    Member,
    MemberSale,
    MemberTier,
    PointsCatalogItem,
    PointsEntry,
)
from cloudpos.members.schemas import (
    CatalogItemIn,
    CatalogItemOut,
    LedgerEntryOut,
    PointsQuoteOut,
    PurchaseOut,
    RedeemOut,
    RefundOut,
)


def entry_out(e: PointsEntry) -> LedgerEntryOut:
    return LedgerEntryOut(id=e.id, kind=e.kind, delta=e.delta, balance_after=e.balance_after, sale_id=e.sale_id,
                          reason=e.reason, actor_name=e.actor_name, occurred_at=e.occurred_at)


def append(db: Session, actor: Actor, member_id: uuid.UUID, kind: str, delta: int, *,
           sale_id: uuid.UUID | None = None, reason: str = "", allow_negative: bool = False,
           at: datetime | None = None) -> PointsEntry:
    """One ledger row and the same change to the cached balance (atomic relative UPDATE).
    A debit that would take the balance below zero is refused unless `allow_negative` (refund reversals)."""
    guard = None if (delta >= 0 or allow_negative) else Member.points_balance + delta >= 0
    new = program.bump(db, actor.tenant_id, member_id, guard=guard, points_balance=delta)
    if new is None:
        program.get_member(db, actor, member_id)  # 404 if missing
        raise Conflict(N_("Not enough points."), code="insufficient_points")
    e = PointsEntry(tenant_id=actor.tenant_id, member_id=member_id, kind=kind, delta=delta,
                    balance_after=new["points_balance"], sale_id=sale_id, reason=reason[:200],
                    actor_name=(actor.display_name or actor.username)[:60], occurred_at=at or clock.now())
    db.add(e)
    db.flush()
    return e


def ledger(db: Session, actor: Actor, member_id: uuid.UUID, page: int = 1, page_size: int = 50
           ) -> tuple[list[LedgerEntryOut], int]:
    program.get_member(db, actor, member_id)
    cond = and_(PointsEntry.tenant_id == actor.tenant_id, PointsEntry.member_id == member_id)
    total = db.scalar(select(func.count()).where(cond)) or 0
    rows = db.scalars(select(PointsEntry).where(cond).order_by(PointsEntry.id.desc())
                      .offset((page - 1) * page_size).limit(page_size))
    return [entry_out(e) for e in rows], total


@use_case
def adjust(db: Session, actor: Actor, member_id: uuid.UUID, delta: int, reason: str) -> LedgerEntryOut:
    """A manual adjustment with a reason (member.points.adjust), audited."""
    actor.require("member.points.adjust")
    if delta == 0:
        raise Invalid(errors=[FieldError("delta", N_("Give a number of points other than 0."), {}, "zero")])
    m = program.get_member(db, actor, member_id)
    e = append(db, actor, m.id, "adjust", delta, reason=reason)
    audit.record(db, actor, "member.points.adjust", target_type="member", target_id=m.id, target_label=m.card_no,
                 before={"points_balance": e.balance_after - delta}, after={"points_balance": e.balance_after},
                 details={"delta": delta, "reason": reason})
    return entry_out(e)


def _redeem_rule(db: Session, tenant_id: uuid.UUID) -> domain.RedeemRule:
    s = program.settings(db, tenant_id)
    return domain.RedeemRule(points_per_yuan=s.redeem_points_per_yuan, max_order_bp=s.redeem_max_order_bp,
                             min_points=s.redeem_min_points)


def points_quote(db: Session, actor: Actor, member_id: uuid.UUID, order_fen: int) -> PointsQuoteOut:
    """How many points the member may redeem on an order of `order_fen`, and what they are worth."""
    m = program.get_member(db, actor, member_id)
    q = domain.quote(m.points_balance if m.status == "active" else 0, order_fen, _redeem_rule(db, actor.tenant_id))
    return PointsQuoteOut(member_id=m.id, balance=q.balance, max_points=q.max_points, max_value_fen=q.max_value_fen,
                          points_per_yuan=q.points_per_yuan)


def redeem_points(db: Session, actor: Actor, member_id: uuid.UUID, points: int, sale_id: uuid.UUID,
                  order_fen: int | None = None) -> RedeemOut:
    """Checkout: spend `points` as money off on `sale_id`, inside the caller's transaction.
    Returns the money value (fen). Refused (409) past the balance or (422) past the order cap."""
    actor.require("sale.create")
    m = program.get_member(db, actor, member_id)
    program.require_active(m)
    rule = _redeem_rule(db, actor.tenant_id)
    if points <= 0 or points < rule.min_points:
        raise Invalid(errors=[FieldError("points", N_("Redeem at least %(n)s points."), {"n": max(1, rule.min_points)},
                                         "too_few")])
    value = domain.points_value_fen(points, rule)
    points = domain.points_for_value(value, rule)  # no points wasted on a fraction of a fen
    if order_fen is not None:
        q = domain.quote(10**15, order_fen, rule)
        if value > q.max_value_fen:
            raise Invalid(errors=[FieldError("points", N_("At most %(fen)s fen of this order may be paid with points."),
                                             {"fen": q.max_value_fen}, "over_cap")])
    e = append(db, actor, m.id, "redeem", -points, sale_id=sale_id, reason="checkout")
    sale = db.scalar(select(MemberSale).where(MemberSale.tenant_id == actor.tenant_id, MemberSale.sale_id == sale_id))
    if sale is not None:
        sale.points_redeemed += points
    else:
        db.add(MemberSale(tenant_id=actor.tenant_id, member_id=m.id, sale_id=sale_id, points_redeemed=points,
                          paid_fen=0, occurred_at=clock.now()))
    db.flush()
    audit.record(db, actor, "member.points.redeem", target_type="member", target_id=m.id, target_label=m.card_no,
                 details={"points": points, "value_fen": value, "sale_id": str(sale_id)})
    return RedeemOut(member_id=m.id, points=points, value_fen=value, points_balance=e.balance_after)


def _boosts(db: Session, actor: Actor, member_id: uuid.UUID, at: datetime) -> list[int]:
    """Active double-points campaigns that reached this member."""
    rows = db.execute(select(Campaign.params).join(CampaignSend, and_(
        CampaignSend.tenant_id == Campaign.tenant_id, CampaignSend.campaign_id == Campaign.id))
        .where(Campaign.tenant_id == actor.tenant_id, Campaign.action == "double_points",
               CampaignSend.member_id == member_id, CampaignSend.status == "sent")).scalars().all()
    out = []
    for p in rows:
        starts, ends = p.get("starts_at"), p.get("ends_at")
        if starts and datetime.fromisoformat(starts) > at:
            continue
        if ends and datetime.fromisoformat(ends) < at:
            continue
        out.append(int(p.get("multiplier_bp", 20_000)))
    return out


def record_purchase(db: Session, actor: Actor, member_id: uuid.UUID, sale_id: uuid.UUID, paid_fen: int,
                    eligible_fen_by_category: Mapping[str, int], *, points_paid_fen: int = 0,
                    stored_value_paid_fen: int = 0, store_id: uuid.UUID | None = None,
                    occurred_at: datetime | None = None) -> PurchaseOut:
    """Checkout calls this INSIDE its transaction once a sale with a member is complete.

    `paid_fen`: what the customer pays for the sale after every discount (incl. points money-off);
    `eligible_fen_by_category`: that amount per category id (str), so excluded categories earn nothing;
    `points_paid_fen` / `stored_value_paid_fen`: the parts paid with points / stored value (they earn nothing).
    Earns points, re-evaluates the tier (upgrade only) and issues the every-N-visits coupon, counting this
    sale in the member's figures (the visit and spend themselves reach `member_stats` from the sales
    document, in the same transaction: members.stats.on_sales_document). Idempotent per sale_id."""
    actor.require("sale.create")
    if paid_fen < 0:
        raise Invalid(errors=[FieldError("paid_fen", N_("Must be at least %(ge)s."), {"ge": 0}, "negative")])
    m = program.get_member(db, actor, member_id, lock=True)
    program.require_active(m)
    sale = db.scalar(select(MemberSale).where(MemberSale.tenant_id == actor.tenant_id, MemberSale.sale_id == sale_id))
    if sale is not None and (sale.paid_fen > 0 or sale.points_earned > 0):
        return PurchaseOut(member_id=m.id, sale_id=sale_id, points_earned=sale.points_earned,
                           points_balance=m.points_balance, tier_id=m.tier_id, tier_changed=False)
    at = occurred_at or clock.now()
    s = program.settings(db, actor.tenant_id)
    tier = db.get(MemberTier, (actor.tenant_id, m.tier_id)) if m.tier_id else None
    day = program.today(at)
    multiplier = domain.combined_multiplier_bp(
        tier.points_multiplier_bp if tier else 10_000,
        bool(tier and tier.birthday_double_points and domain.in_birthday_month(m.birthday, day)),
        _boosts(db, actor, m.id, at))
    rule = domain.EarnRule(fen_per_point=s.earn_fen_per_point,
                           excluded_category_ids=frozenset(s.earn_excluded_category_ids))
    base = domain.earn_base_fen(paid_fen, {str(k): int(v) for k, v in eligible_fen_by_category.items()},
                                rule.excluded_category_ids, points_paid_fen, stored_value_paid_fen)
    earned = domain.earn_points(base, rule, multiplier)
    if sale is None:
        sale = MemberSale(tenant_id=actor.tenant_id, member_id=m.id, sale_id=sale_id, points_redeemed=0)
        db.add(sale)
    sale.store_id, sale.paid_fen, sale.eligible_fen, sale.multiplier_bp = store_id, paid_fen, base, multiplier
    sale.by_category = {str(k): int(v) for k, v in list(eligible_fen_by_category.items())[:200]}
    sale.points_earned, sale.occurred_at = earned, at
    balance = m.points_balance
    if earned > 0:
        balance = append(db, actor, m.id, "earn", earned, sale_id=sale_id, at=at,
                         reason=f"multiplier {multiplier} bp" if multiplier != 10_000 else "").balance_after
    this_sale = domain.Stats(spend_fen=paid_fen, visits=1)
    changed = tiers.evaluate_member(db, actor, m, allow_downgrade=False, pending=this_sale)
    issued = []
    visits = stats.totals(db, actor.tenant_id, [m.id]).get(m.id, domain.Stats()).visits + 1
    if s.visit_coupon_every and s.visit_coupon_template_id and visits % s.visit_coupon_every == 0:
        issued.append(coupons.issue_coupon(db, actor, m.id, s.visit_coupon_template_id, f"visits:{visits}").code)
    audit.record(db, actor, "member.purchase", target_type="member", target_id=m.id, target_label=m.card_no,
                 store_id=store_id, details={"sale_id": str(sale_id), "paid_fen": paid_fen, "points": earned,
                                             "multiplier_bp": multiplier})
    db.flush()
    return PurchaseOut(member_id=m.id, sale_id=sale_id, points_earned=earned, points_balance=balance,
                       tier_id=m.tier_id, tier_changed=changed, coupons_issued=issued)


def reverse_for_refund(db: Session, actor: Actor, member_id: uuid.UUID, sale_id: uuid.UUID,
                       refunded_paid_fen: int, refunded_eligible_fen_by_category: Mapping[str, int] | None = None,
                       refund_id: uuid.UUID | None = None) -> RefundOut:
    """Checkout's refund calls this INSIDE its transaction: takes back the points earned on the refunded lines
    (in proportion to the refunded eligible amount; cumulative, so a full refund takes back exactly all) and
    returns redeemed points in proportion to the refunded paid amount. (The spend rollup goes down from the
    refund document itself: members.stats.on_sales_document.)"""
    actor.require("sale.refund")
    m = program.get_member(db, actor, member_id, lock=True)
    sale = db.scalar(select(MemberSale).where(MemberSale.tenant_id == actor.tenant_id, MemberSale.sale_id == sale_id,
                                              MemberSale.member_id == m.id))
    if sale is None:
        raise NotFound(N_("This sale earned or used no points for this member."))
    if refunded_paid_fen <= 0:
        raise Invalid(errors=[FieldError("refunded_paid_fen", N_("Must be more than %(gt)s."), {"gt": 0}, "positive")])
    excluded = set(program.settings(db, actor.tenant_id).earn_excluded_category_ids)
    if refunded_eligible_fen_by_category is None:
        refunded_eligible = domain.cumulative_share(sale.eligible_fen, refunded_paid_fen, sale.paid_fen)
    else:
        refunded_eligible = sum(max(0, int(v)) for k, v in refunded_eligible_fen_by_category.items()
                                if str(k) not in excluded)
    cum_paid = min(sale.paid_fen, sale.refunded_fen + refunded_paid_fen) if sale.paid_fen else sale.refunded_fen + \
        refunded_paid_fen
    cum_eligible = min(sale.eligible_fen, sale.refunded_eligible_fen + refunded_eligible)
    reverse = domain.cumulative_share(sale.points_earned, cum_eligible, sale.eligible_fen) - sale.points_reversed
    give_back = domain.cumulative_share(sale.points_redeemed, cum_paid, sale.paid_fen) - sale.points_returned
    balance = m.points_balance
    if reverse > 0:
        balance = append(db, actor, m.id, "refund_reversal", -reverse, sale_id=sale_id, allow_negative=True,
                         reason=str(refund_id or "")).balance_after
    if give_back > 0:
        balance = append(db, actor, m.id, "refund_return", give_back, sale_id=sale_id,
                         reason=str(refund_id or "")).balance_after
    sale.points_reversed += max(0, reverse)
    sale.points_returned += max(0, give_back)
    sale.refunded_fen, sale.refunded_eligible_fen = cum_paid, cum_eligible
    audit.record(db, actor, "member.refund", target_type="member", target_id=m.id, target_label=m.card_no,
                 details={"sale_id": str(sale_id), "refund_id": str(refund_id or ""), "refunded_fen": refunded_paid_fen,
                          "points_reversed": max(0, reverse), "points_returned": max(0, give_back)})
    return RefundOut(member_id=m.id, sale_id=sale_id, points_reversed=max(0, reverse),
                     points_returned=max(0, give_back), points_balance=balance)


def expire_points(db: Session, actor: Actor, batch: int = 500) -> int:
    """The expiry job: points earned up to the end of last-year-but-one expire (FIFO). Commits per batch;
    idempotent (earlier expiries count as debits). Returns the points expired."""
    if not program.settings(db, actor.tenant_id).points_expire:
        return 0
    through = domain.expiry_year_for(program.today())
    boundary = datetime(through + 1, 1, 1, tzinfo=program.TZ)
    total, members, last = 0, 0, uuid.UUID(int=0)
    while True:
        rows = db.execute(select(Member.id, Member.points_balance).where(
            Member.tenant_id == actor.tenant_id, Member.id > last, Member.points_balance > 0)
            .order_by(Member.id).limit(batch)).all()
        if not rows:
            break
        ids = [r.id for r in rows]
        sums = db.execute(select(
            PointsEntry.member_id,
            func.sum(case((and_(PointsEntry.delta > 0, PointsEntry.occurred_at < boundary), PointsEntry.delta),
                          else_=0)),
            func.sum(case((PointsEntry.delta < 0, -PointsEntry.delta), else_=0)))
            .where(PointsEntry.tenant_id == actor.tenant_id, PointsEntry.member_id.in_(ids))
            .group_by(PointsEntry.member_id)).all()
        by_member = {mid: (int(old or 0), int(debits or 0)) for mid, old, debits in sums}
        for r in rows:
            old, debits = by_member.get(r.id, (0, 0))
            n = domain.points_to_expire({through: old}, debits, through, r.points_balance)
            if n > 0:
                append(db, actor, r.id, "expire", -n, reason=str(through))
                total += n
                members += 1
        db.commit()
        last = rows[-1].id
    if total:
        audit.record(db, actor, "member.points.expire", target_type="member_program", target_id=actor.tenant_id,
                     target_label="expire-points", details={"through_year": through, "points": total,
                                                            "members": members})
        db.commit()
    return total


def verify_balances(db: Session, tenant_id: uuid.UUID) -> list[tuple[uuid.UUID, int, int]]:
    """Members whose cached points balance differs from the ledger sum: (member_id, cached, ledger)."""
    sums = (select(PointsEntry.member_id, func.coalesce(func.sum(PointsEntry.delta), 0).label("s"))
            .where(PointsEntry.tenant_id == tenant_id).group_by(PointsEntry.member_id).subquery())
    rows = db.execute(select(Member.id, Member.points_balance, func.coalesce(sums.c.s, 0))
                      .outerjoin(sums, sums.c.member_id == Member.id)
                      .where(Member.tenant_id == tenant_id,
                             Member.points_balance != func.coalesce(sums.c.s, 0))
                      .execution_options(all_tenants=True)).all()
    return [(r[0], int(r[1]), int(r[2])) for r in rows]


# --- points catalog (积分商城) ------------------------------------------------------------------------

def catalog_out(i: PointsCatalogItem) -> CatalogItemOut:
    return CatalogItemOut(id=i.id, name=i.name, points=i.points, product_id=i.product_id, stock=i.stock,
                          active=i.active)


def list_catalog(db: Session, actor: Actor, active_only: bool = False) -> list[CatalogItemOut]:
    stmt = select(PointsCatalogItem).where(PointsCatalogItem.tenant_id == actor.tenant_id)
    if active_only:
        stmt = stmt.where(PointsCatalogItem.active.is_(True))
    return [catalog_out(i) for i in db.scalars(stmt.order_by(PointsCatalogItem.points))]


@use_case
def save_catalog_item(db: Session, actor: Actor, data: CatalogItemIn, item_id: uuid.UUID | None = None
                      ) -> CatalogItemOut:
    actor.require("settings.manage")
    if item_id is None:
        item = PointsCatalogItem(tenant_id=actor.tenant_id, **data.model_dump())
        db.add(item)
        db.flush()
        before: dict[str, Any] = {}
    else:
        item = db.get(PointsCatalogItem, (actor.tenant_id, item_id))
        if item is None:
            raise NotFound(N_("Catalog item not found."))
        before = catalog_out(item).model_dump(mode="json")
        for k, v in data.model_dump().items():
            setattr(item, k, v)
    audit.record(db, actor, "member.catalog.save", target_type="points_catalog", target_id=item.id,
                 target_label=item.name, before=before or None, after=catalog_out(item).model_dump(mode="json"))
    return catalog_out(item)


@use_case
def redeem_catalog_item(db: Session, actor: Actor, member_id: uuid.UUID, item_id: uuid.UUID, quantity: int = 1
                        ) -> LedgerEntryOut:
    """Exchange points for goods from the points catalog (at the till)."""
    actor.require("member.edit")
    m = program.get_member(db, actor, member_id)
    program.require_active(m)
    item = db.get(PointsCatalogItem, (actor.tenant_id, item_id), with_for_update=True)
    if item is None or not item.active:
        raise NotFound(N_("Catalog item not found."))
    if item.stock is not None:
        if item.stock < quantity:
            raise Conflict(N_("Not enough of this item left."), code="catalog_out_of_stock")
        item.stock -= quantity
    e = append(db, actor, m.id, "catalog", -item.points * quantity, reason=f"{item.name} ×{quantity}")
    audit.record(db, actor, "member.points.catalog", target_type="member", target_id=m.id, target_label=m.card_no,
                 details={"item": item.name, "quantity": quantity, "points": item.points * quantity})
    return entry_out(e)
