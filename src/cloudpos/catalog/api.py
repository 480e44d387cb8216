"""Catalog JSON API: categories, products, lookup, images, scale rules, Excel import/export."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from cloudpos.approvals.schemas import ManagerOverride
from cloudpos.catalog import exporting, images, importing, service
from cloudpos.catalog.schemas import (
    BulkStatusIn,
    BulkStatusOut,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    DeleteOut,
    ImageOut,
    ImportJobOut,
    ImportResult,
    LookupOut,
    ProductIn,
    ProductOut,
    ProductPatch,
    ScaleRuleIn,
    ScaleRuleOut,
)
from cloudpos.context import Actor
from cloudpos.schemas import Page, PageNo, PageSize
from cloudpos.web.deps import OnDemand, get_db, requires
from cloudpos.web.routing import APIRouter, lean_get

router = APIRouter(tags=["catalog"])


# --- the scanner (declared first: FastAPI tries a router's routes in order) ---------------------

def _scan_with_caller(request: Request, tenant_hint: uuid.UUID | None) -> tuple[Any, dict[str, Any]] | None:
    """The scanned code's barcode read, read together with the caller (web.deps prefetch): a scan is then one
    statement on PostgreSQL. With the tenant the caller's token had before (`tenant_hint`), a scale label's
    item codes are read in it too. Input that validation will refuse is not read ahead."""
    code, store = request.query_params.get("code"), request.query_params.get("store_id")
    if not code or len(code) > 64:
        return None
    try:
        store_id = uuid.UUID(store) if store else None
    except ValueError:
        return None
    return service.scan_prefetch(code, store_id, tenant_hint)


@lean_get(router, "/products/lookup", response_model=LookupOut)
async def lookup(request: Request, code: str = Query(..., min_length=1, max_length=64),
                 store_id: uuid.UUID | None = None,
                 actor: Actor = Depends(requires("catalog.view", loop_only=True, prefetch=_scan_with_caller))
                 ) -> LookupOut:
    """The scanner: a barcode, a scale label (称重码) or a SKU → product, quantity and price.
    Unknown code → 404 `unknown_code`; delisted product → 409 `product_delisted`.
    Answered on the event loop, on a connection of the autocommit auth engine (as the caller's own read,
    web.deps): a plain barcode is read with the caller, a scale label or a SKU takes one more indexed read;
    no worker thread, no transaction."""
    with OnDemand(request) as conn:  # opened only if the scan needs more than was read with the caller
        return service.lookup(conn, actor, code, store_id,  # type: ignore[arg-type]
                              prefetched=getattr(request.state, "prefetched", None))


# --- categories -------------------------------------------------------------------------------

@router.get("/categories", response_model=list[CategoryOut])
def list_categories(actor: Actor = Depends(requires("catalog.view")),
                    db: Session = Depends(get_db)) -> list[CategoryOut]:
    """Every category, depth-first (a tree flattened: `parent_id`, `depth`, `full_name`)."""
    return service.list_categories(db, actor)


@router.post("/categories", status_code=201, response_model=CategoryOut)
def create_category(data: CategoryIn, actor: Actor = Depends(requires("catalog.edit")),
                    db: Session = Depends(get_db)) -> CategoryOut:
    return service.create_category(db, actor, data)


@router.patch("/categories/{category_id}", response_model=CategoryOut)
def patch_category(category_id: uuid.UUID, data: CategoryPatch, actor: Actor = Depends(requires("catalog.edit")),
                   db: Session = Depends(get_db)) -> CategoryOut:
    return service.update_category(db, actor, category_id, data)


@router.delete("/categories/{category_id}", status_code=204)
def delete_category(category_id: uuid.UUID, actor: Actor = Depends(requires("catalog.edit")),
                    db: Session = Depends(get_db)) -> Response:
    service.delete_category(db, actor, category_id)
    return Response(status_code=204)


# --- products (fixed paths before /products/{id}) ---------------------------------------------

@router.get("/products", response_model=Page[ProductOut])
def list_products(q: str = Query("", max_length=60), category_id: uuid.UUID | None = None,
                  status: Literal["listed", "delisted"] | None = None, brand: str = Query("", max_length=60),
                  stock_state: str = Query("", max_length=20), store_id: uuid.UUID | None = None,
                  sort: Literal["sku", "name", "price", "-price", "-updated"] = "sku",
                  page: PageNo = 1, page_size: PageSize = 50, actor: Actor = Depends(requires("catalog.view")),
                  db: Session = Depends(get_db)) -> Page[ProductOut]:
    """Search by name (Chinese, full pinyin or initials: `kkkl` finds 可口可乐), SKU or barcode;
    filter by category (with its sub-categories), status, brand and stock state (low, out…)."""
    f = service.ListFilter(q=q, category_id=category_id, status=status, brand=brand, stock_state=stock_state,
                           store_id=store_id, sort=sort)
    items, total = service.list_products(db, actor, f, page, page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.post("/products", status_code=201, response_model=ProductOut)
def create_product(data: ProductIn, actor: Actor = Depends(requires("catalog.edit")),
                   db: Session = Depends(get_db)) -> ProductOut:
    return service.create(db, actor, data)


@router.post("/products/status", response_model=BulkStatusOut)
def bulk_status(data: BulkStatusIn, actor: Actor = Depends(requires("catalog.edit")),
                db: Session = Depends(get_db)) -> BulkStatusOut:
    """List or delist (上架/下架) many products at once."""
    return service.set_status(db, actor, data.ids, data.status)


@router.post("/products/import", response_model=ImportResult,
             responses={202: {"model": ImportJobOut, "description": "A large file: poll the job"}})
def import_products(request: Request, file: UploadFile = File(...), dry_run: bool = Form(True),
                    skip_invalid: bool = Form(False), create_categories: bool = Form(False),
                    background: bool | None = Form(None), actor: Actor = Depends(requires("catalog.import")),
                    db: Session = Depends(get_db)) -> ImportResult | JSONResponse:
    """Upsert products by SKU from an .xlsx (headers in Chinese or English). Every row is validated
    first; with any error nothing is written unless `skip_invalid`. Large files (or `background=true`)
    run as a job: 202 with `job_id`, poll `GET /products/import/{job_id}`."""
    qp = request.query_params
    opts = importing.Options(dry_run=_flag(qp.get("dry_run"), dry_run),
                             skip_invalid=_flag(qp.get("skip_invalid"), skip_invalid),
                             create_categories=_flag(qp.get("create_categories"), create_categories))
    bg = _flag(qp.get("background"), background) if (qp.get("background") or background is not None) else None
    settings = request.app.state.settings
    path, size = importing.save_upload(settings.var_dir, file)
    if bg or (bg is None and size > importing.BACKGROUND_BYTES):
        job = importing.start_job(request.app.state.sessionmaker, db, actor, path, file.filename or "", opts)
        return JSONResponse(job.model_dump(mode="json"), status_code=202,
                            headers={"Location": f"/api/v1/products/import/{job.job_id}"})
    try:
        return importing.run(db, actor, path, opts)
    finally:
        path.unlink(missing_ok=True)


def _flag(raw: str | None, default: bool | None) -> bool:
    if raw is None:
        return bool(default)
    return raw.strip().lower() in ("1", "true", "yes", "on")


@router.get("/products/import/template")
def import_template(headers: str = Query("zh", pattern="^(zh|en)$", description="Header language"),
                    actor: Actor = Depends(requires("catalog.import"))) -> Response:
    """An empty workbook with the import headers and one example row."""
    data = exporting.template(headers)
    return Response(data, media_type=exporting.XLSX,
                    headers={"Content-Disposition": "attachment; filename=products-template.xlsx"})


@router.get("/products/import/{job_id}", response_model=ImportJobOut)
def import_job(job_id: uuid.UUID, actor: Actor = Depends(requires("catalog.import")),
               db: Session = Depends(get_db)) -> ImportJobOut:
    return importing.get_job(db, actor, job_id)


@router.get("/products/export")
def export_products(q: str = Query("", max_length=60), category_id: uuid.UUID | None = None,
                    status: Literal["listed", "delisted"] | None = None,
                    headers: str = Query("zh", pattern="^(zh|en)$", description="Header language"),
                    actor: Actor = Depends(requires("catalog.import")), db: Session = Depends(get_db)) -> Response:
    """Every product (or the filtered ones) as .xlsx with the import columns: export → edit → import."""
    f = service.ListFilter(q=q, category_id=category_id, status=status)
    fh = exporting.build(db, actor, f, headers)
    return StreamingResponse(exporting.chunks(fh), media_type=exporting.XLSX,
                             headers={"Content-Disposition": "attachment; filename=products.xlsx"})


@router.get("/products/{product_id}", response_model=ProductOut)
def get_product(product_id: uuid.UUID, actor: Actor = Depends(requires("catalog.view")),
                db: Session = Depends(get_db)) -> ProductOut:
    return service.get_product(db, actor, product_id)


@router.patch("/products/{product_id}", response_model=ProductOut)
def patch_product(product_id: uuid.UUID, data: ProductPatch, actor: Actor = Depends(requires("catalog.edit")),
                  db: Session = Depends(get_db)) -> ProductOut:
    """Price and cost changes also need `catalog.price.edit` and may need a manager's approval
    (`override` with their credentials, or an approval request: 403 `approval_required`)."""
    return service.update(db, actor, product_id, data)


@router.delete("/products/{product_id}", response_model=DeleteOut)
def delete_product(product_id: uuid.UUID, override: ManagerOverride | None = None,
                   actor: Actor = Depends(requires("catalog.delete")), db: Session = Depends(get_db)) -> DeleteOut:
    """A product with history (sales, stock) is delisted, never deleted (`deleted: false`)."""
    return service.delete_product(db, actor, product_id, override)


# --- images -----------------------------------------------------------------------------------

@router.post("/products/{product_id}/images", status_code=201, response_model=ImageOut)
def upload_image(product_id: uuid.UUID, request: Request, file: UploadFile = File(...),
                 actor: Actor = Depends(requires("catalog.edit")), db: Session = Depends(get_db)) -> ImageOut:
    """JPEG, PNG or WebP up to 5 MB; re-encoded, with a 256 px thumbnail."""
    return images.upload(db, actor, request.app.state.settings.var_dir, product_id, file)


@router.get("/products/{product_id}/images/{image_id}")
def get_image(product_id: uuid.UUID, image_id: uuid.UUID, request: Request,
              size: Literal["full", "thumb"] = "full", actor: Actor = Depends(requires("catalog.view")),
              db: Session = Depends(get_db)) -> FileResponse:
    path, ctype = images.file_for(db, actor, request.app.state.settings.var_dir, product_id, image_id, size)
    return FileResponse(path, media_type=ctype, headers={"Cache-Control": "private, max-age=86400"})


@router.delete("/products/{product_id}/images/{image_id}", status_code=204)
def delete_image(product_id: uuid.UUID, image_id: uuid.UUID, request: Request,
                 actor: Actor = Depends(requires("catalog.edit")), db: Session = Depends(get_db)) -> Response:
    images.delete(db, actor, request.app.state.settings.var_dir, product_id, image_id)
    return Response(status_code=204)


# --- scale barcode rules ----------------------------------------------------------------------

@router.get("/scale-barcode-rules", response_model=list[ScaleRuleOut])
def list_scale_rules(actor: Actor = Depends(requires("catalog.view")),
                     db: Session = Depends(get_db)) -> list[ScaleRuleOut]:
    return service.list_scale_rules(db, actor)


@router.post("/scale-barcode-rules", status_code=201, response_model=ScaleRuleOut)
def create_scale_rule(data: ScaleRuleIn, actor: Actor = Depends(requires("settings.manage")),
                      db: Session = Depends(get_db)) -> ScaleRuleOut:
    return service.create_scale_rule(db, actor, data)


@router.put("/scale-barcode-rules/{rule_id}", response_model=ScaleRuleOut)
def update_scale_rule(rule_id: uuid.UUID, data: ScaleRuleIn, actor: Actor = Depends(requires("settings.manage")),
                      db: Session = Depends(get_db)) -> ScaleRuleOut:
    return service.update_scale_rule(db, actor, rule_id, data)


@router.delete("/scale-barcode-rules/{rule_id}", status_code=204)
def delete_scale_rule(rule_id: uuid.UUID, actor: Actor = Depends(requires("settings.manage")),
                      db: Session = Depends(get_db)) -> Response:
    service.delete_scale_rule(db, actor, rule_id)
    return Response(status_code=204)
