"""Stock transfers between stores (调拨): draft → in transit (stock leaves the source) → received
(stock arrives at the destination, in the quantities actually received). A draft may be cancelled."""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound
from cloudpos.i18n import N_
from cloudpos.ids import uuid7
from cloudpos.money import milli_to_str

from . import ledger
from .models import StockTransfer, StockTransferLine
from .schemas import ReceiveIn, TransferIn, TransferLineOut, TransferOut


def _out(t: StockTransfer, lines: list[TransferLineOut] | None = None) -> TransferOut:
    return TransferOut(id=t.id, number=t.number, from_store_id=t.from_store_id, to_store_id=t.to_store_id,
                       status=t.status, note=t.note, line_count=t.line_count, created_by_name=t.created_by_name,
                       created_at=t.created_at, shipped_by_name=t.shipped_by_name, shipped_at=t.shipped_at,
                       received_by_name=t.received_by_name, received_at=t.received_at, cancelled_at=t.cancelled_at,
                       lines=lines or [])


def _lines(db: Session, actor: Actor, t: StockTransfer) -> list[StockTransferLine]:
    return list(db.scalars(select(StockTransferLine).where(StockTransferLine.tenant_id == actor.tenant_id,
                                                           StockTransferLine.transfer_id == t.id)
                           .order_by(StockTransferLine.product_id)).all())


def _load(db: Session, actor: Actor, transfer_id: uuid.UUID, lock: bool = False) -> StockTransfer:
    stmt = select(StockTransfer).where(StockTransfer.tenant_id == actor.tenant_id, StockTransfer.id == transfer_id)
    if lock:
        stmt = stmt.with_for_update()
    t = db.scalar(stmt)
    if t is None or not (actor.sees_store(t.from_store_id) or actor.sees_store(t.to_store_id)):
        raise NotFound(N_("Stock transfer not found."))
    return t


def get_transfer(db: Session, actor: Actor, transfer_id: uuid.UUID) -> TransferOut:
    actor.require("inventory.view")
    t = _load(db, actor, transfer_id)
    rows = _lines(db, actor, t)
    refs = ledger.refs(db, actor, [x.product_id for x in rows])
    return _out(t, [TransferLineOut(product_id=x.product_id, product=refs.get(x.product_id), quantity=x.quantity,
                                    received_quantity=x.received_quantity,
                                    difference=None if x.received_quantity is None
                                    else x.received_quantity - x.quantity) for x in rows])


def list_transfers(db: Session, actor: Actor, *, store_id: uuid.UUID | None = None, status: str = "",
                   page: int = 1, page_size: int = 50) -> tuple[list[TransferOut], int]:
    actor.require("inventory.view")
    stmt = select(StockTransfer).where(StockTransfer.tenant_id == actor.tenant_id)
    if store_id is not None:
        ledger.check_store(db, actor, store_id)
        stmt = stmt.where(or_(StockTransfer.from_store_id == store_id, StockTransfer.to_store_id == store_id))
    elif not actor.all_stores:
        ids = list(actor.store_ids) or [uuid.UUID(int=0)]
        stmt = stmt.where(or_(StockTransfer.from_store_id.in_(ids), StockTransfer.to_store_id.in_(ids)))
    if status:
        stmt = stmt.where(StockTransfer.status == status)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(StockTransfer.created_at.desc(), StockTransfer.id.desc())
                      .offset((page - 1) * page_size).limit(page_size)).all()
    return [_out(t) for t in rows], total


def _duplicates(lines: list, field: str = "lines") -> list[FieldError]:
    seen: set[uuid.UUID] = set()
    errors = []
    for i, ln in enumerate(lines):
        if ln.product_id in seen:
            errors.append(FieldError(f"{field}[{i}].product_id", N_("This product is already on another line."),
                                     {}, "duplicate"))
        seen.add(ln.product_id)
    return errors


@use_case
def create_transfer(db: Session, actor: Actor, data: TransferIn) -> TransferOut:
    actor.require("inventory.transfer")
    from_name = ledger.check_store(db, actor, data.from_store_id, "from_store_id")
    to_name = ledger.check_store(db, actor, data.to_store_id, "to_store_id")
    errors = []
    if data.from_store_id == data.to_store_id:
        errors.append(FieldError("to_store_id", N_("Choose another store than the source."), {}, "same_store"))
    errors += [FieldError(f"lines[{i}].quantity", N_("Must be greater than zero."), {}, "not_positive")
               for i, ln in enumerate(data.lines) if ln.quantity <= 0]
    errors += _duplicates(data.lines)
    if errors:
        raise Invalid(errors=errors)
    products = ledger.load_products(db, actor, [ln.product_id for ln in data.lines])
    t = StockTransfer(tenant_id=actor.tenant_id, id=uuid7(), number=ledger.next_number(db, actor.tenant_id, "DB"),
                      from_store_id=data.from_store_id, to_store_id=data.to_store_id, note=data.note,
                      line_count=len(data.lines), created_by_name=actor.display_name or actor.username)
    db.add(t)
    db.flush()
    db.add_all([StockTransferLine(tenant_id=actor.tenant_id, transfer_id=t.id, product_id=ln.product_id,
                                  quantity=ln.quantity, unit_cost=products[ln.product_id].cost) for ln in data.lines])
    db.flush()
    audit.record(db, actor, "stock.transfer.create", target_type="stock_transfer", target_id=t.id,
                 target_label=t.number, store_id=data.from_store_id,
                 after={"from": from_name, "to": to_name, "note": data.note,
                        "lines": [{"sku": products[ln.product_id].sku, "quantity": milli_to_str(ln.quantity)}
                                  for ln in data.lines]})
    if data.ship:
        _ship(db, actor, t)
    return get_transfer(db, actor, t.id)


def _ship(db: Session, actor: Actor, t: StockTransfer) -> None:
    lines = _lines(db, actor, t)
    ledger.apply_movements(db, actor, t.from_store_id, [(x.product_id, -x.quantity, x.unit_cost) for x in lines],
                           "transfer_out", "transfer", t.id, note=t.number)
    t.status, t.shipped_at, t.shipped_by_name = "in_transit", clock.now(), actor.display_name or actor.username
    audit.record(db, actor, "stock.transfer.ship", target_type="stock_transfer", target_id=t.id,
                 target_label=t.number, store_id=t.from_store_id, before={"status": "draft"},
                 after={"status": "in_transit"})


@use_case
def ship_transfer(db: Session, actor: Actor, transfer_id: uuid.UUID) -> TransferOut:
    actor.require("inventory.transfer")
    t = _load(db, actor, transfer_id, lock=True)
    if not actor.sees_store(t.from_store_id):
        raise NotFound(N_("Stock transfer not found."))
    if t.status != "draft":
        raise Conflict(N_("Only a draft transfer can be shipped (this one is %(status)s)."),
                       code="transfer_not_draft", params={"status": t.status})
    _ship(db, actor, t)
    return get_transfer(db, actor, t.id)


@use_case
def receive_transfer(db: Session, actor: Actor, transfer_id: uuid.UUID, data: ReceiveIn) -> TransferOut:
    actor.require("inventory.transfer")
    t = _load(db, actor, transfer_id, lock=True)
    if not actor.sees_store(t.to_store_id):
        raise NotFound(N_("Stock transfer not found."))
    if t.status != "in_transit":
        raise Conflict(N_("Only a transfer in transit can be received (this one is %(status)s)."),
                       code="transfer_not_in_transit", params={"status": t.status})
    lines = {x.product_id: x for x in _lines(db, actor, t)}
    received = {pid: x.quantity for pid, x in lines.items()}
    if data.lines is not None:
        errors = _duplicates(data.lines)
        received = dict.fromkeys(lines, 0)
        for i, ln in enumerate(data.lines):
            shipped = lines.get(ln.product_id)
            if shipped is None:
                errors.append(FieldError(f"lines[{i}].product_id", N_("This product is not on the transfer."), {},
                                         "not_on_transfer"))
            elif ln.quantity < 0 or ln.quantity > shipped.quantity:
                errors.append(FieldError(f"lines[{i}].quantity", N_("Between 0 and the shipped %(shipped)s."),
                                         {"shipped": milli_to_str(shipped.quantity)}, "out_of_range"))
            else:
                received[ln.product_id] = ln.quantity
        if errors:
            raise Invalid(errors=errors)
    ledger.apply_movements(db, actor, t.to_store_id,
                           [(pid, q, lines[pid].unit_cost) for pid, q in received.items()],
                           "transfer_in", "transfer", t.id, note=t.number)
    for pid, x in lines.items():
        x.received_quantity = received[pid]
    t.status, t.received_at, t.received_by_name = "received", clock.now(), actor.display_name or actor.username
    short = {str(pid): milli_to_str(x.quantity - received[pid]) for pid, x in lines.items()
             if received[pid] != x.quantity}
    audit.record(db, actor, "stock.transfer.receive", target_type="stock_transfer", target_id=t.id,
                 target_label=t.number, store_id=t.to_store_id, before={"status": "in_transit"},
                 after={"status": "received"}, details={"short": short} if short else None)
    db.flush()
    return get_transfer(db, actor, t.id)


@use_case
def cancel_transfer(db: Session, actor: Actor, transfer_id: uuid.UUID) -> TransferOut:
    actor.require("inventory.transfer")
    t = _load(db, actor, transfer_id, lock=True)
    if t.status != "draft":
        raise Conflict(N_("Only a transfer that has not been shipped can be cancelled."),
                       code="transfer_not_draft", params={"status": t.status})
    t.status, t.cancelled_at = "cancelled", clock.now()
    audit.record(db, actor, "stock.transfer.cancel", target_type="stock_transfer", target_id=t.id,
                 target_label=t.number, store_id=t.from_store_id, before={"status": "draft"},
                 after={"status": "cancelled"})
    db.flush()
    return get_transfer(db, actor, t.id)
