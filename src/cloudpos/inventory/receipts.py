"""Goods receipts (进货入库): stock in at a unit cost; the product's cost moves to the new average."""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import FieldError, Invalid, NotFound
from cloudpos.i18n import N_
from cloudpos.ids import uuid7
from cloudpos.money import line_amount, milli_to_str

from . import domain, ledger
from .models import GoodsReceipt, GoodsReceiptLine
from .products import catalog
from .schemas import ReceiptIn, ReceiptLineOut, ReceiptOut


def _out(r: GoodsReceipt, lines: list[ReceiptLineOut] | None = None) -> ReceiptOut:
    return ReceiptOut(id=r.id, number=r.number, store_id=r.store_id, supplier=r.supplier, reference=r.reference,
                      note=r.note, line_count=r.line_count, total_quantity=r.total_quantity, total_cost=r.total_cost,
                      created_by_name=r.created_by_name, created_at=r.created_at, lines=lines or [])


@use_case
def create_receipt(db: Session, actor: Actor, data: ReceiptIn) -> ReceiptOut:
    actor.require("inventory.receive")
    store_name = ledger.check_store(db, actor, data.store_id)
    errors = [FieldError(f"lines[{i}].quantity", N_("Must be greater than zero."), {}, "not_positive")
              for i, ln in enumerate(data.lines) if ln.quantity <= 0]
    if errors:
        raise Invalid(errors=errors)
    ids = [ln.product_id for ln in data.lines]
    ledger.load_products(db, actor, ids)  # every product exists (field errors name the line)
    number = ledger.next_number(db, actor.tenant_id, "RK")
    # Moving-average cost, computed line by line on the stock before this receipt. The product's
    # balance rows are locked first, then its cost is read afresh: a receipt committed meanwhile
    # (which held these locks) has already moved both.
    stock: dict[uuid.UUID, int] = {}
    for pid in sorted(set(ids), key=lambda p: p.bytes):  # lock order: (product, store)
        ledger.ensure_level_rows(db, actor.tenant_id, data.store_id, [pid])
        stock[pid] = ledger.total_on_hand(db, actor.tenant_id, pid, lock=True)
    db.flush()
    db.expire_all()
    products = ledger.load_products(db, actor, ids)
    cost = {pid: products[pid].cost for pid in stock}
    receipt = GoodsReceipt(tenant_id=actor.tenant_id, id=uuid7(), number=number, store_id=data.store_id,
                           supplier=data.supplier, reference=data.reference, note=data.note,
                           line_count=len(data.lines), created_by=actor.employee_id,
                           created_by_name=actor.display_name or actor.username)
    lines: list[GoodsReceiptLine] = []
    for n, ln in enumerate(data.lines, start=1):
        pid = ln.product_id
        before = cost[pid]
        cost[pid] = domain.moving_average_cost(stock[pid], before, ln.quantity, ln.unit_cost)
        stock[pid] += ln.quantity
        lines.append(GoodsReceiptLine(tenant_id=actor.tenant_id, receipt_id=receipt.id, line_no=n, product_id=pid,
                                      quantity=ln.quantity, unit_cost=ln.unit_cost,
                                      amount=line_amount(ln.unit_cost, ln.quantity), cost_before=before,
                                      cost_after=cost[pid]))
    receipt.total_quantity = sum(x.quantity for x in lines)
    receipt.total_cost = sum(x.amount for x in lines)
    db.add(receipt)
    db.flush()
    db.add_all(lines)
    ledger.apply_movements(db, actor, data.store_id, [(x.product_id, x.quantity, x.unit_cost) for x in lines],
                           "receipt", "receipt", receipt.id, note=data.supplier, products=products)
    changed = {pid: c for pid, c in cost.items() if c != products[pid].cost}
    for pid in sorted(changed, key=lambda p: p.bytes):
        catalog.set_cost(db, actor, pid, changed[pid], f"goods receipt {receipt.number}")
    audit.record(db, actor, "stock.receipt.create", target_type="stock_receipt", target_id=receipt.id,
                 target_label=receipt.number, store_id=data.store_id,
                 after={"store": store_name, "supplier": data.supplier, "reference": data.reference,
                        "lines": [{"sku": products[x.product_id].sku, "quantity": milli_to_str(x.quantity),
                                   "unit_cost": x.unit_cost} for x in lines],
                        "total_cost": receipt.total_cost},
                 details={"cost_changes": {products[p].sku: {"before": products[p].cost, "after": c}
                                           for p, c in changed.items()}})
    return get_receipt(db, actor, receipt.id)


def get_receipt(db: Session, actor: Actor, receipt_id: uuid.UUID) -> ReceiptOut:
    actor.require("inventory.view")
    r = db.get(GoodsReceipt, (actor.tenant_id, receipt_id))
    if r is None or not actor.sees_store(r.store_id):
        raise NotFound(N_("Goods receipt not found."))
    rows = db.scalars(select(GoodsReceiptLine).where(GoodsReceiptLine.tenant_id == actor.tenant_id,
                                                     GoodsReceiptLine.receipt_id == r.id)
                      .order_by(GoodsReceiptLine.line_no)).all()
    refs = ledger.refs(db, actor, [x.product_id for x in rows])
    return _out(r, [ReceiptLineOut(line_no=x.line_no, product_id=x.product_id, product=refs.get(x.product_id),
                                   quantity=x.quantity, unit_cost=x.unit_cost, amount=x.amount,
                                   cost_before=x.cost_before, cost_after=x.cost_after) for x in rows])


def list_receipts(db: Session, actor: Actor, *, store_id: uuid.UUID | None = None, q: str = "", page: int = 1,
                  page_size: int = 50) -> tuple[list[ReceiptOut], int]:
    actor.require("inventory.view")
    stmt = select(GoodsReceipt).where(GoodsReceipt.tenant_id == actor.tenant_id)
    if store_id is not None:
        ledger.check_store(db, actor, store_id)
        stmt = stmt.where(GoodsReceipt.store_id == store_id)
    elif not actor.all_stores:
        stmt = stmt.where(GoodsReceipt.store_id.in_(actor.store_ids or [uuid.UUID(int=0)]))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(GoodsReceipt.number.ilike(like), GoodsReceipt.supplier.ilike(like),
                              GoodsReceipt.reference.ilike(like)))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(GoodsReceipt.created_at.desc(), GoodsReceipt.id.desc())
                      .offset((page - 1) * page_size).limit(page_size)).all()
    return [_out(r) for r in rows], total
