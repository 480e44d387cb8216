"""Price the cart for ONE combination of promotions (the search calls this per candidate).

Pipeline, in this fixed order:

1. member layer: each line starts at its member amount (best of member price and
   tier discount) when the customer is a member;
2. item promotions that do NOT stack with member benefits, computed on the list
   price: kept on a line (per-line rules) or on the set of lines they touch
   (买赠 / 组合价) only when cheaper than the member price there, in which case
   the member benefit is dropped on those lines;
3. item promotions that stack with member benefits, on the current amounts;
4. order promotions (order percent, order amount, 满减, gifts): thresholds use the
   amounts after step 3; lines still carrying a member benefit do not take part in
   an order promotion that does not stack with member benefits ("会员价商品不参与");
   each discount is allocated to its lines by current amount (largest remainder);
5. coupons (sorted by code; thresholds on the amounts after step 4);
6. manual discounts: line ones (by id), then order ones (by id), each checked
   against the cashier's limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cloudpos.money import BP_SCALE, allocate, apply_bp, ceil_div
from cloudpos.pricing.engine.context import Applicable, PricingContext
from cloudpos.pricing.engine.model import (
    BuyXGetY,
    Coupon,
    CouponKind,
    Gift,
    ManualDiscount,
    ManualKind,
    PercentOff,
    Promotion,
)
from cloudpos.pricing.engine.result import (
    ApprovalRequest,
    CouponUse,
    DiscountLevel,
    Message,
    SourceKind,
)
from cloudpos.pricing.engine.rules import ITEM_RULES, PER_LINE_RULES, gift_multiples, order_discount
from cloudpos.pricing.engine.text import coupon_messages, manual_approval_message

# (source kind, source id, name, amount, level)
Entry = tuple[SourceKind, str, str, int, DiscountLevel]


@dataclass(frozen=True)
class CouponCheck:
    """A coupon that passed the static checks (status, window, duplicates)."""

    coupon: Coupon
    lines: tuple[int, ...]
    position: int  # index in the cart's presented coupons


@dataclass(slots=True)
class OrderEntry:
    source_kind: SourceKind
    source_id: str
    name: str
    amount: int


class State:
    """Mutable ledger of one evaluation."""

    def __init__(self, ctx: PricingContext) -> None:
        self.amounts = list(ctx.member_amounts)
        self.member_active = list(ctx.member_flags)
        self.entries: list[list[Entry]] = [[] for _ in range(ctx.size)]
        self.orders: list[OrderEntry] = []
        self.promo_amounts: dict[str, int] = {}
        self.gifts: list[tuple[Promotion, int]] = []
        self.member_preferred: dict[str, int] = {}  # promo id -> lines where member price won
        self.coupon_uses: list[tuple[int, CouponUse]] = []
        self.approvals: list[ApprovalRequest] = []
        self.total = 0

    def discount_line(self, index: int, entry: Entry) -> None:
        self.amounts[index] -= entry[3]
        self.entries[index].append(entry)

    def credit(self, promo_id: str, amount: int) -> None:
        self.promo_amounts[promo_id] = self.promo_amounts.get(promo_id, 0) + amount


def evaluate(ctx: PricingContext, combo: Sequence[Applicable], checks: Sequence[CouponCheck]) -> State:
    state = State(ctx)
    ordered = sorted(combo, key=lambda a: a.sort_key)
    item_promos = [a for a in ordered if not a.order_level]
    order_promos = [a for a in ordered if a.order_level]
    for applicable in item_promos:
        _apply_item(ctx, state, applicable)
    threshold_amounts = list(state.amounts)
    for applicable in order_promos:
        _apply_order(ctx, state, applicable, threshold_amounts)
    _apply_coupons(ctx, state, checks)
    _apply_manual(ctx, state)
    state.total = sum(state.amounts)
    return state


def standalone_saving(ctx: PricingContext, applicable: Applicable) -> int:
    """What ``applicable`` alone saves on top of member pricing (no coupons, no manual, gifts = 0)."""
    promo = applicable.promo
    if isinstance(promo.rule, Gift):
        return 0
    if applicable.order_level:
        amounts, flags = ctx.member_amounts, ctx.member_flags
        if promo.stacks_with_member:
            base = sum([amounts[i] for i in applicable.lines])
        else:
            base = sum([amounts[i] for i in applicable.lines if not flags[i]])
        return order_discount(promo, base, base)
    bases, discounts, accepted = item_outcome(ctx, applicable, ctx.member_amounts, ctx.member_flags)
    return sum(ctx.member_amounts[i] - bases[k] + discounts[k] for k, i in enumerate(applicable.lines) if accepted[k])


def saving_upper_bound(ctx: PricingContext, applicable: Applicable) -> int:
    """A cheap number that ``standalone_saving`` never exceeds (lets the search skip work)."""
    promo, lines = applicable.promo, applicable.lines
    rule = promo.rule
    if isinstance(rule, Gift):
        return 0
    if applicable.order_level:
        return standalone_saving(ctx, applicable)  # exact and already cheap
    total = sum([ctx.list_amounts[i] for i in lines])
    if isinstance(rule, PercentOff):
        return apply_bp(total, min(max(rule.percent_off_bp, 0), BP_SCALE)) + len(lines)  # + rounding
    if isinstance(rule, BuyXGetY):
        return apply_bp(total, min(max(rule.get_percent_off_bp, 0), BP_SCALE)) + len(lines)
    return total


def extra_discount_bound(ctx: PricingContext, checks: Sequence[CouponCheck]) -> int:
    """Upper bound of what coupons and manual discounts can take off any candidate.

    Valid because no promotion combination leaves a line above its member amount.
    """
    top = sum(ctx.member_amounts)
    bound = 0
    for check in checks:
        coupon = check.coupon
        if coupon.kind is CouponKind.AMOUNT_OFF:
            bound += max(coupon.value, 0)
        else:
            bound += apply_bp(top, min(max(coupon.value, 0), BP_SCALE))
    for manual in ctx.cart.manual_discounts:
        if manual.kind is ManualKind.PERCENT:
            bound += apply_bp(top, min(max(manual.value, 0), BP_SCALE))
        else:
            bound += max(manual.value, 0)
    return bound


# --------------------------------------------------------------------------- promotions


def item_outcome(
    ctx: PricingContext, applicable: Applicable, amounts: list[int], member_active: list[bool]
) -> tuple[list[int], list[int], list[bool]]:
    """(bases, discounts, accepted) of an item promotion over its lines, given the current state."""
    promo, idxs = applicable.promo, applicable.lines
    rule = ITEM_RULES[type(promo.rule)]
    if promo.stacks_with_member:
        bases = [amounts[i] for i in idxs]
        discounts = rule(ctx, promo, idxs, bases)
        return bases, discounts, [d > 0 for d in discounts]
    list_amounts = ctx.list_amounts
    bases = [list_amounts[i] if member_active[i] else amounts[i] for i in idxs]
    discounts = rule(ctx, promo, idxs, bases)
    if type(promo.rule) in PER_LINE_RULES:
        accepted = [d > 0 and bases[k] - d < amounts[idxs[k]] for k, d in enumerate(discounts)]
    else:
        touched = [k for k, d in enumerate(discounts) if d > 0]
        better = sum(bases[k] - discounts[k] for k in touched) < sum(amounts[idxs[k]] for k in touched)
        accepted = [better and d > 0 for d in discounts]
    return bases, discounts, accepted


def _apply_item(ctx: PricingContext, state: State, applicable: Applicable) -> None:
    promo, idxs = applicable.promo, applicable.lines
    _bases, discounts, accepted = item_outcome(ctx, applicable, state.amounts, state.member_active)
    replaces_member = not promo.stacks_with_member
    if replaces_member:
        _note_member_preferred(state, promo, discounts, accepted)
    amounts, entries, member_active = state.amounts, state.entries, state.member_active
    total = 0
    for k, ok in enumerate(accepted):
        if not ok:
            continue
        index, discount = idxs[k], discounts[k]
        if replaces_member and member_active[index]:
            member_active[index] = False
            amounts[index] = ctx.list_amounts[index]
        amounts[index] -= discount
        entries[index].append((SourceKind.PROMOTION, promo.id, promo.name, discount, DiscountLevel.ITEM))
        total += discount
    if total:
        state.credit(promo.id, total)


def _note_member_preferred(state: State, promo: Promotion, discounts: list[int], accepted: list[bool]) -> None:
    lost = sum(1 for d, ok in zip(discounts, accepted, strict=True) if d > 0 and not ok)
    if lost:
        state.member_preferred[promo.id] = state.member_preferred.get(promo.id, 0) + lost


def _apply_order(ctx: PricingContext, state: State, applicable: Applicable, threshold_amounts: list[int]) -> None:
    promo = applicable.promo
    idxs = applicable.lines
    if not promo.stacks_with_member:
        idxs = tuple(i for i in idxs if not state.member_active[i])
    if not idxs:
        return
    threshold_base = sum([threshold_amounts[i] for i in idxs])
    if isinstance(promo.rule, Gift):
        qty_base = sum([ctx.lines[i].qty_milli for i in idxs])
        times = gift_multiples(promo, threshold_base, qty_base)
        if times > 0:
            state.gifts.append((promo, times * promo.rule.gift_qty_milli))
            state.credit(promo.id, 0)
        return
    weights = [state.amounts[i] for i in idxs]
    amount = order_discount(promo, threshold_base, sum(weights))
    if amount > 0:
        _spread(state, SourceKind.PROMOTION, promo.id, promo.name, amount, idxs, weights)
        state.credit(promo.id, amount)


def _spread(
    state: State,
    kind: SourceKind,
    source_id: str,
    name: str,
    amount: int,
    idxs: Sequence[int],
    weights: list[int] | None = None,
) -> None:
    """Allocate an order-level ``amount`` (<= current sum of ``idxs``) by current line amounts."""
    if weights is None:
        weights = [state.amounts[i] for i in idxs]
    shares = allocate(amount, weights)
    amounts, entries = state.amounts, state.entries
    for index, share in zip(idxs, shares, strict=True):
        if share:
            amounts[index] -= share
            entries[index].append((kind, source_id, name, share, DiscountLevel.ORDER))
    state.orders.append(OrderEntry(kind, source_id, name, amount))


# --------------------------------------------------------------------------- coupons


def _apply_coupons(ctx: PricingContext, state: State, checks: Sequence[CouponCheck]) -> None:
    base_amounts = list(state.amounts)
    for check in checks:
        coupon = check.coupon
        base = sum(base_amounts[i] for i in check.lines)
        if not check.lines or base <= 0:
            state.coupon_uses.append((check.position, _coupon_use(coupon, "no_eligible_items", 0)))
            continue
        if base < coupon.threshold_fen:
            use = _coupon_use(coupon, "below_threshold", 0, missing=coupon.threshold_fen - base)
            state.coupon_uses.append((check.position, use))
            continue
        current = sum(state.amounts[i] for i in check.lines)
        amount = _coupon_amount(coupon, current)
        if amount > 0:
            _spread(state, SourceKind.COUPON, coupon.code, coupon.name or coupon.code, amount, check.lines)
        state.coupon_uses.append((check.position, _coupon_use(coupon, "applied", amount)))


def _coupon_amount(coupon: Coupon, current: int) -> int:
    if coupon.kind is CouponKind.AMOUNT_OFF:
        amount = max(coupon.value, 0)
    else:
        amount = apply_bp(current, min(max(coupon.value, 0), BP_SCALE))
        if coupon.max_discount_fen is not None:
            amount = min(amount, max(coupon.max_discount_fen, 0))
    return min(amount, current)


def _coupon_use(coupon: Coupon, reason: str, amount: int, missing: int = 0) -> CouponUse:
    message: Message = coupon_messages(coupon, reason, amount, missing)
    return CouponUse(coupon.code, reason == "applied", amount, reason, message)


# --------------------------------------------------------------------------- manual discounts


def _apply_manual(ctx: PricingContext, state: State) -> None:
    manual = sorted(ctx.cart.manual_discounts, key=lambda m: (m.line_id is None, m.id))
    for discount in manual:
        idxs = tuple(range(ctx.size)) if discount.line_id is None else (ctx.line_index[discount.line_id],)
        base = sum(state.amounts[i] for i in idxs)
        amount = _manual_amount(discount, base)
        requested_bp = _requested_bp(discount, amount, base)
        if requested_bp > discount.max_allowed_bp and not discount.approved:
            message = manual_approval_message(discount, requested_bp)
            state.approvals.append(
                ApprovalRequest(discount.id, discount.line_id, requested_bp, discount.max_allowed_bp, message)
            )
            continue
        if amount <= 0:
            continue
        name = discount.reason or "手工折扣"
        if discount.line_id is None:
            _spread(state, SourceKind.MANUAL, discount.id, name, amount, idxs)
        else:
            state.discount_line(idxs[0], (SourceKind.MANUAL, discount.id, name, amount, DiscountLevel.ITEM))


def _manual_amount(discount: ManualDiscount, base: int) -> int:
    if discount.kind is ManualKind.PERCENT:
        return apply_bp(base, min(max(discount.value, 0), BP_SCALE))
    return min(max(discount.value, 0), base)


def _requested_bp(discount: ManualDiscount, amount: int, base: int) -> int:
    """The discount as bp of the target amount (exact comparison, rounded up to whole bp)."""
    if discount.kind is ManualKind.PERCENT:
        return max(discount.value, 0)
    if base <= 0:
        return 0
    # rounded UP so that rounding can never hide an excess (10.004 % must not pass a 10 % limit)
    return ceil_div(amount * BP_SCALE, base)
