"""Pure layout rules: display width, wrapping, money and quantity formatting, masking, JSON round trip."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudpos.printing.domain import fmt
from cloudpos.printing.domain.labels import barcode_kind, ean13_check_digit, valid_ean13
from cloudpos.printing.domain.receipt import ReceiptData, ReceiptTemplate, ReportData, columns_for
from cloudpos.printing.domain.sample import sample_receipt, sample_report
from cloudpos.printing.domain.width import char_width, spread, width, wrap


def test_widths() -> None:
    assert width("可口可乐") == 8
    assert width("Coke 330ml") == 10
    assert width("ｃｏｌａ") == 8  # fullwidth Latin
    assert width("é") == 2 and width("×") == 2  # GB18030 double-byte: printed full-width
    assert width("e\u0301") == 1  # a combining accent takes no column
    assert char_width("\u200b") == 0


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("可口乐苹果牛奶abc xyz123（）。，×-")), max_size=80),
       st.sampled_from([8, 20, 32, 48]))
def test_wrap_fits_and_keeps_every_character(text: str, cols: int) -> None:
    lines = wrap(text, cols)
    assert all(width(line) <= cols for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_wrap_prefers_spaces_and_never_starts_with_closing_punctuation() -> None:
    assert wrap("Organic bananas imported", 12) == ["Organic", "bananas", "imported"]
    lines = wrap("谢谢惠顾，欢迎再次光临！", 8)
    assert not any(line.startswith(("，", "！")) for line in lines)


def test_spread_right_aligns_and_wraps() -> None:
    assert spread("小计", "12.50", 16) == ["小计       12.50"]
    lines = spread("满100减10元（仅限会员）优惠活动", "-10.00", 20)
    assert all(width(x) <= 20 for x in lines) and lines[-1].endswith("-10.00")
    assert spread("Receipt no.", "S01-T01-20261127-0042", 32, keep_left=True)[0] == "Receipt no."


def test_money_and_quantities_without_floats() -> None:
    assert fmt.money(0) == "0.00" and fmt.money(1050) == "10.50" and fmt.money(-175) == "-1.75"
    assert fmt.qty(2000) == "2" and fmt.qty(1250) == "1.250" and fmt.qty(5) == "0.005" and fmt.qty(-1000) == "-1"
    with pytest.raises(TypeError):
        fmt.qty(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fmt.money(1.5)  # type: ignore[arg-type]


def test_card_masking() -> None:
    assert fmt.mask_card("6201888812341234") == "6201********1234"
    assert fmt.mask_card("13812345678") == "1381***5678"
    assert fmt.mask_card("1234") == "****"
    assert fmt.mask_card("6201****1234") == "6201****1234"


def test_local_time_needs_an_aware_datetime() -> None:
    with pytest.raises(ValueError):
        fmt.local_time(datetime(2026, 1, 1), "Asia/Shanghai")


def test_paper_columns() -> None:
    assert columns_for(58) == 32 and columns_for(80) == 48 and ReceiptTemplate(paper_mm=58).columns == 32
    with pytest.raises(ValueError):
        columns_for(76)


def test_json_round_trip() -> None:
    data = replace(sample_receipt(), logo_png=b"\x89PNG fake")
    assert ReceiptData.from_json(data.to_json()) == data
    report = sample_report()
    assert ReportData.from_json(report.to_json()) == report
    tpl = ReceiptTemplate(paper_mm=58, show_qr=False, footer_text="x")
    assert ReceiptTemplate.from_json({**tpl.to_json(), "unknown": 1}) == tpl


def test_barcodes() -> None:
    assert ean13_check_digit("690193962125") == 7 and valid_ean13("6901939621257")
    assert not valid_ean13("6901939621258")
    assert barcode_kind("6901939621257", "ean13") == "EAN13"
    assert barcode_kind("6901939621258", "ean13") == "CODE128"  # bad check digit: printed as Code 128
    assert barcode_kind("SKU-01", "code128") == "CODE128" and barcode_kind("", "ean13") is None
    assert barcode_kind("苹果", "code128") is None
