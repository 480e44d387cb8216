"""The approvals page (审批): requests waiting for a manager, and those already decided."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cloudpos.approvals import service
from cloudpos.approvals.schemas import DecisionIn
from cloudpos.context import Actor
from cloudpos.errors import NotFound, Problem
from cloudpos.i18n import N_
from cloudpos.web.deps import authenticated, get_db, requires
from cloudpos.web.forms import build, form_data, parse_uuid, problem_errors, redirect, text
from cloudpos.web.routing import APIRouter
from cloudpos.web.templating import render

router = APIRouter()

PAGE_SIZE = 30
TABS = [("pending", N_("Awaiting decision")), ("approved", N_("Approved")), ("rejected", N_("Rejected")),
        ("all", N_("All"))]
STATUS = {"pending": N_("Awaiting decision"), "approved": N_("Approved"), "rejected": N_("Rejected")}


def _page(request: Request, status: int = 200, form_error: str = "", **ctx) -> HTMLResponse:
    actor, db = ctx.pop("actor"), ctx.pop("db")
    q = request.query_params
    tab = q.get("status", "pending")
    tab = tab if tab in dict(TABS) else "pending"
    raw = q.get("page", "")
    page = int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1
    items, total = service.list_requests(db, actor, None if tab == "all" else tab, page, PAGE_SIZE)
    return render(request, "approvals/list.html", status_code=status, db=db, items=items, total=total, page=page,
                  page_size=PAGE_SIZE, tab=tab, tabs=TABS, status_labels=STATUS, form_error=form_error,
                  pending=service.pending_count(db, actor), **ctx)


@router.get("/approvals", response_class=HTMLResponse)
def approval_list(request: Request, actor: Actor = Depends(authenticated()), db: Session = Depends(get_db)):
    return _page(request, actor=actor, db=db)


def _decide(request: Request, approval_id: str, form: FormData, actor: Actor, db: Session, approve: bool):
    req_id = parse_uuid(approval_id)
    try:
        if req_id is None:
            raise NotFound(N_("Approval request not found."))
        data = build(DecisionIn, {"note": text(form, "note")})
        service.decide(db, actor, req_id, approve, data.note)
    except Problem as p:
        errors, general = problem_errors(p, getattr(request.state, "locale", "zh_CN"), set())
        return _page(request, status=p.status if p.status >= 400 else 422, form_error=general, actor=actor, db=db)
    return redirect("/approvals", "approved" if approve else "rejected")


@router.post("/approvals/{approval_id}/approve", response_class=HTMLResponse)
def approve(approval_id: str, request: Request, form: FormData = Depends(form_data),
            actor: Actor = Depends(requires("approval.decide")), db: Session = Depends(get_db)):
    return _decide(request, approval_id, form, actor, db, True)


@router.post("/approvals/{approval_id}/reject", response_class=HTMLResponse)
def reject(approval_id: str, request: Request, form: FormData = Depends(form_data),
           actor: Actor = Depends(requires("approval.decide")), db: Session = Depends(get_db)):
    return _decide(request, approval_id, form, actor, db, False)
