"""What selling needs to know about products: one query for a whole cart (no N+1).

Used by pricing (quotes) and sales (checkout) through `catalog.service.sale_facts`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudpos.catalog.models import Category, Product, StorePrice


@dataclass(frozen=True)
class SaleFacts:
    id: uuid.UUID
    sku: str
    name: str
    unit: str
    price: int  # fen: the store's own price when it has one
    cost: int
    category_id: uuid.UUID | None
    category_ancestor_ids: tuple[uuid.UUID, ...]  # parent first, root last
    brand: str
    sold_by_weight: bool
    status: str


def sale_facts(db: Session, tenant_id: uuid.UUID, store_id: uuid.UUID | None,
               ids: list[uuid.UUID]) -> dict[uuid.UUID, SaleFacts]:
    if not ids:
        return {}
    unique = list(dict.fromkeys(ids))
    stmt = (select(Product, Category.path, StorePrice.price)
            .outerjoin(Category, (Category.tenant_id == Product.tenant_id) & (Category.id == Product.category_id))
            .outerjoin(StorePrice, (StorePrice.tenant_id == Product.tenant_id) & (StorePrice.product_id == Product.id)
                       & (StorePrice.store_id == store_id))
            .where(Product.tenant_id == tenant_id, Product.id.in_(unique)))
    out: dict[uuid.UUID, SaleFacts] = {}
    for p, path, store_price in db.execute(stmt).all():
        chain = [uuid.UUID(x) for x in (path or "").strip("/").split("/") if x]
        ancestors = tuple(reversed(chain[:-1]))
        out[p.id] = SaleFacts(p.id, p.sku, p.name, p.unit, store_price if store_price is not None else p.price,
                              p.cost, p.category_id, ancestors, p.brand, p.sold_by_weight, p.status)
    return out
