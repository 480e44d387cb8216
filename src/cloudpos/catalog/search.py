"""The product list: search (Chinese, pinyin, initials, SKU, barcode — one LIKE per term on the
normalized `search_text` column), filters (category with its sub-categories, status, brand, stock
state through the inventory hook) and pagination."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloudpos.catalog import domain
from cloudpos.catalog.models import Category, Product
from cloudpos.catalog.schemas import ProductOut
from cloudpos.context import Actor

SORTS = {
    "sku": (Product.sku,),
    "name": (Product.name, Product.sku),
    "price": (Product.price, Product.sku),
    "-price": (Product.price.desc(), Product.sku),
    "-updated": (Product.updated_at.desc(), Product.sku),
}


@dataclass(frozen=True)
class ListFilter:
    q: str = ""
    category_id: uuid.UUID | None = None
    status: str | None = None
    brand: str = ""
    stock_state: str = ""
    store_id: uuid.UUID | None = None
    sort: str = "sku"


def _filtered(db: Session, actor: Actor, f: ListFilter):  # noqa: ANN202 - a Select
    from cloudpos.catalog import service

    stmt = select(Product).where(Product.tenant_id == actor.tenant_id)
    for term in domain.search_terms(f.q):
        stmt = stmt.where(Product.search_text.contains(term, autoescape=True))
    if f.category_id is not None:
        cat = db.get(Category, (actor.tenant_id, f.category_id))
        if cat is None:
            return stmt.where(Product.id.is_(None))
        sub = select(Category.id).where(Category.tenant_id == actor.tenant_id, Category.path.startswith(cat.path))
        stmt = stmt.where(Product.category_id.in_(sub))
    if f.status in ("listed", "delisted"):
        stmt = stmt.where(Product.status == f.status)
    if f.brand:
        stmt = stmt.where(Product.brand == f.brand)
    if f.stock_state:
        cond = service.stock_state_condition(db, actor, f.stock_state, f.store_id, Product.id)
        if cond is not None:
            stmt = stmt.where(cond)
    return stmt


def list_products(db: Session, actor: Actor, f: ListFilter, page: int = 1,
                  page_size: int = 50) -> tuple[list[ProductOut], int]:
    from cloudpos.catalog import service

    actor.require("catalog.view")
    stmt = _filtered(db, actor, f)
    total = db.scalar(select(func.count()).select_from(stmt.with_only_columns(Product.id).subquery())) or 0
    order = SORTS.get(f.sort, SORTS["sku"])
    rows = list(db.scalars(stmt.order_by(*order).offset((page - 1) * page_size).limit(page_size)).all())
    return service.outs(db, actor, rows), total


def brands(db: Session, actor: Actor) -> list[str]:
    """Brands in use (the form's pick-list)."""
    return [b for b in db.scalars(select(Product.brand).where(Product.tenant_id == actor.tenant_id,
                                                             Product.brand != "").distinct()
                                  .order_by(Product.brand).limit(500)).all()]


def units(db: Session, actor: Actor) -> list[str]:
    used = db.scalars(select(Product.unit).where(Product.tenant_id == actor.tenant_id, Product.unit != "")
                      .distinct().limit(200)).all()
    return list(dict.fromkeys([*domain.DEFAULT_UNITS, *used]))
