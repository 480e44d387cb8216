"""HTML pages of the tenancy module: merchant sign-up (商户注册), merchant settings, stores and terminals."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cloudpos.approvals import service as approvals
from cloudpos.auth import sessions
from cloudpos.auth.views import MERCHANT_COOKIE, set_session_cookie
from cloudpos.context import Actor
from cloudpos.errors import FieldError, Invalid, NotFound, Problem
from cloudpos.i18n import N_, _
from cloudpos.money import AmountError, format_yuan, parse_yuan
from cloudpos.tenancy import service
from cloudpos.tenancy.schemas import SettingsPatch, SignupIn, StoreIn, StorePatch, TerminalIn
from cloudpos.web.deps import SESSION_COOKIE, client_ip, get_db, optional_actor, public, requires
from cloudpos.web.forms import build, checked, form_data, parse_uuid, problem_errors, redirect, text, texts
from cloudpos.web.routing import APIRouter
from cloudpos.web.templating import render

router = APIRouter()

# Time zones offered for a store (any valid IANA name is accepted by the API).
TIMEZONES: list[tuple[str, str]] = [
    ("Asia/Shanghai", N_("China Standard Time (Beijing, Shanghai)")),
    ("Asia/Urumqi", N_("Xinjiang Time (Urumqi)")),
    ("Asia/Hong_Kong", N_("Hong Kong")),
    ("Asia/Macau", N_("Macau")),
    ("Asia/Taipei", N_("Taipei")),
    ("Asia/Singapore", N_("Singapore")),
    ("Asia/Kuala_Lumpur", N_("Kuala Lumpur")),
    ("Asia/Bangkok", N_("Bangkok")),
    ("Asia/Tokyo", N_("Tokyo")),
    ("Asia/Seoul", N_("Seoul")),
    ("Australia/Sydney", N_("Sydney")),
    ("Europe/London", N_("London")),
    ("Europe/Paris", N_("Paris, Berlin")),
    ("America/New_York", N_("New York")),
    ("America/Los_Angeles", N_("Los Angeles")),
    ("UTC", N_("UTC")),
]
LANGUAGES: list[tuple[str, str]] = [("zh_CN", "中文（简体）"), ("en", "English")]
CASH_ROUNDING: list[tuple[str, str]] = [
    ("none", N_("No rounding")), ("jiao_down", N_("Down to 0.1 yuan")),
    ("jiao_nearest", N_("Nearest 0.1 yuan")), ("yuan_down", N_("Down to whole yuan")),
    ("yuan_nearest", N_("Nearest whole yuan")),
]
NEGATIVE_STOCK: list[tuple[str, str]] = [
    ("allow", N_("Allow: sell even when the system shows no stock")),
    ("block", N_("Block: refuse a sale that would take stock below zero")),
]


def _locale(request: Request) -> str:
    return getattr(request.state, "locale", "zh_CN")


def _status(p: Problem) -> int:
    return p.status if p.status >= 400 else 422


# --- sign-up ----------------------------------------------------------------------------------

SIGNUP_FIELDS = ("merchant_name", "store_name", "address", "phone", "owner_display_name", "owner_username",
                 "merchant_code")


@router.get("/signup", response_class=HTMLResponse, dependencies=[Depends(public())])
def signup_form(request: Request, db: Session = Depends(get_db)):
    if request.cookies.get(SESSION_COOKIE) and optional_actor(request, db) is not None:
        request.state.actor = None  # the sign-up page never shows the back-office chrome
    return render(request, "tenancy/signup.html", v=dict.fromkeys(SIGNUP_FIELDS, ""))


@router.post("/signup", response_class=HTMLResponse, dependencies=[Depends(public())])
def signup(request: Request, form: FormData = Depends(form_data), db: Session = Depends(get_db)):
    values = {k: text(form, k) for k in SIGNUP_FIELDS}
    password, confirm = text(form, "owner_password"), text(form, "owner_password_confirm")
    try:
        data = build(SignupIn, {**values, "owner_password": password, "locale": _locale(request)})
        if password != confirm:
            raise Invalid(errors=[FieldError("owner_password_confirm", N_("The two passwords do not match."))])
        out = service.signup(db, data, ip=client_ip(request))
    except Problem as p:
        fields = set(values) | {"owner_password", "owner_password_confirm"}
        errors, general = problem_errors(p, _locale(request), fields)
        return render(request, "tenancy/signup.html", status_code=_status(p), v=values, errors=errors,
                      form_error=general)
    result = sessions.login(db, out.merchant_code, data.owner_username, password, ip=client_ip(request),
                            user_agent=request.headers.get("user-agent", ""), kind="web")
    response = redirect("/", "welcome")
    set_session_cookie(request, response, result.token, result.expires_in)
    response.set_cookie(MERCHANT_COOKIE, out.merchant_code, max_age=365 * 86400, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
    return response


# --- merchant settings ------------------------------------------------------------------------

def _settings_page(request: Request, db: Session, actor: Actor, *, values: dict[str, Any] | None = None,
                   status: int = 200, errors: dict[str, str] | None = None, form_error: str = "") -> HTMLResponse:
    m = service.merchant(db, actor)
    ops = approvals.operations(db, actor)
    above = m.settings.refund_approval_above
    v = values or {"merchant_name": m.merchant_name, "default_locale": m.settings.default_locale,
                   "approval_required": [o.code for o in ops if o.required],
                   "cash_rounding": m.settings.cash_rounding, "negative_stock": m.settings.negative_stock,
                   "refund_approval_above": format_yuan(above) if above is not None else ""}
    return render(request, "tenancy/settings.html", status_code=status, db=db, merchant=m, v=v, operations=ops,
                  languages=LANGUAGES, cash_rounding=_options(CASH_ROUNDING), negative_stock=_options(NEGATIVE_STOCK),
                  errors=errors or {}, form_error=form_error)


_AMOUNT_ERRORS = {"format": N_("Enter an amount in yuan, e.g. 200 or 199.50."), "negative": N_("Must not be negative."),
                  "decimals": N_("At most 2 decimal places."), "too_large": N_("This amount is too large.")}


def _optional_yuan(field: str, raw: str) -> int | None:
    if not raw.strip():
        return None
    try:
        return parse_yuan(raw)
    except AmountError as e:
        raise Invalid(errors=[FieldError(field, _AMOUNT_ERRORS[e.reason], {}, "invalid")]) from None


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, actor: Actor = Depends(requires("settings.manage")),
                  db: Session = Depends(get_db)):
    return _settings_page(request, db, actor)


@router.post("/settings", response_class=HTMLResponse)
def settings_save(request: Request, form: FormData = Depends(form_data),
                  actor: Actor = Depends(requires("settings.manage")), db: Session = Depends(get_db)):
    values = {"merchant_name": text(form, "merchant_name"), "default_locale": text(form, "default_locale"),
              "approval_required": texts(form, "approval_required")[:50],
              "cash_rounding": text(form, "cash_rounding") or None,
              "negative_stock": text(form, "negative_stock") or None,
              "refund_approval_above": text(form, "refund_approval_above")}
    try:
        patch = {**values, "refund_approval_above": _optional_yuan("refund_approval_above",
                                                                   values["refund_approval_above"])}
        service.update_settings(db, actor, build(SettingsPatch, patch))
    except Problem as p:
        errors, general = problem_errors(p, _locale(request), set(values))
        return _settings_page(request, db, actor, values=values, status=_status(p), errors=errors, form_error=general)
    return redirect("/settings", "saved")


# --- stores and terminals ---------------------------------------------------------------------

@router.get("/settings/stores", response_class=HTMLResponse)
def store_list(request: Request, actor: Actor = Depends(requires("store.manage")), db: Session = Depends(get_db)):
    stores = service.list_stores(db, actor)
    terminals = service.list_terminals(db, actor)
    return render(request, "tenancy/stores.html", db=db, stores=stores,
                  terminals={s.id: [t for t in terminals if t.store_id == s.id] for s in stores},
                  tz_labels=dict(TIMEZONES))


def _store_form(request: Request, db: Session, actor: Actor, *, store: Any = None, values: dict[str, Any],
                status: int = 200, errors: dict[str, str] | None = None, form_error: str = "",
                terminal_errors: dict[str, str] | None = None, terminal_name: str = "") -> HTMLResponse:
    terminals = service.list_terminals(db, actor, store.id) if store else []
    zones = TIMEZONES if any(values.get("timezone") == z for z, _ in TIMEZONES) else \
        [*TIMEZONES, (values.get("timezone", ""), values.get("timezone", ""))]
    merchant_rounding = service.tenant_settings(db, actor.tenant_id).cash_rounding
    rounding = [("merchant", _merchant_default(merchant_rounding)), *_options(CASH_ROUNDING)]
    return render(request, "tenancy/store_form.html", status_code=status, db=db, store=store, v=values,
                  timezones=zones, languages=LANGUAGES, cash_rounding=rounding, terminals=terminals,
                  errors=errors or {},
                  form_error=form_error, terminal_errors=terminal_errors or {}, terminal_name=terminal_name)


def _options(options: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(value, _(label)) for value, label in options]


def _merchant_default(mode: str) -> str:
    return _("As the merchant's setting (%(mode)s)", mode=_(dict(CASH_ROUNDING).get(mode, mode)))


def _store_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {k: text(form, k) for k in ("name", "address", "phone", "timezone", "locale")}
    values["cash_rounding"] = text(form, "cash_rounding") or "merchant"
    return values


def _get_store(db: Session, actor: Actor, raw_id: str):
    store_id = parse_uuid(raw_id)
    if store_id is None:
        raise NotFound(N_("Store not found."))
    return service.store_out(service.get_store(db, actor, store_id))


@router.get("/settings/stores/new", response_class=HTMLResponse)
def store_new(request: Request, actor: Actor = Depends(requires("store.manage")), db: Session = Depends(get_db)):
    return _store_form(request, db, actor, values={"name": "", "address": "", "phone": "", "timezone": "Asia/Shanghai",
                                                   "locale": _locale(request), "active": True})


@router.post("/settings/stores/new", response_class=HTMLResponse)
def store_create(request: Request, form: FormData = Depends(form_data),
                 actor: Actor = Depends(requires("store.manage")), db: Session = Depends(get_db)):
    values = _store_values(form)
    try:
        service.create_store(db, actor, build(StoreIn, values))
    except Problem as p:
        errors, general = problem_errors(p, _locale(request), set(values))
        return _store_form(request, db, actor, values={**values, "active": True}, status=_status(p), errors=errors,
                           form_error=general)
    return redirect("/settings/stores", "created")


@router.get("/settings/stores/{store_id}", response_class=HTMLResponse)
def store_edit(store_id: str, request: Request, actor: Actor = Depends(requires("store.manage")),
               db: Session = Depends(get_db)):
    store = _get_store(db, actor, store_id)
    return _store_form(request, db, actor, store=store, values=store.model_dump())


@router.post("/settings/stores/{store_id}", response_class=HTMLResponse)
def store_update(store_id: str, request: Request, form: FormData = Depends(form_data),
                 actor: Actor = Depends(requires("store.manage")), db: Session = Depends(get_db)):
    store = _get_store(db, actor, store_id)
    values = {**_store_values(form), "active": checked(form, "active")}
    try:
        if not values["name"].strip():
            raise Invalid(errors=[FieldError("name", N_("This field is required."), {}, "missing")])
        service.update_store(db, actor, store.id, build(StorePatch, values))
    except Problem as p:
        errors, general = problem_errors(p, _locale(request), set(values))
        return _store_form(request, db, actor, store=store, values=values, status=_status(p), errors=errors,
                           form_error=general)
    return redirect(f"/settings/stores/{store.id}", "saved")


@router.post("/settings/stores/{store_id}/terminals", response_class=HTMLResponse)
def terminal_create(store_id: str, request: Request, form: FormData = Depends(form_data),
                    actor: Actor = Depends(requires("store.manage")), db: Session = Depends(get_db)):
    store = _get_store(db, actor, store_id)
    name = text(form, "terminal_name")
    try:
        service.create_terminal(db, actor, build(TerminalIn, {"store_id": str(store.id), "name": name}))
    except Problem as p:
        errors, general = problem_errors(p, _locale(request), {"name"})
        if "name" in errors:
            errors["terminal_name"] = errors.pop("name")
        return _store_form(request, db, actor, store=store, values=store.model_dump(), status=_status(p),
                           terminal_errors=errors, terminal_name=name, form_error=general)
    return redirect(f"/settings/stores/{store.id}", "created")
