from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudpos.sales import domain as d


def test_receipt_no_and_business_day():
    assert d.receipt_no("S01", date(2026, 11, 27), 123) == "S01-20261127-000123"
    # 23:30 UTC is 07:30 next day in Shanghai
    assert d.business_day(datetime(2026, 11, 26, 23, 30, tzinfo=UTC), "Asia/Shanghai") == date(2026, 11, 27)
    # a 04:00 cut-off puts 02:00 local on the previous trading day
    assert d.business_day(datetime(2026, 11, 26, 18, 0, tzinfo=UTC), "Asia/Shanghai", 4) == date(2026, 11, 26)


@pytest.mark.parametrize(("amount", "mode", "expected"), [
    (1234, "none", 1234), (1234, "jiao_down", 1230), (1235, "jiao_nearest", 1240),
    (1234, "jiao_nearest", 1230), (1299, "yuan_down", 1200), (1250, "yuan_nearest", 1300),
])
def test_round_cash(amount, mode, expected):
    assert d.round_cash(amount, mode) == expected


def test_settle_cash_with_change_and_rounding():
    s = d.settle(1234, [d.Tender("cash", 2000, 2000)], "jiao_down")
    assert s.ok and s.cash_rounding == -4 and s.due == 1230 and s.change == 770
    assert s.tenders == [d.Tender("cash", 1230, 2000)]


def test_settle_split_card_and_cash():
    s = d.settle(10000, [d.Tender("wechat", 6000), d.Tender("cash", 4000, 5000)])
    assert s.ok and s.change == 1000 and s.due == 10000


def test_settle_refuses_short_and_overpaid_card():
    assert not d.settle(10000, [d.Tender("cash", 5000)]).ok
    assert not d.settle(10000, [d.Tender("card", 12000)]).ok
    assert not d.settle(10000, [d.Tender("cash", 0)]).ok


@given(st.integers(1, 10**7), st.integers(0, 10**7), st.sampled_from(d.CASH_ROUNDING_MODES))
def test_settle_cash_change_is_exact(total, extra, mode):
    s = d.settle(total, [d.Tender("cash", total + extra + 100, total + extra + 100)], mode)
    assert s.ok
    kept = sum(t.amount for t in s.tenders)
    assert kept == s.due
    assert kept + s.change == total + extra + 100


@given(st.integers(1, 50), st.integers(0, 10**6), st.data())
def test_partial_refunds_add_up_to_what_was_paid(qty_units, amount, data):
    line = d.PaidLine(1, qty_units * 1000, amount)
    refunded_qty = refunded_amount = 0
    while refunded_qty < line.qty:
        q = data.draw(st.integers(1, (line.qty - refunded_qty) // 1000)) * 1000
        cur = d.PaidLine(1, line.qty, amount, refunded_qty, refunded_amount)
        a = d.refund_amount(cur, q)
        assert 0 <= a <= amount - refunded_amount
        refunded_qty += q
        refunded_amount += a
    assert refunded_amount == amount


def test_refund_amount_refuses_more_than_left():
    with pytest.raises(ValueError):
        d.refund_amount(d.PaidLine(1, 2000, 500, 2000, 500), 1000)


def test_split_refund_goes_back_proportionally():
    tenders = [d.PaidTender("wechat", 6000), d.PaidTender("cash", 4000)]
    out = d.split_refund(1001, tenders)
    assert sum(s for _, s in out) == 1001
    assert [(t.method, s) for t, s in out] == [("wechat", 601), ("cash", 400)]
    with pytest.raises(ValueError):
        d.split_refund(10001, tenders)


def test_shift_expected_cash():
    assert d.ShiftCash(50000, 12000, 2000, 1000, 500).expected == 60500
