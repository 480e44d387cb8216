"""Request and response shapes for login, employees, roles and permissions."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from cloudpos.schemas import StrictModel, Text


class LoginIn(StrictModel):
    merchant_code: Text(32, 1)
    username: Text(40, 1)
    password: str = Field(min_length=1, max_length=128)
    terminal_id: uuid.UUID | None = None


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class PasswordChangeIn(StrictModel):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=1, max_length=128)


class StoreRef(BaseModel):
    id: uuid.UUID
    code: str
    name: str


class RoleRef(BaseModel):
    id: uuid.UUID
    code: str
    name: str


class EmployeeOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    phone: str
    role: RoleRef
    is_owner: bool
    active: bool
    all_stores: bool
    store_ids: list[uuid.UUID]
    grants: list[str]
    denies: list[str]
    locked: bool
    locked_until: datetime | None
    has_pin: bool
    last_login_at: datetime | None
    created_at: datetime


class MeOut(BaseModel):
    employee: EmployeeOut
    tenant_id: uuid.UUID
    merchant_code: str
    merchant_name: str
    role: RoleRef
    stores: list[StoreRef]
    permissions: list[str]
    max_discount_bp: int


class EmployeeCreate(StrictModel):
    username: Text(40, 1)
    display_name: Text(60, 1)
    password: str = Field(min_length=1, max_length=128)
    role: Text(40, 1) = Field(description="Role code (cashier, salesperson, store_manager, admin or a custom role)")
    store_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    all_stores: bool = False
    phone: Text(32) = ""
    pin: str | None = Field(default=None, max_length=6)
    grants: list[Text(40, 1)] = Field(default_factory=list, max_length=100)
    denies: list[Text(40, 1)] = Field(default_factory=list, max_length=100)


class EmployeePatch(StrictModel):
    display_name: Text(60, 1) | None = None
    phone: Text(32) | None = None
    role: Text(40, 1) | None = None
    store_ids: list[uuid.UUID] | None = Field(default=None, max_length=500)
    all_stores: bool | None = None
    active: bool | None = None
    grants: list[Text(40, 1)] | None = Field(default=None, max_length=100)
    denies: list[Text(40, 1)] | None = Field(default=None, max_length=100)
    pin: str | None = Field(default=None, max_length=6)


class PasswordResetIn(StrictModel):
    new_password: str = Field(min_length=1, max_length=128)


class PermissionOut(BaseModel):
    code: str
    group: str
    group_name: str
    description: str


class RoleOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    description: str
    builtin: bool
    permissions: list[str]
    max_discount_bp: int
    employee_count: int = 0


class RoleCreate(StrictModel):
    code: Text(40, 1) = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    name: Text(60, 1)
    description: Text(300) = ""
    permissions: list[Text(40, 1)] = Field(max_length=200)
    max_discount_bp: int = Field(default=0, ge=0, le=10000)


class RolePatch(StrictModel):
    name: Text(60, 1) | None = None
    description: Text(300) | None = None
    permissions: list[Text(40, 1)] | None = Field(default=None, max_length=200)
    max_discount_bp: int | None = Field(default=None, ge=0, le=10000)
