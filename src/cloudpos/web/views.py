"""The dashboard (landing page after login): greeting, stores, approvals waiting, recent audit
events and the first-run guide (新手引导) for a new merchant."""

from __future__ import annotations

import uuid

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import String, exists, literal, select, union_all
from sqlalchemy.orm import Session
from starlette.routing import Match

from cloudpos import clock
from cloudpos.approvals import service as approvals
from cloudpos.audit import service as audit
from cloudpos.audit.models import AuditEvent
from cloudpos.audit.views import action_label, result_badge
from cloudpos.auth import employees
from cloudpos.context import Actor
from cloudpos.i18n import N_
from cloudpos.tenancy import service as tenancy
from cloudpos.web.deps import authenticated, get_db
from cloudpos.web.routing import APIRouter
from cloudpos.web.templating import render

router = APIRouter()

# The first-run guide: (key, title, hint, candidate pages, permission, audit actions that mean "done"). The
# first candidate page that exists is linked; while none does, the step shows "coming soon". A step is done
# once the merchant's audit log holds one of its actions; when every step is done the guide goes away.
GUIDE_STEPS = [
    ("products", N_("Add products or import them from Excel"),
     N_("Scan barcodes or upload your existing product list."), ("/catalog/products", "/catalog/import"),
     "catalog.edit", ("catalog.product.create", "catalog.import")),
    ("payments", N_("Set up payment methods"),
     N_("Cash, WeChat Pay, Alipay, bank cards and stored value."), ("/settings/payments", "/payments/methods"),
     "payment.manage", ("payment.method.update", "payment.provider.update")),
    ("printer", N_("Set up the receipt printer"),
     N_("Connect the printer and choose what the receipt shows."), ("/settings/printing", "/settings/printers"),
     "printer.manage", ("printer.create",)),
    ("staff", N_("Add your employees"),
     N_("Give each cashier their own account, role and PIN."), ("/staff/employees/new",), "staff.manage",
     ("employee.create",)),
    ("test_sale", N_("Make a test sale"),
     N_("Ring up an item at the till to check that everything works."), ("/pos", "/sales/pos", "/till"),
     "sale.create", ("sale.create",)),
]


def guide_done(db: Session, tenant_id: uuid.UUID) -> set[str]:
    """The guide's steps this merchant has done: one statement of EXISTS probes on the (tenant, action)
    index, each stopping at its first event (a busy store has many sale.create events)."""
    events = AuditEvent.__table__
    probes = [select(literal(key, String).label("k")).where(exists().where(
        events.c.tenant_id == tenant_id, events.c.action.in_(actions))) for key, *_, actions in GUIDE_STEPS]
    return set(db.execute(union_all(*probes)).scalars())


def page_exists(request: Request, path: str) -> bool:
    """Whether some route answers GET `path` (routers are nested, so ask them rather than list paths)."""
    scope = {"type": "http", "path": path, "method": "GET", "root_path": "", "query_string": b"", "headers": []}
    return any(route.matches(scope)[0] == Match.FULL for route in request.app.routes)


def _greeting(hour: int) -> str:
    if hour < 5:
        return N_("Good evening")
    if hour < 12:
        return N_("Good morning")
    if hour < 18:
        return N_("Good afternoon")
    return N_("Good evening")


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, actor: Actor = Depends(authenticated()), db: Session = Depends(get_db)):
    stores = tenancy.list_stores(db, actor)
    terminals = tenancy.list_terminals(db, actor)
    per_store = {s.id: [t for t in terminals if t.store_id == s.id] for s in stores}
    tz = stores[0].timezone if stores else "Asia/Shanghai"
    from zoneinfo import ZoneInfo

    local_now = clock.now().astimezone(ZoneInfo(tz))
    hour = local_now.hour
    staff_total = None
    if actor.can("staff.view"):
        _, staff_total = employees.list_employees(db, actor, active=True, page=1, page_size=1)
    events = []
    if actor.can("audit.view"):
        events, _ = audit.query(db, actor, audit.EventFilter(), 1, 8)
    show_guide = actor.can("settings.manage") or actor.is_owner
    done = guide_done(db, actor.tenant_id) if show_guide else set()
    steps = [
        {"key": k, "title": t, "hint": h, "url": next((u for u in urls if page_exists(request, u)), ""),
         "allowed": actor.can(p), "done": k in done}
        for k, t, h, urls, p, _actions in GUIDE_STEPS
    ]
    show_guide = show_guide and len(done) < len(GUIDE_STEPS)
    return render(request, "web/dashboard.html", db=db, greeting=_greeting(hour), stores=stores,
                  per_store=per_store, terminals=terminals, staff_total=staff_total,
                  pending=approvals.pending_count(db, actor), events=events, action_label=action_label,
                  result_badge=result_badge, steps=steps, show_guide=show_guide, tz=tz,
                  merchant=tenancy.merchant(db, actor), today=local_now.strftime("%Y-%m-%d"))
