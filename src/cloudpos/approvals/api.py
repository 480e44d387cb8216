"""Approval requests: list, approve, reject; which operations need approval."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import Depends
from sqlalchemy.orm import Session

from cloudpos.approvals import service
from cloudpos.approvals.schemas import ApprovalOut, DecisionIn, OperationOut
from cloudpos.context import Actor
from cloudpos.schemas import Page, PageNo, PageSize
from cloudpos.web.deps import authenticated, get_db, requires
from cloudpos.web.routing import APIRouter

router = APIRouter(tags=["approvals"])


@router.get("/approvals", response_model=Page[ApprovalOut])
def list_approvals(status: Literal["pending", "approved", "rejected"] | None = None, page: PageNo = 1,
                   page_size: PageSize = 50, actor: Actor = Depends(authenticated()),
                   db: Session = Depends(get_db)) -> Page[ApprovalOut]:
    """Managers see every request; others see their own."""
    items, total = service.list_requests(db, actor, status, page, page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.post("/approvals/{approval_id}/approve", response_model=ApprovalOut)
def approve(approval_id: uuid.UUID, data: DecisionIn | None = None,
            actor: Actor = Depends(requires("approval.decide")), db: Session = Depends(get_db)) -> ApprovalOut:
    return service.decide(db, actor, approval_id, True, data.note if data else "")


@router.post("/approvals/{approval_id}/reject", response_model=ApprovalOut)
def reject(approval_id: uuid.UUID, data: DecisionIn | None = None,
           actor: Actor = Depends(requires("approval.decide")), db: Session = Depends(get_db)) -> ApprovalOut:
    return service.decide(db, actor, approval_id, False, data.note if data else "")


@router.get("/approval-operations", response_model=list[OperationOut])
def operations(actor: Actor = Depends(requires("settings.manage")),
               db: Session = Depends(get_db)) -> list[OperationOut]:
    return service.operations(db, actor)
