"""Inventory pages: stock, movements, goods receipts, adjustments, transfers, alerts, stocktakes.

Lists are rendered on the server; the document forms (receipt, adjustment, transfer, counting,
reasons, posting) send JSON to the same `/api/v1` routes with the session cookie and show the
problem+json errors inline, so every rule lives in one place (the services).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from cloudpos.audit.views import register_actions
from cloudpos.context import Actor
from cloudpos.errors import NotFound
from cloudpos.i18n import N_
from cloudpos.web.deps import get_db, requires
from cloudpos.web.nav import NavItem, register
from cloudpos.web.routing import APIRouter
from cloudpos.web.templating import render

from . import domain, ledger
from . import service as inventory
from .products import catalog

router = APIRouter()
register_actions({
    "stock.receipt.create": N_("Goods received"),
    "stock.adjust": N_("Stock adjusted"),
    "stock.threshold.set": N_("Low-stock threshold set"),
    "stock.transfer.create": N_("Transfer created"),
    "stock.transfer.ship": N_("Transfer shipped"),
    "stock.transfer.receive": N_("Transfer received"),
    "stock.transfer.cancel": N_("Transfer cancelled"),
    "stocktake.create": N_("Stocktake created"),
    "stocktake.count": N_("Stocktake counts entered"),
    "stocktake.reason": N_("Stocktake variance reason set"),
    "stocktake.post": N_("Stocktake posted"),
    "stocktake.cancel": N_("Stocktake cancelled"),
}, groups=(("stock.", N_("Stock")), ("stocktake.", N_("Stocktakes"))))
PAGE_SIZE = 30

for _item in (
    NavItem("inventory", N_("Stock"), "/inventory/stock", "inventory.view", "boxes"),
    NavItem("inventory", N_("Stock movements"), "/inventory/movements", "inventory.view", "journal-arrow-down"),
    NavItem("inventory", N_("Goods receipts"), "/inventory/receipts", "inventory.view", "box-arrow-in-down"),
    NavItem("inventory", N_("Adjustments"), "/inventory/adjustments", "inventory.view", "sliders"),
    NavItem("inventory", N_("Transfers"), "/inventory/transfers", "inventory.view", "arrow-left-right"),
    NavItem("inventory", N_("Low-stock alerts"), "/inventory/alerts", "inventory.view", "exclamation-triangle"),
    NavItem("inventory", N_("Stocktakes"), "/inventory/stocktakes", "inventory.view", "clipboard-check"),
):
    register(_item)


def qty(milli: int | str | None) -> str:
    """8000 → "8", 1250 → "1.25" (the JSON keeps three decimals; pages show what people write)."""
    if milli is None:
        return ""
    if isinstance(milli, str):
        text = milli
    else:
        from cloudpos.money import milli_to_str

        text = milli_to_str(milli)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _page(request: Request) -> int:
    try:
        return max(1, min(100_000, int(request.query_params.get("page", "1"))))
    except ValueError:
        return 1


def _common(db: Session, actor: Actor) -> dict[str, Any]:
    stores = ledger.store_names(db, actor)
    return {"db": db, "stores": stores, "qty": qty, "kind_labels": domain.KIND_LABELS,
            "reason_labels": domain.REASON_LABELS, "status_labels": domain.STATUS_LABELS}


@router.get("/inventory/lookup", response_class=JSONResponse)
def lookup(code: str = Query(..., max_length=64), actor: Actor = Depends(requires("inventory.view")),
           db: Session = Depends(get_db)) -> JSONResponse:
    """For the scan fields of the inventory pages: a barcode or SKU → the product (404 if unknown)."""
    p = catalog.find_by_code(db, actor, code)
    if p is None:
        raise NotFound(N_("No product has the code %(code)s."), params={"code": code.strip()[:64]})
    return JSONResponse({"id": str(p.id), "sku": p.sku, "name": p.name, "unit": p.unit, "cost": p.cost,
                         "barcodes": list(p.barcodes)})


@router.get("/inventory/stock", response_class=HTMLResponse)
def stock_page(request: Request, actor: Actor = Depends(requires("inventory.view")), db: Session = Depends(get_db)):
    qp = request.query_params
    store_id, category_id = _uuid(qp.get("store")), _uuid(qp.get("category"))
    state = qp.get("state", "") if qp.get("state") in ("low", "negative") else ""
    q = qp.get("q", "")[:60]
    page = _page(request)
    f = inventory.StockFilter(store_id=store_id, category_id=category_id, q=q, low=state == "low",
                              negative=state == "negative")
    items, total = inventory.list_stock(db, actor, f, page, PAGE_SIZE)
    export_q = urlencode([(k, v) for k, v in (("store_id", store_id), ("category_id", category_id), ("q", q),
                                               ("low", "true" if state == "low" else ""),
                                               ("negative", "true" if state == "negative" else "")) if v])
    return render(request, "inventory/stock.html", **_common(db, actor), items=items, total=total, page=page,
                  export_url="/api/v1/stock/export" + (f"?{export_q}" if export_q else ""),
                  page_size=PAGE_SIZE, categories=sorted(catalog.category_names(db, actor).items(), key=lambda c: c[1]),
                  store=qp.get("store", ""), category=qp.get("category", ""), state=state, q=q,
                  filtered=bool(store_id or category_id or state or q),
                  alert_count=inventory.alert_count(db, actor))


@router.get("/inventory/movements", response_class=HTMLResponse)
def movements_page(request: Request, actor: Actor = Depends(requires("inventory.view")),
                   db: Session = Depends(get_db)):
    qp = request.query_params
    kind = qp.get("kind", "") if qp.get("kind") in domain.KINDS else ""
    f = inventory.MovementFilter(store_id=_uuid(qp.get("store")), product_id=_uuid(qp.get("product")),
                                 kind=kind or None, ref_id=_uuid(qp.get("ref")))
    page = _page(request)
    items, total = inventory.list_movements(db, actor, f, page, PAGE_SIZE)
    return render(request, "inventory/movements.html", **_common(db, actor), items=items, total=total, page=page,
                  page_size=PAGE_SIZE, store=qp.get("store", ""), kind=kind, kinds=domain.KINDS,
                  product=qp.get("product", ""), filtered=bool(f.store_id or kind or f.product_id or f.ref_id))


@router.get("/inventory/receipts", response_class=HTMLResponse)
def receipts_page(request: Request, actor: Actor = Depends(requires("inventory.view")),
                  db: Session = Depends(get_db)):
    qp = request.query_params
    page, q = _page(request), qp.get("q", "")[:60]
    items, total = inventory.list_receipts(db, actor, store_id=_uuid(qp.get("store")), q=q, page=page,
                                           page_size=PAGE_SIZE)
    return render(request, "inventory/receipts.html", **_common(db, actor), items=items, total=total, page=page,
                  page_size=PAGE_SIZE, q=q, store=qp.get("store", ""), filtered=bool(q or qp.get("store")))


@router.get("/inventory/receipts/new", response_class=HTMLResponse)
def receipt_new(request: Request, actor: Actor = Depends(requires("inventory.receive")),
                db: Session = Depends(get_db)):
    return render(request, "inventory/doc_form.html", **_common(db, actor), kind="receipt")


@router.get("/inventory/receipts/{receipt_id}", response_class=HTMLResponse)
def receipt_detail(receipt_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("inventory.view")),
                   db: Session = Depends(get_db)):
    return render(request, "inventory/receipt.html", **_common(db, actor),
                  r=inventory.get_receipt(db, actor, receipt_id))


@router.get("/inventory/adjustments", response_class=HTMLResponse)
def adjustments_page(request: Request, actor: Actor = Depends(requires("inventory.view")),
                     db: Session = Depends(get_db)):
    qp = request.query_params
    reason = qp.get("reason", "") if qp.get("reason") in domain.ADJUSTMENT_REASONS else ""
    page = _page(request)
    items, total = inventory.list_adjustments(db, actor, store_id=_uuid(qp.get("store")), reason=reason, page=page,
                                              page_size=PAGE_SIZE)
    return render(request, "inventory/adjustments.html", **_common(db, actor), items=items, total=total, page=page,
                  page_size=PAGE_SIZE, reason=reason, reasons=domain.ADJUSTMENT_REASONS, store=qp.get("store", ""),
                  filtered=bool(reason or qp.get("store")))


@router.get("/inventory/adjustments/new", response_class=HTMLResponse)
def adjustment_new(request: Request, actor: Actor = Depends(requires("inventory.adjust")),
                   db: Session = Depends(get_db)):
    return render(request, "inventory/doc_form.html", **_common(db, actor), kind="adjustment",
                  reasons=domain.ADJUSTMENT_REASONS)


@router.get("/inventory/adjustments/{adjustment_id}", response_class=HTMLResponse)
def adjustment_detail(adjustment_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("inventory.view")),
                      db: Session = Depends(get_db)):
    return render(request, "inventory/adjustment.html", **_common(db, actor),
                  a=inventory.get_adjustment(db, actor, adjustment_id))


@router.get("/inventory/transfers", response_class=HTMLResponse)
def transfers_page(request: Request, actor: Actor = Depends(requires("inventory.view")),
                   db: Session = Depends(get_db)):
    qp = request.query_params
    status = qp.get("status", "") if qp.get("status") in domain.TRANSFER_STATUSES else ""
    page = _page(request)
    items, total = inventory.list_transfers(db, actor, store_id=_uuid(qp.get("store")), status=status, page=page,
                                            page_size=PAGE_SIZE)
    return render(request, "inventory/transfers.html", **_common(db, actor), items=items, total=total, page=page,
                  page_size=PAGE_SIZE, status=status, statuses=domain.TRANSFER_STATUSES, store=qp.get("store", ""),
                  filtered=bool(status or qp.get("store")))


@router.get("/inventory/transfers/new", response_class=HTMLResponse)
def transfer_new(request: Request, actor: Actor = Depends(requires("inventory.transfer")),
                 db: Session = Depends(get_db)):
    return render(request, "inventory/doc_form.html", **_common(db, actor), kind="transfer")


@router.get("/inventory/transfers/{transfer_id}", response_class=HTMLResponse)
def transfer_detail(transfer_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("inventory.view")),
                    db: Session = Depends(get_db)):
    return render(request, "inventory/transfer.html", **_common(db, actor),
                  t=inventory.get_transfer(db, actor, transfer_id))


@router.get("/inventory/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, actor: Actor = Depends(requires("inventory.view")), db: Session = Depends(get_db)):
    store_id = _uuid(request.query_params.get("store"))
    events, _ = inventory.list_alert_events(db, actor, 1, 10)
    return render(request, "inventory/alerts.html", **_common(db, actor),
                  items=inventory.list_alerts(db, actor, store_id), events=events,
                  names=ledger.refs(db, actor, [e.product_id for e in events]),
                  store=request.query_params.get("store", ""))


@router.get("/inventory/stocktakes", response_class=HTMLResponse)
def stocktakes_page(request: Request, actor: Actor = Depends(requires("inventory.view")),
                    db: Session = Depends(get_db)):
    qp = request.query_params
    status = qp.get("status", "") if qp.get("status") in ("open", "posted", "cancelled") else ""
    page = _page(request)
    items, total = inventory.list_stocktakes(db, actor, store_id=_uuid(qp.get("store")), status=status, page=page,
                                             page_size=PAGE_SIZE)
    return render(request, "inventory/stocktakes.html", **_common(db, actor), items=items, total=total, page=page,
                  page_size=PAGE_SIZE, status=status, store=qp.get("store", ""),
                  filtered=bool(status or qp.get("store")))


@router.get("/inventory/stocktakes/new", response_class=HTMLResponse)
def stocktake_new(request: Request, actor: Actor = Depends(requires("stocktake.manage")),
                  db: Session = Depends(get_db)):
    return render(request, "inventory/stocktake_new.html", **_common(db, actor),
                  categories=sorted(catalog.category_names(db, actor).items(), key=lambda c: c[1]))


@router.get("/inventory/stocktakes/{stocktake_id}", response_class=HTMLResponse)
def stocktake_count(stocktake_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("inventory.view")),
                    db: Session = Depends(get_db)):
    report = inventory.variance_report(db, actor, stocktake_id)
    return render(request, "inventory/stocktake.html", **_common(db, actor), st=report.stocktake, report=report)


@router.get("/inventory/stocktakes/{stocktake_id}/variance", response_class=HTMLResponse)
def stocktake_variance(stocktake_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("inventory.view")),
                       db: Session = Depends(get_db)):
    report = inventory.variance_report(db, actor, stocktake_id)
    only = request.query_params.get("show", "")
    lines = report.lines
    if only == "diff":
        lines = [ln for ln in lines if ln.difference]
    elif only == "uncounted":
        lines = [ln for ln in lines if ln.counted is None]
    return render(request, "inventory/variance.html", **_common(db, actor), st=report.stocktake, report=report,
                  lines=lines, show=only, variance_reasons=domain.VARIANCE_REASONS)
