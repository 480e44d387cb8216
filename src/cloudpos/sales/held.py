"""挂单/取单: park a cart with a note, serve the next customer, recall it later from any terminal of the store."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, NotFound
from cloudpos.i18n import N_
from cloudpos.sales.models import HeldCart
from cloudpos.sales.schemas import HeldCartOut, HoldIn
from cloudpos.tenancy import service as tenancy


def to_out(h: HeldCart) -> HeldCartOut:
    return HeldCartOut(id=h.id, store_id=h.store_id, terminal_id=h.terminal_id, employee_name=h.employee_name,
                       note=h.note, cart=h.cart, total=h.total, status=h.status, created_at=h.created_at)


@use_case
def hold(db: Session, actor: Actor, data: HoldIn) -> HeldCartOut:
    actor.require("sale.create")
    tenancy.get_store(db, actor, data.store_id)  # 404 for a store that is not the caller's
    h = HeldCart(tenant_id=actor.tenant_id, store_id=data.store_id, terminal_id=data.terminal_id,
                 employee_id=actor.employee_id or uuid.UUID(int=0), employee_name=actor.display_name,
                 note=data.note, cart=data.cart, total=data.total)
    db.add(h)
    db.flush()
    audit.record(db, actor, "cart.hold", target_type="held_cart", target_id=h.id, target_label=data.note,
                 details={"total": data.total}, store_id=data.store_id)
    return to_out(h)


def list_held(db: Session, actor: Actor, store_id: uuid.UUID) -> list[HeldCartOut]:
    tenancy.get_store(db, actor, store_id)
    rows = db.scalars(select(HeldCart).where(HeldCart.tenant_id == actor.tenant_id, HeldCart.store_id == store_id,
                                             HeldCart.status == "held").order_by(HeldCart.created_at)).all()
    return [to_out(h) for h in rows]


@use_case
def recall(db: Session, actor: Actor, held_id: uuid.UUID, drop: bool = False) -> HeldCartOut:
    """Take a held cart back (or drop it). Two terminals recalling at once: exactly one wins."""
    actor.require("sale.create")
    h = db.get(HeldCart, (actor.tenant_id, held_id))
    if h is None or not actor.sees_store(h.store_id):
        raise NotFound(N_("Held cart not found."))
    status = "dropped" if drop else "recalled"
    won = db.execute(update(HeldCart).where(HeldCart.tenant_id == actor.tenant_id, HeldCart.id == held_id,
                                            HeldCart.status == "held")
                     .values(status=status, closed_at=clock.now())).rowcount
    if not won:
        raise Conflict(N_("This cart was already recalled at another terminal."), code="already_recalled")
    db.refresh(h)
    audit.record(db, actor, f"cart.{'drop' if drop else 'recall'}", target_type="held_cart", target_id=h.id,
                 target_label=h.note, store_id=h.store_id)
    return to_out(h)
