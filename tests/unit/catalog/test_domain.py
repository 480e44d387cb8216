"""Pure catalog rules: check digits, scale barcodes, money parsing, Excel headers, pinyin search text."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudpos.catalog import domain
from cloudpos.catalog.importing import CellProblem, barcode_cell, find_header
from cloudpos.errors import Invalid


@pytest.mark.parametrize("code", ["6901234567892", "96385074", "036000291452", "4006381333931"])
def test_valid_gtins(code):
    assert domain.gtin_valid(code)
    assert domain.normalize_barcode(code) == code


@pytest.mark.parametrize("code", ["6901234567890", "96385075", "036000291453"])
def test_wrong_check_digit_is_refused_with_the_expected_digit(code):
    with pytest.raises(domain.RuleError) as e:
        domain.normalize_barcode(code)
    assert e.value.params["digit"] == domain.gtin_check_digit(code[:-1])


def test_internal_codes_and_normalization():
    assert domain.normalize_barcode(" ＡＢ-１２ ") == "AB-12"
    assert domain.normalize_barcode("10023") == "10023"  # a scale PLU: not GTIN-shaped
    for bad in ("", "a b c!", "x" * 33):
        with pytest.raises(domain.RuleError):
            domain.normalize_barcode(bad)
    with pytest.raises(domain.RuleError) as e:
        domain.normalize_barcode("6.9012345E+12")
    assert "科学计数法" in e.value.message
    assert domain.split_barcodes("6901234567892, 96385074；X1") == ["6901234567892", "96385074", "X1"]


@given(st.text(alphabet="0123456789", min_size=7, max_size=12))
def test_with_check_digit_always_validates(body):
    code = domain.with_check_digit(body)
    assert domain.gtin_valid(code) == (len(code) in (8, 12, 13))


def test_scale_barcodes_price_and_weight():
    price = domain.ScaleFormat("2", 13, 5, "price", 5, True)
    code = domain.make_scale_code(price, "10023", 1250)
    assert len(code) == 13 and domain.gtin_valid(code)
    reading = domain.parse_scale(code, price)
    assert reading == domain.ScaleReading("10023", "price", 1250)
    assert domain.scale_line(reading, 1000) == (1250, 1250)  # ¥12.50 at ¥10/kg = 1.250 kg
    weight = domain.ScaleFormat("20", 13, 5, "weight", 5, True)
    code = domain.make_scale_code(weight, "00042", 750)
    reading = domain.parse_scale(code, weight)
    assert reading.item_code == "00042" and domain.scale_line(reading, 1999) == (750, 1499)  # half-up
    assert domain.parse_scale(code[:-1] + str((int(code[-1]) + 1) % 10), weight) is None  # bad check digit
    assert domain.parse_scale("3" + code[1:], weight) is None  # other prefix
    assert domain.scale_format_errors(domain.ScaleFormat("2", 13, 7, "price", 6, True))
    assert not domain.scale_format_errors(price)


@pytest.mark.parametrize(("raw", "fen"), [("3.50", 350), ("3.5", 350), (3.5, 350), ("￥1,234.50", 123450),
                                         (Decimal("0.01"), 1), (12, 1200), ("１２．５", 1250), (0.1 + 0.2 - 0.3, 0)])
def test_parse_money_exact(raw, fen):
    if isinstance(raw, float) and raw not in (3.5,):
        with pytest.raises(domain.RuleError):
            domain.parse_money(raw)  # 5.55e-17: more than 2 decimals, refused rather than rounded
        return
    assert domain.parse_money(raw) == fen


@pytest.mark.parametrize("raw", ["3.505", "-1", "abc", "NaN", "1e100", True])
def test_parse_money_refuses(raw):
    with pytest.raises(domain.RuleError):
        domain.parse_money(raw)


def test_rates_quantities_flags_status():
    assert domain.parse_percent_bp("13") == 1300 and domain.parse_percent_bp("13%") == 1300
    assert domain.parse_percent_bp(6.5) == 650
    with pytest.raises(domain.RuleError):
        domain.parse_percent_bp("101")
    assert domain.parse_qty_milli("2.5") == 2500 and domain.milli_str(2500) == "2.500"
    assert [domain.parse_bool(v) for v in ("是", "否", "yes", "NO", 1, "0", "")] == [True, False, True, False,
                                                                                    True, False, False]
    assert domain.parse_status("下架") == "delisted" and domain.parse_status("") == "listed"
    assert domain.split_category_path("食品 > 饮料/碳酸饮料") == ["食品", "饮料", "碳酸饮料"]


def test_header_mapping_chinese_english_and_decorated():
    assert domain.map_header("商品编码") == "sku" and domain.map_header("SKU") == "sku"
    assert domain.map_header("售价(元)") == "price" and domain.map_header("Sale price") == "price"
    assert domain.map_header(" 条码* ") == "barcodes" and domain.map_header("Low stock threshold") == \
        "low_stock_threshold"
    assert domain.map_header("备注") is None and domain.map_header(None) is None


def test_find_header_with_merged_title_and_two_levels():
    head = [(1, ["商品导入"]), (2, ["商品编码", "名称", "价格", None]), (3, [None, None, "售价", "进价"]),
            (4, ["A1", "可乐", "3.5", "2"])]
    h = find_header(head)
    assert h.columns == {0: "sku", 1: "name", 2: "price", 3: "cost"} and h.data_from == 4
    with pytest.raises(Invalid):
        find_header([(1, ["foo", "bar"])])


def test_numeric_barcode_cells():
    assert barcode_cell(6901234567892) == ["6901234567892"]
    assert barcode_cell(6901234567892.0) == ["6901234567892"]
    assert barcode_cell(36000291452) == ["036000291452"]  # the leading zero Excel dropped
    assert barcode_cell(10023) == ["10023"]
    for lossy in (6.9012345e12, 1.5, 1e20):
        with pytest.raises(CellProblem):
            barcode_cell(lossy)


def test_search_text_has_pinyin_initials_sku_and_barcodes():
    text = domain.search_text("可口可乐 330ml", "A0001", "可口可乐", ["6901234567892"])
    for part in ("可口可乐330ml", "kekoukele", "kkkl", "a0001", "6901234567892"):
        assert part in text
    assert "yinhang" in domain.search_text("中国银行")  # phrase-aware: 行 is hang here
    assert domain.search_terms(" ＫＫ  kl ") == ["kk", "kl"]
