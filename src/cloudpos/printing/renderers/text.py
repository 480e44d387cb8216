"""Plain-text receipts (what the thermal printer prints, QR code shown as a placeholder)."""

from __future__ import annotations

from cloudpos.printing.domain import layout
from cloudpos.printing.domain.compose import compose, to_text
from cloudpos.printing.domain.receipt import ReceiptData, ReceiptTemplate, ReportData, columns_for


def receipt_text(data: ReceiptData, tpl: ReceiptTemplate, language: str | None = None) -> str:
    return to_text(compose(layout.receipt(data, tpl, language), tpl.columns), tpl.columns)


def report_text(data: ReportData, paper_mm: int = 80, language: str | None = None) -> str:
    cols = columns_for(paper_mm)
    return to_text(compose(layout.report(data, language), cols), cols)
