"""Employees: create, edit, deactivate, reset password, unlock, assign stores, role and overrides."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.approvals import service as approvals
from cloudpos.approvals.schemas import ManagerOverride
from cloudpos.audit import service as audit
from cloudpos.auth import domain, roles
from cloudpos.auth.models import Employee, EmployeePermission, EmployeeStore, Role
from cloudpos.auth.passwords import hash_password, verify_password
from cloudpos.auth.schemas import EmployeeCreate, EmployeeOut, EmployeePatch, RoleRef
from cloudpos.auth.sessions import revoke_all
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from cloudpos.fastread import Read
from cloudpos.i18n import N_, current_locale
from cloudpos.tenancy.models import Store


def _invalid_if(errors: list[FieldError]) -> None:
    if errors:
        raise Invalid(errors=errors)


def _overrides(db: Session, emp: Employee) -> tuple[list[str], list[str]]:
    rows = db.execute(select(EmployeePermission.code, EmployeePermission.effect).where(
        EmployeePermission.tenant_id == emp.tenant_id, EmployeePermission.employee_id == emp.id)).all()
    return sorted(c for c, e in rows if e == "grant"), sorted(c for c, e in rows if e == "deny")


def _store_ids(db: Session, emp: Employee) -> list[uuid.UUID]:
    return list(db.scalars(select(EmployeeStore.store_id).where(
        EmployeeStore.tenant_id == emp.tenant_id, EmployeeStore.employee_id == emp.id)).all())


def to_out(db: Session, emp: Employee, role: Role | None = None, *, grants: list[str] | None = None,
           denies: list[str] | None = None, store_ids: list[uuid.UUID] | None = None) -> EmployeeOut:
    """`grants`, `denies` and `store_ids` may be given when the caller has just read them (GET /me)."""
    role = role or db.get(Role, (emp.tenant_id, emp.role_id))
    if grants is None or denies is None:
        grants, denies = _overrides(db, emp)
    now = clock.now()
    return EmployeeOut(
        id=emp.id, username=emp.username, display_name=emp.display_name, phone=emp.phone,
        role=RoleRef(id=role.id, code=role.code, name=roles.display_name(role, current_locale.get())),
        is_owner=emp.is_owner, active=emp.active, all_stores=emp.all_stores or emp.is_owner,
        store_ids=_store_ids(db, emp) if store_ids is None else store_ids, grants=grants, denies=denies,
        locked=bool(emp.locked_until and emp.locked_until > now), locked_until=emp.locked_until,
        has_pin=emp.pin_hash is not None, last_login_at=emp.last_login_at, created_at=emp.created_at,
    )


_E, _R, _S, _ES = Employee.__table__, Role.__table__, Store.__table__, EmployeeStore.__table__


def _me_statement(scoped: bool) -> Any:
    """The caller with its role and, a row each, the stores it works in: every store of the merchant, or
    (`scoped`) the stores it is assigned to. Built once (GET /me answers on the event loop)."""
    if scoped:
        stores: Any = _ES.join(_S, (_S.c.tenant_id == _ES.c.tenant_id) & (_S.c.id == _ES.c.store_id))
        on = (_ES.c.tenant_id == _E.c.tenant_id) & (_ES.c.employee_id == _E.c.id)
    else:
        stores, on = _S, _S.c.tenant_id == _E.c.tenant_id
    return (select(_E.c.id, _E.c.username, _E.c.display_name, _E.c.phone, _E.c.is_owner, _E.c.active,
                   _E.c.all_stores, _E.c.locked_until, _E.c.pin_hash.is_not(None), _E.c.last_login_at,
                   _E.c.created_at, _R.c.id, _R.c.code, _R.c.name, _R.c.builtin, _S.c.id, _S.c.code, _S.c.name)
            .select_from(_E.join(_R, (_R.c.tenant_id == _E.c.tenant_id) & (_R.c.id == _E.c.role_id))
                         .outerjoin(stores, on))
            .where(_E.c.tenant_id == bindparam("tenant"), _E.c.id == bindparam("employee"))
            .order_by(_S.c.code))


_ME = {scoped: Read(_me_statement(scoped)) for scoped in (False, True)}


def current_out(conn: Connection, actor: Actor, *, grants: list[str], denies: list[str],
                store_ids: list[uuid.UUID]) -> tuple[EmployeeOut, list[tuple[uuid.UUID, str, str]]]:
    """The caller (GET /me) and the stores it works in, as (id, code, name) by code: employee, role and
    stores in one prebuilt query of plain columns (a row per store); overrides and store ids as the auth
    read found them."""
    rows = _ME[not actor.all_stores].all(conn, {"tenant": actor.tenant_id, "employee": actor.employee_id})
    if not rows:
        raise NotFound(N_("Employee not found."))
    (emp_id, username, display_name, phone, is_owner, active, all_stores, locked_until, has_pin, last_login_at,
     created_at, role_id, role_code, role_name, builtin) = rows[0][:15]
    role = SimpleNamespace(builtin=builtin, code=role_code, name=role_name)
    out = EmployeeOut(
        id=emp_id, username=username, display_name=display_name, phone=phone,
        role=RoleRef(id=role_id, code=role_code, name=roles.display_name(role, current_locale.get())),  # type: ignore[arg-type]
        is_owner=is_owner, active=active, all_stores=all_stores or is_owner, store_ids=store_ids, grants=grants,
        denies=denies, locked=bool(locked_until and locked_until > clock.now()), locked_until=locked_until,
        has_pin=has_pin, last_login_at=last_login_at, created_at=created_at)
    return out, [(r[15], r[16], r[17]) for r in rows if r[15] is not None]


def snapshot(db: Session, emp: Employee) -> dict[str, Any]:
    grants, denies = _overrides(db, emp)
    role = db.get(Role, (emp.tenant_id, emp.role_id))
    return {"display_name": emp.display_name, "phone": emp.phone, "role": role.code if role else None,
            "all_stores": emp.all_stores, "store_ids": sorted(str(s) for s in _store_ids(db, emp)),
            "grants": grants, "denies": denies, "active": emp.active, "has_pin": emp.pin_hash is not None}


def _visible(actor: Actor):
    """Store-scoped managers see the employees of their own stores only."""
    cond = Employee.tenant_id == actor.tenant_id
    if actor.all_stores:
        return cond
    shares_store = exists().where(EmployeeStore.tenant_id == Employee.tenant_id,
                                  EmployeeStore.employee_id == Employee.id,
                                  EmployeeStore.store_id.in_(actor.store_ids or [uuid.UUID(int=0)]))
    return cond & ~Employee.all_stores & ~Employee.is_owner & (shares_store | (Employee.id == actor.employee_id))


def get(db: Session, actor: Actor, employee_id: uuid.UUID) -> Employee:
    emp = db.scalar(select(Employee).where(_visible(actor), Employee.id == employee_id))
    if emp is None:
        raise NotFound(N_("Employee not found."))
    return emp


def list_employees(db: Session, actor: Actor, *, q: str = "", role: str = "", active: bool | None = None,
                   store_id: uuid.UUID | None = None, page: int = 1,
                   page_size: int = 50) -> tuple[list[EmployeeOut], int]:
    actor.require("staff.view")
    stmt = select(Employee).where(_visible(actor))
    if q:  # a plain-text search: LIKE's own wildcards in the query match themselves
        like = "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Employee.username.ilike(like, escape="\\"),
                              Employee.display_name.ilike(like, escape="\\"),
                              Employee.phone.ilike(like, escape="\\")))
    if role:
        stmt = stmt.join(Role, (Role.tenant_id == Employee.tenant_id) & (Role.id == Employee.role_id)).where(
            Role.code == role)
    if active is not None:
        stmt = stmt.where(Employee.active.is_(active))
    if store_id is not None:
        stmt = stmt.where(or_(Employee.all_stores, Employee.is_owner, exists().where(
            EmployeeStore.tenant_id == Employee.tenant_id, EmployeeStore.employee_id == Employee.id,
            EmployeeStore.store_id == store_id)))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(Employee.created_at).offset((page - 1) * page_size).limit(page_size)).all()
    return [to_out(db, e) for e in rows], total


def _check_stores(db: Session, actor: Actor, store_ids: list[uuid.UUID]) -> None:
    if not store_ids:
        return
    found = set(db.scalars(select(Store.id).where(Store.tenant_id == actor.tenant_id, Store.id.in_(store_ids))).all())
    bad = [s for s in store_ids if s not in found or not actor.sees_store(s)]
    if bad:
        raise Invalid(errors=[FieldError("store_ids", N_("Unknown store: %(id)s"), {"id": str(bad[0])},
                                         "unknown_store")])


def _set_stores(db: Session, emp: Employee, store_ids: list[uuid.UUID]) -> None:
    db.execute(delete(EmployeeStore).where(EmployeeStore.tenant_id == emp.tenant_id,
                                           EmployeeStore.employee_id == emp.id))
    for sid in dict.fromkeys(store_ids):
        db.add(EmployeeStore(tenant_id=emp.tenant_id, employee_id=emp.id, store_id=sid))


def _set_overrides(db: Session, emp: Employee, grants: list[str], denies: list[str]) -> None:
    both = set(grants) & set(denies)
    if both:
        raise Invalid(errors=[FieldError("grants", N_("A permission cannot be both granted and denied: %(codes)s"),
                                         {"codes": ", ".join(sorted(both))}, "conflict")])
    db.execute(delete(EmployeePermission).where(EmployeePermission.tenant_id == emp.tenant_id,
                                                EmployeePermission.employee_id == emp.id))
    for code in sorted(set(grants)):
        db.add(EmployeePermission(tenant_id=emp.tenant_id, employee_id=emp.id, code=code, effect="grant"))
    for code in sorted(set(denies)):
        db.add(EmployeePermission(tenant_id=emp.tenant_id, employee_id=emp.id, code=code, effect="deny"))


def _check_assignable(actor: Actor, role: Role, all_stores: bool) -> None:
    roles.check_grantable(actor, role.permissions, field="role")
    if all_stores and not actor.all_stores:
        raise Forbidden(N_("Only someone who sees every store can give access to every store."),
                        code="escalation_denied")


@use_case
def create(db: Session, actor: Actor, data: EmployeeCreate) -> EmployeeOut:
    actor.require("staff.manage")
    errors = domain.username_errors(data.username) + domain.password_errors(data.password, username=data.username)
    if data.pin is not None:
        errors += domain.pin_errors(data.pin)
    _invalid_if(errors)
    role = roles.by_code(db, actor.tenant_id, data.role)
    _check_assignable(actor, role, data.all_stores)
    roles.check_grantable(actor, data.grants, field="grants")
    if not data.all_stores and not data.store_ids:
        raise Invalid(errors=[FieldError("store_ids", N_("Choose at least one store."), {}, "required")])
    _check_stores(db, actor, data.store_ids)
    if db.scalar(select(Employee.id).where(Employee.tenant_id == actor.tenant_id, Employee.username == data.username)):
        raise Conflict(N_("This username is already taken."), code="duplicate_username",
                       errors=[FieldError("username", N_("Already taken."), {}, "duplicate")])
    emp = Employee(tenant_id=actor.tenant_id, username=data.username, display_name=data.display_name,
                   phone=data.phone, password_hash=hash_password(data.password), role_id=role.id,
                   all_stores=data.all_stores, pin_hash=hash_password(data.pin) if data.pin else None)
    db.add(emp)
    db.flush()
    _set_stores(db, emp, [] if data.all_stores else data.store_ids)
    _set_overrides(db, emp, data.grants, data.denies)
    db.flush()
    audit.record(db, actor, "employee.create", target_type="employee", target_id=emp.id,
                 target_label=emp.username, after=snapshot(db, emp))
    return to_out(db, emp, role)


def _guard_target(actor: Actor, emp: Employee) -> None:
    if emp.is_owner and not actor.is_owner:
        raise Forbidden(N_("Only the owner can change the owner's account."), code="owner_protected")


@use_case
def update(db: Session, actor: Actor, employee_id: uuid.UUID, data: EmployeePatch,
           override: ManagerOverride | None = None) -> EmployeeOut:
    actor.require("staff.manage")
    emp = get(db, actor, employee_id)
    _guard_target(actor, emp)
    if data.active is False:
        return _deactivate_gated(db, actor, emp, override)
    before = snapshot(db, emp)
    if data.role is not None:
        role = roles.by_code(db, actor.tenant_id, data.role)
        if emp.is_owner and role.code != "admin":
            raise Forbidden(N_("The owner keeps the administrator role."), code="owner_protected")
        _check_assignable(actor, role, data.all_stores if data.all_stores is not None else emp.all_stores)
        emp.role_id = role.id
    if data.all_stores is not None:
        if data.all_stores and not actor.all_stores:
            raise Forbidden(N_("Only someone who sees every store can give access to every store."),
                            code="escalation_denied")
        emp.all_stores = data.all_stores
    if data.store_ids is not None:
        _check_stores(db, actor, data.store_ids)
        _set_stores(db, emp, data.store_ids)
    if data.grants is not None or data.denies is not None:
        grants = data.grants if data.grants is not None else before["grants"]
        denies = data.denies if data.denies is not None else before["denies"]
        roles.check_grantable(actor, set(grants) ^ set(before["grants"]), field="grants")
        _set_overrides(db, emp, grants, denies)
    if data.pin is not None:
        if data.pin == "":
            emp.pin_hash = None
        else:
            _invalid_if(domain.pin_errors(data.pin))
            emp.pin_hash = hash_password(data.pin)
    for key in ("display_name", "phone"):
        value = getattr(data, key)
        if value is not None:
            setattr(emp, key, value)
    if data.active is True and not emp.active:
        emp.active = True
    if not emp.all_stores and not emp.is_owner and not db.scalar(select(func.count()).where(
            EmployeeStore.tenant_id == emp.tenant_id, EmployeeStore.employee_id == emp.id)):
        raise Invalid(errors=[FieldError("store_ids", N_("Choose at least one store."), {}, "required")])
    db.flush()
    b, a = audit.diff(before, snapshot(db, emp))
    audit.record(db, actor, "employee.update", target_type="employee", target_id=emp.id,
                 target_label=emp.username, before=b, after=a)
    return to_out(db, emp)


def _deactivate_gated(db: Session, actor: Actor, emp: Employee, override: ManagerOverride | None,
                      approved: approvals.Approved | None = None) -> EmployeeOut:
    if emp.id == actor.employee_id:
        raise Conflict(N_("You cannot deactivate your own account."), code="self_deactivation")
    if emp.is_owner:
        raise Forbidden(N_("The owner's account cannot be deactivated."), code="owner_protected")
    ok = approvals.gate(db, actor, "employee.deactivate", {"employee_id": str(emp.id)},
                        f"{emp.display_name} ({emp.username})", override=override, approved=approved)
    if not emp.active:
        return to_out(db, emp)
    emp.active = False
    revoked = revoke_all(db, emp.tenant_id, emp.id, "deactivated")
    audit.record(db, actor, "employee.deactivate", target_type="employee", target_id=emp.id,
                 target_label=emp.username, before={"active": True}, after={"active": False},
                 details={"sessions_revoked": revoked, "approval": ok.how,
                          "approved_by": ok.approver.username if ok.approver else None})
    return to_out(db, emp)


@use_case
def deactivate(db: Session, actor: Actor, employee_id: uuid.UUID,
               override: ManagerOverride | None = None) -> EmployeeOut:
    actor.require("staff.manage")
    emp = get(db, actor, employee_id)
    _guard_target(actor, emp)
    return _deactivate_gated(db, actor, emp, override)


def _approved_deactivation(db: Session, approver: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    emp = db.get(Employee, (approver.tenant_id, uuid.UUID(payload["employee_id"])))
    if emp is None:
        raise NotFound(N_("Employee not found."))
    out = _deactivate_gated(db, approver, emp, None, approvals.Approved(approver, "request"))
    return {"employee_id": str(out.id), "active": out.active}


approvals.register("employee.deactivate", N_("Deactivate an employee"), "staff.manage", _approved_deactivation)


@use_case
def reset_password(db: Session, actor: Actor, employee_id: uuid.UUID, new_password: str) -> None:
    actor.require("staff.manage")
    emp = get(db, actor, employee_id)
    _guard_target(actor, emp)
    _invalid_if(domain.password_errors(new_password, "new_password", emp.username))
    emp.password_hash = hash_password(new_password)
    emp.password_changed_at = clock.now()
    emp.failed_logins, emp.first_failed_at, emp.locked_until = 0, None, None
    revoked = revoke_all(db, emp.tenant_id, emp.id, "password_reset")
    audit.record(db, actor, "employee.password.reset", target_type="employee", target_id=emp.id,
                 target_label=emp.username, details={"sessions_revoked": revoked})


@use_case
def unlock(db: Session, actor: Actor, employee_id: uuid.UUID) -> EmployeeOut:
    actor.require("staff.manage")
    emp = get(db, actor, employee_id)
    before = {"locked_until": emp.locked_until, "failed_logins": emp.failed_logins}
    emp.failed_logins, emp.first_failed_at, emp.locked_until = 0, None, None
    audit.record(db, actor, "employee.unlock", target_type="employee", target_id=emp.id,
                 target_label=emp.username, before=before, after={"locked_until": None, "failed_logins": 0})
    return to_out(db, emp)


@use_case
def change_own_password(db: Session, actor: Actor, current_password: str, new_password: str) -> None:
    emp = db.get(Employee, (actor.tenant_id, actor.employee_id))
    if emp is None or not verify_password(emp.password_hash, current_password):
        raise Invalid(errors=[FieldError("current_password", N_("The current password is wrong."), {}, "wrong")])
    _invalid_if(domain.password_errors(new_password, "new_password", emp.username))
    emp.password_hash = hash_password(new_password)
    emp.password_changed_at = clock.now()
    revoked = revoke_all(db, emp.tenant_id, emp.id, "password_change")
    audit.record(db, actor, "auth.password.change", target_type="employee", target_id=emp.id,
                 target_label=emp.username, details={"sessions_revoked": revoked})


def create_owner(db: Session, tenant_id: uuid.UUID, role: Role, username: str, password: str,
                 display_name: str) -> Employee:
    """The merchant's first account (sign-up), in the sign-up transaction."""
    _invalid_if(domain.username_errors(username, "owner_username")
                + domain.password_errors(password, "owner_password", username))
    emp = Employee(tenant_id=tenant_id, username=username, display_name=display_name or username,
                   password_hash=hash_password(password), role_id=role.id, is_owner=True, all_stores=True)
    db.add(emp)
    db.flush()
    return emp
