import pytest
from pydantic import BaseModel, ValidationError

from cloudpos.inventory import domain
from cloudpos.inventory.schemas import Qty, QtyOut


def test_moving_average_cost_half_up_to_the_fen():
    # 10 units at ¥2.00 + 5 units at ¥2.15 = (2000 + 1075) / 15 = 205 fen exactly
    assert domain.moving_average_cost(10_000, 200, 5_000, 215) == 205
    # 3 at 100 + 1 at 101 = 401/4 = 100.25 → 100
    assert domain.moving_average_cost(3_000, 100, 1_000, 101) == 100
    # 1 at 100 + 1 at 101 = 100.5 → 101 (half-up)
    assert domain.moving_average_cost(1_000, 100, 1_000, 101) == 101
    # weighed goods: 1.5 kg at 1000 + 0.5 kg at 1201 → (1500000 + 600500)/2000 = 1050.25 → 1050
    assert domain.moving_average_cost(1_500, 1000, 500, 1201) == 1050


def test_moving_average_ignores_stock_at_or_below_zero():
    assert domain.moving_average_cost(0, 999, 2_000, 150) == 150
    assert domain.moving_average_cost(-3_000, 999, 2_000, 150) == 150
    assert domain.moving_average_cost(5_000, 120, 0, 500) == 120


def test_variance_units_and_cost():
    v = domain.variance(expected=10_000, counted=8_500, unit_cost=199)
    assert (v.difference, v.difference_cost) == (-1_500, -299)  # -1.5 × 1.99 = -2.985 → -2.99
    assert domain.variance(2_000, 3_000, 250).difference_cost == 250
    assert domain.variance(1_000, 1_000, 250).difference == 0


def test_expected_at_count_time_includes_sales_during_the_count():
    # snapshot 10, two units sold before the product was counted: 8 expected
    assert domain.expected_at_count(10_000, [-1_000, -1_000]) == 8_000
    counted = 8_000
    assert domain.variance(domain.expected_at_count(10_000, [-2_000]), counted, 100).difference == 0


def test_merge_count_set_and_add():
    assert domain.merge_count(None, 1_000, "add") == 1_000
    assert domain.merge_count(2_000, 1_000, "add") == 3_000
    assert domain.merge_count(2_000, 5_000, "set") == 5_000


def test_low_stock_rules():
    assert domain.crossed_below(5_000, 4_000, 5_000)
    assert not domain.crossed_below(4_000, 3_000, 5_000)  # already below: alert once
    assert not domain.crossed_below(9_000, 6_000, 5_000)
    assert not domain.crossed_below(9_000, 0, None)
    assert domain.is_low(4_999, 5_000) and not domain.is_low(5_000, 5_000)
    assert domain.effective_threshold(None, 3_000) == 3_000
    assert domain.effective_threshold(1_000, 3_000) == 1_000


def test_block_negative_policy():
    assert domain.blocks_negative("block", 1_000, -2_000)
    assert not domain.blocks_negative("allow", 1_000, -2_000)
    assert not domain.blocks_negative("block", 1_000, -1_000)
    assert not domain.blocks_negative("block", -5_000, 1_000)


class _M(BaseModel):
    q: Qty


class _O(BaseModel):
    q: QtyOut


@pytest.mark.parametrize("raw, milli", [("1.250", 1250), ("2", 2000), (3, 3000), ("-0.5", -500), ("0.001", 1)])
def test_quantities_parse_exactly(raw, milli):
    assert _M(q=raw).q == milli


@pytest.mark.parametrize("raw", [1.5, "1.2345", "abc", "NaN", True, None, "1e400"])
def test_bad_quantities_are_refused(raw):
    with pytest.raises(ValidationError):
        _M(q=raw)


def test_quantities_serialize_as_decimal_strings():
    assert _O(q=1250).model_dump(mode="json") == {"q": "1.250"}
    assert _O(q=-500).model_dump(mode="json") == {"q": "-0.500"}


def test_document_numbers():
    assert domain.doc_number("RK", 12) == "RK000012"
