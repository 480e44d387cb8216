"""HTML pages: the cashier screen (/pos), the customer display, PIN quick-switch, sales and shifts."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date

from fastapi import Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cloudpos.audit.views import register_actions
from cloudpos.auth import sessions
from cloudpos.context import Actor
from cloudpos.errors import NotFound, Problem
from cloudpos.i18n import N_, _
from cloudpos.payments import service as payments
from cloudpos.sales import display, service
from cloudpos.sales.schemas import ShiftOpenIn
from cloudpos.tenancy import service as tenancy
from cloudpos.tenancy.models import Tenant
from cloudpos.web import nav
from cloudpos.web.deps import SESSION_COOKIE, client_ip, get_db, public, requires
from cloudpos.web.routing import APIRouter
from cloudpos.web.templating import render

router = APIRouter()
register_actions({
    "sale.create": N_("Sale completed"),
    "sale.refund": N_("Refund"),
    "sale.void": N_("Sale voided"),
    "sale.reprint": N_("Receipt reprinted"),
    "shift.open": N_("Shift opened"),
    "shift.close": N_("Shift closed (handover)"),
    "shift.cash_in": N_("Cash put into the drawer"),
    "shift.cash_out": N_("Cash taken from the drawer"),
    "cart.hold": N_("Cart held"),
    "cart.recall": N_("Held cart recalled"),
    "cart.drop": N_("Held cart discarded"),
}, groups=(("sale.", N_("Sales and refunds")), ("shift.", N_("Shifts and cash drawer")), ("cart.", N_("Held carts"))))
TERMINAL_COOKIE = "cloudpos_terminal"

nav.register(nav.NavItem("sales", N_("Cashier (POS)"), "/pos", "sale.create", "display"))
nav.register(nav.NavItem("sales", N_("Sales orders"), "/sales", "sale.view", "receipt"))
nav.register(nav.NavItem("sales", N_("Shifts"), "/shifts", "shift.manage", "clock-history"))


def _signer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.secret, salt="cloudpos-terminal")


def terminal_from_cookie(request: Request) -> dict | None:
    raw = request.cookies.get(TERMINAL_COOKIE)
    if not raw:
        return None
    try:
        data = _signer(request).loads(raw)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None


def _terminal_for(request: Request, actor: Actor, db: Session):
    data = terminal_from_cookie(request)
    if not data or data.get("tenant") != str(actor.tenant_id):
        return None
    try:
        tid = uuid.UUID(data["terminal"])
    except (KeyError, ValueError):
        return None
    return next((t for t in tenancy.list_terminals(db, actor) if t.id == tid), None)


@router.get("/pos", response_class=HTMLResponse)
def pos(request: Request, actor: Actor = Depends(requires("sale.create")), db: Session = Depends(get_db)) -> Response:
    terminal = _terminal_for(request, actor, db)
    if terminal is None:
        stores = {s.id: s for s in tenancy.list_stores(db, actor)}
        terminals = [t for t in tenancy.list_terminals(db, actor) if t.store_id in stores and t.active]
        return render(request, "sales/pos_setup.html", step="terminal", terminals=terminals, stores=stores)
    store = tenancy.get_store(db, actor, terminal.store_id)
    shift = service.current_shift(db, actor, terminal.id)
    if shift is None:
        return render(request, "sales/pos_setup.html", step="shift", terminal=terminal, store=store)
    methods = [m for m in payments.methods_for_store(db, actor, store.id) if m.enabled]
    registered = bool((terminal_from_cookie(request) or {}).get("registered"))
    return render(request, "sales/pos.html", terminal=terminal, store=store, shift=service.shift_out(shift),
                  methods=methods, registered=registered,
                  config=json.dumps({"store_id": str(store.id), "terminal_id": str(terminal.id),
                                     "shift_id": str(shift.id), "cashier": actor.display_name,
                                     "max_discount_bp": actor.max_discount_bp,
                                     "can_refund": actor.can("sale.refund"),
                                     "can_void": actor.can("sale.void"),
                                     "can_remove": actor.can("sale.line.remove"),
                                     "can_discount": actor.can("sale.discount"),
                                     "methods": [m.code for m in methods]}))


@router.post("/pos/terminal")
def choose_terminal(request: Request, terminal_id: uuid.UUID = Form(...),
                    actor: Actor = Depends(requires("sale.create")), db: Session = Depends(get_db)) -> Response:
    terminal = next((t for t in tenancy.list_terminals(db, actor) if t.id == terminal_id), None)
    if terminal is None:
        raise NotFound(N_("Terminal not found."))
    # A terminal set up by a manager is "registered": cashiers may then switch on it with their PIN.
    value = _signer(request).dumps({"tenant": str(actor.tenant_id), "terminal": str(terminal.id),
                                    "registered": actor.can("store.manage")})
    resp = RedirectResponse("/pos", status_code=303)
    resp.set_cookie(TERMINAL_COOKIE, value, max_age=5 * 365 * 86400, httponly=True, samesite="lax")
    return resp


@router.post("/pos/terminal/forget")
def forget_terminal(actor: Actor = Depends(requires("sale.create"))) -> Response:
    resp = RedirectResponse("/pos", status_code=303)
    resp.delete_cookie(TERMINAL_COOKIE)
    return resp


@router.post("/pos/shift")
def open_shift(request: Request, opening_float: str = Form("0"), actor: Actor = Depends(requires("shift.manage")),
               db: Session = Depends(get_db)) -> Response:
    terminal = _terminal_for(request, actor, db)
    if terminal is None:
        return RedirectResponse("/pos", status_code=303)
    try:
        from decimal import Decimal

        fen = int(Decimal(opening_float.strip() or "0") * 100)
        service.open_shift(db, actor, ShiftOpenIn(terminal_id=terminal.id, opening_float=fen))
    except (ArithmeticError, ValueError, Problem):
        store = tenancy.get_store(db, actor, terminal.store_id)
        return render(request, "sales/pos_setup.html", status_code=422, step="shift", terminal=terminal,
                      store=store, error=_("Enter the opening cash as an amount, e.g. 500 or 500.00."))
    return RedirectResponse("/pos", status_code=303)


@router.post("/pos/sign-out")
def pos_sign_out(actor: Actor = Depends(requires("sale.create")), db: Session = Depends(get_db)) -> Response:
    """Someone else takes the till (a manager for a refund, the next cashier) on a terminal without PIN
    switching: sign out and sign in again, back to this till; the terminal and its open shift stay."""
    sessions.logout(db, actor)
    resp = RedirectResponse("/login?next=/pos", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/pos/switch", response_class=HTMLResponse, dependencies=[Depends(public())])
def pin_page(request: Request, db: Session = Depends(get_db)) -> Response:
    data = terminal_from_cookie(request)
    if not data or not data.get("registered"):
        return RedirectResponse("/login?next=/pos", status_code=303)
    return render(request, "sales/pos_switch.html")


@router.post("/pos/switch", dependencies=[Depends(public())])
def pin_login(request: Request, username: str = Form(""), pin: str = Form(""),
              db: Session = Depends(get_db)) -> Response:
    data = terminal_from_cookie(request)
    if not data or not data.get("registered"):
        return RedirectResponse("/login?next=/pos", status_code=303)
    tenant = db.get(Tenant, uuid.UUID(data["tenant"]))
    try:
        result = sessions.login(db, tenant.code, username.strip()[:40], pin.strip()[:6], ip=client_ip(request),
                                user_agent=request.headers.get("user-agent", ""), kind="web",
                                terminal_id=uuid.UUID(data["terminal"]), use_pin=True)
    except Problem as p:
        from cloudpos.i18n import gettext

        return render(request, "sales/pos_switch.html", status_code=p.status, username=username,
                      error=gettext(p.detail, request.state.locale, **p.params))
    resp = RedirectResponse("/pos", status_code=303)
    resp.set_cookie(SESSION_COOKIE, result.token, httponly=True, samesite="lax",
                    secure=request.app.state.settings.cookie_secure)
    return resp


@router.get("/pos/display", response_class=HTMLResponse)
def customer_display(request: Request, actor: Actor = Depends(requires("sale.create")),
                     db: Session = Depends(get_db)) -> Response:
    terminal = _terminal_for(request, actor, db)
    if terminal is None:
        return RedirectResponse("/pos", status_code=303)
    store = tenancy.get_store(db, actor, terminal.store_id)
    return render(request, "sales/display.html", terminal=terminal, store=store)


@router.post("/pos/display/state")
async def push_display(request: Request, actor: Actor = Depends(requires("sale.create")),
                       db: Session = Depends(get_db)) -> Response:
    try:
        state = json.loads(await request.body() or b"{}")  # read before any lock is taken
    except ValueError:
        state = {}
    terminal = await run_in_threadpool(_terminal_for, request, actor, db)
    if terminal is None:
        raise NotFound(N_("Terminal not found."))
    version = await run_in_threadpool(display.set_state, db, actor, terminal.id,
                                      state if isinstance(state, dict) else {})
    return Response(json.dumps({"version": version}), media_type="application/json")


@router.get("/pos/display/stream")
async def display_stream(request: Request, actor: Actor = Depends(requires("sale.create")),
                         db: Session = Depends(get_db)) -> Response:
    """Server-sent events: the display's state whenever the cashier screen changes it."""
    terminal = await run_in_threadpool(_terminal_for, request, actor, db)
    if terminal is None:
        raise NotFound(N_("Terminal not found."))
    # the request's own session would hold the SQLite write lock (BEGIN IMMEDIATE) for as long as the stream runs
    await run_in_threadpool(db.close)
    factory = request.app.state.sessionmaker

    def read() -> tuple[int, dict]:
        with factory() as s:
            return display.get_state(s, actor.tenant_id, terminal.id)

    async def events():
        last = -1
        for _tick in range(20 * 60 * 60):  # an hour at most; the browser reconnects by itself
            if await request.is_disconnected():
                return
            version, state = await run_in_threadpool(read)
            if version != last:
                last = version
                yield f"id: {version}\ndata: {json.dumps(state, ensure_ascii=False)}\n\n"
            elif _tick % 50 == 0:
                yield ": keep-alive\n\n"
            await asyncio.sleep(0.3)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/sales", response_class=HTMLResponse)
def sales_page(request: Request, store_id: uuid.UUID | None = None, date_from: date | None = Query(None, alias="from"),
               date_to: date | None = Query(None, alias="to"), receipt_no: str = Query("", max_length=40),
               method: str = Query("", max_length=20), kind: str = Query("", max_length=10),
               page: int = Query(1, ge=1, le=100000), actor: Actor = Depends(requires("sale.view")),
               db: Session = Depends(get_db)) -> Response:
    f = service.SaleFilter(store_id, date_from, date_to, receipt_no or None, None, None, method or None,
                           kind if kind in ("sale", "refund", "void") else None)
    rows, total = service.list_sales(db, actor, f, page, 50)
    stores = {s.id: s for s in tenancy.list_stores(db, actor)}
    return render(request, "sales/sales_list.html", rows=rows, total=total, page=page, pages=max(1, -(-total // 50)),
                  stores=stores, f=f, methods=["cash", "card", "wechat", "alipay", "stored_value", "points", "coupon"])


@router.get("/sales/{sale_id}", response_class=HTMLResponse)
def sale_page(request: Request, sale_id: uuid.UUID, actor: Actor = Depends(requires("sale.view")),
              db: Session = Depends(get_db)) -> Response:
    s = service.get_sale_row(db, actor, sale_id)
    out = service.sale_out(db, actor, s)
    from sqlalchemy import select

    from cloudpos.sales.models import Sale

    docs = db.scalars(select(Sale).where(Sale.tenant_id == actor.tenant_id, Sale.original_id == s.id)
                      .order_by(Sale.created_at)).all()
    replacement = db.scalar(select(Sale).where(Sale.tenant_id == actor.tenant_id, Sale.replaces_id == s.id))
    return render(request, "sales/sale_detail.html", sale=out, docs=docs, replacement=replacement,
                  store=tenancy.get_store(db, actor, s.store_id))


@router.get("/shifts", response_class=HTMLResponse)
def shifts_page(request: Request, page: int = Query(1, ge=1, le=100000),
                actor: Actor = Depends(requires("shift.manage")), db: Session = Depends(get_db)) -> Response:
    items, total = service.list_shifts(db, actor, None, None, page, 50)
    terminals = {t.id: t for t in tenancy.list_terminals(db, actor)}
    return render(request, "sales/shifts.html", shifts=items, total=total, page=page, terminals=terminals)


@router.get("/shifts/{shift_id}", response_class=HTMLResponse)
def shift_page(request: Request, shift_id: uuid.UUID, actor: Actor = Depends(requires("shift.manage")),
               db: Session = Depends(get_db)) -> Response:
    rep = service.shift_report(db, actor, shift_id)
    terminals = {t.id: t for t in tenancy.list_terminals(db, actor)}
    return render(request, "sales/shift_report.html", rep=rep, terminal=terminals.get(rep.terminal_id),
                  store=tenancy.get_store(db, actor, rep.store_id))
