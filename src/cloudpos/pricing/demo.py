"""Demo promotions for a new merchant: a 满减 on a category, a 买一送一, member prices (会员价) on a few
products, a time-limited special (特价, a week from `special_from`, default today) and a coupon template with
20 anonymous codes (`seed_coupons`, valid 30 days from their issue).

`seed(db, actor, *, category_ids, product_ids)` uses the pricing services only (so everything is
validated and audited like a manager's changes) and does nothing when the merchant has promotions. The full
demo (ops/demo_history.py) creates the promotions when the merchant starts trading, runs the special in the
last days and hands out the coupons three weeks ago, so that its sales history uses them as they ran."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.catalog import service as catalog
from cloudpos.context import Actor
from cloudpos.pricing import service
from cloudpos.pricing.schemas import (
    BuyXGetYRule,
    CouponIssueIn,
    CouponTemplateIn,
    MemberPriceIn,
    PromotionIn,
    ScopeIn,
    SpecialPriceRule,
    SpendSaveRule,
    SpendTierIn,
)


def _down_to_dime(fen: int) -> int:
    return fen - fen % 10


def seed(db: Session, actor: Actor, *, category_ids: list[uuid.UUID], product_ids: list[uuid.UUID],
         special_from: date | None = None, coupons: bool = True) -> dict[str, int]:
    """Create the demo promotions; returns what was created (empty when promotions already exist).
    `coupons=False` leaves the coupons to a later `seed_coupons`."""
    if service.list_promotions(db, actor, page_size=1)[1]:
        return {}
    briefs = catalog.product_briefs(db, actor.tenant_id, list(product_ids))
    # Piece goods that are on sale, cheapest price first out of the way: stable order by SKU.
    pieces = sorted((b for b in briefs.values() if b.status == "listed" and not b.sold_by_weight and b.price >= 100),
                    key=lambda b: b.sku)
    today = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    names = catalog.category_full_names(db, actor.tenant_id)
    created = {"promotions": 0, "member_prices": 0, "coupons": 0}

    if category_ids:
        cat = category_ids[0]
        label = names.get(cat, "").split(" > ")[-1]
        service.create_promotion(db, actor, PromotionIn(
            name=f"{label}满100减10" if label else "满100减10",
            rule=SpendSaveRule(tiers=[SpendTierIn(threshold=10000, save=1000)]),
            scope=ScopeIn(category_ids=[cat]), priority=10))
        created["promotions"] += 1
    if pieces:
        bogo = pieces[0]
        service.create_promotion(db, actor, PromotionIn(
            name=f"{bogo.name} 买一送一", rule=BuyXGetYRule(buy_qty=1, get_qty=1),
            scope=ScopeIn(product_ids=[bogo.id]), priority=20, max_uses_per_order=2))
        created["promotions"] += 1
    if len(pieces) > 1:
        special = pieces[1]
        service.create_promotion(db, actor, PromotionIn(
            name=f"{special.name} 限时特价", rule=SpecialPriceRule(unit_price=_down_to_dime(special.price * 8 // 10)),
            scope=ScopeIn(product_ids=[special.id]), start_date=special_from or today,
            end_date=(special_from or today) + timedelta(days=7),
            priority=30, stacks_with_member=False))
        created["promotions"] += 1
    member_priced = pieces[2:5]
    if member_priced:
        created["member_prices"] = service.set_member_prices(db, actor, [
            MemberPriceIn(product_id=b.id, price=_down_to_dime(b.price * 9 // 10)) for b in member_priced])
    if coupons:
        created["coupons"] = len(seed_coupons(db, actor))
    return created


def seed_coupons(db: Session, actor: Actor) -> list[str]:
    """The 满50减5 coupon template and 20 anonymous codes valid 30 days (handed out in the store); their codes."""
    template = service.create_coupon_template(db, actor, CouponTemplateIn(
        name="满50减5", kind="amount_off", value=500, threshold=5000, valid_days=30))
    return [c.code for c in service.issue_coupons(db, actor, CouponIssueIn(
        template_id=template.id, count=20, reason="开业活动"))]
