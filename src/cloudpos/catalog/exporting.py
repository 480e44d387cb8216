"""Excel export and the import template: the same columns as the import, so export → edit →
import round-trips. Products are read in batches and written with openpyxl's write-only
workbook (memory flat); barcode and SKU cells are text-formatted so Excel keeps their digits."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from decimal import Decimal
from io import BytesIO
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy.orm import Session

from cloudpos.catalog import categories, domain
from cloudpos.catalog.models import Product
from cloudpos.catalog.search import ListFilter, _filtered
from cloudpos.context import Actor

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEXT_FIELDS = {"sku", "barcodes"}
WIDTHS = {"sku": 14, "barcodes": 18, "name": 28, "category": 22, "brand": 12, "unit": 8, "price": 10, "cost": 10,
          "tax_rate": 8, "spec": 14, "sold_by_weight": 8, "status": 8, "low_stock_threshold": 10}


def _header(ws: WriteOnlyWorksheet, lang: str) -> None:
    labels = domain.HEADERS_EN if lang == "en" else domain.HEADERS_ZH
    for i, f in enumerate(domain.FIELDS):
        ws.column_dimensions[chr(65 + i)].width = WIDTHS[f]
    ws.freeze_panes = "A2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    cells = []
    for f in domain.FIELDS:
        c = WriteOnlyCell(ws, labels[f])
        c.font, c.fill = bold, fill
        cells.append(c)
    ws.append(cells)


def _row(ws: WriteOnlyWorksheet, values: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for f in domain.FIELDS:
        v = values.get(f)
        if f in TEXT_FIELDS:
            c = WriteOnlyCell(ws, v if v not in (None, "") else None)
            c.number_format = "@"
            out.append(c)
        else:
            out.append(v)
    return out


def product_values(p: Product, category: str, lang: str = "zh") -> dict[str, Any]:
    en = lang == "en"
    return {
        "sku": p.sku, "barcodes": ",".join(p.barcodes or []), "name": p.name, "category": category,
        "brand": p.brand or None, "unit": p.unit or None, "price": Decimal(p.price) / 100,
        "cost": Decimal(p.cost) / 100, "tax_rate": Decimal(p.tax_rate_bp) / 100, "spec": p.spec or None,
        "sold_by_weight": ("yes" if en else "是") if p.sold_by_weight else ("no" if en else "否"),
        "status": ({"listed": "listed", "delisted": "delisted"} if en else {"listed": "上架", "delisted": "下架"})[
            p.status],
        "low_stock_threshold": (Decimal(p.low_stock_threshold) / 1000) if p.low_stock_threshold is not None else None,
    }


def _new_book(lang: str) -> tuple[Workbook, WriteOnlyWorksheet]:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("products" if lang == "en" else "商品")
    _header(ws, lang)
    return wb, ws


def build(db: Session, actor: Actor, f: ListFilter, lang: str = "zh") -> BinaryIO:
    """The workbook in a temporary file (positioned at its start): built before the response
    starts, so the request's session is never used after the route returns."""
    actor.require("catalog.import")
    names = {k: v.replace(categories.SEP, "/") for k, v in categories.full_names(db, actor.tenant_id).items()}
    wb, ws = _new_book(lang)
    stmt = _filtered(db, actor, f).order_by(Product.sku).execution_options(yield_per=1000)
    for p in db.scalars(stmt):
        ws.append(_row(ws, product_values(p, names.get(p.category_id, "") if p.category_id else "", lang)))
    db.expunge_all()
    tmp = tempfile.TemporaryFile()  # noqa: SIM115 - returned open, closed by chunks()
    wb.save(tmp)
    tmp.seek(0)
    return tmp


def chunks(fh: BinaryIO, size: int = 1 << 16) -> Iterator[bytes]:
    try:
        while data := fh.read(size):
            yield data
    finally:
        fh.close()


def template(lang: str = "zh") -> bytes:
    wb, ws = _new_book("en" if lang == "en" else "zh")
    en = lang == "en"
    ws.append(_row(ws, {
        "sku": "A0001", "barcodes": "6901234567892", "name": "可口可乐 330ml" if not en else "Coca-Cola 330ml",
        "category": "食品/饮料/碳酸饮料", "brand": "可口可乐", "unit": "罐", "price": Decimal("3.50"),
        "cost": Decimal("2.10"), "tax_rate": 13, "spec": "330ml", "sold_by_weight": "no" if en else "否",
        "status": "listed" if en else "上架", "low_stock_threshold": 24}))
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
