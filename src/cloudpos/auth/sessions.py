"""Logging in and out, and turning a bearer token or session cookie into an Actor."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import String, bindparam, cast, literal, select, union_all, update
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
from cloudpos.tenancy.models import Store, Tenant, Terminal

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


def _merchant_tz(db: Session, tenant_id: uuid.UUID, terminal_id: uuid.UUID | None) -> str:
    """The terminal's store time zone, else the merchant's first store's."""
    stmt = select(Store.timezone).where(Store.tenant_id == tenant_id)
    if terminal_id is not None:
        stmt = stmt.join(Terminal, (Terminal.tenant_id == Store.tenant_id) & (Terminal.store_id == Store.id)).where(
            Terminal.id == terminal_id)
    return db.scalar(stmt.order_by(Store.code).limit(1)) or "Asia/Shanghai"


def _local_hhmm(moment, tz: str) -> str:
    """The lock's end as the merchant's staff read a clock (their time zone, not the server's)."""
    if moment is None:
        return ""
    try:
        zone = ZoneInfo(tz)
    except (ValueError, ZoneInfoNotFoundError):
        zone = ZoneInfo("Asia/Shanghai")
    return moment.astimezone(zone).strftime("%H:%M")


def _anonymous(tenant_id: uuid.UUID, username: str, ip: str) -> Actor:
    return Actor(tenant_id=tenant_id, employee_id=None, username=username, display_name=username, ip=ip)


def login(db: Session, merchant_code: str, username: str, password: str, *, ip: str = "",
          user_agent: str = "", kind: str = "api", terminal_id: uuid.UUID | None = None,
          use_pin: bool = False) -> LoginResult:
    """Check the password (or, with `use_pin`, the 4–6 digit PIN for quick switching at a registered
    terminal); count failures (5 in 15 minutes lock the account); audit either way.

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
                     params={"until": _local_hhmm(emp.locked_until, _merchant_tz(db, tenant.id, terminal_id))},
                     extra={"locked_until": emp.locked_until.isoformat() if emp.locked_until else None})
    if not verify_password(emp.pin_hash if use_pin else emp.password_hash, password):
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


# Every request runs these: built once with bound parameters (building them cost about as much as running them).
# The employee's permission overrides and stores in one round trip: (code, "grant"|"deny") rows, then
# (store id as text, "store") rows.
_OVERRIDES_AND_STORES = union_all(
    select(EmployeePermission.code.label("a"), EmployeePermission.effect.label("b")).where(
        EmployeePermission.tenant_id == bindparam("a_tenant"),
        EmployeePermission.employee_id == bindparam("a_employee")),
    select(cast(EmployeeStore.store_id, String).label("a"), literal("store", String).label("b")).where(
        EmployeeStore.tenant_id == bindparam("a_tenant"), EmployeeStore.employee_id == bindparam("a_employee")),
)
_BY_TOKEN = (select(AuthSession, Employee, Role, Tenant)
             .join(Employee, (Employee.tenant_id == AuthSession.tenant_id) & (Employee.id == AuthSession.employee_id))
             .join(Role, (Role.tenant_id == Employee.tenant_id) & (Role.id == Employee.role_id))
             .join(Tenant, Tenant.id == AuthSession.tenant_id)
             .where(AuthSession.token_hash == bindparam("a_token_hash")))


def load_actor(db: Session, emp: Employee, *, ip: str = "", session_id: uuid.UUID | None = None,
               terminal_id: uuid.UUID | None = None, request_id: str = "", role: Role | None = None) -> Actor:
    """The employee's *current* role, overrides and stores, read fresh on every request."""
    role = role if role is not None else db.get(Role, (emp.tenant_id, emp.role_id))
    db.flush()  # plain Core below: pending changes to the employee's overrides or stores first
    conn, who = db.connection(), {"a_tenant": emp.tenant_id, "a_employee": emp.id}
    rows = conn.execute(_OVERRIDES_AND_STORES, who).all()
    overrides = [(a, b) for a, b in rows if b != "store"]
    stores = [uuid.UUID(a) for a, b in rows if b == "store"]
    grants = {c for c, e in overrides if e == "grant"}
    denies = {c for c, e in overrides if e == "deny"}
    perms = effective(set(role.permissions if role else ()), grants, denies)
    # Kept for the rest of the request (GET /me renders it without reading it again); holding the
    # objects also keeps them in the session's identity map, so `db.get` finds them without a query.
    db.info.setdefault(LOADED, {})[emp.id] = Loaded(emp, role, sorted(grants), sorted(denies), list(stores))
    return Actor(
        tenant_id=emp.tenant_id, employee_id=emp.id, username=emp.username, display_name=emp.display_name,
        role_code=role.code if role else "", permissions=perms, all_stores=emp.all_stores or emp.is_owner,
        store_ids=frozenset(stores), is_owner=emp.is_owner, max_discount_bp=role.max_discount_bp if role else 0,
        ip=ip, terminal_id=terminal_id, session_id=session_id, request_id=request_id,
    )


LOADED = "auth.loaded"


@dataclass(frozen=True)
class Loaded:
    """What `load_actor` read about an employee in this session (this request)."""

    employee: Employee
    role: Role | None
    grants: list[str]
    denies: list[str]
    store_ids: list[uuid.UUID]


def loaded(db: Session, employee_id: uuid.UUID | None) -> Loaded | None:
    return db.info.get(LOADED, {}).get(employee_id)


def authenticate(db: Session, token: str, *, ip: str = "", request_id: str = "") -> Actor:
    """Resolve a token to an Actor, or raise Unauthorized (expired, idle, revoked, deactivated).

    One query reads the session, the employee, their role and the merchant (this runs on every request).
    """
    now = clock.now()
    row = db.execute(_BY_TOKEN, {"a_token_hash": token_hash(token)}).one_or_none()
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    if row is None or not domain.session_alive(now, row[0].last_seen_at, row[0].expires_at, idle,
                                               row[0].revoked_at is not None):
        raise Unauthorized(N_("Your session has ended. Please log in again."), code="session_expired")
    sess, emp, role, tenant = row
    if not emp.active or tenant.status != "active":
        raise Unauthorized(N_("Your session has ended. Please log in again."), code="session_expired")
    db.info["tenant_id"] = sess.tenant_id
    db.info["auth.tenant"] = tenant  # keeps it in the identity map for this request
    if now - sess.last_seen_at > TOUCH_EVERY:
        sess.last_seen_at = now
        db.commit()
    return load_actor(db, emp, ip=ip, session_id=sess.id, terminal_id=sess.terminal_id, request_id=request_id,
                      role=role)


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
