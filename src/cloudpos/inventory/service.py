"""The inventory module's public interface. Other modules use inventory only through this file.

For checkout / refunds: `apply_movements(db, actor, store_id, [(product_id, delta_milli, unit_cost_fen)],
kind, ref_type, ref_id)` inside their own transaction (it respects the tenant's negative-stock
policy: Conflict naming the product, nothing written); a caller that already read the products may
pass them (`products={id: ProductInfo}`) and save the look-up; `movements_tail(...)` is the same for a
sales document not numbered yet (the movements note its receipt number). For the dashboard:
`alert_count(db, actor)`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from cloudpos.context import Actor

from . import domain
from .adjustments import create_adjustment, get_adjustment, list_adjustments
from .alerts import _low_levels, alert_count, list_alert_events, list_alerts
from .ledger import Applied, apply_movements, movements_tail, on_hand
from .levels import MovementFilter, StockFilter, list_movements, list_stock, set_store_threshold
from .models import StockLevel, StockMovement
from .products import ProductInfo
from .receipts import create_receipt, get_receipt, list_receipts
from .stocktakes import (
    cancel_stocktake,
    create_stocktake,
    get_stocktake,
    list_stocktakes,
    post_stocktake,
    record_counts,
    set_reasons,
    variance_report,
)
from .transfers import cancel_transfer, create_transfer, get_transfer, list_transfers, receive_transfer, ship_transfer


def stock_of(db: Session, actor: Actor, store_id: uuid.UUID, product_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """On-hand (milli) of these products in a store; products never stocked are absent (= 0)."""
    return on_hand(db, actor.tenant_id, store_id, product_ids)


# --- hooks for the catalog --------------------------------------------------------------------

def _has_history(db: Session, tenant_id: uuid.UUID, product_id: uuid.UUID) -> bool:
    return bool(db.scalar(select(exists().where(StockMovement.tenant_id == tenant_id,
                                                StockMovement.product_id == product_id))))


def _stock_state(db: Session, actor: Actor, state: str, store_id: uuid.UUID | None, column: Any) -> Any:
    """The catalog's product list filter `stock_state`: in_stock | out_of_stock | negative | low."""
    if state not in ("in_stock", "out_of_stock", "negative", "low"):
        return None
    if state == "low":
        ids = sorted({lv.product_id for lv, _ in _low_levels(db, actor, store_id)}, key=lambda p: p.bytes)
        return column.in_(ids) if ids else column.is_(None)
    sub = select(StockLevel.product_id).where(StockLevel.tenant_id == actor.tenant_id)
    if store_id is not None:
        sub = sub.where(StockLevel.store_id == store_id)
    if state == "negative":
        return column.in_(sub.where(StockLevel.on_hand < 0))
    positive = column.in_(sub.where(StockLevel.on_hand > 0))
    return positive if state == "in_stock" else ~positive


def _register_catalog_hooks() -> None:
    try:
        from cloudpos.catalog import service as catalog
    except ImportError:  # pragma: no cover - the catalog module is always installed
        return
    catalog.register_history_check(_has_history)
    catalog.register_stock_state_filter(_stock_state)


_register_catalog_hooks()

KINDS = domain.KINDS

__all__ = [
    "Applied", "KINDS", "MovementFilter", "ProductInfo", "StockFilter", "alert_count", "apply_movements",
    "cancel_stocktake", "movements_tail",
    "cancel_transfer", "create_adjustment", "create_receipt", "create_stocktake", "create_transfer",
    "get_adjustment", "get_receipt", "get_stocktake", "get_transfer", "list_adjustments", "list_alert_events",
    "list_alerts", "list_movements", "list_receipts", "list_stock", "list_stocktakes", "list_transfers",
    "post_stocktake", "receive_transfer", "record_counts", "set_reasons", "set_store_threshold", "ship_transfer",
    "stock_of", "variance_report",
]
