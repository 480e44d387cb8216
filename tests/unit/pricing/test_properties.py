"""Property tests of the price engine over thousands of random carts (hypothesis)."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudpos.pricing.domain import (
    ALL_PRODUCTS,
    EXHAUSTIVE_LIMIT,
    EXHAUSTIVE_WORK,
    AmountOff,
    ApplyTo,
    Bundle,
    BundleItem,
    BuyXGetY,
    Cart,
    CartLine,
    CashRounding,
    Coupon,
    CouponKind,
    CouponStatus,
    Customer,
    DiscountLevel,
    Gift,
    ManualDiscount,
    ManualKind,
    PercentOff,
    PricedCart,
    Promotion,
    Scope,
    SpecialPrice,
    SpendSave,
    SpendTier,
    Stacking,
    price_cart,
    price_combination,
)

TZ = "Asia/Shanghai"
NOW = datetime(2024, 6, 15, 11, 30, tzinfo=ZoneInfo(TZ))
# product -> (category, ancestors, brand, sold by weight)
PRODUCTS = {
    "cola": ("soda", ("drinks",), "b1", False),
    "sprite": ("soda", ("drinks",), "b1", False),
    "water": ("water", ("drinks",), "b2", False),
    "chips": ("snacks", (), "b3", False),
    "apple": ("fruit", ("fresh",), None, True),
    "beef": ("meat", ("fresh",), "b4", True),
}
SCOPES = [
    ALL_PRODUCTS,
    Scope(category_ids={"drinks"}),
    Scope(category_ids={"soda", "snacks"}),
    Scope(brand_ids={"b1", "b3"}),
    Scope(product_ids={"cola", "chips"}),
    Scope(scope_all=True, exclude_category_ids={"fresh"}),
    Scope(category_ids={"drinks", "fresh"}, exclude_product_ids={"water"}),
]
PROPERTY = settings(max_examples=2000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
SOME = settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# Generating a scenario with hundreds of small draws is slow; each line, promotion, coupon and
# manual discount is instead decoded from ONE drawn integer (hypothesis still shrinks it
# toward 0, i.e. toward the simplest choices).
SEED = st.integers(min_value=0, max_value=2**128)


class Bits:
    """Decodes a drawn integer into successive small choices."""

    def __init__(self, value: int) -> None:
        self.value = value

    def take(self, n: int) -> int:
        self.value, choice = divmod(self.value, n)
        return choice

    def pick(self, options: list):  # noqa: ANN201
        return options[self.take(len(options))]

    def flag(self, one_in: int = 2) -> bool:
        return self.take(one_in) == 0


def make_line(n: int, bits: Bits) -> CartLine:
    product = bits.pick(sorted(PRODUCTS))
    category, ancestors, brand, weighed = PRODUCTS[product]
    price = 0 if bits.flag(10) else 1 + bits.take(5000)
    qty = 1 + bits.take(3000) if weighed else 1000 * (1 + bits.take(5))
    member = None if bits.flag() else bits.take(price + 101)
    sku = product + "-sku"
    return CartLine(f"L{n}", product, sku, product, qty, price, category, ancestors, brand, member, weighed)


def make_spend_save(bits: Bits) -> SpendSave:
    if bits.flag():
        every = 100 + bits.take(9_901)
        save = 1 + bits.take(every)
        return SpendSave(every_fen=every, save_fen=save, cap_fen=None if bits.flag() else 2 * save)
    tiers, threshold, save = [], 0, 0
    for _ in range(1 + bits.take(3)):
        threshold += 100 + bits.take(10_000)
        save = min(threshold, save + 1 + bits.take(3_000))
        tiers.append(SpendTier(threshold, save))
    return SpendSave(tiers=tuple(tiers))


def make_rule(bits: Bits) -> tuple[object, Scope]:
    scope = bits.pick(SCOPES)
    kind = bits.take(7)
    apply_to = bits.pick([ApplyTo.ITEM, ApplyTo.ORDER])
    min_spend = bits.pick([0, 0, 1000, 5000]) if apply_to is ApplyTo.ORDER else 0
    if kind == 0:
        return PercentOff(1 + bits.take(10_000), apply_to, min_spend), scope
    if kind == 1:
        return AmountOff(1 + bits.take(3000), apply_to, min_spend), scope
    if kind == 2:
        products = {bits.pick(sorted(PRODUCTS)) for _ in range(1 + bits.take(3))}
        return SpecialPrice(bits.take(6000)), Scope(product_ids=products)
    if kind == 3:
        return make_spend_save(bits), scope
    if kind == 4:
        get_products = bits.pick([frozenset(), frozenset(), {"cola"}, {"cola", "water"}])
        percent = bits.pick([10_000, 5000, 1 + bits.take(10_000)])
        rule = BuyXGetY(1 + bits.take(3), 1 + bits.take(2), percent, get_products, bits.flag(), bits.flag())
        return rule, scope
    if kind == 5:
        by_spend = bits.flag()
        spend = 100 + bits.take(10_000) if by_spend else None
        qty = None if by_spend else 500 + bits.take(3_500)
        return Gift("gift", "赠品", 1000 + bits.take(2001), spend, qty, bits.flag()), scope
    products = sorted({bits.pick(sorted(PRODUCTS)) for _ in range(2 + bits.take(2))})
    if len(products) < 2:
        products = ["cola", "chips"]
    items = tuple(BundleItem(p, 1 + bits.take(2)) for p in products)
    return Bundle(items, 1 + bits.take(4000)), ALL_PRODUCTS


def make_promotion(n: int, bits: Bits) -> Promotion:
    member_only = bits.take(8) == 1
    priority = bits.take(4)
    stacking = Stacking.EXCLUSIVE if bits.take(5) == 1 else Stacking.STACKABLE
    stack_group = bits.pick([None, None, "g1", "g2"])
    stacks_with_member = bits.flag()
    max_uses = bits.pick([None, None, 1, 2])
    per_member = bits.pick([None, None, None, 1, 2])
    rule, scope = make_rule(bits)
    return Promotion(
        id=f"P{n}",
        name=f"活动{n}",
        rule=rule,  # type: ignore[arg-type]
        scope=scope,
        member_only=member_only,
        priority=priority,
        stacking=stacking,
        stack_group=stack_group,
        stacks_with_member=stacks_with_member,
        max_uses_per_order=max_uses,
        max_uses_per_member=per_member,
    )


def make_coupon(bits: Bits) -> Coupon:
    kind = bits.pick([CouponKind.AMOUNT_OFF, CouponKind.PERCENT_OFF])
    value = 1 + bits.take(10_000 if kind is CouponKind.PERCENT_OFF else 3000)
    return Coupon(
        f"C{bits.take(3)}",
        kind,
        value,
        bits.pick([0, 0, 500, 5000]),
        bits.pick(SCOPES),
        status=CouponStatus.USED if bits.flag(6) else CouponStatus.ACTIVE,
        max_discount_fen=bits.pick([None, None, 200]),
    )


def make_manual(n: int, bits: Bits, line_ids: list[str]) -> ManualDiscount:
    kind = bits.pick([ManualKind.PERCENT, ManualKind.AMOUNT])
    value = bits.take(10_001)
    limit = bits.pick([0, 500, 2000, 10_000])
    return ManualDiscount(f"M{n}", kind, value, limit, bits.pick([None, *line_ids]), bits.flag())


@st.composite
def promotions(draw: st.DrawFn, min_size: int = 0, max_size: int = 5) -> list[Promotion]:
    seeds = draw(st.lists(SEED, min_size=min_size, max_size=max_size))
    return [make_promotion(n, Bits(seed)) for n, seed in enumerate(seeds)]


@st.composite
def carts(draw: st.DrawFn, max_lines: int = 10) -> Cart:
    line_seeds = draw(st.lists(SEED, min_size=1, max_size=max_lines))
    lines = tuple(make_line(n, Bits(seed)) for n, seed in enumerate(line_seeds))
    bits = Bits(draw(SEED))
    member = bits.flag()
    customer = Customer(
        is_member=member,
        member_id="m" if member else None,
        tier_id="gold" if member else None,
        tier_discount_bp=bits.pick([0, 0, 300, 1500]) if member else 0,
        promotion_uses={f"P{n}": bits.take(3) for n in range(5)} if member else {},
    )
    coupons = tuple(make_coupon(Bits(seed)) for seed in draw(st.lists(SEED, max_size=2)))
    line_ids = [line.line_id for line in lines]
    manual = tuple(make_manual(n, Bits(seed), line_ids) for n, seed in enumerate(draw(st.lists(SEED, max_size=2))))
    return Cart("s1", TZ, lines, customer, coupons, manual, bits.pick(list(CashRounding)))


def assert_invariants(result: PricedCart, promos: list[Promotion]) -> None:
    money = [result.subtotal_fen, result.discount_total_fen, result.total_fen, result.cash_rounding_fen]
    assert all(type(v) is int for v in money + [result.cash_due_fen])
    assert sum(pl.final_amount_fen for pl in result.lines) == result.total_fen
    assert sum(pl.list_amount_fen for pl in result.lines) == result.subtotal_fen
    assert result.subtotal_fen - result.discount_total_fen == result.total_fen
    assert 0 <= result.total_fen <= result.subtotal_fen
    for pl in result.lines:
        assert pl.final_amount_fen >= 0
        assert all(type(d.amount_fen) is int and d.amount_fen > 0 for d in pl.discounts)
        assert pl.list_amount_fen - sum(d.amount_fen for d in pl.discounts) == pl.final_amount_fen
        assert pl.discount_fen == pl.list_amount_fen - pl.final_amount_fen
    for od in result.order_discounts:  # order-level discounts are fully allocated to lines
        assert od.amount_fen > 0
        assert sum(result.allocations(od).values()) == od.amount_fen
    order_level = sum(d.amount_fen for pl in result.lines for d in pl.discounts if d.level is DiscountLevel.ORDER)
    assert order_level == sum(od.amount_fen for od in result.order_discounts)
    assert result.cash_due_fen == result.total_fen + result.cash_rounding_fen >= 0
    assert abs(result.cash_rounding_fen) < 100
    assert all(g.amount_fen == 0 and g.unit_price_fen == 0 and g.qty_milli > 0 for g in result.gifts)
    # stacking rules: an exclusive promotion stands alone, at most one promotion per stack group
    by_id = {p.id: p for p in promos}
    applied = [by_id[a.promotion_id] for a in result.applied_promotions]
    if any(p.exclusive for p in applied):
        assert len(applied) == 1
    groups = [p.stack_group for p in applied if p.stack_group is not None]
    assert len(groups) == len(set(groups))
    assert all(m.zh and m.en for m in result.explanation)


@PROPERTY
@given(carts(), promotions())
def test_invariants_hold_for_random_carts(cart: Cart, promos: list[Promotion]) -> None:
    result = price_cart(cart, promos, NOW)
    assert_invariants(result, promos)
    # a per-member limit: only for an identified member, and never beyond the limit
    limits = {p.id: p.max_uses_per_member for p in promos if p.max_uses_per_member is not None}
    customer = cart.customer
    for applied in result.applied_promotions:
        if applied.promotion_id in limits:
            assert customer.is_member
            assert customer.promotion_uses.get(applied.promotion_id, 0) < limits[applied.promotion_id]


def _per_line(result: PricedCart) -> dict[str, tuple]:
    return {pl.line_id: (pl.final_amount_fen, tuple(sorted(pl.discounts, key=repr))) for pl in result.lines}


@SOME
@given(carts(), promotions(), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_line_or_promotion_order(
    cart: Cart, promos: list[Promotion], rnd: random.Random
) -> None:
    baseline = price_cart(cart, promos, NOW)
    lines = list(cart.lines)
    rnd.shuffle(lines)
    shuffled_promos = list(promos)
    rnd.shuffle(shuffled_promos)
    shuffled = price_cart(replace(cart, lines=tuple(lines)), shuffled_promos, NOW)
    assert shuffled.total_fen == baseline.total_fen
    assert _per_line(shuffled) == _per_line(baseline)
    assert [pl.line_id for pl in shuffled.lines] == [line.line_id for line in lines]  # caller's order kept
    assert shuffled.gifts == baseline.gifts
    assert shuffled.applied_promotions == baseline.applied_promotions
    per_product: dict[str, int] = {}
    for pl in shuffled.lines:
        per_product[pl.product_id] = per_product.get(pl.product_id, 0) + pl.final_amount_fen
    expected: dict[str, int] = {}
    for pl in baseline.lines:
        expected[pl.product_id] = expected.get(pl.product_id, 0) + pl.final_amount_fen
    assert per_product == expected
    assert price_cart(cart, promos, NOW) == baseline  # deterministic


def _valid_combinations(promos: list[Promotion]) -> list[list[str]]:
    combos: list[list[str]] = [[p.id] for p in promos if p.exclusive]
    stackable = [p for p in promos if not p.exclusive]
    for size in range(len(stackable) + 1):
        for subset in itertools.combinations(stackable, size):
            groups = [p.stack_group for p in subset if p.stack_group is not None]
            if len(groups) == len(set(groups)):
                combos.append([p.id for p in subset])
    return combos


@SOME
@given(carts(max_lines=6), promotions(max_size=4))
def test_engine_picks_the_best_valid_combination(cart: Cart, promos: list[Promotion]) -> None:
    """With few promotions the search is exhaustive: nothing valid is cheaper than the choice."""
    result = price_cart(cart, promos, NOW)
    totals = [price_combination(cart, promos, NOW, combo).total_fen for combo in _valid_combinations(promos)]
    assert len(totals) <= EXHAUSTIVE_LIMIT and len(totals) * len(cart.lines) <= EXHAUSTIVE_WORK
    assert result.total_fen == min(totals)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(carts(), promotions(min_size=8, max_size=14))
def test_heuristic_search_is_never_worse_than_exclusives_or_nothing(cart: Cart, promos: list[Promotion]) -> None:
    result = price_cart(cart, promos, NOW)
    assert_invariants(result, promos)
    assert result.total_fen <= price_combination(cart, promos, NOW, []).total_fen
    for p in promos:
        if p.exclusive:
            assert result.total_fen <= price_combination(cart, promos, NOW, [p.id]).total_fen
