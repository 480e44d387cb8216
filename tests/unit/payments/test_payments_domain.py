"""Pure payment rules: fees, settlement dates, exact yuan conversion, card-number refusal, the report math."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudpos.payments import domain
from cloudpos.payments.domain import SettlementItem, settle


def test_fee_is_half_up_per_payment():
    assert domain.fee_fen(1250, 60) == 8  # 7.5 fen → 8
    assert domain.fee_fen(1249, 60) == 7  # 7.494 → 7
    assert domain.fee_fen(10000, 38) == 38
    assert domain.fee_fen(131, 38) == 0  # 0.4978 → 0
    assert domain.fee_fen(132, 38) == 1  # 0.5016 → 1
    with pytest.raises(TypeError):
        domain.fee_fen(12.5, 38)  # type: ignore[arg-type]


def test_settlement_dates_are_calendar_days():
    friday = date(2026, 11, 27)
    assert domain.settlement_date(friday, 0) == friday
    assert domain.settlement_date(friday, 1) == date(2026, 11, 28)  # Saturday: no working-day skip
    assert domain.settlement_date(friday, 7) == date(2026, 12, 4)
    assert domain.settlement_date(date(2026, 12, 31), 1) == date(2027, 1, 1)


def test_yuan_strings_are_exact():
    assert domain.fen_to_yuan(1250) == "12.50"
    assert domain.fen_to_yuan(1) == "0.01"
    assert domain.yuan_to_fen("12.5") == 1250
    assert domain.yuan_to_fen("0.07") == 7
    for bad in ("12.345", "abc", "NaN", "", "1e400"):
        with pytest.raises(ValueError):
            domain.yuan_to_fen(bad)


@given(st.integers(min_value=0, max_value=10**14))
def test_yuan_round_trip(fen):
    assert domain.yuan_to_fen(domain.fen_to_yuan(fen)) == fen


def test_card_numbers_are_recognised_in_any_field():
    assert domain.looks_like_pan("4111111111111111")
    assert domain.looks_like_pan("4111 1111 1111 1111")
    assert domain.looks_like_pan("ref 4111-1111-1111-1")  # 13 digits
    assert not domain.looks_like_pan("1234")
    assert not domain.looks_like_pan("AB123456")
    assert not domain.looks_like_pan("123456789012")  # 12 digits: an approval/reference number


def test_amounts_and_codes():
    assert domain.amount_problem(1) is None
    assert domain.amount_problem(0) and domain.amount_problem(-5) and domain.amount_problem(True)
    assert domain.amount_problem(domain.MAX_AMOUNT_FEN + 1)
    assert domain.amount_problem("100")  # type: ignore[arg-type]
    assert domain.valid_auth_code("134567890123456789")
    assert not domain.valid_auth_code("1345 6789")
    assert domain.last4("134567890123456789") == "6789"
    assert domain.cycle_problem(3) and domain.cycle_problem(7) is None
    assert domain.fee_rate_problem(1001) and domain.fee_rate_problem(38) is None


def test_settlement_rows_gross_refunds_fees_net():
    d1, d2 = date(2026, 11, 27), date(2026, 11, 28)
    rows = settle([
        SettlementItem(d1, "wechat", 1250, 38, 1),  # fee 4.75 → 5
        SettlementItem(d1, "wechat", 1000, 38, 1),  # fee 3.8 → 4
        SettlementItem(d1, "wechat", -1000, 38, 1),  # refund: fee 4 given back
        SettlementItem(d1, "card", 1250, 60, 1),  # 7.5 → 8
        SettlementItem(d1, "cash", 5000, 0, 0),
        SettlementItem(d2, "alipay", 10000, 38, 7),
    ])
    by = {(r.business_day, r.method): r for r in rows}
    w = by[(d1, "wechat")]
    assert (w.count, w.gross_fen, w.refunds_fen, w.fee_fen, w.net_fen) == (2, 2250, 1000, 5, 1245)
    assert w.settlement_date == d2
    c = by[(d1, "card")]
    assert (c.fee_fen, c.net_fen) == (8, 1242)
    assert by[(d1, "cash")].settlement_date == d1 and by[(d1, "cash")].net_fen == 5000
    a = by[(d2, "alipay")]
    assert a.settlement_date == date(2026, 12, 5) and a.fee_fen == 38
    assert [r.method for r in rows if r.business_day == d1] == ["cash", "card", "wechat"]  # fixed method order


def test_a_payment_code_never_shows_in_full_in_a_repr():
    code = domain.PaymentCode("134567890123456789")
    assert code == "134567890123456789" and code[-4:] == "6789"
    assert "1345678901234" not in repr(code) and "1345678901234" not in repr({"auth_code": code})
