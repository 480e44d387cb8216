"""The customer display (客显): the cashier screen writes the current state; the display reads it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.context import Actor
from cloudpos.sales.models import DisplayState

MAX_LINES = 60


def _clean(state: dict[str, Any]) -> dict[str, Any]:
    """Only what a customer may see, bounded in size."""
    lines = [{"name": str(ln.get("name", ""))[:60], "quantity": str(ln.get("quantity", ""))[:12],
              "amount": int(ln.get("amount", 0) or 0), "discount": int(ln.get("discount", 0) or 0)}
             for ln in (state.get("lines") or [])[:MAX_LINES] if isinstance(ln, dict)]
    return {"phase": str(state.get("phase", "cart"))[:12], "lines": lines,
            "subtotal": int(state.get("subtotal", 0) or 0), "discount_total": int(state.get("discount_total", 0) or 0),
            "total": int(state.get("total", 0) or 0), "paid": int(state.get("paid", 0) or 0),
            "change": int(state.get("change", 0) or 0), "member": str(state.get("member", ""))[:40],
            "discounts": [str(x)[:80] for x in (state.get("discounts") or [])[:10]]}


def set_state(db: Session, actor: Actor, terminal_id: uuid.UUID, state: dict[str, Any]) -> int:
    clean = _clean(state)
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.execute(insert(DisplayState).values(tenant_id=actor.tenant_id, terminal_id=terminal_id, version=0, state={},
                                           updated_at=clock.now())
               .on_conflict_do_nothing(index_elements=["tenant_id", "terminal_id"]))
    db.execute(update(DisplayState).where(DisplayState.tenant_id == actor.tenant_id,
                                          DisplayState.terminal_id == terminal_id)
               .values(version=DisplayState.version + 1, state=clean, updated_at=clock.now()))
    db.commit()
    return get_state(db, actor.tenant_id, terminal_id)[0]


def get_state(db: Session, tenant_id: uuid.UUID, terminal_id: uuid.UUID) -> tuple[int, dict[str, Any]]:
    row = db.execute(select(DisplayState.version, DisplayState.state).where(
        DisplayState.tenant_id == tenant_id, DisplayState.terminal_id == terminal_id)).one_or_none()
    return (row.version, row.state) if row else (0, {})
