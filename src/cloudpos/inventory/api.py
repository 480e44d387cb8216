"""Inventory JSON API: stock, movements, receipts, adjustments, transfers, alerts, stocktakes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO, Literal

from fastapi import Body, Depends, Query
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.context import Actor
from cloudpos.schemas import Page, PageNo, PageSize
from cloudpos.web.deps import get_db, requires
from cloudpos.web.routing import APIRouter

from . import export, stock_export
from . import service as inventory
from .schemas import (
    AdjustmentIn,
    AdjustmentOut,
    AlertEventOut,
    AlertOut,
    CountIn,
    CountsOut,
    Kind,
    MovementOut,
    PostIn,
    ReasonsIn,
    ReceiptIn,
    ReceiptOut,
    ReceiveIn,
    StockLevelOut,
    StocktakeIn,
    StocktakeOut,
    ThresholdIn,
    TransferIn,
    TransferOut,
    VarianceOut,
)

router = APIRouter(tags=["inventory"])

TransferStatus = Literal["draft", "in_transit", "received", "cancelled"]
StocktakeStatus = Literal["open", "posted", "cancelled"]


@router.get("/stock", response_model=Page[StockLevelOut])
def list_stock(store_id: uuid.UUID | None = None, product_id: uuid.UUID | None = None,
               category_id: uuid.UUID | None = None, q: str = Query("", max_length=60), low: bool = False,
               negative: bool = False, page: PageNo = 1, page_size: PageSize = 50,
               actor: Actor = Depends(requires("inventory.view")),
               db: Session = Depends(get_db)) -> Page[StockLevelOut]:
    """On-hand per store and product. `low`: below the low-stock threshold; `negative`: below zero."""
    f = inventory.StockFilter(store_id=store_id, product_id=product_id, category_id=category_id, q=q, low=low,
                              negative=negative)
    items, total = inventory.list_stock(db, actor, f, page, page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.get("/stock/export", response_class=StreamingResponse,
            responses={200: {"content": {export.XLSX: {}}, "description": "An .xlsx workbook"}})
def export_stock(store_id: uuid.UUID | None = None, product_id: uuid.UUID | None = None,
                 category_id: uuid.UUID | None = None, q: str = Query("", max_length=60), low: bool = False,
                 negative: bool = False, actor: Actor = Depends(requires("inventory.view")),
                 db: Session = Depends(get_db)) -> StreamingResponse:
    """Stock per store and product as .xlsx (same filters as `GET /stock`): on hand, quantity on draft
    transfers, available, effective and store thresholds, unit cost, value at cost, and the total."""
    f = inventory.StockFilter(store_id=store_id, product_id=product_id, category_id=category_id, q=q, low=low,
                              negative=negative)
    fh, _count = stock_export.build(db, actor, f)
    name = f"stock-{clock.now():%Y%m%d}"
    return StreamingResponse(_chunks(fh), media_type=stock_export.XLSX,
                             headers={"Content-Disposition": f"attachment; filename={name}.xlsx"})


def _chunks(fh: BinaryIO, size: int = 1 << 16) -> Iterator[bytes]:
    try:
        while data := fh.read(size):
            yield data
    finally:
        fh.close()


@router.put("/stock/thresholds", response_model=StockLevelOut)
def set_threshold(data: ThresholdIn, actor: Actor = Depends(requires("inventory.adjust")),
                  db: Session = Depends(get_db)) -> StockLevelOut:
    """A store's own low-stock threshold for a product (null: use the product's threshold)."""
    return inventory.set_store_threshold(db, actor, data)


@router.get("/stock/movements", response_model=Page[MovementOut])
def list_movements(store_id: uuid.UUID | None = None, product_id: uuid.UUID | None = None, kind: Kind | None = None,
                   ref_id: uuid.UUID | None = None, since: datetime | None = None, until: datetime | None = None,
                   page: PageNo = 1, page_size: PageSize = 50, actor: Actor = Depends(requires("inventory.view")),
                   db: Session = Depends(get_db)) -> Page[MovementOut]:
    """The stock ledger (append-only), newest first."""
    f = inventory.MovementFilter(store_id=store_id, product_id=product_id, kind=kind, ref_id=ref_id, since=since,
                                 until=until)
    items, total = inventory.list_movements(db, actor, f, page, page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.get("/stock/receipts", response_model=Page[ReceiptOut])
def list_receipts(store_id: uuid.UUID | None = None, q: str = Query("", max_length=60), page: PageNo = 1,
                  page_size: PageSize = 50, actor: Actor = Depends(requires("inventory.view")),
                  db: Session = Depends(get_db)) -> Page[ReceiptOut]:
    items, total = inventory.list_receipts(db, actor, store_id=store_id, q=q, page=page, page_size=page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.post("/stock/receipts", status_code=201, response_model=ReceiptOut)
def create_receipt(data: ReceiptIn, actor: Actor = Depends(requires("inventory.receive")),
                   db: Session = Depends(get_db)) -> ReceiptOut:
    """进货入库: stock in; each product's cost moves to the new moving average."""
    return inventory.create_receipt(db, actor, data)


@router.get("/stock/receipts/{receipt_id}", response_model=ReceiptOut)
def get_receipt(receipt_id: uuid.UUID, actor: Actor = Depends(requires("inventory.view")),
                db: Session = Depends(get_db)) -> ReceiptOut:
    return inventory.get_receipt(db, actor, receipt_id)


@router.get("/stock/adjustments", response_model=Page[AdjustmentOut])
def list_adjustments(store_id: uuid.UUID | None = None,
                     reason: Literal["damaged", "lost", "expired", "entry_error", "other"] | None = None,
                     page: PageNo = 1, page_size: PageSize = 50, actor: Actor = Depends(requires("inventory.view")),
                     db: Session = Depends(get_db)) -> Page[AdjustmentOut]:
    items, total = inventory.list_adjustments(db, actor, store_id=store_id, reason=reason or "", page=page,
                                              page_size=page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.post("/stock/adjustments", status_code=201, response_model=AdjustmentOut)
def create_adjustment(data: AdjustmentIn, actor: Actor = Depends(requires("inventory.adjust")),
                      db: Session = Depends(get_db)) -> AdjustmentOut:
    """Signed quantities with a reason: damaged 损坏, lost 丢失, expired 过期, entry_error 录入错误, other 其他."""
    return inventory.create_adjustment(db, actor, data)


@router.get("/stock/adjustments/{adjustment_id}", response_model=AdjustmentOut)
def get_adjustment(adjustment_id: uuid.UUID, actor: Actor = Depends(requires("inventory.view")),
                   db: Session = Depends(get_db)) -> AdjustmentOut:
    return inventory.get_adjustment(db, actor, adjustment_id)


@router.get("/stock/transfers", response_model=Page[TransferOut])
def list_transfers(store_id: uuid.UUID | None = None, status: TransferStatus | None = None, page: PageNo = 1,
                   page_size: PageSize = 50, actor: Actor = Depends(requires("inventory.view")),
                   db: Session = Depends(get_db)) -> Page[TransferOut]:
    items, total = inventory.list_transfers(db, actor, store_id=store_id, status=status or "", page=page,
                                            page_size=page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.post("/stock/transfers", status_code=201, response_model=TransferOut)
def create_transfer(data: TransferIn, actor: Actor = Depends(requires("inventory.transfer")),
                    db: Session = Depends(get_db)) -> TransferOut:
    """调拨: a draft (or shipped at once with `ship: true`)."""
    return inventory.create_transfer(db, actor, data)


@router.get("/stock/transfers/{transfer_id}", response_model=TransferOut)
def get_transfer(transfer_id: uuid.UUID, actor: Actor = Depends(requires("inventory.view")),
                 db: Session = Depends(get_db)) -> TransferOut:
    return inventory.get_transfer(db, actor, transfer_id)


@router.post("/stock/transfers/{transfer_id}/ship", response_model=TransferOut)
def ship_transfer(transfer_id: uuid.UUID, actor: Actor = Depends(requires("inventory.transfer")),
                  db: Session = Depends(get_db)) -> TransferOut:
    """Stock leaves the source store (transfer_out); the transfer is in transit."""
    return inventory.ship_transfer(db, actor, transfer_id)


@router.post("/stock/transfers/{transfer_id}/receive", response_model=TransferOut)
def receive_transfer(transfer_id: uuid.UUID, data: ReceiveIn = Body(default_factory=ReceiveIn),
                     actor: Actor = Depends(requires("inventory.transfer")),
                     db: Session = Depends(get_db)) -> TransferOut:
    """Stock arrives at the destination (transfer_in) in the quantities actually received."""
    return inventory.receive_transfer(db, actor, transfer_id, data)


@router.post("/stock/transfers/{transfer_id}/cancel", response_model=TransferOut)
def cancel_transfer(transfer_id: uuid.UUID, actor: Actor = Depends(requires("inventory.transfer")),
                    db: Session = Depends(get_db)) -> TransferOut:
    """Only before shipping."""
    return inventory.cancel_transfer(db, actor, transfer_id)


@router.get("/stock/alerts", response_model=list[AlertOut])
def list_alerts(store_id: uuid.UUID | None = None, actor: Actor = Depends(requires("inventory.view")),
                db: Session = Depends(get_db)) -> list[AlertOut]:
    """库存预警: products below their low-stock threshold, per store."""
    return inventory.list_alerts(db, actor, store_id)


@router.get("/stock/alerts/events", response_model=Page[AlertEventOut])
def list_alert_events(page: PageNo = 1, page_size: PageSize = 50, actor: Actor = Depends(requires("inventory.view")),
                      db: Session = Depends(get_db)) -> Page[AlertEventOut]:
    """Recorded notifications: each time a product fell below its threshold."""
    items, total = inventory.list_alert_events(db, actor, page, page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.get("/stocktakes", response_model=Page[StocktakeOut])
def list_stocktakes(store_id: uuid.UUID | None = None, status: StocktakeStatus | None = None, page: PageNo = 1,
                    page_size: PageSize = 50, actor: Actor = Depends(requires("inventory.view")),
                    db: Session = Depends(get_db)) -> Page[StocktakeOut]:
    items, total = inventory.list_stocktakes(db, actor, store_id=store_id, status=status or "", page=page,
                                             page_size=page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.post("/stocktakes", status_code=201, response_model=StocktakeOut)
def create_stocktake(data: StocktakeIn, actor: Actor = Depends(requires("stocktake.manage")),
                     db: Session = Depends(get_db)) -> StocktakeOut:
    """A count task for a store (all products, a category with its subcategories, or a list); snapshots
    the expected quantities."""
    return inventory.create_stocktake(db, actor, data)


@router.get("/stocktakes/{stocktake_id}", response_model=StocktakeOut)
def get_stocktake(stocktake_id: uuid.UUID, actor: Actor = Depends(requires("inventory.view")),
                  db: Session = Depends(get_db)) -> StocktakeOut:
    return inventory.get_stocktake(db, actor, stocktake_id)


@router.post("/stocktakes/{stocktake_id}/counts", response_model=CountsOut)
def record_counts(stocktake_id: uuid.UUID, data: list[CountIn] = Body(..., min_length=1, max_length=5000),
                  actor: Actor = Depends(requires("stocktake.manage")), db: Session = Depends(get_db)) -> CountsOut:
    """Bulk count entry: [{product_id | barcode, quantity, mode: add (default) | set}]. Several counters may
    send at once; `add` is an atomic increment."""
    return inventory.record_counts(db, actor, stocktake_id, data)


@router.get("/stocktakes/{stocktake_id}/variance", response_model=VarianceOut)
def variance(stocktake_id: uuid.UUID, format: Literal["json", "xlsx"] = "json",
             actor: Actor = Depends(requires("inventory.view")),
             db: Session = Depends(get_db)) -> VarianceOut | Response:
    """盘点差异: expected at count time, counted, difference in units and at cost, reason. `format=xlsx` downloads."""
    report = inventory.variance_report(db, actor, stocktake_id)
    if format == "xlsx":
        return export.xlsx_response(export.variance_xlsx(db, actor, report), f"variance-{report.stocktake.number}")
    return report


@router.patch("/stocktakes/{stocktake_id}/variance", response_model=VarianceOut)
def set_reasons(stocktake_id: uuid.UUID, data: ReasonsIn, actor: Actor = Depends(requires("stocktake.manage")),
                db: Session = Depends(get_db)) -> VarianceOut:
    """A reason per line: lost, damaged, entry_error, other."""
    return inventory.set_reasons(db, actor, stocktake_id, data)


@router.get("/stocktakes/{stocktake_id}/sheet")
def count_sheet(stocktake_id: uuid.UUID, format: Literal["xlsx", "pdf"] = "xlsx",
                actor: Actor = Depends(requires("stocktake.manage")), db: Session = Depends(get_db)) -> Response:
    """The printable count sheet, grouped by category, barcodes as text, an empty "counted" column
    (expected quantities hidden for a blind count)."""
    sheet = export.count_sheet(db, actor, stocktake_id)
    if format == "pdf":
        return export.pdf_response(export.count_sheet_pdf(sheet), f"stocktake-{sheet.number}")
    return export.xlsx_response(export.count_sheet_xlsx(sheet), f"stocktake-{sheet.number}")


@router.post("/stocktakes/{stocktake_id}/post", response_model=VarianceOut)
def post_stocktake(stocktake_id: uuid.UUID, data: PostIn = Body(default_factory=PostIn),
                   actor: Actor = Depends(requires("stocktake.post")), db: Session = Depends(get_db)) -> VarianceOut:
    """Adjust stock by the variances (stocktake movements) and close the task; it is read-only afterwards."""
    return inventory.post_stocktake(db, actor, stocktake_id, data)


@router.post("/stocktakes/{stocktake_id}/cancel", response_model=StocktakeOut)
def cancel_stocktake(stocktake_id: uuid.UUID, actor: Actor = Depends(requires("stocktake.manage")),
                     db: Session = Depends(get_db)) -> StocktakeOut:
    return inventory.cancel_stocktake(db, actor, stocktake_id)
