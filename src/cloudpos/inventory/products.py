"""What inventory needs from the catalog, in one place (a port).

Inventory never reads or writes the catalog's tables itself: every product fact goes through
`CatalogPort`, implemented on top of `cloudpos.catalog.service`. If the catalog's public
interface changes, only this file changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from cloudpos.context import Actor


@dataclass(frozen=True)
class ProductInfo:
    id: uuid.UUID
    sku: str
    name: str
    barcodes: tuple[str, ...]
    category_id: uuid.UUID | None
    unit: str
    cost: int  # fen
    price: int  # fen
    low_stock_threshold: int | None  # milli
    status: str  # listed | delisted


class CatalogPort(Protocol):
    def get_products(self, db: Session, actor: Actor, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ProductInfo]:
        """The products with these ids (missing ids are simply absent)."""

    def find_by_code(self, db: Session, actor: Actor, code: str) -> ProductInfo | None:
        """A product by barcode (plain or scale-embedded) or SKU."""

    def product_ids(self, db: Session, actor: Actor, *, category_id: uuid.UUID | None = None,
                    q: str = "") -> list[uuid.UUID]:
        """Ids of the products matching a search and/or a category (including its subcategories);
        neither given = every product of the tenant."""

    def thresholds(self, db: Session, actor: Actor) -> dict[uuid.UUID, int]:
        """Product id → low-stock threshold (milli), for products that have one."""

    def category_names(self, db: Session, actor: Actor) -> dict[uuid.UUID, str]:
        """Category id → full name ("食品 / 饮料 / 碳酸饮料")."""

    def set_cost(self, db: Session, actor: Actor, product_id: uuid.UUID, cost: int, reason: str) -> None:
        """Set the product's cost price (moving average after a goods receipt), in the caller's transaction."""


def _info(p: Any) -> ProductInfo:
    return ProductInfo(id=p.id, sku=p.sku, name=p.name, barcodes=tuple(p.barcodes or ()), category_id=p.category_id,
                       unit=p.unit or "", cost=int(p.cost or 0), price=int(p.price or 0),
                       low_stock_threshold=p.low_stock_threshold, status=p.status)


class _Catalog:
    """CatalogPort on top of `cloudpos.catalog.service`."""

    def get_products(self, db: Session, actor: Actor, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ProductInfo]:
        from cloudpos.catalog import service as catalog

        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        return {pid: _info(p) for pid, p in catalog.product_briefs(db, actor.tenant_id, wanted).items()}

    def find_by_code(self, db: Session, actor: Actor, code: str) -> ProductInfo | None:
        from cloudpos.catalog import service as catalog

        pid = catalog.product_id_by_code(db, actor.tenant_id, code.strip())
        if pid is None:
            return None
        return self.get_products(db, actor, [pid]).get(pid)

    def product_ids(self, db: Session, actor: Actor, *, category_id: uuid.UUID | None = None,
                    q: str = "") -> list[uuid.UUID]:
        from cloudpos.catalog import service as catalog

        ids: list[uuid.UUID] | None = None
        if category_id is not None:
            ids = catalog.category_product_ids(db, actor.tenant_id, category_id)
        if q.strip():
            found = catalog.search_product_ids(db, actor.tenant_id, q.strip())
            wanted = set(found)
            ids = found if ids is None else [i for i in ids if i in wanted]
        if ids is None:
            ids = catalog.all_product_ids(db, actor.tenant_id)
        return list(ids)

    def thresholds(self, db: Session, actor: Actor) -> dict[uuid.UUID, int]:
        from cloudpos.catalog import service as catalog

        return dict(catalog.low_stock_thresholds(db, actor.tenant_id))

    def category_names(self, db: Session, actor: Actor) -> dict[uuid.UUID, str]:
        from cloudpos.catalog import service as catalog

        return dict(catalog.category_full_names(db, actor.tenant_id))

    def set_cost(self, db: Session, actor: Actor, product_id: uuid.UUID, cost: int, reason: str) -> None:
        from cloudpos.catalog import service as catalog

        catalog.set_cost(db, actor, product_id, cost, reason)


catalog: CatalogPort = _Catalog()
