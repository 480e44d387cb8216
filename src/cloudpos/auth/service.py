"""The auth module's interface for other modules: sessions, employees, roles, credential checks."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudpos.auth import employees, roles, sessions
from cloudpos.auth.models import Employee
from cloudpos.auth.passwords import verify_password
from cloudpos.context import Actor

login = sessions.login
logout = sessions.logout
authenticate = sessions.authenticate
read_session = sessions.read_session  # authenticate's steps, for the API's dependencies (web/deps.py)
read_session_and = sessions.read_session_and
check_session = sessions.check
bind_session = sessions.bind
needs_touch = sessions.needs_touch
touch_session = sessions.touch
record_denied = sessions.record_denied
load_actor = sessions.load_actor
bootstrap_roles = roles.bootstrap
create_owner = employees.create_owner


def verify_credentials(db: Session, tenant_id: uuid.UUID, username: str, password: str, *,
                       ip: str = "") -> Actor | None:
    """A manager's username + password (or PIN) typed at a terminal → their Actor, or None."""
    emp = db.scalar(select(Employee).where(Employee.tenant_id == tenant_id, Employee.username == username,
                                           Employee.active.is_(True)))
    if emp is None:
        verify_password(None, password)
        return None
    if verify_password(emp.password_hash, password) or (emp.pin_hash and verify_password(emp.pin_hash, password)):
        return load_actor(db, emp, ip=ip)
    return None


def employee_names(db: Session, tenant_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = db.execute(select(Employee.id, Employee.display_name).where(
        Employee.tenant_id == tenant_id, Employee.id.in_(ids))).all()
    return dict(rows)
