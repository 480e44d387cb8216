"""Printing API: printers, receipt template and preview, print jobs, shelf labels."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import Depends, FastAPI, Request, Response
from sqlalchemy.orm import Session

from cloudpos.context import Actor
from cloudpos.printing import labels, service
from cloudpos.printing.jobs.dispatcher import Dispatcher, dispatch_due
from cloudpos.printing.schemas import (
    LabelRequest,
    PreviewIn,
    PrinterIn,
    PrinterOut,
    PrinterPatch,
    PrintJobOut,
    ProfileOut,
    TemplateIn,
    TemplateOut,
)
from cloudpos.schemas import Page, PageNo, PageSize
from cloudpos.web.deps import get_db, requires
from cloudpos.web.routing import APIRouter


def dispatcher_enabled() -> bool:
    return os.environ.get("CLOUDPOS_PRINT_DISPATCHER", "on").lower() not in ("0", "off", "false", "no")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The print dispatcher runs in a background thread of each app process."""
    dispatcher = None
    if dispatcher_enabled() and hasattr(app.state, "sessionmaker"):
        dispatcher = Dispatcher(app.state.sessionmaker, app.state.settings.var_dir)
        dispatcher.start()
    app.state.print_dispatcher = dispatcher
    try:
        yield
    finally:
        if dispatcher is not None:
            dispatcher.stop()


router = APIRouter(tags=["printing"], lifespan=lifespan)


def poke(request: Request) -> None:
    d = getattr(request.app.state, "print_dispatcher", None)
    if d is not None:
        d.poke()


def _download(r: service.Rendered, filename: str) -> Response:
    headers = {}
    if not r.media_type.startswith(("text/html", "text/plain")):
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(r.content, media_type=r.media_type, headers=headers)


@router.get("/printer-profiles", response_model=list[ProfileOut])
def list_profiles(actor: Actor = Depends(requires("printer.manage"))) -> list[ProfileOut]:
    """Printer models from python-escpos' capabilities database."""
    return service.profiles()


@router.get("/printers", response_model=list[PrinterOut])
def list_printers(store_id: uuid.UUID | None = None, actor: Actor = Depends(requires("printer.manage")),
                  db: Session = Depends(get_db)) -> list[PrinterOut]:
    return service.list_printers(db, actor, store_id)


@router.post("/printers", status_code=201, response_model=PrinterOut)
def create_printer(data: PrinterIn, actor: Actor = Depends(requires("printer.manage")),
                   db: Session = Depends(get_db)) -> PrinterOut:
    return service.create_printer(db, actor, data)


@router.get("/printers/{printer_id}", response_model=PrinterOut)
def get_printer(printer_id: uuid.UUID, actor: Actor = Depends(requires("printer.manage")),
                db: Session = Depends(get_db)) -> PrinterOut:
    return service.printer_out(service.get_printer(db, actor, printer_id))


@router.patch("/printers/{printer_id}", response_model=PrinterOut)
def patch_printer(printer_id: uuid.UUID, data: PrinterPatch, actor: Actor = Depends(requires("printer.manage")),
                  db: Session = Depends(get_db)) -> PrinterOut:
    return service.update_printer(db, actor, printer_id, data)


@router.post("/printers/{printer_id}/test", response_model=PrintJobOut)
def test_print(printer_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("printer.manage")),
               db: Session = Depends(get_db)) -> PrintJobOut:
    """Prints a sample receipt now and says whether it reached the printer (status done / failed)."""
    job_id = service.queue_test_print(db, actor, printer_id)
    dispatch_due(db, job_id=job_id, var_dir=request.app.state.settings.var_dir)
    db.expire_all()
    job = service.get_job(db, actor, job_id)
    return service.job_out(job, service.get_printer(db, actor, printer_id).name)


@router.get("/print-jobs", response_model=Page[PrintJobOut])
def list_jobs(store_id: uuid.UUID | None = None, terminal_id: uuid.UUID | None = None,
              printer_id: uuid.UUID | None = None,
              status: Literal["queued", "sending", "done", "failed"] | None = None,
              page: PageNo = 1, page_size: PageSize = 50, actor: Actor = Depends(requires("sale.view")),
              db: Session = Depends(get_db)) -> Page[PrintJobOut]:
    items, total = service.list_jobs(db, actor, store_id=store_id, terminal_id=terminal_id, printer_id=printer_id,
                                     status=status, page=page, page_size=page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.get("/print-jobs/{job_id}", response_model=PrintJobOut)
def get_job(job_id: uuid.UUID, actor: Actor = Depends(requires("sale.view")),
            db: Session = Depends(get_db)) -> PrintJobOut:
    return service.job_out(service.get_job(db, actor, job_id))


@router.get("/print-jobs/{job_id}/document")
def job_document(job_id: uuid.UUID, format: Literal["raw", "text"] = "raw",
                 actor: Actor = Depends(requires("sale.view")), db: Session = Depends(get_db)) -> Response:
    """The job's bytes as sent (ESC/POS, or HTML for browser printers), or a plain-text rendering."""
    if format == "text":
        return Response(service.job_preview_text(db, actor, job_id), media_type="text/plain; charset=utf-8")
    return _download(service.job_document(db, actor, job_id), f"print-job-{job_id}.bin")


@router.post("/print-jobs/{job_id}/retry", response_model=PrintJobOut)
def retry_job(job_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("sale.create")),
              db: Session = Depends(get_db)) -> PrintJobOut:
    out = service.retry_job(db, actor, job_id)
    poke(request)
    return out


@router.post("/print-jobs/{job_id}/reprint", status_code=201, response_model=PrintJobOut)
def reprint_job(job_id: uuid.UUID, request: Request, printer_id: uuid.UUID | None = None,
                actor: Actor = Depends(requires("sale.create")), db: Session = Depends(get_db)) -> PrintJobOut:
    """Queues a copy marked 重打印 / REPRINT (never opens the cash drawer)."""
    out = service.reprint_job(db, actor, job_id, printer_id)
    poke(request)
    return out


@router.get("/receipt-template", response_model=TemplateOut)
def get_template(store_id: uuid.UUID, actor: Actor = Depends(requires("printer.manage")),
                 db: Session = Depends(get_db)) -> TemplateOut:
    return service.get_template(db, actor, store_id)


@router.put("/receipt-template", response_model=TemplateOut)
def put_template(store_id: uuid.UUID, data: TemplateIn, actor: Actor = Depends(requires("printer.manage")),
                 db: Session = Depends(get_db)) -> TemplateOut:
    return service.put_template(db, actor, store_id, data)


@router.post("/receipt-template/preview")
def preview_template(store_id: uuid.UUID, data: PreviewIn, actor: Actor = Depends(requires("printer.manage")),
                     db: Session = Depends(get_db)) -> Response:
    """Sample data rendered with the given (unsaved) or the saved template: text, html, escpos or pdf."""
    r = service.preview(db, actor, store_id, data)
    return _download(r, f"receipt-preview.{ {'escpos': 'bin', 'pdf': 'pdf'}.get(data.format, 'txt') }")


@router.get("/receipt-template/preview")
def preview_saved(store_id: uuid.UUID, format: Literal["text", "html", "escpos", "pdf"] = "text",
                  kind: Literal["sale", "refund", "void", "reprint"] = "sale",
                  actor: Actor = Depends(requires("printer.manage")), db: Session = Depends(get_db)) -> Response:
    r = service.preview(db, actor, store_id, PreviewIn(format=format, kind=kind))
    return _download(r, f"receipt-preview.{ {'escpos': 'bin', 'pdf': 'pdf'}.get(format, 'txt') }")


@router.get("/receipt-template/sample-link")
def sample_link(store_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("printer.manage")),
                db: Session = Depends(get_db)) -> dict[str, Any]:
    """A signed e-receipt link showing the sample receipt of this store (to try the phone page)."""
    service.sample_for_store(db, actor, store_id, "zh_CN")
    url = service.e_receipt_url(str(request.base_url), request.app.state.secret, actor.tenant_id, "sample",
                                store_id)
    return {"url": url}


@router.post("/labels")
def shelf_labels(data: LabelRequest, actor: Actor = Depends(requires("catalog.view")),
                 db: Session = Depends(get_db)) -> Response:
    """Shelf labels (价签) as an A4 PDF or ESC/POS bytes."""
    r = labels.render_labels(db, actor, data)
    return _download(r, "labels.pdf" if data.format == "pdf" else "labels.bin")
