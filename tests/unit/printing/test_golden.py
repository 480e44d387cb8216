"""Golden files: the 58 mm and 80 mm text layout of receipts with long Chinese names and discounts.

Regenerate after an intended layout change with `UPDATE_GOLDEN=1 pytest tests/unit/printing`
and review the diff of tests/golden/*.txt.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cloudpos.printing.domain.receipt import (
    OrderDiscount,
    Payment,
    ReceiptData,
    ReceiptLine,
    ReceiptTemplate,
    ReportData,
    ReportTable,
)
from cloudpos.printing.domain.width import width
from cloudpos.printing.renderers.text import receipt_text, report_text

GOLDEN = Path(__file__).resolve().parents[2] / "golden"

RECEIPT = ReceiptData(
    store_name="好邻居便利店（人民广场旗舰店）",
    store_address="上海市黄浦区人民大道 200 号 B1 层 101 室",
    store_phone="021-63210000",
    receipt_no="S01-T02-20261127-0108",
    issued_at=datetime(2026, 11, 27, 12, 5, 9, tzinfo=UTC),
    terminal="T02",
    cashier="张小收",
    salesperson="陈导购",
    lines=(
        ReceiptLine("蒙牛特仑苏纯牛奶 250ml×12 盒 礼盒装 限量版（新老包装随机发货）", 2000, 6990, 12580, 1400,
                    ("第二件9折",)),
        ReceiptLine("可口可乐 330ml", 6000, 350, 2100),
        ReceiptLine("散装红富士苹果", 1875, 1280, 2400),
        ReceiptLine("Lay's Classic Potato Chips 184.2g Family Size", 1000, 1590, 1290, 300, ("限时特价", "会员价")),
        ReceiptLine("维达超韧抽纸 3层100抽×24包（整箱）", 1000, 5990, 5990),
    ),
    subtotal=24360,
    discounts=(OrderDiscount("满200减20", 2000), OrderDiscount("优惠券：新客立减5元", 500)),
    total=21860,
    payments=(Payment("储值卡", 10000), Payment("现金", 20000, is_cash=True)),
    change=8140,
    member_card="8800123456781234",
    points_earned=218,
    points_balance=10350,
    stored_value_balance=2550,
    qr_payload="https://pos.example.cn/r/abc",
)
FOOTER = "凭小票 7 日内可退换（生鲜、食品除外）。谢谢惠顾，欢迎再次光临！"

CASES = {
    "receipt_80_zh": (RECEIPT, ReceiptTemplate(paper_mm=80, footer_text=FOOTER), None),
    "receipt_58_zh": (RECEIPT, ReceiptTemplate(paper_mm=58, footer_text=FOOTER), None),
    "receipt_58_en": (RECEIPT, ReceiptTemplate(paper_mm=58, language="en", footer_text="Returns within 7 days."),
                      None),
    "refund_80_zh": (replace(RECEIPT, kind="refund", receipt_no="R01-T02-20261127-0003",
                             original_receipt_no="S01-T02-20261127-0108", reason="质量问题", lines=RECEIPT.lines[:1],
                             subtotal=None, discounts=(), total=12580, payments=(Payment("储值卡", 12580),),
                             change=0, points_earned=-125),
                     ReceiptTemplate(paper_mm=80), None),
    "reprint_58_zh_minimal": (replace(RECEIPT, reprint=True),
                              ReceiptTemplate(paper_mm=58, show_unit_price=False, show_member=False, show_points=False,
                                              show_stored_value=False, show_qr=False, show_salesperson=False),
                              None),
}

SHIFT = ReportData(
    title="交班报表（Z）", store_name="好邻居便利店", issued_at=datetime(2026, 11, 27, 14, 0, tzinfo=UTC),
    meta=(("收银台", "T02"), ("收银员", "张小收"), ("班次", "2026-11-27 08:00 — 22:00")),
    rows=(("销售笔数", "186"), ("销售额", "12,580.50"), ("退货", "-125.80"), ("应交现金", "3,200.00")),
    tables=(ReportTable(("支付方式", "笔数", "金额"),
                        (("现金", "60", "3,200.00"), ("微信支付", "80", "6,000.00"), ("支付宝", "40", "3,000.00"),
                         ("储值卡（会员）", "6", "380.50"))),),
    signature_lines=("收银员签字", "店长签字"),
)
STOCKTAKE = ReportData(
    title="盘点表 PD-20261127-01", store_name="好邻居便利店", issued_at=datetime(2026, 11, 27, 14, 0, tzinfo=UTC),
    meta=(("范围", "饮料 / 乳制品"),),
    tables=(ReportTable(("商品", "账面", "实盘"),
                        (("蒙牛特仑苏纯牛奶 250ml×12 盒 礼盒装", "24", "____"), ("可口可乐 330ml", "120", "____"),
                         ("散装红富士苹果 (kg)", "35.500", "____"))),),
    signature_lines=("盘点人",),
)
REPORTS = {"shift_z_58": (SHIFT, 58), "shift_z_80": (SHIFT, 80), "stocktake_58": (STOCKTAKE, 58)}


def _check(name: str, text: str, cols: int) -> None:
    for line in text.splitlines():
        assert width(line) <= cols, f"{name}: line wider than {cols} columns: {line!r}"
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from {path} (UPDATE_GOLDEN=1 to accept)"


@pytest.mark.parametrize("name", sorted(CASES))
def test_receipt_golden(name: str) -> None:
    data, tpl, lang = CASES[name]
    _check(name, receipt_text(data, tpl, lang), tpl.columns)


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_report_golden(name: str) -> None:
    data, paper = REPORTS[name]
    _check(name, report_text(data, paper), 32 if paper == 58 else 48)


def test_amount_column_stays_aligned() -> None:
    """On 80 mm paper every item's amount ends at the right edge, whatever the name's length."""
    text = receipt_text(RECEIPT, ReceiptTemplate(paper_mm=80))
    for line in RECEIPT.lines:
        amount = f"{line.amount // 100}.{line.amount % 100:02d}"
        hits = [x for x in text.splitlines() if x.endswith(" " + amount)]
        assert hits and all(width(x) == 48 for x in hits)
