"""HTML pages of the auth module: login and logout, own password, employees and roles.

Forms post back to the same services as the JSON API; a Problem from a service re-renders the
form with inline errors (422 and friends), success redirects (303) with ?flash=code.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cloudpos.approvals import service as approvals
from cloudpos.approvals.schemas import ManagerOverride
from cloudpos.auth import employees, roles, sessions
from cloudpos.auth.permissions import BUILTIN_ROLES, CATALOG, GROUPS
from cloudpos.auth.schemas import EmployeeCreate, EmployeePatch, LoginIn, RoleCreate, RolePatch
from cloudpos.context import Actor
from cloudpos.errors import ApprovalRequired, FieldError, Invalid, Locked, NotFound, Problem
from cloudpos.i18n import N_
from cloudpos.tenancy import service as tenancy
from cloudpos.web.deps import SESSION_COOKIE, authenticated, client_ip, get_db, optional_actor, public, requires
from cloudpos.web.forms import (
    build,
    checked,
    form_data,
    parse_uuid,
    problem_errors,
    redirect,
    safe_next,
    text,
    texts,
)
from cloudpos.web.routing import APIRouter
from cloudpos.web.templating import fmt_dt, render

router = APIRouter()

MERCHANT_COOKIE = "cloudpos_merchant"
PAGE_SIZE = 20


def _locale(request: Request) -> str:
    return getattr(request.state, "locale", "zh_CN")


def set_session_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")


# --- login, logout, own password ------------------------------------------------------------

def _login_page(request: Request, status: int = 200, **ctx: Any) -> HTMLResponse:
    ctx.setdefault("merchant_code", request.cookies.get(MERCHANT_COOKIE, "")[:32])
    ctx.setdefault("username", "")
    ctx.setdefault("next", safe_next(request.query_params.get("next"), ""))
    return render(request, "auth/login.html", status_code=status, **ctx)


@router.get("/login", response_class=HTMLResponse, dependencies=[Depends(public())])
def login_form(request: Request, db: Session = Depends(get_db)):
    if request.cookies.get(SESSION_COOKIE) and optional_actor(request, db) is not None:
        return redirect(safe_next(request.query_params.get("next")))
    request.state.actor = None
    return _login_page(request)


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(public())])
def login(request: Request, form: FormData = Depends(form_data), db: Session = Depends(get_db)):
    data = {k: text(form, k) for k in ("merchant_code", "username", "password")}
    nxt = safe_next(text(form, "next"), "")
    ctx = {"merchant_code": data["merchant_code"][:32], "username": data["username"][:40], "next": nxt}
    try:
        build(LoginIn, data)
        result = sessions.login(db, data["merchant_code"], data["username"].strip(), data["password"],
                                ip=client_ip(request), user_agent=request.headers.get("user-agent", ""), kind="web")
    except Problem as p:
        if isinstance(p, Locked) and p.extra.get("locked_until"):
            # Say "until" in the stores' clock time, not the server's.
            until = datetime.fromisoformat(p.extra["locked_until"])
            p.params = {"until": fmt_dt(until, "Asia/Shanghai", "%H:%M")}
        errors, general = problem_errors(p, _locale(request), {"merchant_code", "username", "password"})
        if not isinstance(p, Invalid):
            errors = {}
        return _login_page(request, 423 if isinstance(p, Locked) else 422, errors=errors, form_error=general,
                           locked=isinstance(p, Locked), **ctx)
    response = redirect(nxt or "/")
    set_session_cookie(request, response, result.token, result.expires_in)
    response.set_cookie(MERCHANT_COOKIE, data["merchant_code"].strip().lower(), max_age=365 * 86400,
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


@router.post("/logout", dependencies=[Depends(public())])
def logout(request: Request, db: Session = Depends(get_db)):
    actor = optional_actor(request, db) if request.cookies.get(SESSION_COOKIE) else None
    if actor is not None:
        sessions.logout(db, actor)
    response = redirect("/login", "logged_out")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account/password", response_class=HTMLResponse)
def password_form(request: Request, actor: Actor = Depends(authenticated()), db: Session = Depends(get_db)):
    return render(request, "auth/password.html", db=db)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(request: Request, form: FormData = Depends(form_data), actor: Actor = Depends(authenticated()),
                    db: Session = Depends(get_db)):
    current, new, confirm = text(form, "current_password"), text(form, "new_password"), text(form, "confirm_password")
    try:
        if not current:
            raise Invalid(errors=[FieldError("current_password", N_("This field is required."))])
        if new != confirm:
            raise Invalid(errors=[FieldError("confirm_password", N_("The two passwords do not match."))])
        employees.change_own_password(db, actor, current, new)
    except Problem as p:
        errors, general = problem_errors(p, _locale(request), {"current_password", "new_password", "confirm_password"})
        return render(request, "auth/password.html", status_code=p.status if p.status != 400 else 422, db=db,
                      errors=errors, form_error=general)
    # Every session of the employee ended with the change, this one too: log in again with the new password.
    code = tenancy.merchant(db, actor).merchant_code
    response = redirect("/account/password", "password_changed")
    try:
        result = sessions.login(db, code, actor.username, new, ip=client_ip(request),
                                user_agent=request.headers.get("user-agent", ""), kind="web")
    except Problem:
        return redirect("/login", "password_changed")
    set_session_cookie(request, response, result.token, result.expires_in)
    return response


# --- shared bits for employees and roles -----------------------------------------------------

def role_label(code: str, name: str, locale: str) -> str:
    b = BUILTIN_ROLES.get(code)
    if b is not None:
        return b.name_zh if locale == "zh_CN" else b.name_en
    return name


def permission_groups() -> list[tuple[str, str, list[Any]]]:
    """(group code, group label, permissions) in catalog order."""
    out: dict[str, list[Any]] = {}
    for p in CATALOG.values():
        out.setdefault(p.group, []).append(p)
    return [(g, GROUPS[g], out[g]) for g in GROUPS if g in out]


def _role_options(db: Session, actor: Actor, locale: str) -> list[dict[str, Any]]:
    return [{"code": r.code, "label": role_label(r.code, r.name, locale) if r.builtin else r.name,
             "permissions": r.permissions, "builtin": r.builtin} for r in roles.list_roles(db, actor)]


def _page(request: Request) -> int:
    raw = request.query_params.get("page", "")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1


def _get_employee(db: Session, actor: Actor, raw_id: str):
    emp_id = parse_uuid(raw_id)
    if emp_id is None:
        raise NotFound(N_("Employee not found."))
    return employees.get(db, actor, emp_id)


# --- employees --------------------------------------------------------------------------------

@router.get("/staff/employees", response_class=HTMLResponse)
def employee_list(request: Request, actor: Actor = Depends(requires("staff.view")), db: Session = Depends(get_db)):
    q = request.query_params
    search, role, status = q.get("q", "").strip()[:60], q.get("role", "")[:40], q.get("status", "")
    store = parse_uuid(q.get("store"))
    page = _page(request)
    active = {"active": True, "inactive": False}.get(status)
    items, total = employees.list_employees(db, actor, q=search, role=role, active=active, store_id=store,
                                            page=page, page_size=PAGE_SIZE)
    stores = tenancy.list_stores(db, actor)
    return render(request, "auth/employees.html", db=db, items=items, total=total, page=page, page_size=PAGE_SIZE,
                  q=search, role=role, status=status, store=str(store) if store else "", stores=stores,
                  store_names={s.id: s.name for s in stores}, roles=_role_options(db, actor, _locale(request)),
                  filtered=bool(search or role or status or store))


def _employee_form(request: Request, db: Session, actor: Actor, *, emp: Any = None, values: dict[str, Any],
                   status: int = 200, errors: dict[str, str] | None = None, form_error: str = "",
                   modal: str = "", modal_error: str = "") -> HTMLResponse:
    locale = _locale(request)
    role_opts = _role_options(db, actor, locale)
    role_perms = {r["code"]: r["permissions"] for r in role_opts}
    return render(request, "auth/employee_form.html", status_code=status, db=db, emp=emp, v=values,
                  roles=role_opts, role_perms=role_perms, stores=tenancy.list_stores(db, actor),
                  groups=permission_groups(), errors=errors or {}, form_error=form_error, modal=modal,
                  modal_error=modal_error,
                  deactivate_needs_approval=approvals.required(db, actor.tenant_id, "employee.deactivate"),
                  can_manage=actor.can("staff.manage"))


@router.get("/staff/employees/new", response_class=HTMLResponse)
def employee_new(request: Request, actor: Actor = Depends(requires("staff.manage")), db: Session = Depends(get_db)):
    values = {"username": "", "display_name": "", "phone": "", "role": "cashier", "all_stores": False,
              "store_ids": [str(s) for s in sorted(actor.store_ids, key=str)][:1] or
              [str(s.id) for s in tenancy.list_stores(db, actor)][:1], "pin": ""}
    return _employee_form(request, db, actor, values=values)


@router.post("/staff/employees/new", response_class=HTMLResponse)
def employee_create(request: Request, form: FormData = Depends(form_data),
                    actor: Actor = Depends(requires("staff.manage")), db: Session = Depends(get_db)):
    values = {"username": text(form, "username").strip(), "display_name": text(form, "display_name"),
              "phone": text(form, "phone"), "role": text(form, "role"), "all_stores": checked(form, "all_stores"),
              "store_ids": texts(form, "store_ids"), "pin": text(form, "pin").strip()}
    data = {**values, "password": text(form, "password"), "pin": values["pin"] or None,
            "store_ids": [] if values["all_stores"] else values["store_ids"]}
    try:
        out = employees.create(db, actor, build(EmployeeCreate, data))
    except Problem as p:
        errors, general = problem_errors(p, _locale(request), set(values) | {"password"})
        return _employee_form(request, db, actor, values=values, status=p.status if p.status >= 400 else 422,
                              errors=errors, form_error=general)
    return redirect(f"/staff/employees/{out.id}", "created")


def _employee_values(out: Any) -> dict[str, Any]:
    return {"username": out.username, "display_name": out.display_name, "phone": out.phone, "role": out.role.code,
            "all_stores": out.all_stores, "store_ids": [str(s) for s in out.store_ids],
            "grants": out.grants, "denies": out.denies, "pin": ""}


@router.get("/staff/employees/{employee_id}", response_class=HTMLResponse)
def employee_edit(employee_id: str, request: Request, actor: Actor = Depends(requires("staff.view")),
                  db: Session = Depends(get_db)):
    out = employees.to_out(db, _get_employee(db, actor, employee_id))
    return _employee_form(request, db, actor, emp=out, values=_employee_values(out))


@router.post("/staff/employees/{employee_id}", response_class=HTMLResponse)
def employee_update(employee_id: str, request: Request, form: FormData = Depends(form_data),
                    actor: Actor = Depends(requires("staff.manage")), db: Session = Depends(get_db)):
    out = employees.to_out(db, _get_employee(db, actor, employee_id))
    grants = [c for c in CATALOG if text(form, f"perm.{c}") == "grant"]
    denies = [c for c in CATALOG if text(form, f"perm.{c}") == "deny"]
    pin_action = text(form, "pin_action", "keep")
    values = {"username": out.username, "display_name": text(form, "display_name"), "phone": text(form, "phone"),
              "role": text(form, "role") or out.role.code, "all_stores": checked(form, "all_stores") or out.is_owner,
              "store_ids": texts(form, "store_ids"), "grants": grants, "denies": denies,
              "pin": text(form, "pin").strip(), "pin_action": pin_action}
    data: dict[str, Any] = {"display_name": values["display_name"], "phone": values["phone"],
                            "grants": grants, "denies": denies}
    if not out.is_owner:
        data.update(role=values["role"], all_stores=values["all_stores"],
                    store_ids=[] if values["all_stores"] else values["store_ids"])
    if pin_action == "clear":
        data["pin"] = ""
    elif pin_action == "set":
        data["pin"] = values["pin"]
    try:
        if pin_action == "set" and not values["pin"]:
            raise Invalid(errors=[FieldError("pin", N_("A PIN is 4 to 6 digits."), {}, "invalid_pin")])
        employees.update(db, actor, out.id, build(EmployeePatch, data))
    except Problem as p:
        errors, general = problem_errors(p, _locale(request), set(values) | {"grants", "denies"})
        return _employee_form(request, db, actor, emp=out, values=values, status=p.status if p.status >= 400 else 422,
                              errors=errors, form_error=general)
    return redirect(f"/staff/employees/{out.id}", "saved")


def _action_failed(request: Request, db: Session, actor: Actor, out: Any, modal: str, p: Problem) -> HTMLResponse:
    errors, general = problem_errors(p, _locale(request), {"new_password", "confirm_password", "override_username",
                                                           "override_password"})
    return _employee_form(request, db, actor, emp=out, values=_employee_values(out), errors=errors,
                          status=p.status if p.status >= 400 else 422, modal=modal, modal_error=general)


@router.post("/staff/employees/{employee_id}/deactivate", response_class=HTMLResponse)
def employee_deactivate(employee_id: str, request: Request, form: FormData = Depends(form_data),
                        actor: Actor = Depends(requires("staff.manage")), db: Session = Depends(get_db)):
    out = employees.to_out(db, _get_employee(db, actor, employee_id))
    username, password = text(form, "override_username").strip(), text(form, "override_password")
    try:
        override = None
        if username or password:
            override = build(ManagerOverride, {"username": username, "password": password})
        employees.deactivate(db, actor, out.id, override)
    except ApprovalRequired:
        return redirect(f"/staff/employees/{out.id}", "approval_requested")
    except Problem as p:
        if p.errors:
            p.errors = [FieldError("override_" + e.field, e.message, e.params, e.code) for e in p.errors]
        return _action_failed(request, db, actor, out, "deactivate", p)
    return redirect(f"/staff/employees/{out.id}", "deactivated")


@router.post("/staff/employees/{employee_id}/reactivate", response_class=HTMLResponse)
def employee_reactivate(employee_id: str, request: Request, actor: Actor = Depends(requires("staff.manage")),
                        db: Session = Depends(get_db)):
    out = employees.to_out(db, _get_employee(db, actor, employee_id))
    try:
        employees.update(db, actor, out.id, EmployeePatch(active=True))
    except Problem as p:
        return _action_failed(request, db, actor, out, "", p)
    return redirect(f"/staff/employees/{out.id}", "reactivated")


@router.post("/staff/employees/{employee_id}/password", response_class=HTMLResponse)
def employee_reset_password(employee_id: str, request: Request, form: FormData = Depends(form_data),
                            actor: Actor = Depends(requires("staff.manage")), db: Session = Depends(get_db)):
    out = employees.to_out(db, _get_employee(db, actor, employee_id))
    new, confirm = text(form, "new_password"), text(form, "confirm_password")
    try:
        if new != confirm:
            raise Invalid(errors=[FieldError("confirm_password", N_("The two passwords do not match."))])
        employees.reset_password(db, actor, out.id, new)
    except Problem as p:
        return _action_failed(request, db, actor, out, "password", p)
    return redirect(f"/staff/employees/{out.id}", "password_reset")


@router.post("/staff/employees/{employee_id}/unlock", response_class=HTMLResponse)
def employee_unlock(employee_id: str, request: Request, actor: Actor = Depends(requires("staff.manage")),
                    db: Session = Depends(get_db)):
    out = employees.to_out(db, _get_employee(db, actor, employee_id))
    try:
        employees.unlock(db, actor, out.id)
    except Problem as p:
        return _action_failed(request, db, actor, out, "", p)
    return redirect(f"/staff/employees/{out.id}", "unlocked")


# --- roles ------------------------------------------------------------------------------------

def _percent_to_bp(raw: str) -> int:
    cleaned = raw.strip().rstrip("%").strip() or "0"
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value < 0 or value > 100 or value != value.quantize(Decimal("0.01")):
        raise Invalid(errors=[FieldError("max_discount", N_("Enter a percentage from 0 to 100 (up to 2 decimals)."),
                                         {}, "invalid")])
    return int(value * 100)


def _role_form(request: Request, db: Session, actor: Actor, *, role: Any = None, values: dict[str, Any],
               status: int = 200, errors: dict[str, str] | None = None, form_error: str = "") -> HTMLResponse:
    return render(request, "auth/role_form.html", status_code=status, db=db, role=role, v=values,
                  readonly=bool(role and role.builtin),
                  groups=permission_groups(), errors=errors or {}, form_error=form_error,
                  role_name=role_label(role.code, role.name, _locale(request)) if role else "",
                  templates=_role_options(db, actor, _locale(request)))


def _get_role(db: Session, actor: Actor, raw_id: str):
    role_id = parse_uuid(raw_id)
    if role_id is None:
        raise NotFound(N_("Role not found."))
    return roles.get(db, actor, role_id)


@router.get("/staff/roles", response_class=HTMLResponse)
def role_list(request: Request, actor: Actor = Depends(requires("role.manage")), db: Session = Depends(get_db)):
    locale = _locale(request)
    items = [{"r": r, "label": role_label(r.code, r.name, locale) if r.builtin else r.name}
             for r in roles.list_roles(db, actor)]
    return render(request, "auth/roles.html", db=db, items=items, total_perms=len(CATALOG))


@router.get("/staff/roles/new", response_class=HTMLResponse)
def role_new(request: Request, actor: Actor = Depends(requires("role.manage")), db: Session = Depends(get_db)):
    base = request.query_params.get("from", "")
    template = next((r for r in roles.list_roles(db, actor) if r.code == base), None)
    values = {"code": "", "name": "", "description": "",
              "permissions": list(template.permissions) if template else [],
              "max_discount": str(Decimal(template.max_discount_bp) / 100) if template else "0"}
    return _role_form(request, db, actor, values=values)


def _role_values(form: FormData) -> dict[str, Any]:
    return {"code": text(form, "code").strip(), "name": text(form, "name"), "description": text(form, "description"),
            "permissions": [c for c in texts(form, "permissions")][:200], "max_discount": text(form, "max_discount")}


@router.post("/staff/roles/new", response_class=HTMLResponse)
def role_create(request: Request, form: FormData = Depends(form_data), actor: Actor = Depends(requires("role.manage")),
                db: Session = Depends(get_db)):
    values = _role_values(form)
    try:
        bp = _percent_to_bp(values["max_discount"])
        out = roles.create(db, actor, build(RoleCreate, {**{k: values[k] for k in ("code", "name", "description",
                                                                                    "permissions")},
                                                          "max_discount_bp": bp}))
    except Problem as p:
        errors, general = problem_errors(p, _locale(request), set(values) | {"max_discount_bp"})
        if "max_discount_bp" in errors:
            errors["max_discount"] = errors.pop("max_discount_bp")
        return _role_form(request, db, actor, values=values, status=p.status if p.status >= 400 else 422,
                          errors=errors, form_error=general)
    return redirect(f"/staff/roles/{out.id}", "created")


@router.get("/staff/roles/{role_id}", response_class=HTMLResponse)
def role_edit(role_id: str, request: Request, actor: Actor = Depends(requires("role.manage")),
              db: Session = Depends(get_db)):
    role = roles.to_out(_get_role(db, actor, role_id))
    values = {"code": role.code, "name": role.name, "description": role.description,
              "permissions": role.permissions, "max_discount": str(Decimal(role.max_discount_bp) / 100)}
    return _role_form(request, db, actor, role=role, values=values)


@router.post("/staff/roles/{role_id}", response_class=HTMLResponse)
def role_update(role_id: str, request: Request, form: FormData = Depends(form_data),
                actor: Actor = Depends(requires("role.manage")), db: Session = Depends(get_db)):
    role = roles.to_out(_get_role(db, actor, role_id))
    values = {**_role_values(form), "code": role.code}
    try:
        if role.builtin:
            raise Problem(N_("Built-in roles cannot be changed. Create a custom role instead."), code="builtin_role",
                          status=409)
        bp = _percent_to_bp(values["max_discount"])
        roles.update(db, actor, role.id, build(RolePatch, {"name": values["name"], "description": values["description"],
                                                           "permissions": values["permissions"],
                                                           "max_discount_bp": bp}))
    except Problem as p:
        errors, general = problem_errors(p, _locale(request), set(values) | {"max_discount_bp"})
        if "max_discount_bp" in errors:
            errors["max_discount"] = errors.pop("max_discount_bp")
        return _role_form(request, db, actor, role=role, values=values, status=p.status if p.status >= 400 else 422,
                          errors=errors, form_error=general)
    return redirect(f"/staff/roles/{role.id}", "saved")


@router.post("/staff/roles/{role_id}/delete", response_class=HTMLResponse)
def role_delete(role_id: str, request: Request, actor: Actor = Depends(requires("role.manage")),
                db: Session = Depends(get_db)):
    role = roles.to_out(_get_role(db, actor, role_id))
    try:
        roles.delete(db, actor, role.id)
    except Problem as p:
        values = {"code": role.code, "name": role.name, "description": role.description,
                  "permissions": role.permissions, "max_discount": str(Decimal(role.max_discount_bp) / 100)}
        _, general = problem_errors(p, _locale(request))
        return _role_form(request, db, actor, role=role, values=values, status=p.status, form_error=general)
    return redirect("/staff/roles", "deleted")


