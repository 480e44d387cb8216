"""HTML pages: printer settings (打印设置) with test print and the job queue, the receipt template
editor with a live preview (htmx), and the customer's e-receipt page /r/{token}."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cloudpos.audit.views import register_actions
from cloudpos.context import Actor
from cloudpos.errors import NotFound, Problem
from cloudpos.i18n import N_
from cloudpos.printing import service
from cloudpos.printing.domain import layout
from cloudpos.printing.domain.receipt import SHOW_FIELDS, ReceiptTemplate
from cloudpos.printing.jobs.dispatcher import dispatch_due
from cloudpos.printing.renderers import html, pdf
from cloudpos.printing.schemas import PrinterIn, PrinterPatch, TemplateIn
from cloudpos.tenancy import service as tenancy
from cloudpos.web.deps import get_db, public, requires
from cloudpos.web.forms import build, checked, form_data, parse_uuid, problem_errors, redirect, text
from cloudpos.web.nav import NavItem, register
from cloudpos.web.routing import APIRouter
from cloudpos.web.templating import render

router = APIRouter()
register_actions({
    "printer.create": N_("Printer added"),
    "printer.update": N_("Printer changed"),
    "printer.test": N_("Test page printed"),
    "print_job.retry": N_("Print job retried"),
    "print_job.reprint": N_("Document reprinted"),
    "receipt_template.update": N_("Receipt template changed"),
}, groups=(("printer.", N_("Printers")), ("print_job.", N_("Print jobs"))))
register(NavItem("settings", N_("Printers & receipts"), "/settings/printing", "printer.manage", "printer"))

CONNECTIONS: list[tuple[str, str]] = [
    ("network", N_("Network (raw TCP, port 9100)")),
    ("usb", N_("USB (settings only)")),
    ("device", N_("Device file (/dev/usb/lp0)")),
    ("file", N_("File on the server (demo, testing)")),
    ("browser", N_("Browser (print dialog)")),
]
SHOW_LABELS: dict[str, str] = {
    "show_logo": N_("Logo"), "show_store_name": N_("Store name"), "show_address": N_("Address"),
    "show_phone": N_("Phone"), "show_receipt_no": N_("Receipt number"), "show_datetime": N_("Date and time"),
    "show_terminal": N_("Terminal"), "show_cashier": N_("Cashier"), "show_salesperson": N_("Salesperson"),
    "show_unit_price": N_("Unit price"), "show_line_discounts": N_("Line discounts"),
    "show_subtotal": N_("Subtotal"), "show_discounts": N_("Discounts and promotions"),
    "show_payments": N_("Payments"), "show_change": N_("Change"), "show_member": N_("Member card (masked)"),
    "show_points": N_("Points earned and balance"), "show_stored_value": N_("Stored-value balance"),
    "show_qr": N_("QR code (e-receipt)"),
}
STATUS_CLASS = {"queued": "secondary", "sending": "info", "done": "success", "failed": "danger"}
STATUS_LABELS = {"queued": N_("Queued"), "sending": N_("Sending"), "done": N_("Printed"), "failed": N_("Failed")}
KIND_LABELS = {"sale": N_("Sale receipt"), "refund": N_("Refund receipt"), "void": N_("Void receipt"),
               "reprint": N_("Reprint"), "report": N_("Report"), "test": N_("Test print"), "labels": N_("Labels")}
PRINTER_FIELDS = ("name", "profile", "connection", "host", "port", "usb_vendor_id", "usb_product_id", "device_path",
                  "paper_mm", "copies", "drawer_pin", "terminal_id", "store_id")


def _locale(request: Request) -> str:
    return getattr(request.state, "locale", "zh_CN")


def _store_id(db: Session, actor: Actor, raw: str | None) -> uuid.UUID:
    stores = tenancy.list_stores(db, actor)
    if not stores:
        raise NotFound(N_("Store not found."))
    wanted = parse_uuid(raw)
    if wanted is not None:
        tenancy.get_store(db, actor, wanted)
        return wanted
    return stores[0].id


def _common(db: Session, actor: Actor) -> dict[str, Any]:
    return {"stores": tenancy.list_stores(db, actor), "status_class": STATUS_CLASS, "status_labels": STATUS_LABELS,
            "kind_labels": KIND_LABELS, "connections": dict(CONNECTIONS)}


@router.get("/settings/printing", response_class=HTMLResponse)
def index(request: Request, store_id: str | None = None, actor: Actor = Depends(requires("printer.manage")),
          db: Session = Depends(get_db)):
    sid = _store_id(db, actor, store_id)
    printers = service.list_printers(db, actor, sid)
    jobs, total = service.list_jobs(db, actor, store_id=sid, page=1, page_size=20) if actor.can("sale.view") \
        else ([], 0)
    tpl, _ = service.store_template(db, actor.tenant_id, sid)
    fragment, _text = service.preview_fragment(db, actor, sid, tpl, stacked=True)  # a narrow side card
    terminals = {t.id: t for t in tenancy.list_terminals(db, actor, sid)}
    return render(request, "printing/index.html", db=db, store_id=sid, printers=printers, jobs=jobs,
                  jobs_total=total, tpl=tpl, preview=fragment, terminals=terminals, **_common(db, actor))


@router.get("/settings/printing/jobs", response_class=HTMLResponse)
def jobs_partial(request: Request, store_id: str | None = None, actor: Actor = Depends(requires("sale.view")),
                 db: Session = Depends(get_db)):
    sid = _store_id(db, actor, store_id)
    jobs, total = service.list_jobs(db, actor, store_id=sid, page=1, page_size=20)
    return render(request, "printing/_jobs.html", jobs=jobs, jobs_total=total, store_id=sid, **_common(db, actor))


def _job_action(request: Request, db: Session, actor: Actor, job_id: uuid.UUID, action: str) -> HTMLResponse:
    error = ""
    try:
        if action == "retry":
            service.retry_job(db, actor, job_id)
        else:
            service.reprint_job(db, actor, job_id)
    except Problem as p:
        _, error = problem_errors(p, _locale(request))
    d = getattr(request.app.state, "print_dispatcher", None)
    if d is not None:
        d.poke()
    job = service.get_job(db, actor, job_id)
    jobs, total = service.list_jobs(db, actor, store_id=job.store_id, page=1, page_size=20)
    return render(request, "printing/_jobs.html", jobs=jobs, jobs_total=total, store_id=job.store_id,
                  job_error=error, **_common(db, actor))


@router.post("/settings/printing/jobs/{job_id}/retry", response_class=HTMLResponse)
def retry(request: Request, job_id: uuid.UUID, actor: Actor = Depends(requires("sale.create")),
          db: Session = Depends(get_db)):
    return _job_action(request, db, actor, job_id, "retry")


@router.post("/settings/printing/jobs/{job_id}/reprint", response_class=HTMLResponse)
def reprint(request: Request, job_id: uuid.UUID, actor: Actor = Depends(requires("sale.create")),
            db: Session = Depends(get_db)):
    return _job_action(request, db, actor, job_id, "reprint")


@router.get("/print/jobs/{job_id}", response_class=HTMLResponse)
def browser_print(job_id: uuid.UUID, actor: Actor = Depends(requires("sale.view")), db: Session = Depends(get_db)):
    """A job for a "browser" printer: the page opens the print dialog. Others: a text rendering."""
    doc = service.job_document(db, actor, job_id)
    if doc.media_type.startswith("text/html"):
        return HTMLResponse(doc.content.decode())
    return Response(service.job_preview_text(db, actor, job_id), media_type="text/plain; charset=utf-8")


# --- printer form ------------------------------------------------------------------------------

def _printer_values(form: FormData) -> dict[str, Any]:
    v: dict[str, Any] = {k: text(form, k) for k in PRINTER_FIELDS}
    for k in ("port", "paper_mm", "copies", "drawer_pin"):
        v[k] = int(v[k]) if v[k].strip().isdigit() else (v[k] or None)
    for k in ("usb_vendor_id", "usb_product_id"):
        raw = v[k].strip().lower()
        try:
            v[k] = int(raw, 16) if raw.startswith("0x") else (int(raw) if raw else None)
        except ValueError:
            v[k] = raw
    v["terminal_id"] = v["terminal_id"] or None
    for k in ("auto_print", "open_drawer", "is_default", "active"):
        v[k] = checked(form, k)
    return {k: val for k, val in v.items() if val is not None}


def _printer_page(request: Request, db: Session, actor: Actor, store_id: uuid.UUID, printer: Any,
                  values: dict[str, Any], errors: dict[str, str] | None = None, form_error: str = "",
                  status: int = 200) -> HTMLResponse:
    return render(request, "printing/printer_form.html", status_code=status, db=db, printer=printer, v=values,
                  errors=errors or {}, form_error=form_error, store_id=store_id,
                  terminals=tenancy.list_terminals(db, actor, store_id), profiles=service.profiles(),
                  connection_options=CONNECTIONS, **_common(db, actor))


@router.get("/settings/printing/printers/new", response_class=HTMLResponse)
def new_printer(request: Request, store_id: str | None = None, actor: Actor = Depends(requires("printer.manage")),
                db: Session = Depends(get_db)):
    sid = _store_id(db, actor, store_id)
    values = {"store_id": str(sid), "name": "", "profile": "default", "connection": "network", "host": "",
              "port": 9100, "paper_mm": 80, "copies": 1, "drawer_pin": 2, "auto_print": True, "open_drawer": True,
              "is_default": False, "active": True, "device_path": "/dev/usb/lp0"}
    return _printer_page(request, db, actor, sid, None, values)


@router.post("/settings/printing/printers/new", response_class=HTMLResponse)
def create_printer(request: Request, form: FormData = Depends(form_data),
                   actor: Actor = Depends(requires("printer.manage")), db: Session = Depends(get_db)):
    values = _printer_values(form)
    sid = _store_id(db, actor, values.get("store_id"))
    try:
        out = service.create_printer(db, actor, build(PrinterIn, values))
    except Problem as p:
        errors, general = problem_errors(p, _locale(request), set(PRINTER_FIELDS))
        return _printer_page(request, db, actor, sid, None, values, errors, general, 422)
    return redirect(f"/settings/printing?store_id={out.store_id}", "created")


@router.get("/settings/printing/printers/{printer_id}", response_class=HTMLResponse)
def edit_printer(request: Request, printer_id: uuid.UUID, actor: Actor = Depends(requires("printer.manage")),
                 db: Session = Depends(get_db)):
    p = service.printer_out(service.get_printer(db, actor, printer_id))
    values = p.model_dump(mode="json")
    for k in ("usb_vendor_id", "usb_product_id"):
        values[k] = f"0x{values[k]:04x}" if values[k] is not None else ""
    return _printer_page(request, db, actor, p.store_id, p, values)


@router.post("/settings/printing/printers/{printer_id}", response_class=HTMLResponse)
def save_printer(request: Request, printer_id: uuid.UUID, form: FormData = Depends(form_data),
                 actor: Actor = Depends(requires("printer.manage")), db: Session = Depends(get_db)):
    p = service.printer_out(service.get_printer(db, actor, printer_id))
    values = _printer_values(form)
    values.pop("store_id", None)
    try:
        patch = {**values, "clear_terminal": not values.get("terminal_id")}
        if not values.get("terminal_id"):
            patch.pop("terminal_id", None)
        for k in ("usb_vendor_id", "usb_product_id"):
            patch.setdefault(k, None)
        service.update_printer(db, actor, printer_id, build(PrinterPatch, patch))
    except Problem as prob:
        errors, general = problem_errors(prob, _locale(request), set(PRINTER_FIELDS))
        return _printer_page(request, db, actor, p.store_id, p, {**values, "store_id": str(p.store_id)}, errors,
                             general, 422)
    return redirect(f"/settings/printing?store_id={p.store_id}", "saved")


@router.post("/settings/printing/printers/{printer_id}/test", response_class=HTMLResponse)
def test_print(request: Request, printer_id: uuid.UUID, actor: Actor = Depends(requires("printer.manage")),
               db: Session = Depends(get_db)):
    """htmx: prints the test page now and answers with the outcome (an alert)."""
    job_id = service.queue_test_print(db, actor, printer_id)
    dispatch_due(db, job_id=job_id, var_dir=request.app.state.settings.var_dir)
    db.expire_all()
    job = service.job_out(service.get_job(db, actor, job_id))
    response = render(request, "printing/_test_result.html", job=job, printer_id=printer_id)
    response.headers["HX-Trigger"] = "print-jobs-changed"
    return response


# --- receipt template --------------------------------------------------------------------------

def _template_from_form(form: FormData) -> TemplateIn:
    data: dict[str, Any] = {k: checked(form, k) for k in SHOW_FIELDS}
    paper = text(form, "paper_mm")
    data.update(paper_mm=int(paper) if paper.isdigit() else 80, language=text(form, "language") or "zh_CN",
                header_text=text(form, "header_text"), footer_text=text(form, "footer_text"))
    return build(TemplateIn, data)


def _template_page(request: Request, db: Session, actor: Actor, sid: uuid.UUID, tpl: ReceiptTemplate,
                   errors: dict[str, str] | None = None, form_error: str = "", status: int = 200) -> HTMLResponse:
    fragment, receipt_text = service.preview_fragment(db, actor, sid, tpl)
    saved = service.get_template(db, actor, sid)
    link = service.e_receipt_url(str(request.base_url), request.app.state.secret, actor.tenant_id, "sample", sid)
    return render(request, "printing/template.html", status_code=status, db=db, store_id=sid, tpl=tpl,
                  preview=fragment, preview_text=receipt_text, show_labels=SHOW_LABELS, saved=saved,
                  errors=errors or {}, form_error=form_error, sample_link=link, qr=html.qr_svg(link, 2),
                  **_common(db, actor))


@router.get("/settings/printing/template", response_class=HTMLResponse)
def template_editor(request: Request, store_id: str | None = None,
                    actor: Actor = Depends(requires("printer.manage")), db: Session = Depends(get_db)):
    sid = _store_id(db, actor, store_id)
    tpl, _ = service.store_template(db, actor.tenant_id, sid)
    return _template_page(request, db, actor, sid, tpl)


@router.post("/settings/printing/template/preview", response_class=HTMLResponse)
def template_preview(request: Request, store_id: str | None = None, form: FormData = Depends(form_data),
                     actor: Actor = Depends(requires("printer.manage")), db: Session = Depends(get_db)):
    """htmx: the live preview for the settings being edited (not saved)."""
    sid = _store_id(db, actor, store_id)
    kind = text(form, "kind") if text(form, "kind") in ("sale", "refund", "void", "reprint") else "sale"
    try:
        tpl = service.template_from_input(_template_from_form(form))
    except Problem as p:
        errors, general = problem_errors(p, _locale(request), set())
        return HTMLResponse(f'<div class="alert alert-warning">{_escape(general or " ".join(errors.values()))}</div>')
    fragment, receipt_text = service.preview_fragment(db, actor, sid, tpl, kind)
    return render(request, "printing/_preview.html", preview=fragment, preview_text=receipt_text, tpl=tpl)


def _escape(s: str) -> str:
    from markupsafe import escape

    return str(escape(s))


@router.post("/settings/printing/template", response_class=HTMLResponse)
def template_save(request: Request, store_id: str | None = None, form: FormData = Depends(form_data),
                  actor: Actor = Depends(requires("printer.manage")), db: Session = Depends(get_db)):
    sid = _store_id(db, actor, store_id)
    try:
        data = _template_from_form(form)
        service.put_template(db, actor, sid, data)
    except Problem as p:
        errors, general = problem_errors(p, _locale(request), {"header_text", "footer_text"})
        tpl, _ = service.store_template(db, actor.tenant_id, sid)
        return _template_page(request, db, actor, sid, tpl, errors, general, 422)
    return redirect(f"/settings/printing/template?store_id={sid}", "saved")


# --- e-receipt ---------------------------------------------------------------------------------

@router.get("/r/{token}", response_class=HTMLResponse, dependencies=[Depends(public())])
def e_receipt(request: Request, token: str, db: Session = Depends(get_db)):
    """The customer's e-receipt (phone first), in the viewer's language."""
    data = service.load_e_receipt(db, request.app.state.secret, token)
    tpl = replace(ReceiptTemplate(), show_qr=False)
    els = layout.receipt(data, tpl, _locale(request))
    return render(request, "printing/e_receipt.html", receipt=html.fragment(els, 80, stacked=True), data=data,
                  token=token)


@router.get("/r/{token}/pdf", dependencies=[Depends(public())])
def e_receipt_pdf(request: Request, token: str, db: Session = Depends(get_db)):
    data = service.load_e_receipt(db, request.app.state.secret, token)
    tpl = replace(ReceiptTemplate(), show_qr=False)
    body = pdf.render(layout.receipt(data, tpl, _locale(request)), data.receipt_no)
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="receipt-{data.receipt_no}.pdf"'})
