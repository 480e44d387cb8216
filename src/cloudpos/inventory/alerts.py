"""Low-stock alerts (库存预警): a product whose on-hand in a store is below its threshold (the
store's own, else the product's). Crossing below the threshold also appends a stock_alert_events
row in the movement's transaction (delivery channels come later)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cloudpos.context import Actor

from . import domain, ledger
from .levels import visible_store_ids
from .models import StockAlertEvent, StockLevel
from .products import catalog
from .schemas import AlertEventOut, AlertOut


def _low_levels(db: Session, actor: Actor, store_id: uuid.UUID | None) -> list[tuple[StockLevel, int]]:
    thresholds = catalog.thresholds(db, actor)
    stores = visible_store_ids(db, actor, store_id)
    stmt = select(StockLevel).where(StockLevel.tenant_id == actor.tenant_id)
    if stores is not None:
        stmt = stmt.where(StockLevel.store_id.in_(stores))
    if len(thresholds) <= 5000:
        cond = StockLevel.low_stock_threshold.is_not(None)
        if thresholds:
            cond = or_(cond, StockLevel.product_id.in_(list(thresholds)))
        stmt = stmt.where(cond)
    out = []
    for lv in db.scalars(stmt.order_by(StockLevel.store_id, StockLevel.product_id)).all():
        thr = domain.effective_threshold(lv.low_stock_threshold, thresholds.get(lv.product_id))
        if domain.is_low(lv.on_hand, thr):
            out.append((lv, thr))
    return out


def list_alerts(db: Session, actor: Actor, store_id: uuid.UUID | None = None) -> list[AlertOut]:
    actor.require("inventory.view")
    low = _low_levels(db, actor, store_id)
    refs = ledger.refs(db, actor, [lv.product_id for lv, _ in low])
    return [AlertOut(store_id=lv.store_id, product_id=lv.product_id, product=refs.get(lv.product_id),
                     on_hand=lv.on_hand, threshold=thr, shortfall=thr - lv.on_hand) for lv, thr in low]


def alert_count(db: Session, actor: Actor) -> int:
    """The dashboard badge: how many (store, product) pairs are below their threshold (0 without permission)."""
    if not actor.can("inventory.view"):
        return 0
    return len(_low_levels(db, actor, None))


def list_alert_events(db: Session, actor: Actor, page: int = 1, page_size: int = 50) -> tuple[list[AlertEventOut], int]:
    actor.require("inventory.view")
    stmt = select(StockAlertEvent).where(StockAlertEvent.tenant_id == actor.tenant_id)
    if not actor.all_stores:
        stmt = stmt.where(StockAlertEvent.store_id.in_(actor.store_ids or [uuid.UUID(int=0)]))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(StockAlertEvent.occurred_at.desc(), StockAlertEvent.id.desc())
                      .offset((page - 1) * page_size).limit(page_size)).all()
    return [AlertEventOut(id=e.id, store_id=e.store_id, product_id=e.product_id, on_hand=e.on_hand,
                          threshold=e.threshold, movement_kind=e.movement_kind, occurred_at=e.occurred_at)
            for e in rows], total
