"""The audit log page (操作日志): filter, page through, expand an entry. Read-only by design:
there is no route that edits or deletes an event."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudpos.audit import service
from cloudpos.audit.models import AuditEvent
from cloudpos.context import Actor
from cloudpos.i18n import N_, gettext
from cloudpos.web.deps import get_db, requires
from cloudpos.web.routing import APIRouter
from cloudpos.web.templating import render

router = APIRouter()

PAGE_SIZE = 50

# What each recorded action means, for people. Modules add their own actions with `register_actions`;
# tests/unit/test_audit_labels.py checks that every action the code records has a label.
ACTION_LABELS: dict[str, str] = {
    "merchant.signup": N_("Merchant signed up"),
    "auth.login": N_("Logged in"),
    "auth.logout": N_("Logged out"),
    "auth.lockout": N_("Account locked after failed logins"),
    "auth.password.change": N_("Changed own password"),
    "access.denied": N_("Access refused (no permission)"),
    "employee.create": N_("Employee created"),
    "employee.update": N_("Employee changed"),
    "employee.deactivate": N_("Employee deactivated"),
    "employee.password.reset": N_("Employee password reset"),
    "employee.unlock": N_("Employee account unlocked"),
    "role.create": N_("Role created"),
    "role.update": N_("Role changed"),
    "role.delete": N_("Role deleted"),
    "approval.request": N_("Approval requested"),
    "approval.override": N_("Manager override"),
    "approval.approve": N_("Request approved"),
    "approval.reject": N_("Request rejected"),
    "settings.update": N_("Merchant settings changed"),
    "store.create": N_("Store added"),
    "store.update": N_("Store changed"),
    "terminal.create": N_("Terminal added"),
}

ACTION_GROUPS: list[tuple[str, str]] = [
    ("auth.", N_("Logins and passwords")),
    ("employee.", N_("Employees")),
    ("role.", N_("Roles")),
    ("approval.", N_("Approvals")),
    ("store.", N_("Stores")),
]

RESULTS = {"ok": N_("Succeeded"), "denied": N_("Denied"), "failed": N_("Failed")}


def register_actions(labels: dict[str, str], groups: tuple[tuple[str, str], ...] = ()) -> None:
    """A module's action codes with their labels, and the prefixes (ending in a dot: `"stock."`) the log's
    filter offers as one choice for all of them."""
    for code, label in labels.items():
        ACTION_LABELS.setdefault(code, label)
    for prefix, label in groups:
        assert prefix.endswith("."), prefix
        if all(prefix != p for p, _ in ACTION_GROUPS):
            ACTION_GROUPS.append((prefix, label))


def action_label(code: str) -> str:
    label = ACTION_LABELS.get(code)
    return gettext(label) if label else code


def result_badge(result: str) -> tuple[str, str]:
    """(Bootstrap colour, translated label) for an event's result."""
    colour = {"ok": "success", "denied": "warning", "failed": "danger"}.get(result, "secondary")
    return colour, gettext(RESULTS[result]) if result in RESULTS else result


def _json(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _changes(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    before = summary.get("before") or {}
    after = summary.get("after") or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    keys = list(dict.fromkeys([*before, *after]))
    return [(k, _json(before[k]) if k in before else "", _json(after[k]) if k in after else "") for k in keys]


def _details(summary: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, _json(v)) for k, v in summary.items() if k not in ("before", "after") and v not in (None, "", {})]


def _day(value: str, tz: str) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(value), time.min, tzinfo=ZoneInfo(tz))
    except ValueError:
        return None


@router.get("/audit", response_class=HTMLResponse)
def audit_log(request: Request, actor: Actor = Depends(requires("audit.view")), db: Session = Depends(get_db)):
    q = request.query_params
    tz = "Asia/Shanghai"
    who, action, result = q.get("who", "").strip()[:60], q.get("action", "").strip()[:60], q.get("result", "")
    since_s, until_s = q.get("since", "")[:10], q.get("until", "")[:10]
    errors: dict[str, str] = {}
    since = _day(since_s, tz) if since_s else None
    until = _day(until_s, tz) if until_s else None
    if since_s and since is None:
        errors["since"] = gettext(N_("Use the format YYYY-MM-DD."))
    if until_s and until is None:
        errors["until"] = gettext(N_("Use the format YYYY-MM-DD."))
    if since and until and until < since:
        errors["until"] = gettext(N_("The end date is before the start date."))
        until = None
    page = int(q["page"]) if q.get("page", "").isdigit() and 0 < int(q["page"]) < 100_000 else 1
    f = service.EventFilter(actor=who or None, action=action or None,
                            result=result if result in RESULTS else None,
                            since=since, until=until + timedelta(days=1) if until else None)
    rows, total = service.query(db, actor, f, page, PAGE_SIZE)
    names = db.scalars(select(AuditEvent.actor_name).distinct().where(AuditEvent.tenant_id == actor.tenant_id)
                       .order_by(AuditEvent.actor_name).limit(200)).all()
    events = [{"ev": ev, "changes": _changes(ev.summary or {}), "details": _details(ev.summary or {})} for ev in rows]
    return render(request, "audit/list.html", db=db, events=events, total=total, page=page, page_size=PAGE_SIZE,
                  who=who, action=action, result=result, since=since_s, until=until_s, errors=errors,
                  actor_names=names, action_labels=ACTION_LABELS, action_groups=ACTION_GROUPS, results=RESULTS,
                  action_label=action_label, result_badge=result_badge, tz=tz,
                  filtered=any([who, action, result, since_s, until_s]))
