"""Stock export (库存导出): on-hand per store and product as an .xlsx, with what is available,
the low-stock threshold and the value at cost — the stock page's filters apply.

Memory stays flat: stock rows are read in key order a page at a time (keyset pagination, so no
cursor stays open while the catalog is asked about the page's products) and written with
openpyxl's write-only workbook into a temporary file that the response streams.

Available = on hand − the quantity on draft transfers out of the store (promised to another store,
not shipped yet; shipping is what takes it off the shelf). SKU and barcodes are text cells, so
Excel keeps their digits. The headers are not the product import's: a stock file fed to the
product import changes nothing (the stock figures have no import column).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from cloudpos.context import Actor
from cloudpos.i18n import _
from cloudpos.money import line_amount

from . import domain, ledger
from .levels import StockFilter, visible_store_ids
from .models import StockLevel, StockTransfer, StockTransferLine
from .products import catalog

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE = 1000
QTY, MONEY = "0.000", "0.00"


def _columns() -> list[tuple[str, int]]:
    """(header, width): translated when the export is built (the request's language)."""
    return [(_("Store"), 14), (_("SKU"), 14), (_("Barcodes"), 18), (_("Name"), 28), (_("Category"), 22),
            (_("Unit"), 6), (_("On hand"), 11), (_("On draft transfers"), 11), (_("Available"), 11),
            (_("Effective threshold"), 11), (_("Store threshold"), 11), (_("Unit cost"), 10),
            (_("Value at cost"), 13), (_("Stock state"), 10)]


def reserved_for_transfers(db: Session, tenant_id: uuid.UUID,
                           stores: list[uuid.UUID] | None) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """(store, product) → quantity (milli) on draft transfers leaving that store."""
    t, ln = StockTransfer, StockTransferLine
    stmt = (select(t.from_store_id, ln.product_id, func.sum(ln.quantity))
            .join(ln, (ln.tenant_id == t.tenant_id) & (ln.transfer_id == t.id))
            .where(t.tenant_id == tenant_id, t.status == "draft")
            .group_by(t.from_store_id, ln.product_id))
    if stores is not None:
        stmt = stmt.where(t.from_store_id.in_(stores))
    return {(s, p): int(q or 0) for s, p, q in db.execute(stmt).all()}


def _levels(db: Session, tenant_id: uuid.UUID, stores: list[uuid.UUID] | None,
            product_id: uuid.UUID | None, negative: bool) -> Iterator[list[Any]]:
    lv = StockLevel
    base = select(lv.store_id, lv.product_id, lv.on_hand, lv.low_stock_threshold).where(lv.tenant_id == tenant_id)
    if stores is not None:
        base = base.where(lv.store_id.in_(stores))
    if product_id is not None:
        base = base.where(lv.product_id == product_id)
    if negative:
        base = base.where(lv.on_hand < 0)
    after: tuple[uuid.UUID, uuid.UUID] | None = None
    while True:
        stmt = base if after is None else base.where(tuple_(lv.store_id, lv.product_id) > tuple_(*after))
        rows = db.execute(stmt.order_by(lv.store_id, lv.product_id).limit(PAGE)).all()
        if not rows:
            return
        yield rows
        after = (rows[-1].store_id, rows[-1].product_id)


def _cell(ws: WriteOnlyWorksheet, value: Any, fmt: str | None = None) -> WriteOnlyCell:
    c = WriteOnlyCell(ws, value)
    if fmt:
        c.number_format = fmt
    return c


def _qty(milli: int | None) -> Decimal | None:
    return None if milli is None else Decimal(milli) / 1000


def build(db: Session, actor: Actor, f: StockFilter) -> tuple[BinaryIO, int]:
    """The workbook in a temporary file (at its start) and its number of stock rows. Built before the
    response starts, so the request's session is not used after the route returns."""
    actor.require("inventory.view")
    stores = visible_store_ids(db, actor, f.store_id)
    store_names = ledger.store_names(db, actor)
    categories = catalog.category_names(db, actor)
    wanted: set[uuid.UUID] | None = None
    if f.q or f.category_id is not None:
        wanted = set(catalog.product_ids(db, actor, category_id=f.category_id, q=f.q))
    reserved = reserved_for_transfers(db, actor.tenant_id, stores)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Stock"))
    cols = _columns()
    for i, (_label, width) in enumerate(cols):
        ws.column_dimensions[chr(65 + i)].width = width
    ws.freeze_panes = "A2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    head = []
    for label, _width in cols:
        c = WriteOnlyCell(ws, label)
        c.font, c.fill = bold, fill
        head.append(c)
    ws.append(head)
    count = total_value = 0
    low_label, negative_label = _("Low"), _("Negative")
    for rows in _levels(db, actor.tenant_id, stores, f.product_id, f.negative):
        if wanted is not None:
            rows = [r for r in rows if r.product_id in wanted]
        products = catalog.get_products(db, actor, [r.product_id for r in rows])
        for r in rows:
            p = products.get(r.product_id)
            threshold = domain.effective_threshold(r.low_stock_threshold, p.low_stock_threshold if p else None)
            low = domain.is_low(r.on_hand, threshold)
            if f.low and not low:
                continue
            held = reserved.get((r.store_id, r.product_id), 0)
            cost = p.cost if p else 0
            value = line_amount(cost, r.on_hand)
            total_value += value
            count += 1
            ws.append([
                store_names.get(r.store_id, str(r.store_id)),
                _cell(ws, p.sku if p else str(r.product_id), "@"),
                _cell(ws, ",".join(p.barcodes) if p and p.barcodes else None, "@"),
                p.name if p else "",
                categories.get(p.category_id, "") if p and p.category_id else "",
                p.unit if p else "",
                _cell(ws, _qty(r.on_hand), QTY),
                _cell(ws, _qty(held), QTY),
                _cell(ws, _qty(r.on_hand - held), QTY),
                _cell(ws, _qty(threshold), QTY),
                _cell(ws, _qty(r.low_stock_threshold), QTY),
                _cell(ws, Decimal(cost) / 100, MONEY),
                _cell(ws, Decimal(value) / 100, MONEY),
                negative_label if r.on_hand < 0 else (low_label if low else ""),
            ])
    ws.append([])
    total = WriteOnlyCell(ws, _("Total value at cost"))
    total.font = bold
    ws.append([total] + [None] * 11 + [_cell(ws, Decimal(total_value) / 100, MONEY)])
    tmp = tempfile.TemporaryFile()  # noqa: SIM115 - returned open, closed by the response's iterator
    wb.save(tmp)
    tmp.seek(0)
    return tmp, count
