"""Reading stock: on-hand per store and product, and the movement ledger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import FieldError, Invalid
from cloudpos.i18n import N_
from cloudpos.money import line_amount, milli_to_str

from . import domain, ledger
from .models import StockLevel, StockMovement
from .products import catalog
from .schemas import MovementOut, ProductRef, StockLevelOut, ThresholdIn


def visible_store_ids(db: Session, actor: Actor, store_id: uuid.UUID | None) -> list[uuid.UUID] | None:
    """None = every store of the tenant; else the stores to read."""
    if store_id is not None:
        ledger.check_store(db, actor, store_id)
        return [store_id]
    if actor.all_stores:
        return None
    return list(actor.store_ids) or [uuid.UUID(int=0)]


@dataclass(frozen=True)
class StockFilter:
    store_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None
    category_id: uuid.UUID | None = None
    q: str = ""
    low: bool = False
    negative: bool = False


def list_stock(db: Session, actor: Actor, f: StockFilter, page: int = 1,
               page_size: int = 50) -> tuple[list[StockLevelOut], int]:
    actor.require("inventory.view")
    stores = visible_store_ids(db, actor, f.store_id)
    stmt = select(StockLevel).where(StockLevel.tenant_id == actor.tenant_id)
    if stores is not None:
        stmt = stmt.where(StockLevel.store_id.in_(stores))
    if f.product_id is not None:
        stmt = stmt.where(StockLevel.product_id == f.product_id)
    if f.q or f.category_id is not None:
        ids = catalog.product_ids(db, actor, category_id=f.category_id, q=f.q)
        if not ids:
            return [], 0
        stmt = stmt.where(StockLevel.product_id.in_(ids))
    if f.negative:
        stmt = stmt.where(StockLevel.on_hand < 0)
    thresholds = catalog.thresholds(db, actor)
    if f.low:
        rows = [lv for lv in db.scalars(stmt.order_by(StockLevel.product_id, StockLevel.store_id)).all()
                if domain.is_low(lv.on_hand, domain.effective_threshold(lv.low_stock_threshold,
                                                                        thresholds.get(lv.product_id)))]
        total = len(rows)
        rows = rows[(page - 1) * page_size: page * page_size]
    else:
        total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = list(db.scalars(stmt.order_by(StockLevel.product_id, StockLevel.store_id)
                               .offset((page - 1) * page_size).limit(page_size)).all())
    products = catalog.get_products(db, actor, [lv.product_id for lv in rows])
    out = []
    for lv in rows:
        p = products.get(lv.product_id)
        thr = domain.effective_threshold(lv.low_stock_threshold, p.low_stock_threshold if p else None)
        cost = p.cost if p else 0
        out.append(StockLevelOut(store_id=lv.store_id, product_id=lv.product_id, product=ledger.product_ref(p),
                                 on_hand=lv.on_hand, low_stock_threshold=thr, store_threshold=lv.low_stock_threshold,
                                 low=domain.is_low(lv.on_hand, thr), negative=lv.on_hand < 0, cost=cost,
                                 value=line_amount(cost, lv.on_hand), updated_at=lv.updated_at))
    return out, total


def movement_out(m: StockMovement, product: ProductRef | None = None) -> MovementOut:
    return MovementOut(id=m.id, store_id=m.store_id, product_id=m.product_id, product=product, kind=m.kind,
                       quantity=m.quantity, unit_cost=m.unit_cost, balance_after=m.balance_after,
                       ref_type=m.ref_type, ref_id=m.ref_id, reason=m.reason, note=m.note, actor_name=m.actor_name,
                       occurred_at=m.occurred_at)


@dataclass(frozen=True)
class MovementFilter:
    store_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None
    kind: str | None = None
    ref_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


def list_movements(db: Session, actor: Actor, f: MovementFilter, page: int = 1,
                   page_size: int = 50) -> tuple[list[MovementOut], int]:
    actor.require("inventory.view")
    stores = visible_store_ids(db, actor, f.store_id)
    stmt = select(StockMovement).where(StockMovement.tenant_id == actor.tenant_id)
    if stores is not None:
        stmt = stmt.where(StockMovement.store_id.in_(stores))
    if f.product_id is not None:
        stmt = stmt.where(StockMovement.product_id == f.product_id)
    if f.kind:
        stmt = stmt.where(StockMovement.kind == f.kind)
    if f.ref_id is not None:
        stmt = stmt.where(StockMovement.ref_id == f.ref_id)
    if f.since is not None:
        stmt = stmt.where(StockMovement.occurred_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(StockMovement.occurred_at < f.until)
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = db.scalars(stmt.order_by(StockMovement.occurred_at.desc(), StockMovement.id.desc())
                      .offset((page - 1) * page_size).limit(page_size)).all()
    refs = ledger.refs(db, actor, [m.product_id for m in rows])
    return [movement_out(m, refs.get(m.product_id)) for m in rows], total


@use_case
def set_store_threshold(db: Session, actor: Actor, data: ThresholdIn) -> StockLevelOut:
    """A store's own low-stock threshold for a product (None = use the product's)."""
    actor.require("inventory.adjust")
    if data.low_stock_threshold is not None and data.low_stock_threshold < 0:
        raise Invalid(errors=[FieldError("low_stock_threshold", N_("The threshold cannot be negative."), {},
                                         "negative")])
    ledger.check_store(db, actor, data.store_id)
    products = ledger.load_products(db, actor, [data.product_id], field="product_id")
    ledger.ensure_level_rows(db, actor.tenant_id, data.store_id, [data.product_id])
    lv = db.get(StockLevel, (actor.tenant_id, data.store_id, data.product_id))
    before = lv.low_stock_threshold
    lv.low_stock_threshold = data.low_stock_threshold
    p = products[data.product_id]
    audit.record(db, actor, "stock.threshold.set", target_type="product", target_id=p.id,
                 target_label=f"{p.name} ({p.sku})", store_id=data.store_id,
                 before={"low_stock_threshold": None if before is None else milli_to_str(before)},
                 after={"low_stock_threshold": None if data.low_stock_threshold is None
                        else milli_to_str(data.low_stock_threshold)})
    db.flush()
    items, _ = list_stock(db, actor, StockFilter(store_id=data.store_id, product_id=data.product_id))
    return items[0]
