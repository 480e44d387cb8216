"""Roles: the built-in four (seeded per merchant) and custom roles built from the permission catalog."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloudpos.audit import service as audit
from cloudpos.auth.models import Employee, Role
from cloudpos.auth.permissions import BUILTIN_ROLES, unknown_codes
from cloudpos.auth.schemas import RoleCreate, RoleOut, RolePatch
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from cloudpos.i18n import N_, gettext


def bootstrap(db: Session, tenant_id: uuid.UUID, locale: str = "zh_CN") -> dict[str, Role]:
    roles = {}
    for r in BUILTIN_ROLES.values():
        role = Role(tenant_id=tenant_id, code=r.code, name=r.name_zh if locale == "zh_CN" else r.name_en,
                    builtin=True, permissions=sorted(r.permissions), max_discount_bp=r.max_discount_bp)
        db.add(role)
        roles[r.code] = role
    db.flush()
    return roles


def by_code(db: Session, tenant_id: uuid.UUID, code: str) -> Role:
    role = db.scalar(select(Role).where(Role.tenant_id == tenant_id, Role.code == code))
    if role is None:
        raise Invalid(errors=[FieldError("role", N_("No such role: %(code)s"), {"code": code}, "unknown_role")])
    return role


def get(db: Session, actor: Actor, role_id: uuid.UUID) -> Role:
    role = db.get(Role, (actor.tenant_id, role_id))
    if role is None:
        raise NotFound(N_("Role not found."))
    return role


def to_out(role: Role, employee_count: int = 0) -> RoleOut:
    return RoleOut(id=role.id, code=role.code, name=role.name, description=role.description, builtin=role.builtin,
                   permissions=sorted(role.permissions), max_discount_bp=role.max_discount_bp,
                   employee_count=employee_count)


def list_roles(db: Session, actor: Actor) -> list[RoleOut]:
    counts = dict(db.execute(select(Employee.role_id, func.count()).where(
        Employee.tenant_id == actor.tenant_id, Employee.active.is_(True)).group_by(Employee.role_id)).all())
    roles = db.scalars(select(Role).where(Role.tenant_id == actor.tenant_id)
                       .order_by(Role.builtin.desc(), Role.created_at)).all()
    return [to_out(r, counts.get(r.id, 0)) for r in roles]


def check_grantable(actor: Actor, codes: list[str] | set[str], field: str = "permissions") -> None:
    """Codes must exist, and nobody hands out a permission they do not hold (no escalation)."""
    unknown = unknown_codes(list(codes))
    if unknown:
        raise Invalid(errors=[FieldError(field, N_("Unknown permission codes: %(codes)s"),
                                         {"codes": ", ".join(unknown)}, "unknown_permission")])
    missing = sorted(set(codes) - actor.permissions)
    if missing and not actor.is_owner:
        raise Forbidden(N_("You cannot grant permissions you do not hold: %(codes)s"),
                        params={"codes": ", ".join(missing)}, code="escalation_denied")


@use_case
def create(db: Session, actor: Actor, data: RoleCreate) -> RoleOut:
    actor.require("role.manage")
    check_grantable(actor, data.permissions)
    if db.scalar(select(Role.id).where(Role.tenant_id == actor.tenant_id, Role.code == data.code)):
        raise Conflict(N_("A role with this code already exists."), code="duplicate_role",
                       errors=[FieldError("code", N_("Already taken."), {}, "duplicate")])
    role = Role(tenant_id=actor.tenant_id, code=data.code, name=data.name, description=data.description,
                builtin=False, permissions=sorted(set(data.permissions)), max_discount_bp=data.max_discount_bp)
    db.add(role)
    db.flush()
    audit.record(db, actor, "role.create", target_type="role", target_id=role.id, target_label=role.name,
                 after={"code": role.code, "permissions": role.permissions, "max_discount_bp": role.max_discount_bp})
    return to_out(role)


@use_case
def update(db: Session, actor: Actor, role_id: uuid.UUID, data: RolePatch) -> RoleOut:
    actor.require("role.manage")
    role = get(db, actor, role_id)
    if role.builtin and data.permissions is not None and role.code == "admin":
        raise Forbidden(N_("The administrator role always has every permission."), code="builtin_role")
    before = {"name": role.name, "description": role.description, "permissions": role.permissions,
              "max_discount_bp": role.max_discount_bp}
    if data.permissions is not None:
        check_grantable(actor, set(data.permissions) ^ set(role.permissions))
        role.permissions = sorted(set(data.permissions))
    for key in ("name", "description", "max_discount_bp"):
        value = getattr(data, key)
        if value is not None:
            setattr(role, key, value)
    after = {"name": role.name, "description": role.description, "permissions": role.permissions,
             "max_discount_bp": role.max_discount_bp}
    b, a = audit.diff(before, after)
    audit.record(db, actor, "role.update", target_type="role", target_id=role.id, target_label=role.name,
                 before=b, after=a)
    return to_out(role)


@use_case
def delete(db: Session, actor: Actor, role_id: uuid.UUID) -> None:
    actor.require("role.manage")
    role = get(db, actor, role_id)
    if role.builtin:
        raise Conflict(N_("Built-in roles cannot be deleted."), code="builtin_role")
    if db.scalar(select(func.count()).where(Employee.tenant_id == actor.tenant_id, Employee.role_id == role.id)):
        raise Conflict(N_("This role is still assigned to employees."), code="role_in_use")
    audit.record(db, actor, "role.delete", target_type="role", target_id=role.id, target_label=role.name,
                 before={"code": role.code, "permissions": role.permissions})
    db.delete(role)


def display_name(role: Role, locale: str) -> str:
    if role.builtin and role.code in BUILTIN_ROLES:
        b = BUILTIN_ROLES[role.code]
        return b.name_zh if locale == "zh_CN" else b.name_en
    return role.name


def describe(code: str, locale: str) -> str:
    from cloudpos.auth.permissions import CATALOG

    return gettext(CATALOG[code].description, locale) if code in CATALOG else code
