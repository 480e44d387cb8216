"""Per-member usage limits, store scope in words, and rules that can never run (pure engine)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from cloudpos.pricing.domain import (
    ALL_PRODUCTS,
    Cart,
    CartLine,
    Customer,
    PercentOff,
    Promotion,
    PromotionIndex,
    Validity,
    describe_promotion,
    price_cart,
    validate_promotion,
)

NOW = datetime(2024, 6, 15, 11, 30, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Saturday
COLA = CartLine("l1", "cola", "cola-sku", "可乐", 1000, 500, category_id="drinks")


def _cart(customer: Customer | None = None, store: str = "s1") -> Cart:
    return Cart(store, "Asia/Shanghai", (COLA,), customer or Customer())


def _texts(result) -> str:  # noqa: ANN001
    return "\n".join(f"{m.zh} | {m.en}" for m in result.explanation)


LIMITED = Promotion("p1", "会员专享9折", PercentOff(1000), ALL_PRODUCTS, max_uses_per_member=2)


def test_member_below_the_limit_gets_the_promotion() -> None:
    member = Customer(is_member=True, member_id="m1", promotion_uses={"p1": 1})
    assert price_cart(_cart(member), [LIMITED], NOW).total_fen == 450


def test_member_at_the_limit_does_not_and_is_told_why() -> None:
    member = Customer(is_member=True, member_id="m1", promotion_uses={"p1": 2})
    result = price_cart(_cart(member), [LIMITED], NOW)
    assert result.total_fen == 500 and not result.applied_promotions
    words = _texts(result)
    assert "每位会员限用 2 次,该会员已用 2 次" in words
    assert "limited to 2 use(s) per member and this member has used it 2 time(s)" in words


def test_uses_of_other_promotions_do_not_count() -> None:
    member = Customer(is_member=True, member_id="m1", promotion_uses={"other": 9})
    assert price_cart(_cart(member), PromotionIndex([LIMITED]), NOW).total_fen == 450


def test_a_walk_in_customer_cannot_use_a_per_member_promotion() -> None:
    result = price_cart(_cart(), [LIMITED], NOW)
    assert result.total_fen == 500
    assert "需登记会员后享受" in _texts(result) and "identify the member" in _texts(result)


def test_index_lists_the_promotions_with_a_per_member_limit() -> None:
    plain = Promotion("p2", "x", PercentOff(500), ALL_PRODUCTS)
    assert PromotionIndex([LIMITED, plain]).member_limits == {"p1": 2}


def test_per_member_limit_in_words_and_validation() -> None:
    assert "每位会员限 2 次" in describe_promotion(LIMITED, "zh")
    assert "each member up to 2 time(s)" in describe_promotion(LIMITED, "en")
    bad = Promotion("p", "x", PercentOff(1000), ALL_PRODUCTS, max_uses_per_member=0)
    assert {e.field for e in validate_promotion(bad)} == {"max_uses_per_member"}


def test_store_scope_is_described_with_store_names_never_ids() -> None:
    p = Promotion("p", "x", PercentOff(1000), ALL_PRODUCTS, store_ids=frozenset({"s1", "s2", "s3"}))
    names = {"s1": "南山店", "s2": "福田店"}
    assert "适用门店:南山店、福田店及其他 1 家门店" in describe_promotion(p, "zh", names)
    assert "stores: 南山店, 福田店 and 1 other store(s)" in describe_promotion(p, "en", names)
    assert "s3" not in describe_promotion(p, "zh", names)


def test_quote_explains_a_promotion_of_other_stores_by_name() -> None:
    p = Promotion("p", "福田店开业9折", PercentOff(1000), ALL_PRODUCTS, store_ids=frozenset({"s2"}))
    result = price_cart(_cart(store="s1"), [p], NOW, names={"s2": "福田店", "s1": "南山店"})
    assert result.total_fen == 500
    assert "「福田店开业9折」仅限 福田店 使用,本店不参与" in _texts(result)
    assert "runs only at 福田店: not at this store" in _texts(result)
    # without names the ids are still not shown
    assert "仅限 其他 1 家门店 使用" in _texts(price_cart(_cart(store="s1"), [p], NOW))


def test_names_are_read_only_when_a_message_needs_them() -> None:
    class Tripwire(dict):
        def get(self, key, default=None):  # noqa: ANN001, ANN201
            raise AssertionError("names read although no message needs them")

    names = Tripwire(s1="南山店", s2="福田店")
    p = Promotion("p", "x", PercentOff(1000), ALL_PRODUCTS, store_ids=frozenset({"s1"}))
    assert price_cart(_cart(store="s1"), [p], NOW, names=names).total_fen == 450
    elsewhere = Promotion("q", "y", PercentOff(1000), ALL_PRODUCTS, store_ids=frozenset({"s2"}))
    with pytest.raises(AssertionError, match="names read"):
        price_cart(_cart(store="s1"), [elsewhere], NOW, names=names)


def test_held_back_promotions_are_listed_up_to_a_limit() -> None:
    others = [Promotion(f"p{k}", f"外店{k}", PercentOff(1000), ALL_PRODUCTS, store_ids=frozenset({"s9"}))
              for k in range(9)]
    words = _texts(price_cart(_cart(store="s1"), others, NOW))
    assert words.count("本店不参与") == 6 and "另有 3 个活动" in words


def test_weekdays_outside_a_short_date_window_are_refused() -> None:
    never = Validity(start_date=date(2024, 6, 17), end_date=date(2024, 6, 19), weekdays=frozenset({6, 7}))
    fine = Validity(start_date=date(2024, 6, 17), end_date=date(2024, 6, 22), weekdays=frozenset({6}))
    assert "never_runs" in {e.code for e in validate_promotion(Promotion("p", "x", PercentOff(1), ALL_PRODUCTS,
                                                                             validity=never))}
    assert validate_promotion(Promotion("p", "x", PercentOff(1), ALL_PRODUCTS, validity=fine)) == []


def test_quote_explanation_names_products_not_ids() -> None:
    from cloudpos.pricing.domain import Bundle, BundleItem, BuyXGetY, Scope

    cola = CartLine("1", "p-cola", "s1", "可乐", 2000, 300)
    chips = CartLine("2", "p-chips", "s2", "薯片", 1000, 800)
    bundle = Promotion("b", "组合", Bundle((BundleItem("p-cola", 1), BundleItem("p-chips", 1)), 900))
    gift = Promotion("g", "买可乐送薯片", BuyXGetY(1, 1, get_product_ids=frozenset({"p-chips"})),
                     Scope(product_ids=frozenset({"p-cola"})))
    for promo, zh in ((bundle, "可乐×1+薯片×1组合价9元"), (gift, "买1件送薯片1件")):
        words = _texts(price_cart(Cart("s1", "Asia/Shanghai", (cola, chips)), [promo], NOW))
        assert zh in words and "p-chips" not in words
