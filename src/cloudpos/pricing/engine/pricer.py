"""Public entry points: ``price_cart`` and ``price_combination``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime

from cloudpos.money import BP_SCALE, FEN_PER_JIAO, FEN_PER_YUAN, round_down_to, round_nearest_to
from cloudpos.pricing.engine.context import Applicable, PricingContext, PromotionIndex
from cloudpos.pricing.engine.evaluate import CouponCheck, State
from cloudpos.pricing.engine.explain import Skipped, explain
from cloudpos.pricing.engine.model import (
    Cart,
    CashRounding,
    Coupon,
    CouponKind,
    CouponStatus,
    Promotion,
)
from cloudpos.pricing.engine.result import (
    AppliedDiscount,
    AppliedPromotion,
    CouponUse,
    DiscountLevel,
    GiftLine,
    OrderDiscount,
    PricedCart,
    PricedLine,
    SourceKind,
)
from cloudpos.pricing.engine.rules import could_apply
from cloudpos.pricing.engine.search import Choice, Evaluated, choose, combo_is_valid, price_one
from cloudpos.pricing.engine.text import coupon_messages

Promotions = Iterable[Promotion] | PromotionIndex
Names = Mapping[str, str]


def price_cart(cart: Cart, promotions: Promotions, now: datetime, names: Names | None = None) -> PricedCart:
    """Price ``cart`` with the best valid combination of ``promotions`` at ``now`` (aware).

    ``promotions`` may be a prebuilt ``PromotionIndex`` (cache it per store and
    rebuild when promotions change). ``names`` maps ids (stores, tiers) to display
    names for the explanation; it is read only when a message needs a name, so a
    lazily loading mapping costs nothing otherwise. Raises ``ValueError`` only for
    malformed input (duplicate line or promotion ids, naive datetime, quantity <= 0 ...);
    business outcomes (unusable coupons, approvals) are reported in the result.
    """
    ctx = PricingContext(cart, now)
    applicable, skipped = find_applicable(ctx, _index(promotions))
    checks, rejected = check_coupons(ctx)
    choice = choose(ctx, applicable, checks)
    return build_result(ctx, choice, skipped, rejected, names)


def price_combination(
    cart: Cart, promotions: Promotions, now: datetime, promotion_ids: Iterable[str], names: Names | None = None
) -> PricedCart:
    """Price with exactly the given promotions (those of them that apply now), no search.

    For "what if" screens and tests. Raises ``ValueError`` if the ids are not
    a valid combination (an exclusive promotion with others, or two promotions
    of one stack group) or name unknown promotions.
    """
    index = _index(promotions)
    wanted = set(promotion_ids)
    unknown = wanted - {p.id for p in index.promotions}
    if unknown:
        raise ValueError(f"unknown promotion ids: {sorted(unknown)}")
    ctx = PricingContext(cart, now)
    applicable, skipped = find_applicable(ctx, index)
    combo = tuple(a for a in applicable if a.promo.id in wanted)
    if not combo_is_valid(combo):
        raise ValueError("not a valid combination: exclusive promotion combined, or two of one stack group")
    checks, rejected = check_coupons(ctx)
    best = price_one(ctx, combo, checks)
    choice = Choice(best, [best], exhaustive=True, given=True)
    return build_result(ctx, choice, skipped, rejected, names)


def _index(promotions: Promotions) -> PromotionIndex:
    return promotions if isinstance(promotions, PromotionIndex) else PromotionIndex(promotions)


# --------------------------------------------------------------------------- preparation


def find_applicable(ctx: PricingContext, index: PromotionIndex) -> tuple[list[Applicable], list[Skipped]]:
    """Open promotions touching at least one line, and those that would but are held back by
    the store list or a customer condition, with the reason (for the explanation)."""
    hits: dict[int, list[int]] = {}
    for line_no, line in enumerate(ctx.lines):
        for position in index.scoped_candidates(line):
            hits.setdefault(position, []).append(line_no)
    every_line = list(range(ctx.size))
    for position in index.everywhere:
        hits[position] = every_line
    applicable: list[Applicable] = []
    skipped: list[Skipped] = []
    open_now = index.open_at(ctx.local_parts)
    for position, line_nos in hits.items():
        promo = index.promotions[position]
        if not (ctx.open_now(promo) if open_now is None else position in open_now):
            continue
        lines = ctx.eligible_lines(promo, line_nos)
        if not lines or not could_apply(ctx, promo, lines):
            continue
        problem = "store" if not ctx.runs_here(promo) else ctx.customer_problem(promo)
        if problem is None:
            applicable.append(Applicable(promo, lines, *index.static_info(position)))
        else:
            skipped.append(Skipped(promo, problem))
    applicable.sort(key=lambda a: a.promo.id)
    skipped.sort(key=lambda k: k.promo.id)
    return applicable, skipped


def check_coupons(ctx: PricingContext) -> tuple[list[CouponCheck], dict[int, CouponUse]]:
    """Static coupon checks; survivors are sorted by code (application order)."""
    checks: list[CouponCheck] = []
    rejected: dict[int, CouponUse] = {}
    seen: set[str] = set()
    for position, coupon in enumerate(ctx.cart.coupons):
        reason = _static_coupon_problem(ctx, coupon, seen)
        seen.add(coupon.code)
        if reason is not None:
            rejected[position] = CouponUse(coupon.code, False, 0, reason, coupon_messages(coupon, reason, 0))
            continue
        lines = tuple(i for i in range(ctx.size) if ctx.scope_matches(coupon.scope, i))
        checks.append(CouponCheck(coupon, lines, position))
    checks.sort(key=lambda c: c.coupon.code)
    return checks, rejected


def _static_coupon_problem(ctx: PricingContext, coupon: Coupon, seen: set[str]) -> str | None:
    if coupon.code in seen:
        return "duplicate"
    if coupon.status is not CouponStatus.ACTIVE:
        return "status"
    if coupon.valid_from is not None and ctx.now < coupon.valid_from:
        return "not_started"
    if coupon.valid_until is not None and ctx.now > coupon.valid_until:
        return "expired"
    too_big = coupon.kind is CouponKind.PERCENT_OFF and coupon.value > BP_SCALE
    if coupon.value <= 0 or too_big:
        return "invalid_value"
    return None


# --------------------------------------------------------------------------- result


def cash_due(total_fen: int, mode: CashRounding) -> int:
    if mode is CashRounding.JIAO_DOWN:
        return round_down_to(total_fen, FEN_PER_JIAO)
    if mode is CashRounding.JIAO_NEAREST:
        return round_nearest_to(total_fen, FEN_PER_JIAO)
    if mode is CashRounding.YUAN_DOWN:
        return round_down_to(total_fen, FEN_PER_YUAN)
    if mode is CashRounding.YUAN_NEAREST:
        return round_nearest_to(total_fen, FEN_PER_YUAN)
    return total_fen


def build_result(
    ctx: PricingContext,
    choice: Choice,
    skipped: list[Skipped],
    rejected: dict[int, CouponUse],
    names: Names | None = None,
) -> PricedCart:
    state = choice.best.state
    total = sum(state.amounts)
    subtotal = sum(ctx.list_amounts)
    due = cash_due(total, ctx.cart.cash_rounding)
    coupons = _coupon_uses(state, rejected)
    return PricedCart(
        lines=_priced_lines(ctx, state),
        order_discounts=_order_discounts(state),
        gifts=tuple(
            GiftLine(p.rule.gift_product_id, p.rule.gift_name, qty, p.id, p.name)  # type: ignore[union-attr]
            for p, qty in state.gifts
        ),
        applied_promotions=_applied(choice.best, state),
        coupons=coupons,
        approvals=tuple(state.approvals),
        subtotal_fen=subtotal,
        discount_total_fen=subtotal - total,
        total_fen=total,
        cash_rounding_fen=due - total,
        cash_due_fen=due,
        explanation=explain(ctx, choice, skipped, coupons, due - total, names),
    )


def _priced_lines(ctx: PricingContext, state: State) -> tuple[PricedLine, ...]:
    priced: list[PricedLine | None] = [None] * ctx.size
    for i, line in enumerate(ctx.lines):
        discounts = []
        benefit = ctx.benefits[i]
        if benefit is not None and state.member_active[i]:
            discounts.append(
                AppliedDiscount(
                    SourceKind.MEMBER, benefit.source_id, benefit.name_zh, benefit.amount_fen, DiscountLevel.ITEM
                )
            )
        discounts += [AppliedDiscount(*entry) for entry in state.entries[i]]
        discount = ctx.list_amounts[i] - state.amounts[i]
        priced[ctx.input_position[i]] = PricedLine(
            line_id=line.line_id,
            product_id=line.product_id,
            sku=line.sku,
            name=line.name,
            qty_milli=line.qty_milli,
            unit_price_fen=line.unit_price_fen,
            list_amount_fen=ctx.list_amounts[i],
            discounts=tuple(discounts),
            discount_fen=discount,
            final_amount_fen=state.amounts[i],
        )
    return tuple(p for p in priced if p is not None)


def _order_discounts(state: State) -> tuple[OrderDiscount, ...]:
    return tuple(OrderDiscount(e.source_kind, e.source_id, e.name, e.amount) for e in state.orders)


def _applied(best: Evaluated, state: State) -> tuple[AppliedPromotion, ...]:
    gift_qty: defaultdict[str, int] = defaultdict(int)
    for promo, qty in state.gifts:
        gift_qty[promo.id] += qty
    out = []
    for applicable in sorted(best.combo, key=lambda a: a.sort_key):
        promo = applicable.promo
        if promo.id in state.promo_amounts:
            out.append(AppliedPromotion(promo.id, promo.name, state.promo_amounts[promo.id], gift_qty[promo.id]))
    return tuple(out)


def _coupon_uses(state: State, rejected: dict[int, CouponUse]) -> tuple[CouponUse, ...]:
    uses = dict(rejected)
    uses.update(state.coupon_uses)
    return tuple(uses[k] for k in sorted(uses))
