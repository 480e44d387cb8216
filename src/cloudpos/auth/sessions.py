"""Logging in and out, and turning a bearer token or session cookie into an Actor."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.auth import domain
from cloudpos.auth.models import AuthSession, Employee, EmployeePermission, EmployeeStore, Role
from cloudpos.auth.passwords import new_token, token_hash, verify_password
from cloudpos.auth.permissions import effective
from cloudpos.config import get_settings
from cloudpos.context import Actor
from cloudpos.errors import Locked, Unauthorized
from cloudpos.i18n import N_
from cloudpos.tenancy.models import Tenant, Terminal

TOUCH_EVERY = timedelta(seconds=60)  # refresh last_seen at most once a minute (keeps reads cheap)


@dataclass(frozen=True)
class LoginResult:
    token: str
    expires_in: int
    actor: Actor


def _policy() -> domain.LockoutPolicy:
    s = get_settings()
    return domain.LockoutPolicy(s.lockout_threshold, timedelta(minutes=s.lockout_window_minutes),
                                timedelta(minutes=s.lockout_minutes))


def _anonymous(tenant_id: uuid.UUID, username: str, ip: str) -> Actor:
    return Actor(tenant_id=tenant_id, employee_id=None, username=username, display_name=username, ip=ip)


def login(db: Session, merchant_code: str, username: str, password: str, *, ip: str = "",
          user_agent: str = "", kind: str = "api", terminal_id: uuid.UUID | None = None) -> LoginResult:
    """Check the password; count failures (5 in 15 minutes lock the account); audit either way.

    Failures are committed (audit + counters) before the error is raised.
    """
    now = clock.now()
    tenant = db.scalar(select(Tenant).where(Tenant.code == merchant_code.strip().lower()))
    if tenant is None or tenant.status != "active":
        verify_password(None, password)
        raise Unauthorized(N_("Wrong merchant code, username or password."), code="invalid_credentials")
    db.info["tenant_id"] = tenant.id
    emp = db.scalar(select(Employee).where(Employee.tenant_id == tenant.id, Employee.username == username))
    if terminal_id is not None and db.get(Terminal, (tenant.id, terminal_id)) is None:
        terminal_id = None
    if emp is None or not emp.active:
        verify_password(None, password)
        audit.record(db, _anonymous(tenant.id, username, ip), "auth.login", target_type="employee",
                     target_label=username, result="failed",
                     details={"reason": "unknown user" if emp is None else "inactive"})
        db.commit()
        raise Unauthorized(N_("Wrong merchant code, username or password."), code="invalid_credentials")
    counters = domain.LoginCounters(emp.failed_logins, emp.first_failed_at, emp.locked_until)
    actor = _anonymous(tenant.id, username, ip)
    if domain.is_locked(counters, now):
        audit.record(db, actor, "auth.login", target_type="employee", target_id=emp.id, target_label=username,
                     result="failed", details={"reason": "locked"})
        db.commit()
        raise Locked(N_("Too many failed logins: the account is locked until %(until)s. A manager can unlock it."),
                     params={"until": emp.locked_until.astimezone().strftime("%H:%M") if emp.locked_until else ""},
                     extra={"locked_until": emp.locked_until.isoformat() if emp.locked_until else None})
    if not verify_password(emp.password_hash, password):
        c = domain.after_failure(counters, now, _policy())
        emp.failed_logins, emp.first_failed_at, emp.locked_until = c.failed_logins, c.first_failed_at, c.locked_until
        audit.record(db, actor, "auth.login", target_type="employee", target_id=emp.id, target_label=username,
                     result="failed", details={"reason": "wrong password", "failures": c.failed_logins})
        if domain.is_locked(c, now):
            audit.record(db, actor, "auth.lockout", target_type="employee", target_id=emp.id,
                         target_label=username, details={"until": c.locked_until})
        db.commit()
        raise Unauthorized(N_("Wrong merchant code, username or password."), code="invalid_credentials")
    return _open_session(db, emp, ip=ip, user_agent=user_agent, kind=kind, terminal_id=terminal_id)


def _open_session(db: Session, emp: Employee, *, ip: str, user_agent: str, kind: str,
                  terminal_id: uuid.UUID | None) -> LoginResult:
    s, now = get_settings(), clock.now()
    emp.failed_logins, emp.first_failed_at, emp.locked_until = 0, None, None
    emp.last_login_at = now
    token = new_token()
    sess = AuthSession(tenant_id=emp.tenant_id, employee_id=emp.id, token_hash=token_hash(token), kind=kind,
                       created_at=now, last_seen_at=now, expires_at=now + timedelta(hours=s.session_absolute_hours),
                       ip=ip[:64], user_agent=user_agent[:200], terminal_id=terminal_id)
    db.add(sess)
    db.flush()
    actor = load_actor(db, emp, ip=ip, session_id=sess.id, terminal_id=terminal_id)
    audit.record(db, actor, "auth.login", target_type="employee", target_id=emp.id, target_label=emp.username,
                 details={"kind": kind})
    db.commit()
    return LoginResult(token, s.session_absolute_hours * 3600, actor)


def load_actor(db: Session, emp: Employee, *, ip: str = "", session_id: uuid.UUID | None = None,
               terminal_id: uuid.UUID | None = None, request_id: str = "") -> Actor:
    """The employee's *current* role, overrides and stores, read fresh on every request."""
    role = db.get(Role, (emp.tenant_id, emp.role_id))
    overrides = db.execute(select(EmployeePermission.code, EmployeePermission.effect).where(
        EmployeePermission.tenant_id == emp.tenant_id, EmployeePermission.employee_id == emp.id)).all()
    stores = db.scalars(select(EmployeeStore.store_id).where(
        EmployeeStore.tenant_id == emp.tenant_id, EmployeeStore.employee_id == emp.id)).all()
    grants = {c for c, e in overrides if e == "grant"}
    denies = {c for c, e in overrides if e == "deny"}
    perms = effective(set(role.permissions if role else ()), grants, denies)
    return Actor(
        tenant_id=emp.tenant_id, employee_id=emp.id, username=emp.username, display_name=emp.display_name,
        role_code=role.code if role else "", permissions=perms, all_stores=emp.all_stores or emp.is_owner,
        store_ids=frozenset(stores), is_owner=emp.is_owner, max_discount_bp=role.max_discount_bp if role else 0,
        ip=ip, terminal_id=terminal_id, session_id=session_id, request_id=request_id,
    )


def authenticate(db: Session, token: str, *, ip: str = "", request_id: str = "") -> Actor:
    """Resolve a token to an Actor, or raise Unauthorized (expired, idle, revoked, deactivated)."""
    now = clock.now()
    sess = db.scalar(select(AuthSession).where(AuthSession.token_hash == token_hash(token)))
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    if sess is None or not domain.session_alive(now, sess.last_seen_at, sess.expires_at, idle,
                                                sess.revoked_at is not None):
        raise Unauthorized(N_("Your session has ended. Please log in again."), code="session_expired")
    db.info["tenant_id"] = sess.tenant_id
    emp = db.get(Employee, (sess.tenant_id, sess.employee_id))
    if emp is None or not emp.active:
        raise Unauthorized(N_("Your session has ended. Please log in again."), code="session_expired")
    if now - sess.last_seen_at > TOUCH_EVERY:
        sess.last_seen_at = now
        db.commit()
    return load_actor(db, emp, ip=ip, session_id=sess.id, terminal_id=sess.terminal_id, request_id=request_id)


def logout(db: Session, actor: Actor) -> None:
    if actor.session_id is None:
        return
    db.execute(update(AuthSession).where(AuthSession.tenant_id == actor.tenant_id, AuthSession.id == actor.session_id)
               .values(revoked_at=clock.now(), revoked_reason="logout"))
    audit.record(db, actor, "auth.logout", target_type="employee", target_id=actor.employee_id,
                 target_label=actor.username)
    db.commit()


def revoke_all(db: Session, tenant_id: uuid.UUID, employee_id: uuid.UUID, reason: str,
               keep: uuid.UUID | None = None) -> int:
    """End every open session of an employee (password change, deactivation), in the caller's transaction."""
    stmt = (update(AuthSession)
            .where(AuthSession.tenant_id == tenant_id, AuthSession.employee_id == employee_id,
                   AuthSession.revoked_at.is_(None))
            .values(revoked_at=clock.now(), revoked_reason=reason))
    if keep is not None:
        stmt = stmt.where(AuthSession.id != keep)
    return db.execute(stmt).rowcount or 0


def record_denied(db: Session, actor: Actor, permission: str, path: str) -> None:
    """A request without the permission it needs: recorded, committed, then refused by the caller."""
    db.rollback()
    audit.record(db, actor, "access.denied", target_type="route", target_label=path[:200], result="denied",
                 details={"permission": permission})
    db.commit()
