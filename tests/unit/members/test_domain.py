"""Pure loyalty rules: card numbers, phones, earn/redeem/expiry math, tiers, RFM, top-up bonuses."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudpos.members import domain
from cloudpos.members.domain import BonusRule, EarnRule, RedeemRule, RfmThresholds, Stats, TierRule


def test_card_numbers_are_luhn_valid_and_readable():
    for _ in range(200):
        card = domain.new_card_no()
        assert len(card) == 10 and card[0] != "0" and domain.luhn_valid(card)
    assert domain.luhn_valid("79927398713") and not domain.luhn_valid("79927398710")
    with pytest.raises(ValueError):
        domain.new_card_no(7)


def test_phones():
    assert domain.normalize_phone("138 1234 5678") == "+8613812345678"
    assert domain.normalize_phone("+86-13812345678") == "+8613812345678"
    for bad in ("", "12345", "1381234567", "abc", "23812345678"):
        with pytest.raises(ValueError):
            domain.normalize_phone(bad)
    assert domain.mask_phone("+8613812341234") == "138****1234"
    assert domain.national_phone("+8613812341234") == "13812341234"
    assert domain.mask_phone(None) == ""
    assert domain.mask_email("zhang@example.com") == "z***@example.com"


def test_pins():
    assert domain.pin_problem("135790") is None
    for bad in ("12345", "1234567", "abcdef", "000000", "123456", "654321"):
        assert domain.pin_problem(bad) is not None


def test_birthdays():
    assert domain.is_birthday(date(1990, 5, 6), date(2026, 5, 6))
    assert not domain.is_birthday(date(1990, 5, 6), date(2026, 5, 7))
    assert domain.is_birthday(date(2000, 2, 29), date(2027, 2, 28))
    assert domain.is_birthday(date(2000, 2, 29), date(2028, 2, 29))
    assert not domain.is_birthday(date(2000, 2, 29), date(2028, 2, 28))
    assert domain.in_birthday_month(date(1990, 5, 6), date(2026, 5, 30))


def test_earn_excludes_categories_and_points_or_stored_value_paid_part():
    rule = EarnRule(fen_per_point=100, excluded_category_ids=frozenset({"tobacco"}))
    base = domain.earn_base_fen(10_000, {"food": 6_000, "tobacco": 4_000}, rule.excluded_category_ids)
    assert base == 6_000 and domain.earn_points(base, rule) == 60
    # half paid with stored value: only the cash half earns
    base = domain.earn_base_fen(10_000, {"food": 10_000}, (), stored_value_paid_fen=5_000)
    assert base == 5_000
    assert domain.earn_base_fen(10_000, {"food": 10_000}, (), points_paid_fen=4_000, stored_value_paid_fen=6_000) == 0
    assert domain.earn_points(999, rule) == 9  # floor: never rounds up
    assert domain.earn_points(1_000, rule, multiplier_bp=15_000) == 15
    assert domain.combined_multiplier_bp(12_000, True, [20_000]) == 48_000
    assert domain.combined_multiplier_bp(10_000) == 10_000


def test_redeem_quote_caps_and_rounding():
    rule = RedeemRule(points_per_yuan=100, max_order_bp=5000, min_points=100)
    q = domain.quote(balance=10_000, order_fen=5_000, rule=rule)
    assert (q.max_value_fen, q.max_points) == (2_500, 2_500)
    q = domain.quote(balance=300, order_fen=100_000, rule=rule)
    assert (q.max_value_fen, q.max_points) == (300, 300)
    assert domain.quote(balance=50, order_fen=100_000, rule=rule).max_points == 0  # under the minimum
    odd = RedeemRule(points_per_yuan=150)
    assert domain.points_value_fen(151, odd) == 100 and domain.points_for_value(100, odd) == 150


@given(st.integers(0, 10**9), st.integers(0, 10**7), st.integers(1, 1000), st.integers(0, 10_000))
def test_quote_never_exceeds_balance_or_cap(balance, order, ppy, cap_bp):
    rule = RedeemRule(points_per_yuan=ppy, max_order_bp=cap_bp, min_points=0)
    q = domain.quote(balance, order, rule)
    assert 0 <= q.max_points <= balance
    assert q.max_value_fen <= order * cap_bp // 10_000
    assert domain.points_value_fen(q.max_points, rule) >= q.max_value_fen


@given(st.integers(1, 10**6), st.lists(st.integers(1, 10**6), min_size=1, max_size=6), st.integers(1, 10**6))
def test_cumulative_share_is_exact_in_the_end(total, parts, whole):
    done, cum = 0, 0
    for p in parts:
        cum += p
        now = domain.cumulative_share(total, cum, whole) - done
        assert now >= 0
        done += now
    assert done <= total
    if cum >= whole:
        assert done == total


def test_points_expiry_fifo():
    # 2024 earned 1000, 2025 earned 500; 700 spent so far: 300 of 2024 remain and expire in a 2026 run
    assert domain.points_to_expire({2024: 1000, 2025: 500}, 700, 2024, 800) == 300
    assert domain.points_to_expire({2024: 1000}, 1200, 2024, 0) == 0
    assert domain.points_to_expire({2025: 1000}, 0, 2024, 1000) == 0
    assert domain.expiry_year_for(date(2026, 1, 1)) == 2024


TIERS = [TierRule("n", 0, "spend", is_default=True), TierRule("s", 10, "spend", threshold_spend_fen=200_000),
         TierRule("g", 20, "visits", threshold_visits=10, period_days=90), TierRule("v", 30, "manual")]


def test_tier_evaluation_upgrades_and_downgrades():
    low = {0: Stats(spend_fen=1_000, visits=1), 90: Stats(visits=1)}
    mid = {0: Stats(spend_fen=250_000, visits=3), 90: Stats(visits=3)}
    high = {0: Stats(spend_fen=250_000, visits=30), 90: Stats(visits=12)}
    assert domain.next_tier(TIERS, None, False, low, False) == "n"
    assert domain.next_tier(TIERS, "n", False, mid, False) == "s"
    assert domain.next_tier(TIERS, "s", False, high, False) == "g"
    assert domain.next_tier(TIERS, "g", False, low, False) == "g"  # after a sale: never down
    assert domain.next_tier(TIERS, "g", False, low, True) == "n"  # the periodic job: down
    assert domain.next_tier(TIERS, "v", False, high, False) == "v"  # manual tier kept after a sale
    assert domain.next_tier(TIERS, "s", True, high, True) == "s"  # locked by hand


def test_rfm_classes():
    t = RfmThresholds(recent_days=90, frequent_visits=3, monetary_fen=100_000)
    assert domain.rfm_class(10, 5, 200_000, t) == "important_value"
    assert domain.rfm_class(10, 1, 200_000, t) == "important_develop"
    assert domain.rfm_class(200, 5, 200_000, t) == "important_keep"
    assert domain.rfm_class(200, 1, 200_000, t) == "important_retain"
    assert domain.rfm_class(10, 5, 1_000, t) == "general_value"
    assert domain.rfm_class(200, 1, 1_000, t) == "general_retain"
    assert domain.rfm_class(None, 0, 0, t) == "none"
    assert set(domain.RFM_CLASSES) == {*domain._RFM_BY_FLAGS.values(), "none"}


def test_top_up_bonus_rules():
    rules = [BonusRule(20_000, 2_000), BonusRule(50_000, 8_000), BonusRule(50_000, 6_000)]
    assert domain.top_up_bonus(19_999, rules) == 0
    assert domain.top_up_bonus(20_000, rules) == 2_000
    assert domain.top_up_bonus(49_999, rules) == 2_000
    assert domain.top_up_bonus(80_000, rules) == 8_000
    assert domain.top_up_bonus(80_000, []) == 0


@given(st.integers(0, 10**7), st.integers(0, 10**7), st.integers(0, 10**7))
def test_stored_value_split_is_exact(amount, principal, bonus):
    if amount > principal + bonus:
        amount = principal + bonus
    p, b = domain.split_spend(amount, principal, bonus)
    assert p + b == amount and 0 <= p <= max(principal, amount) and 0 <= b <= bonus


def test_coupon_codes_are_readable():
    code = domain.new_coupon_code()
    assert len(code) == 14 and code.count("-") == 2
    assert not set(code.replace("-", "")) & set("01OI")
