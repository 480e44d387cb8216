"""The approval framework (审批).

A module registers each sensitive operation once (`register`). The merchant's settings say
which of them need approval. Before writing anything, the operation's use case calls `gate`:
- not marked → go ahead;
- a manager's credentials given (override at the terminal) → checked, audited, go ahead;
- otherwise → an approval request is stored and audited, and ApprovalRequired is raised.
A manager then approves (the registered handler runs the operation, audited) or rejects.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.approvals.models import ApprovalRequest
from cloudpos.approvals.schemas import ApprovalOut, ManagerOverride, OperationOut
from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import ApprovalRequired, Conflict, Forbidden, NotFound
from cloudpos.i18n import N_, gettext

Handler = Callable[[Session, Actor, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Operation:
    code: str
    name: str  # English source string, translated on display
    permission: str  # what the approver (and the one who executes) must hold
    handler: Handler


OPERATIONS: dict[str, Operation] = {}


def register(code: str, name: str, permission: str, handler: Handler) -> None:
    OPERATIONS[code] = Operation(code, name, permission, handler)


@dataclass(frozen=True)
class Approved:
    """Proof that the operation may proceed: who authorized it and how."""

    approver: Actor | None
    how: str  # not_required | override | request
    request_id: uuid.UUID | None = None


def required(db: Session, tenant_id: uuid.UUID, operation: str) -> bool:
    from cloudpos.tenancy import service as tenancy

    return operation in tenancy.tenant_settings(db, tenant_id).approval_required


def _check_manager(db: Session, actor: Actor, op: Operation, override: ManagerOverride) -> Actor:
    from cloudpos.auth import service as auth

    manager = auth.verify_credentials(db, actor.tenant_id, override.username, override.password, ip=actor.ip)
    if manager is None or not manager.can("approval.decide") or not manager.can(op.permission):
        audit.record(db, actor, "approval.override", target_type="operation", target_label=op.code,
                     result="failed", details={"manager": override.username})
        db.commit()
        raise Forbidden(N_("These manager credentials cannot authorize this operation."), code="override_denied")
    return manager


def gate(db: Session, actor: Actor, operation: str, payload: dict[str, Any], summary: str, *,
         override: ManagerOverride | None = None, approved: Approved | None = None,
         store_id: uuid.UUID | None = None) -> Approved:
    """Call before the operation writes anything (a parked request is committed here)."""
    if approved is not None:
        return approved
    if not required(db, actor.tenant_id, operation):
        return Approved(None, "not_required")
    op = OPERATIONS[operation]
    if override is not None:
        manager = _check_manager(db, actor, op, override)
        audit.record(db, actor, "approval.override", target_type="operation", target_label=op.code,
                     details={"approved_by": manager.username, "summary": summary})
        return Approved(manager, "override")
    req = ApprovalRequest(tenant_id=actor.tenant_id, operation=operation, payload=audit.normalize(payload),
                          summary=summary[:300], store_id=store_id, requested_by=actor.employee_id or uuid.UUID(int=0),
                          requested_by_name=actor.display_name)
    db.add(req)
    db.flush()
    audit.record(db, actor, "approval.request", target_type="approval", target_id=req.id, target_label=op.code,
                 details={"summary": summary})
    db.commit()
    raise ApprovalRequired(N_("A manager must approve this. Request sent for approval."),
                           extra={"approval_id": str(req.id), "operation": operation})


def _to_out(r: ApprovalRequest) -> ApprovalOut:
    op = OPERATIONS.get(r.operation)
    return ApprovalOut(id=r.id, operation=r.operation, operation_name=gettext(op.name) if op else r.operation,
                       summary=r.summary, payload=r.payload, status=r.status, requested_by_name=r.requested_by_name,
                       requested_at=r.requested_at, decided_by_name=r.decided_by_name, decided_at=r.decided_at,
                       note=r.note)


def list_requests(db: Session, actor: Actor, status: str | None, page: int,
                  page_size: int) -> tuple[list[ApprovalOut], int]:
    stmt = select(ApprovalRequest).where(ApprovalRequest.tenant_id == actor.tenant_id)
    if not actor.can("approval.decide"):
        stmt = stmt.where(ApprovalRequest.requested_by == actor.employee_id)
    if status:
        stmt = stmt.where(ApprovalRequest.status == status)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(ApprovalRequest.requested_at.desc()).offset((page - 1) * page_size)
                      .limit(page_size)).all()
    return [_to_out(r) for r in rows], total


def pending_count(db: Session, actor: Actor) -> int:
    if not actor.can("approval.decide"):
        return 0
    return db.scalar(select(func.count()).where(ApprovalRequest.tenant_id == actor.tenant_id,
                                                ApprovalRequest.status == "pending")) or 0


@use_case
def decide(db: Session, actor: Actor, request_id: uuid.UUID, approve: bool, note: str = "") -> ApprovalOut:
    actor.require("approval.decide")
    req = db.get(ApprovalRequest, (actor.tenant_id, request_id))
    if req is None:
        raise NotFound(N_("Approval request not found."))
    if req.status != "pending":
        raise Conflict(N_("This request has already been decided."), code="already_decided")
    op = OPERATIONS[req.operation]
    actor.require(op.permission)
    if req.requested_by == actor.employee_id and not actor.is_owner:
        raise Forbidden(N_("You cannot approve your own request."), code="self_approval")
    req.status = "approved" if approve else "rejected"
    req.decided_by, req.decided_by_name = actor.employee_id, actor.display_name
    req.decided_at, req.note = clock.now(), note
    audit.record(db, actor, "approval.approve" if approve else "approval.reject", target_type="approval",
                 target_id=req.id, target_label=req.operation, details={"summary": req.summary, "note": note})
    if approve:
        req.result = audit.normalize(op.handler(db, actor, req.payload)) or {}
    return _to_out(req)


def operations(db: Session, actor: Actor) -> list[OperationOut]:
    from cloudpos.tenancy import service as tenancy

    marked = set(tenancy.tenant_settings(db, actor.tenant_id).approval_required)
    return [OperationOut(code=o.code, name=gettext(o.name), permission=o.permission, required=o.code in marked)
            for o in OPERATIONS.values()]
