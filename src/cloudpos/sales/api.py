"""Sales, refunds, voids, shifts and held carts."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from cloudpos.context import Actor
from cloudpos.errors import NotFound
from cloudpos.i18n import N_
from cloudpos.sales import service
from cloudpos.sales.schemas import (
    CashMoveIn,
    HeldCartOut,
    HoldIn,
    RefundIn,
    SaleIn,
    SaleOut,
    ShiftCloseIn,
    ShiftOpenIn,
    ShiftOut,
    ShiftReport,
    VoidIn,
)
from cloudpos.schemas import Page, PageNo, PageSize, StrictModel
from cloudpos.web.deps import client_ip, get_db, requires
from cloudpos.web.routing import APIRouter

router = APIRouter(tags=["sales"])
IdemKey = Header(default=None, alias="Idempotency-Key", max_length=100)


@router.post("/sales", status_code=201, response_model=SaleOut)
def create_sale(data: SaleIn, request: Request, idempotency_key: str | None = IdemKey,
                actor: Actor = Depends(requires("sale.create")), db: Session = Depends(get_db)) -> JSONResponse:
    """Complete a sale. Send an `Idempotency-Key`: a retry with the same key and body returns the first
    response; the same key with another body is a 409. The server prices the cart itself."""
    status, body = service.create_sale(db, actor, data, idempotency_key=idempotency_key, ip=client_ip(request))
    return JSONResponse(body, status_code=status)


@router.get("/sales", response_model=Page[SaleOut])
def list_sales(store_id: uuid.UUID | None = None, date_from: date | None = Query(None, alias="from"),
               date_to: date | None = Query(None, alias="to"), receipt_no: str | None = Query(None, max_length=40),
               member_id: uuid.UUID | None = None, cashier_id: uuid.UUID | None = None,
               method: str | None = Query(None, max_length=20),
               kind: Literal["sale", "refund", "void"] | None = None,
               min_total: int | None = Query(None, ge=-10**10, le=10**10),
               max_total: int | None = Query(None, ge=-10**10, le=10**10),
               page: PageNo = 1, page_size: PageSize = 50, actor: Actor = Depends(requires("sale.view")),
               db: Session = Depends(get_db)) -> Page[SaleOut]:
    f = service.SaleFilter(store_id, date_from, date_to, receipt_no, member_id, cashier_id, method, kind,
                           min_total, max_total)
    rows, total = service.list_sales(db, actor, f, page, page_size)
    return Page(items=[service.sale_out(db, actor, s) for s in rows], total=total, page=page, page_size=page_size)


@router.get("/sales/by-receipt/{receipt_no}", response_model=SaleOut)
def sale_by_receipt(receipt_no: str, actor: Actor = Depends(requires("sale.view")),
                    db: Session = Depends(get_db)) -> SaleOut:
    if len(receipt_no) > 40:
        raise NotFound(N_("No sale has this receipt number."))
    return service.sale_out(db, actor, service.sale_by_receipt_no(db, actor, receipt_no))


@router.get("/sales/{sale_id}", response_model=SaleOut)
def get_sale(sale_id: uuid.UUID, actor: Actor = Depends(requires("sale.view")),
             db: Session = Depends(get_db)) -> SaleOut:
    return service.sale_out(db, actor, service.get_sale_row(db, actor, sale_id))


@router.get("/sales/{sale_id}/receipt", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}, "text/plain": {}, "text/html": {},
                                         "application/pdf": {}}}})
def receipt(sale_id: uuid.UUID, format: Literal["escpos", "text", "html", "pdf"] = "html",  # noqa: A002
            lang: Literal["zh_CN", "en"] | None = None, actor: Actor = Depends(requires("sale.view")),
            db: Session = Depends(get_db)) -> Response:
    """The receipt as ESC/POS bytes (application/octet-stream), plain text, an HTML print page or an A4 PDF."""
    r = service.render_receipt(db, actor, sale_id, format, lang)
    return Response(r.content, media_type=r.media_type)


class PrintIn(StrictModel):
    printer_id: uuid.UUID | None = None


class PrintOut(BaseModel):
    job_id: uuid.UUID | None
    queued: bool


@router.post("/sales/{sale_id}/print", status_code=202, response_model=PrintOut)
def reprint(sale_id: uuid.UUID, data: PrintIn | None = None, actor: Actor = Depends(requires("sale.view")),
            db: Session = Depends(get_db)) -> PrintOut:
    """Reprint (marked 重打印 / REPRINT) on the given printer or the store's default."""
    job = service.reprint_receipt(db, actor, sale_id, data.printer_id if data else None)
    return PrintOut(job_id=job, queued=job is not None)


@router.get("/receipts/{token}/sale", response_model=SaleOut)
def sale_from_receipt_qr(token: str, request: Request, actor: Actor = Depends(requires("sale.view")),
                         db: Session = Depends(get_db)) -> SaleOut:
    """The sale a scanned receipt QR code (e-receipt link) names — how the till starts a refund."""
    sale = service.sale_from_receipt_token(db, actor, token[:400], request.app.state.secret)
    return service.sale_out(db, actor, sale)


@router.post("/sales/{sale_id}/refunds", status_code=201, response_model=SaleOut)
def refund(sale_id: uuid.UUID, data: RefundIn, idempotency_key: str | None = IdemKey,
           actor: Actor = Depends(requires("sale.refund")), db: Session = Depends(get_db)) -> JSONResponse:
    """Refund some lines (quantities) or, without `lines`, everything not yet refunded."""
    status, body = service.create_refund(db, actor, sale_id, data, idempotency_key=idempotency_key)
    return JSONResponse(body, status_code=status)


@router.post("/sales/{sale_id}/void", status_code=201, response_model=SaleOut)
def void(sale_id: uuid.UUID, data: VoidIn, idempotency_key: str | None = IdemKey,
         actor: Actor = Depends(requires("sale.void")), db: Session = Depends(get_db)) -> JSONResponse:
    """Void (全单作废) a sale: a full reversal document. To correct an order, void it, then create the
    new sale with `replaces_id` set to the voided one (both stay visible and linked)."""
    status, body = service.void_sale(db, actor, sale_id, data, idempotency_key=idempotency_key)
    return JSONResponse(body, status_code=status)


@router.post("/shifts", status_code=201, response_model=ShiftOut)
def open_shift(data: ShiftOpenIn, actor: Actor = Depends(requires("shift.manage")),
               db: Session = Depends(get_db)) -> ShiftOut:
    return service.open_shift(db, actor, data)


@router.get("/shifts", response_model=Page[ShiftOut])
def list_shifts(store_id: uuid.UUID | None = None, status: Literal["open", "closed"] | None = None,
                page: PageNo = 1, page_size: PageSize = 50, actor: Actor = Depends(requires("shift.manage")),
                db: Session = Depends(get_db)) -> Page[ShiftOut]:
    items, total = service.list_shifts(db, actor, store_id, status, page, page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.get("/shifts/{shift_id}/report", response_model=ShiftReport)
def shift_report(shift_id: uuid.UUID, actor: Actor = Depends(requires("shift.manage")),
                 db: Session = Depends(get_db)) -> ShiftReport:
    """X report while the shift is open, Z report once closed."""
    return service.shift_report(db, actor, shift_id)


@router.post("/shifts/{shift_id}/cash", response_model=ShiftOut)
def cash_in_out(shift_id: uuid.UUID, data: CashMoveIn, actor: Actor = Depends(requires("shift.manage")),
                db: Session = Depends(get_db)) -> ShiftOut:
    return service.move_cash(db, actor, shift_id, data)


@router.post("/shifts/{shift_id}/close", response_model=ShiftReport)
def close_shift(shift_id: uuid.UUID, data: ShiftCloseIn, actor: Actor = Depends(requires("shift.manage")),
                db: Session = Depends(get_db)) -> ShiftReport:
    return service.close_shift(db, actor, shift_id, data)


@router.get("/held-carts", response_model=list[HeldCartOut])
def held_carts(store_id: uuid.UUID, actor: Actor = Depends(requires("sale.create")),
               db: Session = Depends(get_db)) -> list[HeldCartOut]:
    return service.list_held(db, actor, store_id)


@router.post("/held-carts", status_code=201, response_model=HeldCartOut)
def hold(data: HoldIn, actor: Actor = Depends(requires("sale.create")), db: Session = Depends(get_db)) -> HeldCartOut:
    return service.hold_cart(db, actor, data)


@router.post("/held-carts/{held_id}/recall", response_model=HeldCartOut)
def recall(held_id: uuid.UUID, actor: Actor = Depends(requires("sale.create")),
           db: Session = Depends(get_db)) -> HeldCartOut:
    return service.recall_cart(db, actor, held_id)


@router.post("/held-carts/{held_id}/drop", response_model=HeldCartOut)
def drop(held_id: uuid.UUID, actor: Actor = Depends(requires("sale.create")),
         db: Session = Depends(get_db)) -> HeldCartOut:
    return service.recall_cart(db, actor, held_id, drop=True)
