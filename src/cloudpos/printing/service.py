"""Printing use cases: printers, receipt templates, the print job queue, e-receipts and labels.

Other modules call:
* `enqueue(db, actor, printer_id, document_kind, data, open_drawer)` INSIDE their transaction
  (e.g. the sale's): it only writes a `print_jobs` row; the dispatcher sends it after commit, so
  a dead printer never blocks or breaks a sale.
* `enqueue_report(...)` for shift X/Z reports, closings and stocktake count sheets.
* `register_receipt_source(kind, fn)` so the e-receipt page `/r/{token}` can load a document,
  and `e_receipt_url(...)` / `parse_receipt_token(...)` for the QR code on the receipt.
* `failed_jobs_for_terminal(db, actor, terminal_id)` for the cashier screen.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import structlog
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.context import Actor, system_actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound
from cloudpos.fastread import Read
from cloudpos.i18n import N_, current_locale, gettext
from cloudpos.ids import uuid7
from cloudpos.printing.domain import layout
from cloudpos.printing.domain.receipt import KINDS, ReceiptData, ReceiptTemplate, ReportData
from cloudpos.printing.domain.sample import sample_receipt
from cloudpos.printing.models import Printer, PrintJob, ReceiptTemplateRow
from cloudpos.printing.renderers import escpos, html, pdf, text
from cloudpos.printing.schemas import (
    PreviewIn,
    PrinterIn,
    PrinterOut,
    PrinterPatch,
    PrintJobOut,
    ProfileOut,
    TemplateIn,
    TemplateOut,
)
from cloudpos.printing.transports.device import DEVICE_PATH
from cloudpos.tenancy import service as tenancy

log = structlog.get_logger("cloudpos.printing")

DOCUMENT_KINDS = (*KINDS, "report", "test", "labels")
HOST = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                  r"[A-Za-z0-9])?)*$|^\[?[0-9A-Fa-f:.]+\]?$")
MAX_LOGO_BYTES = 128 * 1024
TOKEN_SALT = "cloudpos.e-receipt"  # noqa: S105 - a namespace for the signature, not a secret
TOKEN_MAX_AGE = 400 * 86400  # an e-receipt link stays valid for the return/warranty period and then some


# --- printers ----------------------------------------------------------------------------------

def printer_out(p: Printer) -> PrinterOut:
    return PrinterOut(id=p.id, store_id=p.store_id, terminal_id=p.terminal_id, name=p.name, profile=p.profile,
                      connection=p.connection, host=p.host, port=p.port, usb_vendor_id=p.usb_vendor_id,
                      usb_product_id=p.usb_product_id, device_path=p.device_path, paper_mm=p.paper_mm,
                      copies=p.copies, auto_print=p.auto_print, open_drawer=p.open_drawer, drawer_pin=p.drawer_pin,
                      is_default=p.is_default, active=p.active, sending_supported=p.connection != "usb")


def profiles() -> list[ProfileOut]:
    return [ProfileOut(key=k, name=n) for k, n in escpos.profiles()]


def list_printers(db: Session, actor: Actor, store_id: uuid.UUID | None = None) -> list[PrinterOut]:
    actor.require("printer.manage")
    stmt = select(Printer).where(Printer.tenant_id == actor.tenant_id)
    if store_id is not None:
        tenancy.get_store(db, actor, store_id)
        stmt = stmt.where(Printer.store_id == store_id)
    rows = [p for p in db.scalars(stmt.order_by(Printer.created_at)).all() if actor.sees_store(p.store_id)]
    return [printer_out(p) for p in rows]


def get_printer(db: Session, actor: Actor, printer_id: uuid.UUID) -> Printer:
    p = db.get(Printer, (actor.tenant_id, printer_id))
    if p is None or not actor.sees_store(p.store_id):
        raise NotFound(N_("Printer not found."))
    return p


def _snapshot(p: Printer) -> dict[str, Any]:
    return printer_out(p).model_dump(mode="json", exclude={"id", "sending_supported"})


def _validate(db: Session, actor: Actor, p: Printer) -> None:
    errors: list[FieldError] = []
    if p.connection == "network":
        if not p.host:
            errors.append(FieldError("host", N_("Enter the printer's IP address or host name."), {}, "required"))
        elif not HOST.match(p.host):
            errors.append(FieldError("host", N_("%(host)s is not an IP address or host name."), {"host": p.host}))
    elif p.connection == "usb":
        for f in ("usb_vendor_id", "usb_product_id"):
            if getattr(p, f) is None:
                errors.append(FieldError(f, N_("Enter the USB vendor and product id (e.g. 0x0416 / 0x5011)."), {},
                                         "required"))
    elif p.connection == "device" and not DEVICE_PATH.match(p.device_path or ""):
        errors.append(FieldError("device_path", N_("Use a printer device such as /dev/usb/lp0."), {}, "invalid"))
    if not escpos.known_profile(p.profile):
        errors.append(FieldError("profile", N_("Unknown printer model %(profile)s."), {"profile": p.profile}))
    if p.terminal_id is not None:
        terminals = {t.id for t in tenancy.list_terminals(db, actor, p.store_id)}
        if p.terminal_id not in terminals:
            errors.append(FieldError("terminal_id", N_("This terminal is not in the printer's store."), {},
                                     "invalid"))
    if errors:
        raise Invalid(errors=errors)


def _only_default(db: Session, p: Printer) -> None:
    if p.is_default:
        for other in db.scalars(select(Printer).where(Printer.tenant_id == p.tenant_id,
                                                      Printer.store_id == p.store_id, Printer.id != p.id,
                                                      Printer.is_default.is_(True))).all():
            other.is_default = False


@use_case
def create_printer(db: Session, actor: Actor, data: PrinterIn) -> PrinterOut:
    actor.require("printer.manage")
    tenancy.get_store(db, actor, data.store_id)
    p = Printer(tenant_id=actor.tenant_id, id=_new_id(), created_at=clock.now(), updated_at=clock.now(),
                **data.model_dump())
    has_default = db.scalar(select(func.count()).where(Printer.tenant_id == actor.tenant_id,
                                                       Printer.store_id == data.store_id,
                                                       Printer.is_default.is_(True))) or 0
    if not has_default:
        p.is_default = True  # the store's first printer is its default
    _validate(db, actor, p)
    db.add(p)
    db.flush()
    _only_default(db, p)
    audit.record(db, actor, "printer.create", target_type="printer", target_id=p.id, target_label=p.name,
                 after=_snapshot(p), store_id=p.store_id)
    return printer_out(p)


def _new_id() -> uuid.UUID:
    return uuid7()


@use_case
def update_printer(db: Session, actor: Actor, printer_id: uuid.UUID, data: PrinterPatch) -> PrinterOut:
    actor.require("printer.manage")
    p = get_printer(db, actor, printer_id)
    before = _snapshot(p)
    changes = data.model_dump(exclude_unset=True, exclude={"clear_terminal"})
    for key, value in changes.items():
        if value is None and key not in ("usb_vendor_id", "usb_product_id"):
            continue
        setattr(p, key, value)
    if data.clear_terminal:
        p.terminal_id = None
    _validate(db, actor, p)
    p.updated_at = clock.now()
    _only_default(db, p)
    b, a = audit.diff(before, _snapshot(p))
    audit.record(db, actor, "printer.update", target_type="printer", target_id=p.id, target_label=p.name,
                 before=b, after=a, store_id=p.store_id)
    return printer_out(p)


# --- receipt templates -------------------------------------------------------------------------

def _template_row(db: Session, tenant_id: uuid.UUID, store_id: uuid.UUID) -> ReceiptTemplateRow | None:
    return db.scalar(select(ReceiptTemplateRow).where(ReceiptTemplateRow.tenant_id == tenant_id,
                                                      ReceiptTemplateRow.store_id == store_id))


def store_template(db: Session, tenant_id: uuid.UUID, store_id: uuid.UUID) -> tuple[ReceiptTemplate, bytes | None]:
    """The store's receipt template (defaults when never saved) and its logo."""
    row = _template_row(db, tenant_id, store_id)
    if row is None:
        return ReceiptTemplate(), None
    return ReceiptTemplate.from_json(row.settings), row.logo_png


def _template_out(store_id: uuid.UUID, tpl: ReceiptTemplate, row: ReceiptTemplateRow | None) -> TemplateOut:
    return TemplateOut(store_id=store_id, **tpl.to_json(), has_logo=bool(row and row.logo_png),
                       updated_at=row.updated_at if row else None, updated_by=row.updated_by if row else "")


def get_template(db: Session, actor: Actor, store_id: uuid.UUID) -> TemplateOut:
    actor.require("printer.manage")
    tenancy.get_store(db, actor, store_id)
    tpl, _ = store_template(db, actor.tenant_id, store_id)
    return _template_out(store_id, tpl, _template_row(db, actor.tenant_id, store_id))


def _decode_logo(b64: str) -> bytes:
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(errors=[FieldError("logo_png_base64", N_("The logo is not valid base64."), {}, "invalid")])
    if len(raw) > MAX_LOGO_BYTES:
        raise Invalid(errors=[FieldError("logo_png_base64", N_("The logo is larger than %(kib)s KiB."),
                                         {"kib": MAX_LOGO_BYTES // 1024}, "too_large")])
    from PIL import Image

    try:
        img = Image.open(io.BytesIO(raw))
        img.verify()
        if img.format != "PNG":
            raise ValueError(img.format)
    except Exception:  # noqa: BLE001 - anything Pillow cannot read is refused
        raise Invalid(errors=[FieldError("logo_png_base64", N_("The logo must be a PNG image."), {}, "invalid")])
    return raw


def template_from_input(data: TemplateIn) -> ReceiptTemplate:
    return ReceiptTemplate.from_json(data.model_dump(exclude={"logo_png_base64"}))


@use_case
def put_template(db: Session, actor: Actor, store_id: uuid.UUID, data: TemplateIn) -> TemplateOut:
    actor.require("printer.manage")
    store = tenancy.get_store(db, actor, store_id)
    tpl = template_from_input(data)
    row = _template_row(db, actor.tenant_id, store_id)
    before = ReceiptTemplate.from_json(row.settings).to_json() if row else ReceiptTemplate().to_json()
    if row is None:
        row = ReceiptTemplateRow(tenant_id=actor.tenant_id, id=_new_id(), store_id=store_id, settings={})
        db.add(row)
    row.settings = tpl.to_json()
    logo_change = None
    if data.logo_png_base64 is not None:
        row.logo_png = _decode_logo(data.logo_png_base64) if data.logo_png_base64 else None
        logo_change = "set" if row.logo_png else "removed"
    row.updated_at = clock.now()
    row.updated_by = (actor.display_name or actor.username)[:60]
    db.flush()
    b, a = audit.diff(before, tpl.to_json())
    audit.record(db, actor, "receipt_template.update", target_type="store", target_id=store_id,
                 target_label=store.name, before=b, after=a, store_id=store_id,
                 details={"logo": logo_change} if logo_change else None)
    return _template_out(store_id, tpl, row)


def sample_for_store(db: Session, actor: Actor, store_id: uuid.UUID, language: str,
                     kind: str = "sale", qr_payload: str = "") -> ReceiptData:
    store = tenancy.get_store(db, actor, store_id)
    data = sample_receipt(store.name, store.address, store.phone, language, qr_payload=qr_payload, kind=kind)
    _, logo = store_template(db, actor.tenant_id, store_id)
    return replace(data, logo_png=logo, timezone=store.timezone)


@dataclass(frozen=True)
class Rendered:
    content: bytes
    media_type: str


def render_receipt(data: ReceiptData, tpl: ReceiptTemplate, fmt: str, *, profile: str = "default",
                   open_drawer: bool = False, copies: int = 1, language: str | None = None) -> Rendered:
    """A receipt in one format: text, escpos, html (a print page) or pdf (A4)."""
    lang = language or tpl.language
    if fmt == "text":
        return Rendered(text.receipt_text(data, tpl, lang).encode(), "text/plain; charset=utf-8")
    if fmt == "escpos":
        opts = escpos.EscposOptions(profile=profile, paper_mm=tpl.paper_mm, open_drawer=open_drawer, copies=copies)
        return Rendered(escpos.receipt_bytes(data, tpl, opts, lang), "application/octet-stream")
    els = layout.receipt(data, tpl, lang)
    if fmt == "html":
        return Rendered(html.print_page(els, tpl.paper_mm, data.receipt_no, lang, auto_print=False).encode(),
                        "text/html; charset=utf-8")
    if fmt == "pdf":
        return Rendered(pdf.render(els, data.receipt_no), "application/pdf")
    raise Invalid(errors=[FieldError("format", N_("Unknown format %(format)s."), {"format": fmt})])


def render_for_store(db: Session, actor: Actor, store_id: uuid.UUID, data: ReceiptData, fmt: str,
                     language: str | None = None) -> Rendered:
    """A document under the store's template (and logo) in one format — for
    `GET /api/v1/sales/{id}/receipt?format=escpos|text|html|pdf` in the sales module."""
    tenancy.get_store(db, actor, store_id)
    tpl, logo = store_template(db, actor.tenant_id, store_id)
    if logo and data.logo_png is None:
        data = replace(data, logo_png=logo)
    return render_receipt(data, tpl, fmt, language=language)


def preview(db: Session, actor: Actor, store_id: uuid.UUID, data: PreviewIn) -> Rendered:
    """The store's template (or unsaved settings) rendered with sample data."""
    actor.require("printer.manage")
    tpl = template_from_input(data.template) if data.template else store_template(db, actor.tenant_id, store_id)[0]
    sample = sample_for_store(db, actor, store_id, tpl.language, data.kind)
    if data.template and data.template.logo_png_base64:
        sample = replace(sample, logo_png=_decode_logo(data.template.logo_png_base64))
    return render_receipt(sample, tpl, data.format)


def preview_fragment(db: Session, actor: Actor, store_id: uuid.UUID, tpl: ReceiptTemplate, kind: str = "sale",
                     stacked: bool = False) -> tuple[Any, str]:
    """The live preview in the template editor: (HTML fragment, the text as printed)."""
    actor.require("printer.manage")
    sample = sample_for_store(db, actor, store_id, tpl.language, kind)
    return html.fragment(layout.receipt(sample, tpl), tpl.paper_mm, stacked), text.receipt_text(sample, tpl)


# --- print jobs --------------------------------------------------------------------------------

# Asked before every sale (built once: building the query cost more than running it). Plain rows, not
# Printer objects: loading ORM instances cost several times the query; a picked printer is only read.
_PRINTERS = Printer.__table__
_STORE_PRINTERS = (select(*_PRINTERS.columns)
                   .where(_PRINTERS.c.tenant_id == bindparam("p_tenant"), _PRINTERS.c.store_id == bindparam("p_store"),
                          _PRINTERS.c.active.is_(True))
                   .order_by(_PRINTERS.c.created_at))
_STORE_PRINTERS_READ = Read(_STORE_PRINTERS)  # cloudpos.fastread: every sale asks


_PREFETCHED = "printing.store_printers"


def _store_printers(db: Session, actor: Actor, store_id: uuid.UUID) -> list[Any]:
    """The store's active printers, as rows with the printer's fields."""
    return _STORE_PRINTERS_READ.all(db.connection(), {"p_tenant": actor.tenant_id, "p_store": store_id})


def prefetch_printers(db: Session, actor: Actor, store_id: uuid.UUID) -> None:
    """Read the store's printers now, for the next `enqueue` in this session to pick from: a sale asks
    before its receipt number is taken, so the read is not made while the store's receipt chain is locked."""
    db.info[(_PREFETCHED, store_id)] = _store_printers(db, actor, store_id)


def _pick_printer(db: Session, actor: Actor, printer_id: uuid.UUID | None, store_id: uuid.UUID | None,
                  terminal_id: uuid.UUID | None, auto: bool) -> Printer | None:
    if printer_id is not None:
        p = db.get(Printer, (actor.tenant_id, printer_id))
        if p is None or not actor.sees_store(p.store_id):
            raise NotFound(N_("Printer not found."))
        return p
    if store_id is None:
        return None
    printers = db.info.pop((_PREFETCHED, store_id), None)
    if printers is None:
        printers = _store_printers(db, actor, store_id)
    candidates = [p for p in printers if p.terminal_id in (None, terminal_id) and (p.auto_print or not auto)]
    if not candidates:
        return None
    # this terminal's own printer first, then the store default, then the oldest
    candidates.sort(key=lambda p: (p.terminal_id is None or p.terminal_id != terminal_id, not p.is_default))
    return candidates[0]


def _render_for(p: Printer, source: dict[str, Any], open_drawer: bool, db: Session) -> tuple[bytes, str]:
    """Payload bytes for this printer from a job source (a receipt or report, as JSON)."""
    kind = source["type"]
    if kind == "receipt":
        data = ReceiptData.from_json(source["data"])
        tpl = replace(ReceiptTemplate.from_json(source["template"]), paper_mm=p.paper_mm)
        fmt = "html" if p.connection == "browser" else "escpos"
        r = render_receipt(data, tpl, fmt, profile=p.profile, open_drawer=open_drawer, copies=p.copies)
        return r.content, r.media_type
    if kind == "report":
        data_r = ReportData.from_json(source["data"])
        if p.connection == "browser":
            return html.print_page(layout.report(data_r), p.paper_mm, data_r.title).encode(), "text/html"
        opts = escpos.EscposOptions(profile=p.profile, paper_mm=p.paper_mm, copies=p.copies)
        return escpos.report_bytes(data_r, opts), "application/octet-stream"
    if kind == "raw":
        return base64.b64decode(source["payload"]), "application/octet-stream"
    raise ValueError(f"unknown job source {kind}")


def _add_job(db: Session, actor: Actor, p: Printer, document_kind: str, source: dict[str, Any], open_drawer: bool,
             terminal_id: uuid.UUID | None, document_ref: str) -> PrintJob:
    now = clock.now()
    job = PrintJob(tenant_id=actor.tenant_id, id=_new_id(), store_id=p.store_id, terminal_id=terminal_id,
                   printer_id=p.id, document_kind=document_kind, document_ref=document_ref[:80], status="queued",
                   attempts=0, max_attempts=6, error_code="", last_error="", error_params={}, next_attempt_at=now,
                   source=source, open_drawer=open_drawer, created_by=(actor.display_name or actor.username)[:60],
                   created_at=now, updated_at=now)
    try:
        job.payload, job.content_type = _render_for(p, source, open_drawer, db)
    except Exception as exc:  # noqa: BLE001 - a rendering bug must never break the caller's sale
        log.exception("print job could not be rendered", printer_id=str(p.id), kind=document_kind)
        job.payload, job.status, job.next_attempt_at = b"", "failed", None
        job.error_code, job.last_error = "render_failed", N_("The document could not be rendered for printing.")
        job.error_params = {"reason": type(exc).__name__}
    job.payload_size = len(job.payload)
    db.add(job)
    return job


def enqueue(db: Session, actor: Actor, printer_id: uuid.UUID | None, document_kind: str,
            data: ReceiptData | Callable[[], ReceiptData], open_drawer: bool = False, *,
            store_id: uuid.UUID | None = None, terminal_id: uuid.UUID | None = None,
            document_ref: str = "", auto: bool = False) -> uuid.UUID | None:
    """Queue a receipt for printing, in the caller's transaction (no commit here; nothing is sent).

    `printer_id=None` picks the store's printer: the terminal's own, else the store default (pass
    `store_id`, and `terminal_id` when known). With `auto=True` (printing right after a sale) only
    printers with "auto-print on sale" are used. The cash drawer opens only when `open_drawer` is
    asked (a cash payment completed a sale), the document is a sale, and the printer is set to.
    Returns the job id, or None when there is no printer to print on. `data` may be a function making
    the receipt: it is then only called when there is a printer (a sale in a store without one skips it).
    """
    if document_kind not in DOCUMENT_KINDS:
        raise ValueError(f"unknown document kind {document_kind!r}")
    p = _pick_printer(db, actor, printer_id, store_id, terminal_id or actor.terminal_id, auto)
    if p is None or not p.active:
        return None
    if callable(data):
        data = data()
    tpl, logo = store_template(db, actor.tenant_id, p.store_id)
    if logo and data.logo_png is None:
        data = replace(data, logo_png=logo)
    if document_kind == "reprint" and not data.is_reprint:
        data = replace(data, reprint=True)
    kick = bool(open_drawer and p.open_drawer and data.kind == "sale" and not data.is_reprint
                and document_kind == "sale")
    source = {"type": "receipt", "data": data.to_json(), "template": tpl.to_json()}
    job = _add_job(db, actor, p, document_kind, source, kick, terminal_id or actor.terminal_id,
                   document_ref or data.receipt_no)
    log.info("print job queued", job_id=str(job.id), printer_id=str(p.id), kind=document_kind,
             tenant_id=str(actor.tenant_id))
    return job.id


def enqueue_report(db: Session, actor: Actor, printer_id: uuid.UUID | None, data: ReportData, *,
                   store_id: uuid.UUID | None = None, terminal_id: uuid.UUID | None = None,
                   document_ref: str = "") -> uuid.UUID | None:
    """Queue a shift X/Z report, closing or stocktake count sheet (same rules as `enqueue`)."""
    p = _pick_printer(db, actor, printer_id, store_id, terminal_id or actor.terminal_id, False)
    if p is None or not p.active:
        return None
    job = _add_job(db, actor, p, "report", {"type": "report", "data": data.to_json()}, False,
                   terminal_id or actor.terminal_id, document_ref or data.title)
    return job.id


def _error_text(job: PrintJob, locale: str | None = None) -> str:
    if not job.last_error:
        return ""
    return gettext(job.last_error, locale or current_locale.get(), **(job.error_params or {}))


def job_out(job: PrintJob, printer_name: str = "") -> PrintJobOut:
    return PrintJobOut(id=job.id, store_id=job.store_id, terminal_id=job.terminal_id, printer_id=job.printer_id,
                       printer_name=printer_name, document_kind=job.document_kind, document_ref=job.document_ref,
                       status=job.status, attempts=job.attempts, max_attempts=job.max_attempts,
                       error_code=job.error_code, error=_error_text(job),
                       will_retry=job.status == "failed" and job.next_attempt_at is not None,
                       next_attempt_at=job.next_attempt_at, created_at=job.created_at, sent_at=job.sent_at,
                       created_by=job.created_by)


def _names(db: Session, tenant_id: uuid.UUID) -> dict[uuid.UUID, str]:
    return dict(db.execute(select(Printer.id, Printer.name).where(Printer.tenant_id == tenant_id)).all())


def list_jobs(db: Session, actor: Actor, *, store_id: uuid.UUID | None = None, terminal_id: uuid.UUID | None = None,
              printer_id: uuid.UUID | None = None, status: str | None = None, page: int = 1,
              page_size: int = 50) -> tuple[list[PrintJobOut], int]:
    actor.require("sale.view")
    stmt = select(PrintJob).where(PrintJob.tenant_id == actor.tenant_id)
    if store_id is not None:
        tenancy.get_store(db, actor, store_id)
        stmt = stmt.where(PrintJob.store_id == store_id)
    elif not actor.all_stores:
        stmt = stmt.where(PrintJob.store_id.in_(actor.store_ids or [uuid.UUID(int=0)]))
    if terminal_id is not None:
        stmt = stmt.where(PrintJob.terminal_id == terminal_id)
    if printer_id is not None:
        stmt = stmt.where(PrintJob.printer_id == printer_id)
    if status:
        stmt = stmt.where(PrintJob.status == status)
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = db.scalars(stmt.order_by(PrintJob.created_at.desc(), PrintJob.id.desc())
                      .offset((page - 1) * page_size).limit(page_size)).all()
    names = _names(db, actor.tenant_id)
    return [job_out(j, names.get(j.printer_id, "")) for j in rows], total


def get_job(db: Session, actor: Actor, job_id: uuid.UUID) -> PrintJob:
    actor.require("sale.view")
    job = db.get(PrintJob, (actor.tenant_id, job_id))
    if job is None or not actor.sees_store(job.store_id):
        raise NotFound(N_("Print job not found."))
    return job


def failed_jobs_for_terminal(db: Session, actor: Actor, terminal_id: uuid.UUID,
                             since: datetime | None = None, limit: int = 20) -> list[PrintJobOut]:
    """Jobs of a terminal that did not print (still retrying or given up), newest first — for the
    cashier screen's "printer problem" notice with its retry / reprint buttons."""
    actor.require("sale.view")
    since = since or clock.now() - timedelta(hours=12)
    rows = db.scalars(select(PrintJob).where(PrintJob.tenant_id == actor.tenant_id,
                                             PrintJob.terminal_id == terminal_id, PrintJob.status == "failed",
                                             PrintJob.created_at >= since)
                      .order_by(PrintJob.created_at.desc()).limit(limit)).all()
    names = _names(db, actor.tenant_id)
    return [job_out(j, names.get(j.printer_id, "")) for j in rows if actor.sees_store(j.store_id)]


@use_case
def retry_job(db: Session, actor: Actor, job_id: uuid.UUID) -> PrintJobOut:
    """Send a failed job again now (same bytes)."""
    actor.require("sale.create")
    job = get_job(db, actor, job_id)
    if job.status not in ("failed", "queued"):
        raise Conflict(N_("Only a failed job can be retried; use reprint for a printed one."), code="not_failed")
    job.status, job.next_attempt_at, job.updated_at = "queued", clock.now(), clock.now()
    job.max_attempts = max(job.max_attempts, job.attempts + 3)
    audit.record(db, actor, "print_job.retry", target_type="print_job", target_id=job.id,
                 target_label=job.document_ref, store_id=job.store_id)
    return job_out(job)


@use_case
def reprint_job(db: Session, actor: Actor, job_id: uuid.UUID, printer_id: uuid.UUID | None = None) -> PrintJobOut:
    """A new job marked 重打印 / REPRINT from the original's data (never opens the drawer)."""
    actor.require("sale.create")
    job = get_job(db, actor, job_id)
    p = get_printer(db, actor, printer_id) if printer_id else db.get(Printer, (actor.tenant_id, job.printer_id))
    source = dict(job.source or {})
    if source.get("type") == "receipt":
        data = replace(ReceiptData.from_json(source["data"]), reprint=True)
        source["data"] = data.to_json()
        kind = "reprint"
    elif source.get("type") == "report":
        source["data"] = replace(ReportData.from_json(source["data"]), reprint=True).to_json()
        kind = "report"
    else:
        kind = job.document_kind
    new = _add_job(db, actor, p, kind, source, False, job.terminal_id, job.document_ref)
    db.flush()
    audit.record(db, actor, "print_job.reprint", target_type="print_job", target_id=new.id,
                 target_label=job.document_ref, store_id=job.store_id, details={"original": str(job.id)})
    return job_out(new, p.name)


@use_case
def queue_test_print(db: Session, actor: Actor, printer_id: uuid.UUID) -> uuid.UUID:
    """A test page: sample receipt under the store's template, on this printer (drawer per setting)."""
    actor.require("printer.manage")
    p = get_printer(db, actor, printer_id)
    tpl, logo = store_template(db, actor.tenant_id, p.store_id)
    sample = replace(sample_for_store(db, actor, p.store_id, tpl.language), header_text=gettext(
        "Test print: %(printer)s", tpl.language, printer=p.name), logo_png=logo)
    source = {"type": "receipt", "data": sample.to_json(), "template": tpl.to_json()}
    job = _add_job(db, actor, p, "test", source, p.open_drawer, actor.terminal_id, f"TEST {p.name}")
    db.flush()
    audit.record(db, actor, "printer.test", target_type="printer", target_id=p.id, target_label=p.name,
                 store_id=p.store_id)
    return job.id


def job_document(db: Session, actor: Actor, job_id: uuid.UUID) -> Rendered:
    job = get_job(db, actor, job_id)
    return Rendered(job.payload, job.content_type)


def job_preview_text(db: Session, actor: Actor, job_id: uuid.UUID) -> str:
    job = get_job(db, actor, job_id)
    return source_text(job.source or {}, db.get(Printer, (actor.tenant_id, job.printer_id)))


def source_text(source: dict[str, Any], p: Printer | None) -> str:
    paper = p.paper_mm if p else 80
    if source.get("type") == "receipt":
        tpl = replace(ReceiptTemplate.from_json(source["template"]), paper_mm=paper)
        return text.receipt_text(ReceiptData.from_json(source["data"]), tpl)
    if source.get("type") == "report":
        return text.report_text(ReportData.from_json(source["data"]), paper)
    return ""


# --- e-receipts --------------------------------------------------------------------------------

ReceiptSource = Callable[[Session, uuid.UUID, str], ReceiptData | None]
_SOURCES: dict[str, ReceiptSource] = {}


def register_receipt_source(kind: str, fn: ReceiptSource) -> None:
    """`fn(db, tenant_id, doc_id) -> ReceiptData | None` loads a document for the e-receipt page.
    The session given is bound to the tenant. The sales module registers "sale" and "refund"."""
    _SOURCES[kind] = fn


@dataclass(frozen=True)
class ReceiptRef:
    tenant_id: uuid.UUID
    kind: str
    doc_id: str


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=TOKEN_SALT)


def receipt_token(secret: str, tenant_id: uuid.UUID, kind: str, doc_id: str | uuid.UUID) -> str:
    return _serializer(secret).dumps([tenant_id.hex, kind, str(doc_id)])


def parse_receipt_token(secret: str, token: str, max_age: int = TOKEN_MAX_AGE) -> ReceiptRef | None:
    """The document a signed e-receipt token names (None when forged, mangled or expired).
    The till uses this too: scanning a receipt's QR code finds the sale to refund."""
    if len(token) > 400:
        return None
    if "/r/" in token:
        token = token.rsplit("/r/", 1)[1].split("?", 1)[0]
    try:
        t, kind, doc = _serializer(secret).loads(token, max_age=max_age)
        return ReceiptRef(uuid.UUID(hex=t), str(kind), str(doc))
    except (BadSignature, ValueError, TypeError):
        return None


def e_receipt_url(base_url: str, secret: str, tenant_id: uuid.UUID, kind: str, doc_id: str | uuid.UUID) -> str:
    """The link printed as the receipt's QR code (base_url: the public address, e.g. request.base_url)."""
    return f"{base_url.rstrip('/')}/r/{receipt_token(secret, tenant_id, kind, doc_id)}"


def load_e_receipt(db: Session, secret: str, token: str) -> ReceiptData:
    ref = parse_receipt_token(secret, token)
    fn = _SOURCES.get(ref.kind) if ref else None
    if ref is None or fn is None:
        raise NotFound(N_("This receipt link is not valid."))
    db.info["tenant_id"] = ref.tenant_id
    data = fn(db, ref.tenant_id, ref.doc_id)
    if data is None:
        raise NotFound(N_("This receipt link is not valid."))
    return data


def _sample_source(db: Session, tenant_id: uuid.UUID, doc_id: str) -> ReceiptData | None:
    """The demo / test e-receipt: the sample receipt of one of the tenant's stores (doc_id = store id)."""
    try:
        store_id = uuid.UUID(doc_id)
    except ValueError:
        return None
    actor = system_actor(tenant_id, "e-receipt")
    try:
        return sample_for_store(db, actor, store_id, "zh_CN", qr_payload="-")
    except NotFound:
        return None


register_receipt_source("sample", _sample_source)
