"""Reading the audit log. There is no route that edits or deletes an event."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from cloudpos.audit import service
from cloudpos.context import Actor
from cloudpos.schemas import Page, PageNo, PageSize
from cloudpos.web.deps import get_db, requires
from cloudpos.web.routing import APIRouter

router = APIRouter(tags=["audit"])


class AuditEventOut(BaseModel):
    id: uuid.UUID
    seq: int
    occurred_at: datetime
    actor_id: uuid.UUID | None
    actor_name: str
    store_id: uuid.UUID | None
    terminal_id: uuid.UUID | None
    ip: str
    action: str
    target_type: str
    target_id: str
    target_label: str
    summary: dict[str, Any]
    result: str
    prev_hash: str
    hash: str


@router.get("/audit-events", response_model=Page[AuditEventOut])
def list_events(actor_q: str | None = Query(None, alias="actor", max_length=60),
                action: str | None = Query(None, max_length=60),
                result: Literal["ok", "denied", "failed"] | None = None,
                target_id: str | None = Query(None, max_length=64),
                since: datetime | None = None, until: datetime | None = None,
                page: PageNo = 1, page_size: PageSize = 50,
                actor: Actor = Depends(requires("audit.view")), db: Session = Depends(get_db)) -> Page[AuditEventOut]:
    f = service.EventFilter(actor=actor_q, action=action, result=result, target_id=target_id,
                            since=_aware(since), until=_aware(until))
    rows, total = service.query(db, actor, f, page, page_size)
    return Page(items=[AuditEventOut.model_validate(r, from_attributes=True) for r in rows], total=total,
                page=page, page_size=page_size)


def _aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
