"""Unit tests of the pure price engine (cloudpos.pricing.domain)."""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cloudpos.pricing.domain import (
    ALL_PRODUCTS,
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
    PromotionIndex,
    Scope,
    SourceKind,
    SpecialPrice,
    SpendSave,
    SpendTier,
    Stacking,
    Validity,
    describe_promotion,
    price_cart,
    price_combination,
    validate_promotion,
)

TZ = "Asia/Shanghai"
NOW = datetime(2024, 6, 15, 11, 30, tzinfo=ZoneInfo(TZ))  # a Saturday
MEMBER = Customer(is_member=True, member_id="m1")
DRINKS = Scope(category_ids={"drinks"})


def line(
    line_id: str,
    product: str = "cola",
    price: int = 500,
    qty: int = 1000,
    *,
    category: str = "soda",
    ancestors: tuple[str, ...] = ("drinks",),
    brand: str | None = "b1",
    member: int | None = None,
    weighed: bool = False,
) -> CartLine:
    return CartLine(
        line_id=line_id,
        product_id=product,
        sku=f"{product}-sku",
        name=product,
        qty_milli=qty,
        unit_price_fen=price,
        category_id=category,
        category_ancestor_ids=ancestors,
        brand_id=brand,
        member_price_fen=member,
        sold_by_weight=weighed,
    )


def chips(line_id: str = "chips", price: int = 800, qty: int = 1000) -> CartLine:
    return line(line_id, "chips", price, qty, category="snacks", ancestors=(), brand="b2")


def cart(
    *lines: CartLine,
    customer: Customer | None = None,
    coupons: tuple[Coupon, ...] = (),
    manual: tuple[ManualDiscount, ...] = (),
    rounding: CashRounding = CashRounding.NONE,
) -> Cart:
    return Cart("s1", TZ, lines, customer or Customer(), coupons, manual, rounding)


def promo(pid: str, rule, scope: Scope = ALL_PRODUCTS, **kwargs) -> Promotion:  # noqa: ANN001
    name = kwargs.pop("name", pid)
    return Promotion(pid, name, rule, scope=scope, **kwargs)


def check(result: PricedCart) -> PricedCart:
    """Invariants every result must satisfy."""
    assert sum(pl.final_amount_fen for pl in result.lines) == result.total_fen
    assert result.subtotal_fen - result.discount_total_fen == result.total_fen
    assert 0 <= result.total_fen <= result.subtotal_fen
    for pl in result.lines:
        assert pl.final_amount_fen >= 0
        assert pl.list_amount_fen - sum(d.amount_fen for d in pl.discounts) == pl.final_amount_fen
    for od in result.order_discounts:
        assert sum(result.allocations(od).values()) == od.amount_fen
    assert result.cash_due_fen == result.total_fen + result.cash_rounding_fen
    return result


def price(c: Cart, *promos: Promotion, now: datetime = NOW, customer: Customer | None = None) -> PricedCart:
    if customer is not None:
        c = replace(c, customer=customer)
    return check(price_cart(c, list(promos), now))


def finals(result: PricedCart) -> dict[str, int]:
    return {pl.line_id: pl.final_amount_fen for pl in result.lines}


def texts(result: PricedCart) -> str:
    return "\n".join(m.zh + " | " + m.en for m in result.explanation)


# --------------------------------------------------------------------------- basics


def test_no_promotion_prices_at_list() -> None:
    result = price(cart(line("a", qty=2000), chips()))
    assert result.subtotal_fen == result.total_fen == 1800
    assert result.discount_total_fen == 0
    assert "没有适用的促销活动" in texts(result)


def test_lines_keep_caller_order_and_weighed_amount_rounds_half_up() -> None:
    apple = line("z", "apple", 1298, 1255, category="fruit", ancestors=(), weighed=True)
    result = price(cart(apple, line("a")))
    assert [pl.line_id for pl in result.lines] == ["z", "a"]
    assert result.line("z").list_amount_fen == 1629  # 1.255 kg x ¥12.98 = ¥16.2899


def test_item_percent_off_matches_ancestor_category() -> None:
    p = promo("p", PercentOff(1200), DRINKS)  # 8.8折 on 饮料, cola is in 碳酸饮料 (soda)
    result = price(cart(line("a", price=1000), chips()), p)
    assert finals(result) == {"a": 880, "chips": 800}
    (discount,) = result.line("a").discounts
    assert (discount.source_kind, discount.source_id, discount.amount_fen) == (SourceKind.PROMOTION, "p", 120)
    assert discount.level is DiscountLevel.ITEM


def test_scope_exclusions_and_brand_scope() -> None:
    water = line("w", "water", 300, brand="b9")
    p = promo("p", PercentOff(1000), Scope(category_ids={"drinks"}, exclude_product_ids={"water"}))
    assert finals(price(cart(line("a"), water), p)) == {"a": 450, "w": 300}
    by_brand = promo("p", PercentOff(1000), Scope(brand_ids={"b9"}))
    assert finals(price(cart(line("a"), water), by_brand)) == {"a": 500, "w": 270}
    all_but_soda = promo("p", PercentOff(1000), Scope(scope_all=True, exclude_category_ids={"soda"}))
    assert finals(price(cart(line("a"), chips()), all_but_soda)) == {"a": 500, "chips": 720}


def test_item_amount_off_is_per_unit_and_capped_at_the_line() -> None:
    p = promo("p", AmountOff(300), Scope(product_ids={"cola", "gum"}))
    gum = line("g", "gum", 200)
    assert finals(price(cart(line("a", qty=3000), gum), p)) == {"a": 600, "g": 0}


def test_order_percent_with_min_spend_is_allocated() -> None:
    p = promo("p", PercentOff(1000, ApplyTo.ORDER, min_spend_fen=2000))
    result = price(cart(line("a", price=1000), chips(price=1500)), p)
    assert finals(result) == {"a": 900, "chips": 1350}
    (od,) = result.order_discounts
    assert od.amount_fen == 250 and result.allocations(od) == {"a": 100, "chips": 150}
    assert result.line("a").allocated_order_discount_fen == 100
    assert price(cart(line("a", price=1000), chips(price=900)), p).total_fen == 1900  # below ¥20


def test_promotions_that_can_never_apply_are_left_out() -> None:
    useless = [
        promo("sp", SpecialPrice(600), Scope(product_ids={"cola"})),
        promo("ss", SpendSave(tiers=(SpendTier(10_000, 1_000),))),
        promo("bx", BuyXGetY(1, 1), Scope(product_ids={"cola"})),
        promo("bu", Bundle((BundleItem("cola", 1), BundleItem("chips", 1)), 100)),
        promo("gi", Gift("w", "水", min_qty_milli=5000)),
    ]
    result = price(cart(line("a")), *useless)
    assert result.total_fen == 500 and not result.applied_promotions
    assert "没有适用的促销活动" in texts(result)


def test_special_price_only_when_lower() -> None:
    cheap = promo("p", SpecialPrice(399), Scope(product_ids={"cola"}))
    assert finals(price(cart(line("a", qty=2000)), cheap)) == {"a": 798}
    dear = promo("p", SpecialPrice(600), Scope(product_ids={"cola"}))
    assert finals(price(cart(line("a", qty=2000)), dear)) == {"a": 1000}


# --------------------------------------------------------------------------- 满减


TIERS = SpendSave(tiers=(SpendTier(10_000, 1_000), SpendTier(20_000, 3_000)))


def test_spend_save_tiers_count_only_the_scope() -> None:
    p = promo("p", TIERS, DRINKS)
    water = line("w", "water", 5000)
    result = price(cart(line("a", price=6000), water, chips(price=30_000)), p)
    # drinks = ¥110 -> save ¥10, split 6000:5000 by largest remainder (545.45 / 454.54)
    assert finals(result) == {"a": 6000 - 545, "w": 5000 - 455, "chips": 30_000}
    result = price(cart(line("a", price=16_000), water, chips()), p)
    assert result.discount_total_fen == 3000
    assert price(cart(line("a", price=9_999), chips(price=30_000)), p).discount_total_fen == 0


def test_spend_save_repeating_with_cap() -> None:
    p = promo("p", SpendSave(every_fen=10_000, save_fen=1_000, cap_fen=2_500))
    assert price(cart(line("a", price=35_000)), p).discount_total_fen == 2_500
    assert price(cart(line("a", price=19_999)), p).discount_total_fen == 1_000
    limited = promo("p", SpendSave(every_fen=10_000, save_fen=1_000), max_uses_per_order=2)
    assert price(cart(line("a", price=55_000)), limited).discount_total_fen == 2_000


def test_spend_save_explanation_text() -> None:
    p = promo("p", SpendSave(tiers=(SpendTier(10_000, 1_000),)), name="满100减10")
    result = price(cart(line("a", price=12_000)), p)
    messages = [m.as_dict() for m in result.explanation]
    assert {"zh": "满100减10,已减10.00元", "en": "Spend ¥100 save ¥10: -¥10.00"} in messages


# --------------------------------------------------------------------------- 买赠 / 第二件半价


def test_buy_one_get_one() -> None:
    p = promo("p", BuyXGetY(1, 1), Scope(product_ids={"cola"}))
    assert finals(price(cart(line("a", qty=3000)), p)) == {"a": 1000}
    # split over two lines of the same product: exactly one unit free in total
    result = price(cart(line("a"), line("b")), p)
    assert result.total_fen == 500


def test_buy_two_get_one_and_second_half_price() -> None:
    b2g1 = promo("p", BuyXGetY(2, 1), Scope(product_ids={"cola"}))
    assert finals(price(cart(line("a", qty=3000)), b2g1)) == {"a": 1000}
    assert finals(price(cart(line("a", qty=2000)), b2g1)) == {"a": 1000}
    half = promo("p", BuyXGetY(1, 1, 5000), Scope(product_ids={"cola"}))
    assert finals(price(cart(line("a", qty=2000)), half)) == {"a": 750}


def test_buy_x_get_y_cheapest_or_most_expensive() -> None:
    water = line("w", "water", 300)
    mix = promo("p", BuyXGetY(1, 1, mix_and_match=True), DRINKS)
    assert finals(price(cart(line("a"), water), mix)) == {"a": 500, "w": 0}
    dear = promo("p", BuyXGetY(1, 1, mix_and_match=True, discount_most_expensive=True), DRINKS)
    assert finals(price(cart(line("a"), water), dear)) == {"a": 0, "w": 300}
    per_product = promo("p", BuyXGetY(1, 1), DRINKS)  # without mix and match: same product only
    assert price(cart(line("a"), water), per_product).discount_total_fen == 0


def test_buy_x_get_listed_products() -> None:
    p = promo("p", BuyXGetY(2, 1, get_product_ids={"cola"}), Scope(product_ids={"chips"}))
    assert finals(price(cart(chips(qty=2000), line("a", qty=2000)), p)) == {"chips": 1600, "a": 500}
    assert price(cart(chips(qty=1000), line("a")), p).discount_total_fen == 0


def test_buy_x_get_y_ignores_weighed_goods_and_honours_limit() -> None:
    apple = line("z", "apple", 1000, 3000, category="fruit", ancestors=(), weighed=True)
    p = promo("p", BuyXGetY(1, 1), ALL_PRODUCTS)
    assert price(cart(apple), p).discount_total_fen == 0
    limited = promo("p", BuyXGetY(1, 1), Scope(product_ids={"cola"}), max_uses_per_order=1)
    assert finals(price(cart(line("a", qty=4000)), limited)) == {"a": 1500}


# --------------------------------------------------------------------------- gifts and bundles


def test_gift_on_spend_and_on_quantity() -> None:
    spend = promo("g", Gift("water", "矿泉水", min_spend_fen=5000))
    result = price(cart(line("a", price=6000)), spend)
    (gift,) = result.gifts
    assert (gift.product_id, gift.qty_milli, gift.amount_fen, gift.promotion_id) == ("water", 1000, 0, "g")
    assert result.total_fen == 6000
    assert "赠送 矿泉水 ×1" in texts(result)
    repeat = promo("g", Gift("water", "矿泉水", min_spend_fen=5000, repeat=True))
    assert price(cart(line("a", price=12_000)), repeat).gifts[0].qty_milli == 2000
    by_qty = promo("g", Gift("water", "矿泉水", min_qty_milli=2000), Scope(product_ids={"cola"}))
    assert price(cart(line("a", qty=2000)), by_qty).gifts
    assert not price(cart(line("a", qty=1000)), by_qty).gifts


def test_bundle_price() -> None:
    items = (BundleItem("cola", 1), BundleItem("chips", 1))
    p = promo("p", Bundle(items, 1000))
    result = price(cart(line("a", qty=2000), chips()), p)
    # one complete bundle: ¥13 -> ¥10, the ¥3 split 500:800 -> 115 / 185
    assert finals(result) == {"a": 1000 - 115, "chips": 800 - 185}
    assert price(cart(line("a", qty=2000), chips(qty=2000)), p).discount_total_fen == 600
    assert price(cart(line("a", qty=2000)), p).discount_total_fen == 0
    assert price(cart(line("a"), chips()), promo("p", Bundle(items, 1500))).discount_total_fen == 0


# --------------------------------------------------------------------------- member


def test_member_price_and_tier_discount() -> None:
    gold = Customer(is_member=True, tier_id="gold", tier_discount_bp=500)
    result = price(cart(line("a", qty=2000, member=450), chips()), customer=gold)
    assert finals(result) == {"a": 900, "chips": 760}  # member price beats 5 %; chips gets 5 %
    kinds = {pl.line_id: [(d.source_kind, d.source_id) for d in pl.discounts] for pl in result.lines}
    assert kinds == {"a": [(SourceKind.MEMBER, "member_price")], "chips": [(SourceKind.MEMBER, "tier:gold")]}
    assert price(cart(line("a", member=450))).total_fen == 500  # not a member


def test_special_price_not_stacking_with_member_takes_the_better_per_line() -> None:
    special = promo("p", SpecialPrice(400), Scope(product_ids={"cola"}), stacks_with_member=False)
    result = price(cart(line("a", member=450)), special, customer=MEMBER)
    assert finals(result) == {"a": 400}
    assert [d.source_kind for d in result.line("a").discounts] == [SourceKind.PROMOTION]
    weak = promo("p", SpecialPrice(470), Scope(product_ids={"cola"}), stacks_with_member=False)
    result = price(cart(line("a", member=450)), weak, customer=MEMBER)
    assert finals(result) == {"a": 450}
    assert "会员价更优惠" in texts(result)


def test_promotion_stacking_with_member_applies_on_the_member_price() -> None:
    p = promo("p", PercentOff(1000), Scope(product_ids={"cola"}))
    result = price(cart(line("a", price=1000, member=900)), p, customer=MEMBER)
    assert finals(result) == {"a": 810}
    assert [d.amount_fen for d in result.line("a").discounts] == [100, 90]


def test_order_promotion_not_stacking_with_member_skips_member_priced_lines() -> None:
    p = promo("p", SpendSave(tiers=(SpendTier(1000, 100),)), stacks_with_member=False)
    result = price(cart(line("a", qty=2000, member=450), chips()), p, customer=MEMBER)
    assert result.total_fen == 900 + 800  # chips alone (¥8) does not reach ¥10
    result = price(cart(line("a", qty=2000, member=450), chips(price=1200)), p, customer=MEMBER)
    assert finals(result) == {"a": 900, "chips": 1100}


def test_customer_conditions() -> None:
    members = promo("p", PercentOff(1000), member_only=True, name="会员日")
    result = price(cart(line("a")), members)
    assert result.total_fen == 500 and "会员日" in texts(result)
    assert price(cart(line("a")), members, customer=MEMBER).total_fen == 450
    gold_only = promo("p", PercentOff(1000), tier_ids={"gold"})
    silver = Customer(is_member=True, tier_id="silver")
    assert price(cart(line("a")), gold_only, customer=silver).total_fen == 500
    assert price(cart(line("a")), gold_only, customer=Customer(is_member=True, tier_id="gold")).total_fen == 450
    birthday = promo("p", PercentOff(1000), birthday_only=True)
    assert price(cart(line("a")), birthday, customer=MEMBER).total_fen == 500
    assert price(cart(line("a")), birthday, customer=Customer(is_member=True, birthday_today=True)).total_fen == 450


# --------------------------------------------------------------------------- validity


@pytest.mark.parametrize(
    ("validity", "applies"),
    [
        (Validity(start_date=date(2024, 6, 1), end_date=date(2024, 6, 15)), True),
        (Validity(start_date=date(2024, 6, 16)), False),
        (Validity(end_date=date(2024, 6, 14)), False),
        (Validity(weekdays={6, 7}), True),
        (Validity(weekdays={1, 2, 3, 4, 5}), False),
        (Validity(time_from=time(10), time_to=time(12)), True),
        (Validity(time_from=time(12), time_to=time(14)), False),
        (Validity(time_from=time(11, 30)), True),
        (Validity(time_to=time(11, 30)), False),  # end is exclusive
        (Validity(time_from=time(22), time_to=time(2)), False),
    ],
)
def test_validity_window(validity: Validity, applies: bool) -> None:
    p = promo("p", PercentOff(1000), validity=validity)
    assert (price(cart(line("a")), p).total_fen == 450) is applies


def test_validity_is_evaluated_in_store_local_time() -> None:
    utc_now = datetime(2024, 6, 14, 16, 30, tzinfo=UTC)  # Friday in UTC, Saturday 00:30 in Shanghai
    overnight = promo("p", PercentOff(1000), validity=Validity(weekdays={6}, time_from=time(22), time_to=time(2)))
    assert price(cart(line("a")), overnight, now=utc_now).total_fen == 450
    friday = promo("p", PercentOff(1000), validity=Validity(weekdays={5}))
    assert price(cart(line("a")), friday, now=utc_now).total_fen == 500


def test_store_scope() -> None:
    elsewhere = promo("p", PercentOff(1000), store_ids={"s2"})
    here = promo("q", PercentOff(1000), store_ids={"s1", "s2"})
    assert price(cart(line("a")), elsewhere).total_fen == 500
    assert price(cart(line("a")), here).total_fen == 450


# --------------------------------------------------------------------------- stacking


def test_exclusive_alone_beats_weaker_stack() -> None:
    exclusive = promo("x", PercentOff(2000), stacking=Stacking.EXCLUSIVE, name="全场8折")
    spend = promo("s", SpendSave(tiers=(SpendTier(10_000, 1_000),)))
    item = promo("i", PercentOff(500), DRINKS)
    result = price(cart(line("a", price=10_000)), exclusive, spend, item)
    assert result.total_fen == 8000
    assert [a.promotion_id for a in result.applied_promotions] == ["x"]
    assert "独享活动" in texts(result) and "exclusive" in texts(result)


def test_stack_beats_weaker_exclusive() -> None:
    exclusive = promo("x", PercentOff(1000), stacking=Stacking.EXCLUSIVE, name="全场9折")
    spend = promo("s", SpendSave(tiers=(SpendTier(10_000, 1_000),)))
    item = promo("i", PercentOff(500), DRINKS)
    result = price(cart(line("a", price=11_000)), exclusive, spend, item)
    # 5 % -> 104.50, then 满100减10 -> 94.50 (< 99.00 with the exclusive 9折)
    assert result.total_fen == 9450
    assert {a.promotion_id for a in result.applied_promotions} == {"s", "i"}
    assert "全场9折" in texts(result)


def test_stack_group_keeps_the_best_member() -> None:
    ten = promo("ten", PercentOff(1000), stack_group="g")
    fifteen = promo("fifteen", PercentOff(1500), stack_group="g")
    other = promo("other", AmountOff(100), Scope(product_ids={"cola"}))
    result = price(cart(line("a", price=1000)), ten, fifteen, other)
    assert {a.promotion_id for a in result.applied_promotions} == {"fifteen", "other"}
    assert result.total_fen == 1000 - 150 - 100  # percent rules apply before amount rules


def test_ties_are_broken_by_priority_then_id() -> None:
    a = promo("a", PercentOff(1000), stack_group="g", priority=1)
    b = promo("b", PercentOff(1000), stack_group="g", priority=2)
    assert [p.promotion_id for p in price(cart(line("x")), a, b).applied_promotions] == ["b"]
    c = promo("c", PercentOff(1000), stack_group="g")
    d = promo("d", PercentOff(1000), stack_group="g")
    assert [p.promotion_id for p in price(cart(line("x")), d, c).applied_promotions] == ["c"]
    e1 = promo("e1", PercentOff(1000), stacking=Stacking.EXCLUSIVE)
    e2 = promo("e2", PercentOff(1000), stacking=Stacking.EXCLUSIVE, priority=5)
    assert [p.promotion_id for p in price(cart(line("x")), e1, e2).applied_promotions] == ["e2"]


def _fillers(n: int) -> list[Promotion]:
    """Tiny stackable promotions (1 fen off cola each): push the search past the exhaustive limit."""
    return [promo(f"f{k}", AmountOff(1), Scope(product_ids={"cola"})) for k in range(n)]


def test_heuristic_search_is_used_for_many_promotions_and_repairs_thresholds() -> None:
    spend = promo("s", SpendSave(tiers=(SpendTier(10_000, 3_000),)), DRINKS, name="满100减30")
    item = promo("i", PercentOff(500), Scope(product_ids={"cola"}), name="可乐95折")
    c = cart(line("a", price=10_000))
    exact = price(c, spend, item)
    assert exact.total_fen == 7000  # dropping the 5 % keeps the ¥100 threshold
    heuristic = price(c, spend, item, *_fillers(6))
    assert heuristic.total_fen == 7000
    assert "可叠加活动每组取最优" in texts(heuristic) and "已比较全部" not in texts(heuristic)


def test_heuristic_result_never_worse_than_exclusives_or_nothing() -> None:
    exclusive = promo("x", PercentOff(3000), stacking=Stacking.EXCLUSIVE)
    weak_exclusive = promo("y", PercentOff(100), Scope(product_ids={"chips"}), stacking=Stacking.EXCLUSIVE)
    c = cart(line("a", price=2000), chips())
    result = price(c, exclusive, weak_exclusive, *_fillers(7))
    assert result.total_fen == price_combination(c, [exclusive], NOW, ["x"]).total_fen == 1960
    assert "最多优惠" in texts(result) or "Exclusive 'y'" in texts(result)


def test_price_combination_validates_the_combination() -> None:
    x = promo("x", PercentOff(1000), stacking=Stacking.EXCLUSIVE)
    g1 = promo("g1", PercentOff(1000), stack_group="g")
    g2 = promo("g2", PercentOff(500), stack_group="g")
    c = cart(line("a"))
    with pytest.raises(ValueError):
        price_combination(c, [x, g1], NOW, ["x", "g1"])
    with pytest.raises(ValueError):
        price_combination(c, [g1, g2], NOW, ["g1", "g2"])
    with pytest.raises(ValueError):
        price_combination(c, [g1], NOW, ["nope"])
    assert check(price_combination(c, [g1, g2], NOW, ["g2"])).total_fen == 475


def test_index_and_promotion_order_do_not_change_the_result() -> None:
    promos = [
        promo("s", TIERS),
        promo("i", PercentOff(500), DRINKS),
        promo("b", BuyXGetY(1, 1), Scope(product_ids={"cola"})),
        promo("x", PercentOff(1500), stacking=Stacking.EXCLUSIVE),
    ]
    c = cart(line("a", price=4000, qty=3000), chips(price=9000))
    baseline = price_cart(c, promos, NOW)
    assert price_cart(c, list(reversed(promos)), NOW) == baseline
    assert price_cart(c, PromotionIndex(promos), NOW) == baseline


# --------------------------------------------------------------------------- coupons


def test_coupons_applied_and_rejected_with_reasons() -> None:
    coupons = (
        Coupon("OK10", CouponKind.AMOUNT_OFF, 1000, threshold_fen=5000),
        Coupon("OK10", CouponKind.AMOUNT_OFF, 1000, threshold_fen=5000),
        Coupon("BIG", CouponKind.AMOUNT_OFF, 1000, threshold_fen=50_000),
        Coupon("OLD", CouponKind.AMOUNT_OFF, 1000, valid_until=NOW - timedelta(days=1)),
        Coupon("SOON", CouponKind.AMOUNT_OFF, 1000, valid_from=NOW + timedelta(days=1)),
        Coupon("USED", CouponKind.AMOUNT_OFF, 1000, status=CouponStatus.USED),
        Coupon("SNACK", CouponKind.PERCENT_OFF, 2000, scope=Scope(category_ids={"snacks"})),
    )
    result = price(cart(line("a", price=6000), coupons=coupons))
    reasons = [(c.code, c.reason_code, c.amount_fen) for c in result.coupons]
    assert reasons == [
        ("OK10", "applied", 1000),
        ("OK10", "duplicate", 0),
        ("BIG", "below_threshold", 0),
        ("OLD", "expired", 0),
        ("SOON", "not_started", 0),
        ("USED", "status", 0),
        ("SNACK", "no_eligible_items", 0),
    ]
    assert result.total_fen == 5000
    assert "还差440.00元" in texts(result)
    assert len(result.unusable_coupons) == 6


def test_percent_coupon_on_scope_with_cap() -> None:
    coupon = Coupon("C", CouponKind.PERCENT_OFF, 5000, scope=Scope(category_ids={"snacks"}), max_discount_fen=300)
    result = price(cart(line("a"), chips(), coupons=(coupon,)))
    assert finals(result) == {"a": 500, "chips": 500}
    (od,) = result.order_discounts
    assert (od.source_kind, od.source_id, od.amount_fen) == (SourceKind.COUPON, "C", 300)


def test_coupon_threshold_uses_the_price_after_promotions() -> None:
    coupon = Coupon("C", CouponKind.AMOUNT_OFF, 500, threshold_fen=1000)
    p = promo("p", PercentOff(1000))
    result = price(cart(line("a", price=1050), coupons=(coupon,)), p)
    # with the 9折 the ¥10 threshold is missed (¥9.45): without it the coupon brings ¥5.50
    assert result.total_fen == 550
    assert not result.applied_promotions


# --------------------------------------------------------------------------- manual discounts


def test_manual_discount_within_limit_is_applied() -> None:
    manual = (ManualDiscount("m", ManualKind.PERCENT, 1000, max_allowed_bp=1000, line_id="a", reason="破损"),)
    result = price(cart(line("a", price=1000), manual=manual))
    assert finals(result) == {"a": 900}
    assert not result.needs_approval
    assert result.line("a").discounts[0].source_kind is SourceKind.MANUAL


def test_manual_discount_over_limit_needs_approval() -> None:
    over = ManualDiscount("m", ManualKind.PERCENT, 2000, max_allowed_bp=1000, line_id="a")
    result = price(cart(line("a", price=1000), manual=(over,)))
    assert result.total_fen == 1000 and result.needs_approval
    (approval,) = result.approvals
    assert (approval.manual_id, approval.requested_bp, approval.allowed_bp) == ("m", 2000, 1000)
    assert "需主管授权" in approval.message.zh and "needs approval" in approval.message.en
    approved = ManualDiscount("m", ManualKind.PERCENT, 2000, max_allowed_bp=1000, line_id="a", approved=True)
    result = price(cart(line("a", price=1000), manual=(approved,)))
    assert result.total_fen == 800 and not result.needs_approval


def test_manual_amount_limit_is_checked_as_a_rate_rounding_up() -> None:
    just_over = ManualDiscount("m", ManualKind.AMOUNT, 101, max_allowed_bp=1000)  # 10.1 % of ¥10
    result = price(cart(line("a", price=1000), manual=(just_over,)))
    assert result.needs_approval and result.approvals[0].requested_bp == 1010
    at_limit = ManualDiscount("m", ManualKind.AMOUNT, 100, max_allowed_bp=1000)
    result = price(cart(line("a", price=400), line("b", price=600), manual=(at_limit,)))
    assert finals(result) == {"a": 360, "b": 540}  # order manual discount allocated
    assert not result.needs_approval


# --------------------------------------------------------------------------- cash rounding


@pytest.mark.parametrize(
    ("mode", "due"),
    [
        (CashRounding.NONE, 1257),
        (CashRounding.JIAO_DOWN, 1250),
        (CashRounding.JIAO_NEAREST, 1260),
        (CashRounding.YUAN_DOWN, 1200),
        (CashRounding.YUAN_NEAREST, 1300),
    ],
)
def test_cash_rounding_only_touches_cash_due(mode: CashRounding, due: int) -> None:
    result = price(cart(line("a", price=1257), rounding=mode))
    assert result.total_fen == 1257
    assert result.cash_due_fen == due
    assert result.cash_rounding_fen == due - 1257
    assert ("现金舍入" in texts(result)) is (due != 1257)


# --------------------------------------------------------------------------- describe & validate


def test_describe_promotion_examples() -> None:
    p = promo("p", SpendSave(tiers=(SpendTier(10_000, 1_000),)), DRINKS)
    assert describe_promotion(p, "zh", {"drinks": "饮料"}) == "满 100 减 10,可叠加会员折扣,仅限饮料类"
    assert (
        describe_promotion(p, "en", {"drinks": "beverages"})
        == "Spend ¥100, save ¥10; stacks with member discount; beverages only"
    )


@pytest.mark.parametrize(
    ("rule", "zh", "en"),
    [
        (PercentOff(1200), "单品 8.8 折", "12% off each item"),
        (PercentOff(1000, ApplyTo.ORDER, min_spend_fen=20_000), "满 200 打 9 折", "Spend ¥200, get 10% off"),
        (AmountOff(500), "每件立减 5 元", "¥5 off each item"),
        (SpecialPrice(990), "特价 9.9 元", "Special price ¥9.9"),
        (SpendSave(every_fen=10_000, save_fen=1_000, cap_fen=5_000), "每满 100 减 10(最多减 50)", "up to ¥50"),
        (BuyXGetY(1, 1), "买 1 送 1", "Buy 1 get 1 free"),
        (BuyXGetY(1, 1, 5000), "第 2 件半价", "2nd item half price"),
        (BuyXGetY(2, 1, 2000), "买 2 件另 1 件 8 折", "Buy 2, get 1 at 20% off"),
        (Gift("w", "矿泉水", min_spend_fen=5000), "满 50 元送 矿泉水 ×1", "get 矿泉水 ×1 free"),
        (Bundle((BundleItem("cola", 1), BundleItem("chips", 2)), 1200), "可乐 ×1 + chips ×2 组合价 12 元", "for ¥12"),
    ],
)
def test_describe_rules(rule, zh: str, en: str) -> None:  # noqa: ANN001
    p = promo("p", rule, Scope(product_ids={"cola"}), stacking=Stacking.EXCLUSIVE)
    names = {"cola": "可乐"}
    assert describe_promotion(p, "zh", names).startswith(zh)
    assert en in describe_promotion(p, "en", names)
    assert "不与其他活动同享" in describe_promotion(p, "zh")


def test_describe_conditions() -> None:
    p = promo(
        "p",
        PercentOff(1000),
        Scope(category_ids={"drinks"}, exclude_product_ids={"water"}),
        stack_group="周末",
        stacks_with_member=False,
        member_only=True,
        max_uses_per_order=2,
        validity=Validity(date(2024, 6, 1), date(2024, 6, 30), {6, 7}, time(10), time(14)),
    )
    zh = describe_promotion(p, "zh", {"drinks": "饮料", "water": "矿泉水"})
    for part in ("每单限 2 次", "不与同组(周末)活动叠加", "不与会员优惠同享", "仅限会员", "仅限饮料类"):
        assert part in zh
    for part in ("不含 矿泉水", "2024-06-01 至 2024-06-30", "每周六、日", "10:00–14:00"):
        assert part in zh
    en = describe_promotion(p, "en")
    assert "members only" in en and "on Sat, Sun" in en and "max 2 per order" in en


def _codes(p: Promotion) -> set[str]:
    errors = validate_promotion(p)
    assert all(e.zh and e.en and e.field for e in errors)
    return {e.code for e in errors}


def test_validate_accepts_good_promotions() -> None:
    good = [
        promo("a", PercentOff(1200), DRINKS),
        promo("b", SpendSave(tiers=(SpendTier(10_000, 1_000), SpendTier(20_000, 3_000))), DRINKS),
        promo("c", SpendSave(every_fen=10_000, save_fen=1_000, cap_fen=5_000)),
        promo("d", BuyXGetY(1, 1, 5000), Scope(product_ids={"cola"})),
        promo("e", Bundle((BundleItem("cola", 1), BundleItem("chips", 1)), 1000)),
        promo("f", Gift("w", "水", min_spend_fen=5000)),
        promo("g", SpecialPrice(399), Scope(product_ids={"cola"})),
        promo("h", AmountOff(1000, ApplyTo.ORDER, min_spend_fen=10_000)),
    ]
    for p in good:
        assert validate_promotion(p) == [], p.id


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (promo("p", PercentOff(1000), Scope()), "empty"),
        (promo("p", PercentOff(0)), "range"),
        (promo("p", PercentOff(10_001)), "range"),
        (promo("p", AmountOff(-5)), "positive"),
        (promo("p", AmountOff(2000, ApplyTo.ORDER, min_spend_fen=1000)), "threshold_below_discount"),
        (promo("p", SpendSave(tiers=(SpendTier(1000, 2000),))), "threshold_below_discount"),
        (promo("p", SpendSave(tiers=(SpendTier(20_000, 3_000), SpendTier(10_000, 1_000)))), "not_increasing"),
        (promo("p", SpendSave(every_fen=1000, save_fen=2000)), "threshold_below_discount"),
        (promo("p", SpendSave()), "required"),
        (promo("p", PercentOff(1000), validity=Validity(date(2024, 2, 1), date(2024, 1, 1))), "before_start"),
        (promo("p", BuyXGetY(0, 1)), "min"),
        (promo("p", BuyXGetY(1, 0)), "min"),
        (promo("p", Bundle((BundleItem("cola", 1),), 500)), "min_items"),
        (promo("p", Bundle((BundleItem("cola", 1), BundleItem("chips", 1)), 0)), "positive"),
        (promo("p", SpecialPrice(-1), Scope(product_ids={"cola"})), "negative"),
        (promo("p", SpecialPrice(100), DRINKS), "products_only"),
        (promo("p", Gift("w", "水")), "no_trigger"),
        (promo("p", PercentOff(1000), max_uses_per_order=0), "min"),
        (promo("p", PercentOff(1000), validity=Validity(weekdays={0})), "invalid"),
        (promo("p", PercentOff(1000), name=" "), "required"),
    ],
)
def test_validate_refuses(bad: Promotion, code: str) -> None:
    assert code in _codes(bad)


# --------------------------------------------------------------------------- input errors & refunds


def test_malformed_input_raises() -> None:
    with pytest.raises(ValueError):
        price_cart(cart(line("a"), line("a")), [], NOW)
    with pytest.raises(ValueError):
        price_cart(cart(line("a")), [], datetime(2024, 6, 15, 11, 30))
    with pytest.raises(ValueError):
        price_cart(cart(line("a", qty=0)), [], NOW)
    with pytest.raises(ValueError):
        price_cart(cart(line("a"), manual=(ManualDiscount("m", ManualKind.PERCENT, 1, 1, line_id="x"),)), [], NOW)
    with pytest.raises(ValueError):
        price_cart(cart(line("a")), [promo("p", PercentOff(1)), promo("p", PercentOff(2))], NOW)


def test_partial_refund_gets_back_exactly_what_the_line_paid() -> None:
    p = promo("p", SpendSave(tiers=(SpendTier(1000, 333),)))
    coupon = Coupon("C", CouponKind.AMOUNT_OFF, 101)
    result = price(cart(line("a", price=700), line("b", price=300), chips(price=1), coupons=(coupon,)), p)
    refunds = {pl.line_id: pl.final_amount_fen for pl in result.lines}
    assert sum(refunds.values()) == result.total_fen
    for pl in result.lines:
        order_shares = sum(d.amount_fen for d in pl.discounts if d.level is DiscountLevel.ORDER)
        assert pl.final_amount_fen == pl.list_amount_fen - order_shares


def test_engine_source_never_uses_float() -> None:
    """No float literal, float() call or true division in the engine and money helpers."""
    root = Path(__file__).resolve().parents[3] / "src" / "cloudpos"
    files = [root / "money.py", *sorted((root / "pricing").rglob("*.py"))]
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), path
            assert not isinstance(node, ast.Div), f"true division in {path}:{node.lineno}"  # type: ignore[attr-defined]
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "float", path


# --------------------------------------------------------------------------- limits and edge cases


def test_usage_limit_goes_to_the_most_expensive_units_first() -> None:
    special = promo("p", SpecialPrice(300), Scope(product_ids={"cola"}), max_uses_per_order=2)
    assert finals(price(cart(line("a", qty=3000)), special)) == {"a": 1100}
    percent = promo("p", PercentOff(1000), DRINKS, max_uses_per_order=1)
    sprite = line("s", "sprite", 700)
    assert finals(price(cart(line("a"), sprite), percent)) == {"a": 500, "s": 630}
    assert finals(price(cart(line("a", qty=3000)), percent)) == {"a": 1450}


def test_amount_off_is_per_kilogram_for_weighed_goods() -> None:
    apple = line("z", "apple", 1000, 1500, category="fruit", ancestors=(), weighed=True)
    p = promo("p", AmountOff(200), Scope(product_ids={"apple"}))
    assert finals(price(cart(apple), p)) == {"z": 1200}


def test_empty_cart_and_unknown_line() -> None:
    coupon = Coupon("C", CouponKind.AMOUNT_OFF, 100)
    manual = (ManualDiscount("m", ManualKind.PERCENT, 500, 1000),)
    result = price(cart(coupons=(coupon,), manual=manual), promo("p", PercentOff(1000)))
    assert (result.total_fen, result.cash_due_fen, result.lines) == (0, 0, ())
    assert result.coupons[0].reason_code == "no_eligible_items"
    with pytest.raises(KeyError):
        result.line("nope")


def test_price_combination_explains_itself() -> None:
    p = promo("p", PercentOff(1000), name="九折")
    result = check(price_combination(cart(line("a")), [p], NOW, ["p"]))
    assert result.total_fen == 450
    assert "按指定的活动组合计价" in texts(result)
