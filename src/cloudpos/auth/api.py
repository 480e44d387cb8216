"""Login, logout, the current employee, employees, roles and the permission catalog."""

from __future__ import annotations

import uuid

from fastapi import Depends, Query, Request, Response
from sqlalchemy.orm import Session

from cloudpos.approvals.schemas import ManagerOverride
from cloudpos.auth import employees, roles, sessions
from cloudpos.auth.permissions import CATALOG, GROUPS
from cloudpos.auth.schemas import (
    EmployeeCreate,
    EmployeeOut,
    EmployeePatch,
    LoginIn,
    MeOut,
    PasswordChangeIn,
    PasswordResetIn,
    PermissionOut,
    RoleCreate,
    RoleOut,
    RolePatch,
    RoleRef,
    StoreRef,
    TokenOut,
)
from cloudpos.context import Actor
from cloudpos.i18n import gettext
from cloudpos.schemas import Page, PageNo, PageSize
from cloudpos.web.deps import authenticated, client_ip, get_db, public, requires
from cloudpos.web.routing import APIRouter, lean_get

router = APIRouter()


@lean_get(router, "/me", response_model=MeOut, tags=["auth"])
async def me(request: Request, actor: Actor = Depends(authenticated(loop_only=True))) -> MeOut:
    """Answered on the event loop, as the caller's own read (web.deps): one more indexed read on the autocommit
    auth engine."""
    me = request.state.session_row  # read by the auth dependency a moment ago
    with request.app.state.loop_db.connect() as conn:
        out, works_in = employees.current_out(conn, actor, grants=list(me.grants), denies=list(me.denies),
                                              store_ids=list(me.store_ids))
    stores = [StoreRef(id=i, code=code, name=name) for i, code, name in works_in]
    return MeOut(employee=out, tenant_id=actor.tenant_id, merchant_code=me.merchant_code,
                 merchant_name=me.merchant_name, role=out.role, stores=stores,
                 permissions=sorted(actor.permissions), max_discount_bp=actor.max_discount_bp)


@router.post("/auth/login", response_model=TokenOut, tags=["auth"], dependencies=[Depends(public())])
def login(data: LoginIn, request: Request, db: Session = Depends(get_db)) -> TokenOut:
    result = sessions.login(db, data.merchant_code, data.username, data.password, ip=client_ip(request),
                            user_agent=request.headers.get("user-agent", ""), kind="api",
                            terminal_id=data.terminal_id)
    return TokenOut(access_token=result.token, expires_in=result.expires_in)


@router.post("/auth/logout", status_code=204, tags=["auth"])
def logout(actor: Actor = Depends(authenticated()), db: Session = Depends(get_db)) -> Response:
    sessions.logout(db, actor)
    return Response(status_code=204)


@router.post("/auth/password", status_code=204, tags=["auth"])
def change_password(data: PasswordChangeIn, actor: Actor = Depends(authenticated()),
                    db: Session = Depends(get_db)) -> Response:
    employees.change_own_password(db, actor, data.current_password, data.new_password)
    return Response(status_code=204)


@router.get("/employees", response_model=Page[EmployeeOut], tags=["staff"])
def list_employees(q: str = Query("", max_length=60), role: str = Query("", max_length=40),
                   active: bool | None = None, store_id: uuid.UUID | None = None, page: PageNo = 1,
                   page_size: PageSize = 50, actor: Actor = Depends(requires("staff.view")),
                   db: Session = Depends(get_db)) -> Page[EmployeeOut]:
    items, total = employees.list_employees(db, actor, q=q, role=role, active=active, store_id=store_id,
                                            page=page, page_size=page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.post("/employees", status_code=201, response_model=EmployeeOut, tags=["staff"])
def create_employee(data: EmployeeCreate, actor: Actor = Depends(requires("staff.manage")),
                    db: Session = Depends(get_db)) -> EmployeeOut:
    return employees.create(db, actor, data)


@router.get("/employees/{employee_id}", response_model=EmployeeOut, tags=["staff"])
def get_employee(employee_id: uuid.UUID, actor: Actor = Depends(requires("staff.view")),
                 db: Session = Depends(get_db)) -> EmployeeOut:
    return employees.to_out(db, employees.get(db, actor, employee_id))


@router.patch("/employees/{employee_id}", response_model=EmployeeOut, tags=["staff"])
def patch_employee(employee_id: uuid.UUID, data: EmployeePatch, actor: Actor = Depends(requires("staff.manage")),
                   db: Session = Depends(get_db)) -> EmployeeOut:
    return employees.update(db, actor, employee_id, data)


@router.delete("/employees/{employee_id}", response_model=EmployeeOut, tags=["staff"])
def deactivate_employee(employee_id: uuid.UUID, override: ManagerOverride | None = None,
                        actor: Actor = Depends(requires("staff.manage")),
                        db: Session = Depends(get_db)) -> EmployeeOut:
    """Deactivates (never deletes): the employee's sessions end at once. May need a manager's approval."""
    return employees.deactivate(db, actor, employee_id, override)


@router.post("/employees/{employee_id}/password", status_code=204, tags=["staff"])
def reset_password(employee_id: uuid.UUID, data: PasswordResetIn, actor: Actor = Depends(requires("staff.manage")),
                   db: Session = Depends(get_db)) -> Response:
    employees.reset_password(db, actor, employee_id, data.new_password)
    return Response(status_code=204)


@router.post("/employees/{employee_id}/unlock", response_model=EmployeeOut, tags=["staff"])
def unlock_employee(employee_id: uuid.UUID, actor: Actor = Depends(requires("staff.manage")),
                    db: Session = Depends(get_db)) -> EmployeeOut:
    return employees.unlock(db, actor, employee_id)


@router.get("/roles", response_model=list[RoleOut], tags=["staff"])
def list_roles(actor: Actor = Depends(requires("staff.view")), db: Session = Depends(get_db)) -> list[RoleOut]:
    return roles.list_roles(db, actor)


@router.post("/roles", status_code=201, response_model=RoleOut, tags=["staff"])
def create_role(data: RoleCreate, actor: Actor = Depends(requires("role.manage")),
                db: Session = Depends(get_db)) -> RoleOut:
    return roles.create(db, actor, data)


@router.get("/roles/{role_id}", response_model=RoleOut, tags=["staff"])
def get_role(role_id: uuid.UUID, actor: Actor = Depends(requires("staff.view")),
             db: Session = Depends(get_db)) -> RoleOut:
    return roles.to_out(roles.get(db, actor, role_id))


@router.patch("/roles/{role_id}", response_model=RoleOut, tags=["staff"])
def patch_role(role_id: uuid.UUID, data: RolePatch, actor: Actor = Depends(requires("role.manage")),
               db: Session = Depends(get_db)) -> RoleOut:
    return roles.update(db, actor, role_id, data)


@router.delete("/roles/{role_id}", status_code=204, tags=["staff"])
def delete_role(role_id: uuid.UUID, actor: Actor = Depends(requires("role.manage")),
                db: Session = Depends(get_db)) -> Response:
    roles.delete(db, actor, role_id)
    return Response(status_code=204)


@router.get("/permissions", response_model=list[PermissionOut], tags=["staff"])
def permission_catalog(actor: Actor = Depends(authenticated())) -> list[PermissionOut]:
    return [PermissionOut(code=p.code, group=p.group, group_name=gettext(GROUPS[p.group]),
                          description=gettext(p.description)) for p in CATALOG.values()]


__all__ = ["router", "RoleRef"]
