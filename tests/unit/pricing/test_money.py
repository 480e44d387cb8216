"""cloudpos.money: exact integer rounding, allocation and quantity helpers."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudpos.money import (
    allocate,
    apply_bp,
    ceil_div,
    format_yuan,
    format_yuan_compact,
    line_amount,
    milli_to_str,
    qty_to_milli,
    round_down_to,
    round_half_up,
    round_nearest_to,
)

# Cheap scalar properties get many examples; list-based ones fewer (generation dominates).
MANY = settings(max_examples=500, deadline=None, database=None)
SOME = settings(max_examples=300, deadline=None, database=None)
ints = st.integers(min_value=-(10**12), max_value=10**12)
nonzero = st.integers(min_value=-(10**6), max_value=10**6).filter(bool)


def decimal_half_up(numerator: int, denominator: int) -> int:
    return int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --------------------------------------------------------------------------- round_half_up


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (5, 2, 3),
        (-5, 2, -3),
        (7, -2, -4),
        (-7, -2, 4),
        (4, 3, 1),
        (5, 3, 2),
        (-4, 3, -1),
        (-5, 3, -2),
        (1, 3, 0),
        (0, 7, 0),
        (15, 10, 2),
        (-15, 10, -2),
        (14999, 10000, 1),
        (15000, 10000, 2),
    ],
)
def test_round_half_up_examples(numerator: int, denominator: int, expected: int) -> None:
    assert round_half_up(numerator, denominator) == expected


@MANY
@given(ints, nonzero)
def test_round_half_up_matches_decimal_reference(numerator: int, denominator: int) -> None:
    assert round_half_up(numerator, denominator) == decimal_half_up(numerator, denominator)


@pytest.mark.parametrize("bad", [1.0, True, "1", None])
def test_money_helpers_refuse_non_int(bad: object) -> None:
    with pytest.raises(TypeError):
        round_half_up(bad, 2)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        apply_bp(100, bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        line_amount(bad, 1000)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        allocate(10, [1, bad])  # type: ignore[list-item]


def test_round_half_up_zero_denominator() -> None:
    with pytest.raises(ZeroDivisionError):
        round_half_up(1, 0)


# --------------------------------------------------------------------------- apply_bp / line_amount


def test_apply_bp_examples() -> None:
    assert apply_bp(10_000, 1200) == 1200  # 12 % of ¥100 = ¥12 (8.8折 saves ¥12)
    assert apply_bp(5, 5000) == 3  # 2.5 fen -> 3
    assert apply_bp(-5, 5000) == -3  # half away from zero
    assert apply_bp(999, 10_000) == 999
    assert apply_bp(999, 0) == 0


@MANY
@given(ints, st.integers(min_value=-10_000, max_value=10_000))
def test_apply_bp_matches_decimal_reference(amount: int, bp: int) -> None:
    assert apply_bp(amount, bp) == decimal_half_up(amount * bp, 10_000)


def test_line_amount_examples() -> None:
    assert line_amount(1298, 1255) == 1629  # 1.255 kg at ¥12.98 = ¥16.2899
    assert line_amount(350, 3000) == 1050
    assert line_amount(1, 500) == 1  # half a fen rounds up
    assert line_amount(1, 499) == 0


@MANY
@given(st.integers(min_value=0, max_value=10**8), st.integers(min_value=0, max_value=10**7))
def test_line_amount_matches_decimal_reference(price: int, qty: int) -> None:
    assert line_amount(price, qty) == decimal_half_up(price * qty, 1000)


# --------------------------------------------------------------------------- allocate


def test_allocate_examples() -> None:
    assert allocate(100, [1, 2, 3]) == [17, 33, 50]
    assert allocate(1, [1, 1, 1]) == [1, 0, 0]  # tie -> lowest index
    assert allocate(2, [1, 1, 1]) == [1, 1, 0]
    assert allocate(10, [3, 3, 4]) == [3, 3, 4]
    assert allocate(0, [5, 7]) == [0, 0]
    assert allocate(5, [0, 0]) == [3, 2]  # all-zero weights: even split
    assert allocate(-100, [1, 2, 3]) == [-17, -33, -50]
    assert allocate(7, [0, 5, 0]) == [0, 7, 0]
    assert allocate(0, []) == []


def test_allocate_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        allocate(1, [])
    with pytest.raises(ValueError):
        allocate(10, [1, -1])


weights_st = st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=40)


@SOME
@given(st.integers(min_value=-(10**9), max_value=10**9), weights_st)
def test_allocate_is_exact_and_fair(total: int, weights: list[int]) -> None:
    shares = allocate(total, weights)
    assert len(shares) == len(weights)
    assert sum(shares) == total
    assert all(type(s) is int for s in shares)
    effective = weights if sum(weights) else [1] * len(weights)
    weight_sum = sum(effective)
    for share, weight in zip(shares, effective, strict=True):
        # within one fen of the exact quota: floor(q) <= |share| <= floor(q) + 1
        floor_quota = abs(total) * weight // weight_sum
        assert floor_quota <= abs(share) <= floor_quota + 1
    # monotone: a bigger weight never gets a smaller share
    for i in range(len(weights)):
        for j in range(len(weights)):
            if effective[i] > effective[j]:
                assert abs(shares[i]) >= abs(shares[j])
    assert allocate(total, weights) == shares  # deterministic


@SOME
@given(st.integers(min_value=0, max_value=10**9), weights_st)
def test_allocate_never_exceeds_weight_when_total_fits(total: int, weights: list[int]) -> None:
    if total > sum(weights):
        total = sum(weights)
    for share, weight in zip(allocate(total, weights), weights, strict=True):
        assert 0 <= share <= weight


# --------------------------------------------------------------------------- quantities


@pytest.mark.parametrize(
    ("raw", "milli"),
    [
        ("1.25", 1250),
        ("1.250", 1250),
        ("1.2500", 1250),  # the VALUE has three decimals: accepted
        ("0.001", 1),
        (" 2 ", 2000),
        ("-1.5", -1500),
        ("1e-3", 1),
        (Decimal("2.5"), 2500),
        (3, 3000),
        ("0", 0),
    ],
)
def test_qty_to_milli(raw: str | Decimal | int, milli: int) -> None:
    assert qty_to_milli(raw) == milli


@pytest.mark.parametrize("raw", ["1.2345", "0.0001", Decimal("1.0005"), "abc", "", "NaN", "Infinity"])
def test_qty_to_milli_rejects(raw: str | Decimal) -> None:
    with pytest.raises(ValueError):
        qty_to_milli(raw)


@pytest.mark.parametrize("raw", [1.5, True])
def test_qty_to_milli_refuses_float_and_bool(raw: object) -> None:
    with pytest.raises(TypeError):
        qty_to_milli(raw)  # type: ignore[arg-type]


def test_milli_to_str() -> None:
    assert milli_to_str(1250) == "1.250"
    assert milli_to_str(0) == "0.000"
    assert milli_to_str(1) == "0.001"
    assert milli_to_str(-500) == "-0.500"
    assert milli_to_str(12_000) == "12.000"


@MANY
@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_quantity_round_trip(qty: int) -> None:
    text = milli_to_str(qty)
    assert qty_to_milli(text) == qty
    assert qty_to_milli(Decimal(text)) == qty


# --------------------------------------------------------------------------- steps & formatting


def test_round_to_steps() -> None:
    assert round_down_to(1234, 10) == 1230
    assert round_down_to(1239, 100) == 1200
    assert round_down_to(-1239, 10) == -1230  # toward zero
    assert round_nearest_to(1234, 10) == 1230
    assert round_nearest_to(1235, 10) == 1240
    assert round_nearest_to(1249, 100) == 1200
    assert round_nearest_to(1250, 100) == 1300
    assert round_nearest_to(-1235, 10) == -1240
    with pytest.raises(ValueError):
        round_down_to(10, 0)


def test_ceil_div() -> None:
    assert ceil_div(10, 3) == 4
    assert ceil_div(9, 3) == 3
    assert ceil_div(-10, 3) == -3
    assert ceil_div(0, 5) == 0


def test_format_yuan() -> None:
    assert format_yuan(1050) == "10.50"
    assert format_yuan(5) == "0.05"
    assert format_yuan(-8) == "-0.08"
    assert format_yuan_compact(10_000) == "100"
    assert format_yuan_compact(990) == "9.9"
    assert format_yuan_compact(999) == "9.99"
    assert format_yuan_compact(0) == "0"
