"""Manual stock adjustments with a reason code (damaged 损坏, lost 丢失, expired 过期, entry error 录入错误, other)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import FieldError, Invalid, NotFound
from cloudpos.i18n import N_
from cloudpos.ids import uuid7
from cloudpos.money import milli_to_str

from . import ledger
from .levels import movement_out
from .models import StockAdjustment, StockMovement
from .schemas import AdjustmentIn, AdjustmentOut


def _out(a: StockAdjustment, lines: list | None = None) -> AdjustmentOut:
    return AdjustmentOut(id=a.id, number=a.number, store_id=a.store_id, reason=a.reason, note=a.note,
                         line_count=a.line_count, created_by_name=a.created_by_name, created_at=a.created_at,
                         lines=lines or [])


@use_case
def create_adjustment(db: Session, actor: Actor, data: AdjustmentIn) -> AdjustmentOut:
    actor.require("inventory.adjust")
    store_name = ledger.check_store(db, actor, data.store_id)
    errors = [FieldError(f"lines[{i}].quantity", N_("Must not be zero."), {}, "zero")
              for i, ln in enumerate(data.lines) if ln.quantity == 0]
    seen: set[uuid.UUID] = set()
    for i, ln in enumerate(data.lines):
        if ln.product_id in seen:
            errors.append(FieldError(f"lines[{i}].product_id", N_("This product is already on another line."), {},
                                     "duplicate"))
        seen.add(ln.product_id)
    if errors:
        raise Invalid(errors=errors)
    products = ledger.load_products(db, actor, [ln.product_id for ln in data.lines])
    adj = StockAdjustment(tenant_id=actor.tenant_id, id=uuid7(), number=ledger.next_number(db, actor.tenant_id, "TZ"),
                          store_id=data.store_id, reason=data.reason, note=data.note, line_count=len(data.lines),
                          created_by=actor.employee_id, created_by_name=actor.display_name or actor.username)
    db.add(adj)
    db.flush()
    applied = ledger.apply_movements(
        db, actor, data.store_id, [(ln.product_id, ln.quantity, products[ln.product_id].cost) for ln in data.lines],
        "adjustment", "adjustment", adj.id, reason=data.reason, note=data.note, products=products)
    audit.record(db, actor, "stock.adjust", target_type="stock_adjustment", target_id=adj.id,
                 target_label=adj.number, store_id=data.store_id,
                 after={"store": store_name, "reason": data.reason, "note": data.note,
                        "lines": [{"sku": products[a.product_id].sku, "quantity": milli_to_str(a.quantity),
                                   "on_hand": milli_to_str(a.on_hand)} for a in applied]})
    return get_adjustment(db, actor, adj.id)


def get_adjustment(db: Session, actor: Actor, adjustment_id: uuid.UUID) -> AdjustmentOut:
    actor.require("inventory.view")
    a = db.get(StockAdjustment, (actor.tenant_id, adjustment_id))
    if a is None or not actor.sees_store(a.store_id):
        raise NotFound(N_("Stock adjustment not found."))
    rows = db.scalars(select(StockMovement).where(StockMovement.tenant_id == actor.tenant_id,
                                                  StockMovement.ref_id == a.id,
                                                  StockMovement.ref_type == "adjustment")
                      .order_by(StockMovement.id)).all()
    refs = ledger.refs(db, actor, [m.product_id for m in rows])
    return _out(a, [movement_out(m, refs.get(m.product_id)) for m in rows])


def list_adjustments(db: Session, actor: Actor, *, store_id: uuid.UUID | None = None, reason: str = "",
                     page: int = 1, page_size: int = 50) -> tuple[list[AdjustmentOut], int]:
    actor.require("inventory.view")
    stmt = select(StockAdjustment).where(StockAdjustment.tenant_id == actor.tenant_id)
    if store_id is not None:
        ledger.check_store(db, actor, store_id)
        stmt = stmt.where(StockAdjustment.store_id == store_id)
    elif not actor.all_stores:
        stmt = stmt.where(StockAdjustment.store_id.in_(actor.store_ids or [uuid.UUID(int=0)]))
    if reason:
        stmt = stmt.where(StockAdjustment.reason == reason)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(StockAdjustment.created_at.desc(), StockAdjustment.id.desc())
                      .offset((page - 1) * page_size).limit(page_size)).all()
    return [_out(a) for a in rows], total
