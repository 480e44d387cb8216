"""The catalog module's interface: products (create, edit, price changes, delist/delete) plus
re-exports of its other use cases. Other modules use the catalog only through this file.

Hooks other modules register at import time:
- `register_history_check(fn)`: fn(db, tenant_id, product_id) -> bool, True when the product has
  history (sales, stock movements…). Such a product is delisted, never deleted.
- `register_stock_state_filter(fn)`: fn(db, actor, state, store_id, product_id_column) -> a SQL
  condition on the product id column (or None to ignore) for the `stock_state` list filter.

For inventory: `product_briefs`, `low_stock_thresholds`, `set_cost` (moving average, inside the
caller's transaction), `category_product_ids`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy import update as sa_update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cloudpos import clock
from cloudpos.approvals import service as approvals
from cloudpos.approvals.schemas import ManagerOverride
from cloudpos.audit import service as audit
from cloudpos.catalog import categories, domain
from cloudpos.catalog.models import Category, Product, ProductBarcode, ProductImage, StorePrice
from cloudpos.catalog.schemas import (
    BulkStatusOut,
    DeleteOut,
    ImageOut,
    ProductIn,
    ProductOut,
    ProductPatch,
    StorePriceIn,
    StorePriceOut,
)
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound
from cloudpos.i18n import N_
from cloudpos.tenancy.models import Store

HistoryCheck = Callable[[Session, uuid.UUID, uuid.UUID], bool]
StockStateFilter = Callable[[Session, Actor, str, "uuid.UUID | None", Any], "ColumnElement[bool] | None"]
_history_checks: list[HistoryCheck] = []
_stock_state_filters: list[StockStateFilter] = []
_change_listeners: list[Callable[[uuid.UUID], None]] = []


def register_history_check(fn: HistoryCheck) -> None:
    if fn not in _history_checks:
        _history_checks.append(fn)


def register_stock_state_filter(fn: StockStateFilter) -> None:
    if fn not in _stock_state_filters:
        _stock_state_filters.append(fn)


def on_product_change(fn: Callable[[uuid.UUID], None]) -> None:
    """fn(tenant_id) runs after a product of the tenant changed (cache invalidation)."""
    if fn not in _change_listeners:
        _change_listeners.append(fn)


def changed(tenant_id: uuid.UUID) -> None:
    for fn in _change_listeners:
        fn(tenant_id)


def has_history(db: Session, tenant_id: uuid.UUID, product_id: uuid.UUID) -> bool:
    return any(fn(db, tenant_id, product_id) for fn in _history_checks)


def stock_state_condition(db: Session, actor: Actor, state: str, store_id: uuid.UUID | None,
                          column: Any) -> ColumnElement[bool] | None:
    for fn in _stock_state_filters:
        cond = fn(db, actor, state, store_id, column)
        if cond is not None:
            return cond
    return None


# --- reading ----------------------------------------------------------------------------------

def image_urls(product_id: uuid.UUID, image_id: uuid.UUID) -> tuple[str, str]:
    base = f"/api/v1/products/{product_id}/images/{image_id}"
    return base, f"{base}?size=thumb"


def image_out(img: ProductImage) -> ImageOut:
    url, thumb = image_urls(img.product_id, img.id)
    return ImageOut(id=img.id, url=url, thumb_url=thumb, width=img.width, height=img.height)


def to_out(p: Product, *, category_name: str = "", images: list[ProductImage] | None = None,
           store_prices: list[StorePriceOut] | None = None) -> ProductOut:
    return ProductOut(
        id=p.id, sku=p.sku, barcodes=list(p.barcodes or []), name=p.name, category_id=p.category_id,
        brand=p.brand, unit=p.unit, price=p.price, cost=p.cost, tax_rate_bp=p.tax_rate_bp,
        sold_by_weight=p.sold_by_weight, status=p.status,  # type: ignore[arg-type]
        low_stock_threshold=domain.milli_str(p.low_stock_threshold), spec=p.spec, category_name=category_name,
        images=[image_out(i) for i in images or []], store_prices=store_prices or [],
        created_at=p.created_at, updated_at=p.updated_at)


def _store_prices(db: Session, tenant_id: uuid.UUID, product_id: uuid.UUID) -> list[StorePriceOut]:
    rows = db.execute(select(StorePrice.store_id, StorePrice.price, Store.name)
                      .join(Store, (Store.tenant_id == StorePrice.tenant_id) & (Store.id == StorePrice.store_id))
                      .where(StorePrice.tenant_id == tenant_id, StorePrice.product_id == product_id)
                      .order_by(Store.code)).all()
    return [StorePriceOut(store_id=s, price=p, store_name=n) for s, p, n in rows]


def _images(db: Session, tenant_id: uuid.UUID, product_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[ProductImage]]:
    out: dict[uuid.UUID, list[ProductImage]] = {}
    if not product_ids:
        return out
    for img in db.scalars(select(ProductImage).where(ProductImage.tenant_id == tenant_id,
                                                     ProductImage.product_id.in_(product_ids))
                          .order_by(ProductImage.position, ProductImage.created_at)).all():
        out.setdefault(img.product_id, []).append(img)
    return out


def get_row(db: Session, actor: Actor, product_id: uuid.UUID) -> Product:
    p = db.get(Product, (actor.tenant_id, product_id))
    if p is None:
        raise NotFound(N_("Product not found."), code="product_not_found")
    return p


def detail(db: Session, actor: Actor, p: Product) -> ProductOut:
    cname = ""
    if p.category_id:
        cname = categories.full_names(db, actor.tenant_id).get(p.category_id, "")
    return to_out(p, category_name=cname, images=_images(db, actor.tenant_id, [p.id]).get(p.id, []),
                  store_prices=_store_prices(db, actor.tenant_id, p.id))


def get_product(db: Session, actor: Actor, product_id: uuid.UUID) -> ProductOut:
    actor.require("catalog.view")
    return detail(db, actor, get_row(db, actor, product_id))


def outs(db: Session, actor: Actor, rows: list[Product]) -> list[ProductOut]:
    """Many products for a list: two queries whatever the page size (names, thumbnails)."""
    names = categories.full_names(db, actor.tenant_id)
    imgs = _images(db, actor.tenant_id, [p.id for p in rows])
    return [to_out(p, category_name=names.get(p.category_id, "") if p.category_id else "",
                   images=imgs.get(p.id, [])[:1]) for p in rows]


# --- validation -------------------------------------------------------------------------------

def _raise(errors: list[FieldError]) -> None:
    if errors:
        raise Invalid(errors=errors)


def clean_barcodes(raw: list[str]) -> tuple[list[str], list[FieldError]]:
    codes: list[str] = []
    errors: list[FieldError] = []
    for i, value in enumerate(raw):
        try:
            code = domain.normalize_barcode(value)
        except domain.RuleError as e:
            errors.append(FieldError(f"barcodes.{i}", e.message, dict(e.params), "invalid_barcode"))
            continue
        if code in codes:
            errors.append(FieldError(f"barcodes.{i}", N_("Barcode %(code)s is listed twice."), {"code": code},
                                     "duplicate_barcode"))
            continue
        codes.append(code)
    return codes, errors


def _check_barcodes_free(db: Session, tenant_id: uuid.UUID, codes: list[str], own: uuid.UUID | None) -> None:
    if not codes:
        return
    rows = db.execute(select(ProductBarcode.code, ProductBarcode.product_id, Product.sku, Product.name)
                      .join(Product, (Product.tenant_id == ProductBarcode.tenant_id)
                            & (Product.id == ProductBarcode.product_id))
                      .where(ProductBarcode.tenant_id == tenant_id, ProductBarcode.code.in_(codes))).all()
    errors = [FieldError(f"barcodes.{codes.index(code)}", N_("Barcode %(code)s already belongs to %(sku)s %(name)s."),
                         {"code": code, "sku": sku, "name": name}, "barcode_taken")
              for code, pid, sku, name in rows if pid != own]
    if errors:
        raise Conflict(N_("A barcode already belongs to another product."), code="barcode_taken", errors=errors)


def _check_sku_free(db: Session, tenant_id: uuid.UUID, sku: str, own: uuid.UUID | None) -> None:
    other = db.scalar(select(Product.id).where(Product.tenant_id == tenant_id, Product.sku == sku))
    if other is not None and other != own:
        raise Conflict(N_("SKU %(sku)s is already used by another product."), params={"sku": sku},
                       code="duplicate_sku", errors=[FieldError("sku", N_("Already used."), {}, "duplicate")])


def _clean_sku(raw: str) -> str:
    try:
        return domain.normalize_sku(raw)
    except domain.RuleError as e:
        raise Invalid(errors=[FieldError("sku", e.message, dict(e.params), "invalid")]) from None


def _threshold(raw: str | int | None) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        return domain.parse_qty_milli(raw)
    except domain.RuleError as e:
        raise Invalid(errors=[FieldError("low_stock_threshold", e.message, dict(e.params), "invalid")]) from None


def _check_category(db: Session, tenant_id: uuid.UUID, category_id: uuid.UUID | None) -> None:
    if category_id is not None and db.get(Category, (tenant_id, category_id)) is None:
        raise Invalid(errors=[FieldError("category_id", N_("Unknown category."), {}, "unknown_category")])


def _check_stores(db: Session, actor: Actor, prices: list[StorePriceIn]) -> None:
    ids = [p.store_id for p in prices]
    if len(set(ids)) != len(ids):
        raise Invalid(errors=[FieldError("store_prices", N_("A store is listed twice."), {}, "duplicate")])
    found = set(db.scalars(select(Store.id).where(Store.tenant_id == actor.tenant_id, Store.id.in_(ids))).all())
    for i, sid in enumerate(ids):
        if sid not in found or not actor.sees_store(sid):
            raise Invalid(errors=[FieldError(f"store_prices.{i}.store_id", N_("Unknown store."), {},
                                             "unknown_store")])


def set_barcodes(db: Session, p: Product, codes: list[str]) -> None:
    db.execute(delete(ProductBarcode).where(ProductBarcode.tenant_id == p.tenant_id,
                                            ProductBarcode.product_id == p.id))
    db.flush()
    for i, code in enumerate(codes):
        db.add(ProductBarcode(tenant_id=p.tenant_id, code=code, product_id=p.id, position=i))
    p.barcodes = list(codes)


def _set_store_prices(db: Session, p: Product, prices: list[StorePriceIn]) -> None:
    db.execute(delete(StorePrice).where(StorePrice.tenant_id == p.tenant_id, StorePrice.product_id == p.id))
    for sp in prices:
        db.add(StorePrice(tenant_id=p.tenant_id, product_id=p.id, store_id=sp.store_id, price=sp.price))


def refresh_search(p: Product) -> None:
    p.search_text = domain.search_text(p.name, p.sku, p.brand, p.barcodes or [])


def snapshot(p: Product) -> dict[str, Any]:
    return {"sku": p.sku, "name": p.name, "barcodes": list(p.barcodes or []),
            "category_id": str(p.category_id) if p.category_id else None, "brand": p.brand, "unit": p.unit,
            "price": p.price, "cost": p.cost, "tax_rate_bp": p.tax_rate_bp, "spec": p.spec,
            "sold_by_weight": p.sold_by_weight, "status": p.status,
            "low_stock_threshold": domain.milli_str(p.low_stock_threshold)}


PRICE_FIELDS = ("price", "cost")


# --- writing ----------------------------------------------------------------------------------

@use_case
def create(db: Session, actor: Actor, data: ProductIn) -> ProductOut:
    actor.require("catalog.edit")
    sku = _clean_sku(data.sku)
    codes, errors = clean_barcodes(data.barcodes)
    _raise(errors)
    threshold = _threshold(data.low_stock_threshold)
    _check_category(db, actor.tenant_id, data.category_id)
    if data.store_prices:
        actor.require("catalog.price.edit")
        _check_stores(db, actor, data.store_prices)
    _check_sku_free(db, actor.tenant_id, sku, None)
    _check_barcodes_free(db, actor.tenant_id, codes, None)
    p = Product(tenant_id=actor.tenant_id, sku=sku, name=domain.nfkc(data.name), category_id=data.category_id,
                brand=data.brand, unit=data.unit, price=data.price, cost=data.cost, tax_rate_bp=data.tax_rate_bp,
                spec=data.spec, sold_by_weight=data.sold_by_weight, status=data.status,
                low_stock_threshold=threshold, barcodes=codes)
    refresh_search(p)
    db.add(p)
    db.flush()
    set_barcodes(db, p, codes)
    if data.store_prices:
        _set_store_prices(db, p, data.store_prices)
    db.flush()
    audit.record(db, actor, "catalog.product.create", target_type="product", target_id=p.id,
                 target_label=f"{p.sku} {p.name}", after=snapshot(p))
    changed(actor.tenant_id)
    return detail(db, actor, p)


def _patch_payload(data: ProductPatch) -> dict[str, Any]:
    return data.model_dump(mode="json", exclude_unset=True, exclude={"override"})


@use_case
def update(db: Session, actor: Actor, product_id: uuid.UUID, data: ProductPatch) -> ProductOut:
    actor.require("catalog.edit")
    return _update(db, actor, get_row(db, actor, product_id), data, data.override, None)


def _price_change(p: Product, data: ProductPatch, current_sp: dict[uuid.UUID, int]) -> bool:
    if any(getattr(data, f) is not None and getattr(data, f) != getattr(p, f) for f in PRICE_FIELDS):
        return True
    if data.store_prices is not None:
        return {s.store_id: s.price for s in data.store_prices} != current_sp
    return False


def _update(db: Session, actor: Actor, p: Product, data: ProductPatch, override: ManagerOverride | None,
            approved: approvals.Approved | None) -> ProductOut:
    sku = _clean_sku(data.sku) if data.sku is not None else p.sku
    codes: list[str] | None = None
    if data.barcodes is not None:
        codes, errors = clean_barcodes(data.barcodes)
        _raise(errors)
    threshold = _threshold(data.low_stock_threshold) if data.low_stock_threshold is not None else None
    if data.category_id is not None:
        _check_category(db, actor.tenant_id, data.category_id)
    current_sp = {s.store_id: s.price for s in _store_prices(db, actor.tenant_id, p.id)}
    if data.store_prices is not None:
        _check_stores(db, actor, data.store_prices)
    price_change = _price_change(p, data, current_sp)
    if price_change:
        actor.require("catalog.price.edit")
    if sku != p.sku:
        _check_sku_free(db, actor.tenant_id, sku, p.id)
    if codes is not None:
        _check_barcodes_free(db, actor.tenant_id, codes, p.id)
    ok = None
    if price_change:
        summary = f"{p.sku} {p.name}: ¥{domain.yuan_str(p.price)} → ¥{domain.yuan_str(data.price or p.price)}"
        ok = approvals.gate(db, actor, "catalog.price.change",
                            {"product_id": str(p.id), "patch": _patch_payload(data)}, summary,
                            override=override, approved=approved)
    before = snapshot(p)
    before_prices = {"price": p.price, "cost": p.cost, "store_prices": {str(k): v for k, v in current_sp.items()}}
    if data.sku is not None:
        p.sku = sku
    if data.name is not None:
        p.name = domain.nfkc(data.name)
    if data.clear_category:
        p.category_id = None
    elif data.category_id is not None:
        p.category_id = data.category_id
    for f in ("brand", "unit", "price", "cost", "tax_rate_bp", "spec", "sold_by_weight", "status"):
        value = getattr(data, f)
        if value is not None:
            setattr(p, f, value)
    if data.clear_low_stock_threshold:
        p.low_stock_threshold = None
    elif threshold is not None:
        p.low_stock_threshold = threshold
    if codes is not None and codes != list(p.barcodes or []):
        set_barcodes(db, p, codes)
    if data.store_prices is not None:
        _set_store_prices(db, p, data.store_prices)
    refresh_search(p)
    after = snapshot(p)
    if after != before or price_change:
        p.version += 1
        p.updated_at = clock.now()
    db.flush()
    b, a = audit.diff({k: v for k, v in before.items() if k not in PRICE_FIELDS},
                      {k: v for k, v in after.items() if k not in PRICE_FIELDS})
    label = f"{p.sku} {p.name}"
    if a:
        audit.record(db, actor, "catalog.product.update", target_type="product", target_id=p.id,
                     target_label=label, before=b, after=a)
    if price_change:
        after_sp = {str(k): v for k, v in ((s.store_id, s.price) for s in data.store_prices)} \
            if data.store_prices is not None else before_prices["store_prices"]
        pb, pa = audit.diff(before_prices, {"price": p.price, "cost": p.cost, "store_prices": after_sp})
        audit.record(db, actor, "catalog.price.change", target_type="product", target_id=p.id, target_label=label,
                     before=pb, after=pa,
                     details={"approval": ok.how if ok else "not_required",
                              "approved_by": ok.approver.username if ok and ok.approver else None})
    changed(actor.tenant_id)
    return detail(db, actor, p)


def _approved_price_change(db: Session, approver: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    p = db.get(Product, (approver.tenant_id, uuid.UUID(payload["product_id"])))
    if p is None:
        raise NotFound(N_("Product not found."), code="product_not_found")
    out = _update(db, approver, p, ProductPatch.model_validate(payload["patch"]), None,
                  approvals.Approved(approver, "request"))
    return {"product_id": str(out.id), "price": out.price, "cost": out.cost}


approvals.register("catalog.price.change", N_("Change a product's price"), "catalog.price.edit",
                   _approved_price_change)


@use_case
def delete_product(db: Session, actor: Actor, product_id: uuid.UUID,
                   override: ManagerOverride | None = None) -> DeleteOut:
    actor.require("catalog.delete")
    return _delete(db, actor, get_row(db, actor, product_id), override, None)


def _delete(db: Session, actor: Actor, p: Product, override: ManagerOverride | None,
            approved: approvals.Approved | None) -> DeleteOut:
    history = has_history(db, actor.tenant_id, p.id)
    what = N_("delist") if history else N_("delete")
    ok = approvals.gate(db, actor, "catalog.product.delete", {"product_id": str(p.id)},
                        f"{what}: {p.sku} {p.name}", override=override, approved=approved)
    details = {"approval": ok.how, "approved_by": ok.approver.username if ok.approver else None,
               "has_history": history}
    label = f"{p.sku} {p.name}"
    if history:
        before = p.status
        p.status = "delisted"
        p.version += 1
        p.updated_at = clock.now()
        audit.record(db, actor, "catalog.product.delist", target_type="product", target_id=p.id, target_label=label,
                     before={"status": before}, after={"status": "delisted"}, details=details)
        changed(actor.tenant_id)
        return DeleteOut(id=p.id, deleted=False, status="delisted")
    snap = snapshot(p)
    pid = p.id
    for model in (ProductBarcode, StorePrice, ProductImage):
        db.execute(delete(model).where(model.tenant_id == p.tenant_id, model.product_id == p.id))
    db.delete(p)
    db.flush()
    audit.record(db, actor, "catalog.product.delete", target_type="product", target_id=pid, target_label=label,
                 before=snap, details=details)
    changed(actor.tenant_id)
    return DeleteOut(id=pid, deleted=True, status=None)


def _approved_delete(db: Session, approver: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    p = db.get(Product, (approver.tenant_id, uuid.UUID(payload["product_id"])))
    if p is None:
        raise NotFound(N_("Product not found."), code="product_not_found")
    out = _delete(db, approver, p, None, approvals.Approved(approver, "request"))
    return {"product_id": str(out.id), "deleted": out.deleted}


approvals.register("catalog.product.delete", N_("Delete or delist a product"), "catalog.delete", _approved_delete)


@use_case
def set_status(db: Session, actor: Actor, ids: list[uuid.UUID], status: str) -> BulkStatusOut:
    """Bulk list/delist (上架/下架) from the list page."""
    actor.require("catalog.edit")
    rows = db.scalars(select(Product).where(Product.tenant_id == actor.tenant_id, Product.id.in_(ids))).all()
    n = 0
    for p in rows:
        if p.status != status:
            before = p.status
            p.status = status
            p.version += 1
            p.updated_at = clock.now()
            audit.record(db, actor, f"catalog.product.{'list' if status == 'listed' else 'delist'}",
                         target_type="product", target_id=p.id, target_label=f"{p.sku} {p.name}",
                         before={"status": before}, after={"status": status})
            n += 1
    changed(actor.tenant_id)
    return BulkStatusOut(changed=n)


# --- for other modules (inventory, sales) -----------------------------------------------------

@dataclass(frozen=True)
class ProductBrief:
    id: uuid.UUID
    sku: str
    name: str
    unit: str
    category_id: uuid.UUID | None
    price: int
    cost: int
    status: str
    sold_by_weight: bool
    low_stock_threshold: int | None  # milli-units
    barcodes: tuple[str, ...]


def product_briefs(db: Session, tenant_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[uuid.UUID, ProductBrief]:
    out: dict[uuid.UUID, ProductBrief] = {}
    for i in range(0, len(ids), 500):
        for p in db.scalars(select(Product).where(Product.tenant_id == tenant_id,
                                                  Product.id.in_(ids[i:i + 500]))).all():
            out[p.id] = ProductBrief(p.id, p.sku, p.name, p.unit, p.category_id, p.price, p.cost, p.status,
                                     p.sold_by_weight, p.low_stock_threshold, tuple(p.barcodes or ()))
    return out


def low_stock_thresholds(db: Session, tenant_id: uuid.UUID,
                         ids: list[uuid.UUID] | None = None) -> dict[uuid.UUID, int]:
    """product id → threshold in milli-units, for products that have one."""
    stmt = select(Product.id, Product.low_stock_threshold).where(Product.tenant_id == tenant_id,
                                                                Product.low_stock_threshold.is_not(None))
    if ids is not None:
        stmt = stmt.where(Product.id.in_(ids))
    return {pid: t for pid, t in db.execute(stmt).all()}


def category_product_ids(db: Session, tenant_id: uuid.UUID, category_id: uuid.UUID) -> list[uuid.UUID]:
    """Products in this category or any category under it."""
    cats = categories.descendant_ids(db, tenant_id, category_id)
    if not cats:
        return []
    return list(db.scalars(select(Product.id).where(Product.tenant_id == tenant_id,
                                                    Product.category_id.in_(cats))).all())


def set_cost(db: Session, actor: Actor, product_id: uuid.UUID, cost: int, reason: str) -> None:
    """Update a product's cost (e.g. moving average after a goods receipt), in the caller's transaction,
    audited as a price change with the reason."""
    p = db.get(Product, (actor.tenant_id, product_id))
    if p is None or p.cost == cost:
        return
    before = p.cost
    db.execute(sa_update(Product).where(Product.tenant_id == actor.tenant_id, Product.id == product_id)
               .values(cost=cost, version=Product.version + 1, updated_at=clock.now()))
    db.expire(p)
    audit.record(db, actor, "catalog.price.change", target_type="product", target_id=product_id,
                 target_label=f"{p.sku} {p.name}", before={"cost": before}, after={"cost": cost},
                 details={"reason": reason})
    changed(actor.tenant_id)


def product_id_by_code(db: Session, tenant_id: uuid.UUID, code: str) -> uuid.UUID | None:
    """A product by barcode, scale label (称重码) or SKU, whatever its status (no permission check:
    for other modules' use cases, which check their own)."""
    from cloudpos.catalog.barcodes import resolve_id

    return resolve_id(db, tenant_id, code)


def search_product_ids(db: Session, tenant_id: uuid.UUID, q: str) -> list[uuid.UUID]:
    """Ids of the products a list search `q` finds (name, pinyin, initials, SKU, barcode)."""
    stmt = select(Product.id).where(Product.tenant_id == tenant_id)
    for term in domain.search_terms(q):
        stmt = stmt.where(Product.search_text.contains(term, autoescape=True))
    return list(db.scalars(stmt).all())


def products_changed_since(db: Session, actor: Actor, since: datetime, store_id: uuid.UUID | None = None,
                           limit: int = 2000) -> list[ProductOut]:
    """Listed products created or changed (price included) since a moment — for reprinting shelf labels."""
    actor.require("catalog.view")
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    rows = db.scalars(select(Product).where(Product.tenant_id == actor.tenant_id, Product.status == "listed",
                                            Product.updated_at >= since)
                      .order_by(Product.sku).limit(limit)).all()
    return outs(db, actor, list(rows))


def all_product_ids(db: Session, tenant_id: uuid.UUID) -> list[uuid.UUID]:
    return list(db.scalars(select(Product.id).where(Product.tenant_id == tenant_id)).all())


def category_full_names(db: Session, tenant_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Category id → "食品 > 饮料 > 碳酸饮料"."""
    return categories.full_names(db, tenant_id)


# Re-exports: the module's other use cases, so callers import one file.
from cloudpos.catalog.barcodes import (  # noqa: E402
    create_scale_rule,
    delete_scale_rule,
    list_scale_rules,
    lookup,
    update_scale_rule,
)
from cloudpos.catalog.barcodes import prefetch_params as scan_prefetch  # noqa: E402
from cloudpos.catalog.categories import (  # noqa: E402
    create as create_category,
)
from cloudpos.catalog.categories import (  # noqa: E402
    delete_category,
    descendant_ids,
    list_categories,
    update_category,
)
from cloudpos.catalog.facts import SaleFacts, sale_facts  # noqa: E402
from cloudpos.catalog.search import ListFilter, list_products  # noqa: E402

__all__ = [
    "products_changed_since",
    "SaleFacts",
    "sale_facts",
    "ListFilter", "ProductBrief", "all_product_ids", "category_full_names", "category_product_ids", "create",
    "create_category", "create_scale_rule", "delete_category", "delete_product", "delete_scale_rule",
    "descendant_ids", "get_product", "has_history", "list_categories", "list_products", "list_scale_rules",
    "lookup", "low_stock_thresholds", "product_briefs", "product_id_by_code", "register_history_check",
    "register_stock_state_filter", "scan_prefetch", "search_product_ids", "set_cost", "set_status", "update",
    "update_category", "update_scale_rule",
]
