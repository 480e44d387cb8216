"""Catalog pages: products (list, form), categories, Excel import (with progress) and scale
barcode rules. Forms post to these routes, which call the same services as the JSON API; a
Problem re-renders the form with inline errors, success redirects with ?flash=code."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cloudpos.audit.views import register_actions
from cloudpos.catalog import domain, importing, search, service
from cloudpos.catalog.schemas import (
    CategoryIn,
    CategoryPatch,
    ProductIn,
    ProductOut,
    ProductPatch,
    ScaleRuleIn,
    StorePriceIn,
)
from cloudpos.context import Actor
from cloudpos.errors import ApprovalRequired, FieldError, Invalid, Problem
from cloudpos.i18n import N_
from cloudpos.tenancy import service as tenancy
from cloudpos.web import nav
from cloudpos.web.deps import get_db, requires
from cloudpos.web.forms import build, checked, form_data, parse_uuid, problem_errors, redirect, text, texts
from cloudpos.web.nav import NavItem
from cloudpos.web.routing import APIRouter
from cloudpos.web.templating import render

router = APIRouter()
register_actions({
    "catalog.category.create": N_("Category created"),
    "catalog.category.update": N_("Category changed"),
    "catalog.category.delete": N_("Category deleted"),
    "catalog.product.create": N_("Product created"),
    "catalog.product.update": N_("Product changed"),
    "catalog.price.change": N_("Price changed"),
    "catalog.product.list": N_("Product listed"),
    "catalog.product.delist": N_("Product delisted"),
    "catalog.product.delete": N_("Product deleted"),
    "catalog.image.upload": N_("Product image uploaded"),
    "catalog.image.delete": N_("Product image deleted"),
    "catalog.import.start": N_("Excel import started"),
    "catalog.import": N_("Products imported from Excel"),
    "catalog.scale_rule.create": N_("Scale barcode rule added"),
    "catalog.scale_rule.update": N_("Scale barcode rule changed"),
    "catalog.scale_rule.delete": N_("Scale barcode rule deleted"),
}, groups=(("catalog.", N_("Products and categories")),))
PAGE_SIZE = 20

nav.register(NavItem("catalog", N_("Products"), "/catalog/products", "catalog.view", "box-seam"))
nav.register(NavItem("catalog", N_("Categories"), "/catalog/categories", "catalog.view", "diagram-3"))
nav.register(NavItem("catalog", N_("Import from Excel"), "/catalog/import", "catalog.import",
                     "file-earmark-spreadsheet"))
nav.register(NavItem("catalog", N_("Scale barcodes"), "/catalog/scale-rules", "catalog.view", "upc-scan"))

STOCK_STATES = (("low", N_("Low stock")), ("out_of_stock", N_("Out of stock")), ("negative", N_("Negative stock")),
                ("in_stock", N_("In stock")))


def _locale(request: Request) -> str:
    return getattr(request.state, "locale", "zh_CN")


def yuan(fen: int | None) -> str:
    return "" if fen is None else domain.yuan_str(fen)


# --- product list -----------------------------------------------------------------------------

@router.get("/catalog/products", response_class=HTMLResponse)
def products_page(request: Request, actor: Actor = Depends(requires("catalog.view")), db: Session = Depends(get_db)):
    qp = request.query_params
    try:
        page = max(1, min(int(qp.get("page", "1")), 100000))
    except ValueError:
        page = 1
    status = qp.get("status") if qp.get("status") in ("listed", "delisted") else None
    f = service.ListFilter(q=qp.get("q", "")[:60], category_id=parse_uuid(qp.get("category")), status=status,
                           brand=qp.get("brand", "")[:60], stock_state=qp.get("stock", "")[:20])
    items, total = service.list_products(db, actor, f, page, PAGE_SIZE)
    cats = service.list_categories(db, actor)
    filtered = bool(f.q or f.category_id or f.status or f.brand or f.stock_state)
    export_q = "&".join(f"{k}={v}" for k, v in (("q", f.q), ("category_id", f.category_id or ""),
                                                   ("status", f.status or "")) if v)
    return render(request, "catalog/products.html", db=db, items=items, total=total, page=page, page_size=PAGE_SIZE,
                  f=f, categories=cats, brands=search.brands(db, actor), filtered=filtered, yuan=yuan,
                  stock_states=STOCK_STATES,
                  export_url="/api/v1/products/export" + (f"?{export_q}" if export_q else ""))


@router.post("/catalog/products/bulk")
def products_bulk(request: Request, form: FormData = Depends(form_data),
                  actor: Actor = Depends(requires("catalog.edit")), db: Session = Depends(get_db)) -> Response:
    ids = [u for u in (parse_uuid(v) for v in texts(form, "ids")) if u][:500]
    status = text(form, "status")
    back = text(form, "back") if text(form, "back").startswith("/catalog/products") else "/catalog/products"
    if ids and status in ("listed", "delisted"):
        service.set_status(db, actor, ids, status)
    return redirect(back, "saved")


# --- product form -----------------------------------------------------------------------------

def _form_ctx(db: Session, actor: Actor) -> dict[str, Any]:
    return {"categories": service.list_categories(db, actor), "brands": search.brands(db, actor),
            "units": search.units(db, actor), "stores": tenancy.list_stores(db, actor)}


def _values(p: ProductOut | None) -> dict[str, Any]:
    if p is None:
        return {"sku": "", "name": "", "barcodes": [""], "category_id": "", "brand": "", "unit": "件", "price": "",
                "cost": "", "tax_rate": "13", "spec": "", "sold_by_weight": False, "status": "listed",
                "low_stock_threshold": "", "store_prices": {}}
    return {"sku": p.sku, "name": p.name, "barcodes": p.barcodes or [""], "category_id": str(p.category_id or ""),
            "brand": p.brand, "unit": p.unit, "price": yuan(p.price), "cost": yuan(p.cost),
            "tax_rate": domain.percent_str(p.tax_rate_bp), "spec": p.spec, "sold_by_weight": p.sold_by_weight,
            "status": p.status,
            "low_stock_threshold": p.low_stock_threshold.rstrip("0").rstrip(".") if p.low_stock_threshold else "",
            "store_prices": {str(s.store_id): yuan(s.price) for s in p.store_prices}}


def _posted(form: FormData) -> dict[str, Any]:
    return {"sku": text(form, "sku"), "name": text(form, "name"),
            "barcodes": [b for b in texts(form, "barcodes") if b.strip()] or [""],
            "category_id": text(form, "category_id"), "brand": text(form, "brand"), "unit": text(form, "unit"),
            "price": text(form, "price"), "cost": text(form, "cost"), "tax_rate": text(form, "tax_rate"),
            "spec": text(form, "spec"), "sold_by_weight": checked(form, "sold_by_weight"),
            "status": "listed" if text(form, "status", "listed") == "listed" else "delisted",
            "low_stock_threshold": text(form, "low_stock_threshold"),
            "store_prices": {k[len("store_price_"):]: v for k, v in form.items()
                             if k.startswith("store_price_") and isinstance(v, str)}}


def _parse(v: dict[str, Any]) -> dict[str, Any]:
    """Form text → API fields (money in yuan → fen, rate % → bp), errors per field."""
    errors: list[FieldError] = []
    out: dict[str, Any] = {}

    def conv(name: str, fn: Any, target: str, raw: str, optional: bool = False) -> None:
        if raw.strip() == "" and optional:
            return
        try:
            out[target] = fn(raw if raw.strip() else "0")
        except domain.RuleError as e:
            errors.append(FieldError(name, e.message, dict(e.params), "invalid"))

    conv("price", domain.parse_money, "price", v["price"])
    conv("cost", domain.parse_money, "cost", v["cost"])
    conv("tax_rate", domain.parse_percent_bp, "tax_rate_bp", v["tax_rate"])
    prices = []
    for sid, raw in v["store_prices"].items():
        if raw.strip() and parse_uuid(sid):
            try:
                prices.append(StorePriceIn(store_id=uuid.UUID(sid), price=domain.parse_money(raw)))
            except domain.RuleError as e:
                errors.append(FieldError("store_prices", e.message, dict(e.params), "invalid"))
    out["store_prices"] = prices
    if errors:
        raise Invalid(errors=errors)
    out.update(sku=v["sku"], name=v["name"], barcodes=[b.strip() for b in v["barcodes"] if b.strip()],
               category_id=parse_uuid(v["category_id"]), brand=v["brand"], unit=v["unit"], spec=v["spec"],
               sold_by_weight=v["sold_by_weight"], status=v["status"],
               low_stock_threshold=v["low_stock_threshold"].strip() or None)
    return out


FORM_FIELDS = {"sku", "name", "barcodes", "category_id", "brand", "unit", "price", "cost", "tax_rate", "tax_rate_bp",
               "spec", "sold_by_weight", "status", "low_stock_threshold", "store_prices"}


def _form_page(request: Request, db: Session, actor: Actor, product: ProductOut | None, values: dict[str, Any],
               status: int = 200, problem: Problem | None = None) -> HTMLResponse:
    errors, general = problem_errors(problem, _locale(request), FORM_FIELDS) if problem else ({}, "")
    if "tax_rate_bp" in errors:
        errors["tax_rate"] = errors.pop("tax_rate_bp")
    return render(request, "catalog/product_form.html", status_code=status, db=db, product=product, v=values,
                  errors=errors, form_error=general, **_form_ctx(db, actor))


@router.get("/catalog/products/new", response_class=HTMLResponse)
def product_new(request: Request, actor: Actor = Depends(requires("catalog.edit")), db: Session = Depends(get_db)):
    return _form_page(request, db, actor, None, _values(None))


@router.post("/catalog/products/new", response_class=HTMLResponse)
def product_create(request: Request, form: FormData = Depends(form_data),
                   actor: Actor = Depends(requires("catalog.edit")), db: Session = Depends(get_db)):
    v = _posted(form)
    try:
        data = _parse(v)
        if not data["store_prices"]:
            data.pop("store_prices")
        p = service.create(db, actor, build(ProductIn, data))
    except Problem as exc:
        return _form_page(request, db, actor, None, v, exc.status, exc)
    return redirect(f"/catalog/products/{p.id}", "created")


@router.get("/catalog/products/{product_id}", response_class=HTMLResponse)
def product_edit(product_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("catalog.view")),
                 db: Session = Depends(get_db)):
    p = service.get_product(db, actor, product_id)
    return _form_page(request, db, actor, p, _values(p))


@router.post("/catalog/products/{product_id}", response_class=HTMLResponse)
def product_update(product_id: uuid.UUID, request: Request, form: FormData = Depends(form_data),
                   actor: Actor = Depends(requires("catalog.edit")), db: Session = Depends(get_db)):
    p = service.get_product(db, actor, product_id)
    v = _posted(form)
    try:
        data = _parse(v)
        data["clear_category"] = data["category_id"] is None
        data["clear_low_stock_threshold"] = data["low_stock_threshold"] is None
        current = {s.store_id: s.price for s in p.store_prices}
        if {s.store_id: s.price for s in data["store_prices"]} == current:
            data.pop("store_prices")
        service.update(db, actor, product_id, build(ProductPatch, data))
    except ApprovalRequired:
        return redirect(f"/catalog/products/{product_id}", "approval_requested")
    except Problem as exc:
        return _form_page(request, db, actor, p, v, exc.status, exc)
    return redirect(f"/catalog/products/{product_id}", "saved")


@router.post("/catalog/products/{product_id}/delete")
def product_delete(product_id: uuid.UUID, actor: Actor = Depends(requires("catalog.delete")),
                   db: Session = Depends(get_db)) -> Response:
    try:
        out = service.delete_product(db, actor, product_id)
    except ApprovalRequired:
        return redirect(f"/catalog/products/{product_id}", "approval_requested")
    if not out.deleted:
        return redirect(f"/catalog/products/{product_id}", "saved")
    return redirect("/catalog/products", "deleted")


@router.post("/catalog/products/{product_id}/images")
def product_image(product_id: uuid.UUID, request: Request, file: UploadFile = File(...),
                  actor: Actor = Depends(requires("catalog.edit")), db: Session = Depends(get_db)) -> Response:
    from cloudpos.catalog import images

    try:
        images.upload(db, actor, request.app.state.settings.var_dir, product_id, file)
    except Problem as exc:
        p = service.get_product(db, actor, product_id)
        return _form_page(request, db, actor, p, _values(p), exc.status, exc)
    return redirect(f"/catalog/products/{product_id}", "saved")


@router.post("/catalog/products/{product_id}/images/{image_id}/delete")
def product_image_delete(product_id: uuid.UUID, image_id: uuid.UUID, request: Request,
                         actor: Actor = Depends(requires("catalog.edit")), db: Session = Depends(get_db)) -> Response:
    from cloudpos.catalog import images

    images.delete(db, actor, request.app.state.settings.var_dir, product_id, image_id)
    return redirect(f"/catalog/products/{product_id}", "deleted")


# --- categories -------------------------------------------------------------------------------

def _categories_page(request: Request, db: Session, actor: Actor, status: int = 200,
                     problem: Problem | None = None, v: dict[str, str] | None = None) -> HTMLResponse:
    errors, general = problem_errors(problem, _locale(request), {"name", "parent_id"}) if problem else ({}, "")
    return render(request, "catalog/categories.html", status_code=status, db=db,
                  categories=service.list_categories(db, actor), errors=errors, form_error=general,
                  v=v or {"name": "", "parent_id": request.query_params.get("parent", "")})


@router.get("/catalog/categories", response_class=HTMLResponse)
def categories_page(request: Request, actor: Actor = Depends(requires("catalog.view")),
                    db: Session = Depends(get_db)):
    return _categories_page(request, db, actor)


@router.post("/catalog/categories", response_class=HTMLResponse)
def category_create(request: Request, form: FormData = Depends(form_data),
                    actor: Actor = Depends(requires("catalog.edit")), db: Session = Depends(get_db)):
    v = {"name": text(form, "name"), "parent_id": text(form, "parent_id")}
    try:
        service.create_category(db, actor, build(CategoryIn, {"name": v["name"],
                                                              "parent_id": parse_uuid(v["parent_id"])}))
    except Problem as exc:
        return _categories_page(request, db, actor, exc.status, exc, v)
    return redirect("/catalog/categories", "created")


@router.post("/catalog/categories/{category_id}", response_class=HTMLResponse)
def category_update(category_id: uuid.UUID, request: Request, form: FormData = Depends(form_data),
                    actor: Actor = Depends(requires("catalog.edit")), db: Session = Depends(get_db)):
    parent = text(form, "parent_id")
    data: dict[str, Any] = {"name": text(form, "name") or None}
    if parent == "root":
        data["move_to_root"] = True
    elif parse_uuid(parent):
        data["parent_id"] = parse_uuid(parent)
    try:
        service.update_category(db, actor, category_id, build(CategoryPatch, data))
    except Problem as exc:
        return _categories_page(request, db, actor, exc.status, exc)
    return redirect("/catalog/categories", "saved")


@router.post("/catalog/categories/{category_id}/delete", response_class=HTMLResponse)
def category_delete(category_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("catalog.edit")),
                    db: Session = Depends(get_db)):
    try:
        service.delete_category(db, actor, category_id)
    except Problem as exc:
        return _categories_page(request, db, actor, exc.status, exc)
    return redirect("/catalog/categories", "deleted")


# --- import -----------------------------------------------------------------------------------

@router.get("/catalog/import", response_class=HTMLResponse)
def import_page(request: Request, actor: Actor = Depends(requires("catalog.import")), db: Session = Depends(get_db)):
    return render(request, "catalog/import.html", db=db, job=None)


@router.post("/catalog/import", response_class=HTMLResponse)
def import_start(request: Request, file: UploadFile = File(...), create_categories: str = Form(""),
                 skip_invalid: str = Form(""), actor: Actor = Depends(requires("catalog.import")),
                 db: Session = Depends(get_db)):
    """Always a dry run first, as a job (progress bar); the file is kept for the confirmation."""
    opts = importing.Options(dry_run=True, skip_invalid=bool(skip_invalid), create_categories=bool(create_categories))
    try:
        path, _ = importing.save_upload(request.app.state.settings.var_dir, file)
        job = importing.start_job(request.app.state.sessionmaker, db, actor, path, file.filename or "", opts,
                                  keep_file=True)
    except Problem as exc:
        _, general = problem_errors(exc, _locale(request), set())
        return render(request, "catalog/import_job.html", db=db, job=None, form_error=general, status_code=exc.status)
    return render(request, "catalog/import_job.html", db=db, job=job)


@router.get("/catalog/import/jobs/{job_id}", response_class=HTMLResponse)
def import_job(job_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("catalog.import")),
               db: Session = Depends(get_db)):
    return render(request, "catalog/import_job.html", db=db, job=importing.get_job(db, actor, job_id))


@router.post("/catalog/import/jobs/{job_id}/confirm", response_class=HTMLResponse)
def import_confirm(job_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("catalog.import")),
                   db: Session = Depends(get_db)):
    try:
        job = importing.confirm_job(request.app.state.sessionmaker, db, actor, request.app.state.settings.var_dir,
                                     job_id)
    except Problem as exc:
        _, general = problem_errors(exc, _locale(request), set())
        return render(request, "catalog/import_job.html", db=db, job=None, form_error=general, status_code=exc.status)
    return render(request, "catalog/import_job.html", db=db, job=job)


# --- scale barcode rules ----------------------------------------------------------------------

RULE_FIELDS = {"name", "prefix", "total_length", "item_code_length", "value_kind", "value_length", "check_digit"}


def _rules_page(request: Request, db: Session, actor: Actor, status: int = 200, problem: Problem | None = None,
                v: dict[str, Any] | None = None) -> HTMLResponse:
    errors, general = problem_errors(problem, _locale(request), RULE_FIELDS) if problem else ({}, "")
    return render(request, "catalog/scale_rules.html", status_code=status, db=db,
                  rules=service.list_scale_rules(db, actor), errors=errors, form_error=general,
                  v=v or {"name": "", "prefix": "2", "total_length": 13, "item_code_length": 5, "value_kind": "price",
                          "value_length": 5, "check_digit": True})


@router.get("/catalog/scale-rules", response_class=HTMLResponse)
def rules_page(request: Request, actor: Actor = Depends(requires("catalog.view")), db: Session = Depends(get_db)):
    return _rules_page(request, db, actor)


@router.post("/catalog/scale-rules", response_class=HTMLResponse)
def rule_create(request: Request, form: FormData = Depends(form_data),
                actor: Actor = Depends(requires("settings.manage")), db: Session = Depends(get_db)):
    v = {k: text(form, k) for k in RULE_FIELDS - {"check_digit"}} | {"check_digit": checked(form, "check_digit")}
    try:
        service.create_scale_rule(db, actor, build(ScaleRuleIn, v))
    except Problem as exc:
        return _rules_page(request, db, actor, exc.status, exc, v)
    return redirect("/catalog/scale-rules", "created")


@router.post("/catalog/scale-rules/{rule_id}/delete", response_class=HTMLResponse)
def rule_delete(rule_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("settings.manage")),
                db: Session = Depends(get_db)):
    service.delete_scale_rule(db, actor, rule_id)
    return redirect("/catalog/scale-rules", "deleted")
