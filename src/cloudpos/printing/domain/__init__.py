"""Pure receipt layout: data, templates, display width and composition (no database, no web)."""

from cloudpos.printing.domain.receipt import (
    KINDS,
    LabelData,
    OrderDiscount,
    Payment,
    ReceiptData,
    ReceiptLine,
    ReceiptTemplate,
    ReportData,
    ReportTable,
)

__all__ = ["KINDS", "LabelData", "OrderDiscount", "Payment", "ReceiptData", "ReceiptLine", "ReceiptTemplate",
           "ReportData", "ReportTable"]
