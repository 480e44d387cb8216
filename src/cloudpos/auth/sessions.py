"""Logging in and out, and turning a bearer token or session cookie into an Actor."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import BindParameter, Connection, String, bindparam, cast, literal_column, select, true, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import replacement_traverse

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.auth import domain
from cloudpos.auth.models import AuthSession, Employee, EmployeePermission, EmployeeStore, Role
from cloudpos.auth.passwords import new_token, token_hash, verify_password
from cloudpos.auth.permissions import effective
from cloudpos.config import get_settings
from cloudpos.context import Actor
from cloudpos.errors import Locked, Unauthorized
from cloudpos.fastread import Read
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


@functools.lru_cache(maxsize=4096)  # a handful of distinct combinations per merchant
def _effective(role_permissions: tuple[str, ...], grants: frozenset[str], denies: frozenset[str]) -> frozenset[str]:
    return effective(frozenset(role_permissions), set(grants), set(denies))


def _actor(*, tenant_id: uuid.UUID, employee_id: uuid.UUID, username: str, display_name: str, role_code: str,
           role_permissions: Iterable[str], max_discount_bp: int, all_stores: bool, is_owner: bool,
           grants: Iterable[str], denies: Iterable[str], store_ids: Iterable[uuid.UUID], ip: str,
           terminal_id: uuid.UUID | None, session_id: uuid.UUID | None, request_id: str) -> Actor:
    perms = _effective(tuple(role_permissions), frozenset(grants), frozenset(denies))
    return Actor(tenant_id=tenant_id, employee_id=employee_id, username=username, display_name=display_name,
                 role_code=role_code, permissions=perms, all_stores=all_stores or is_owner,
                 store_ids=frozenset(store_ids), is_owner=is_owner, max_discount_bp=max_discount_bp, ip=ip,
                 terminal_id=terminal_id, session_id=session_id, request_id=request_id)


def load_actor(db: Session, emp: Employee, *, ip: str = "", session_id: uuid.UUID | None = None,
               terminal_id: uuid.UUID | None = None, request_id: str = "") -> Actor:
    """The employee's *current* role, overrides and stores (at login and sign-up; requests use `authenticate`)."""
    role = db.get(Role, (emp.tenant_id, emp.role_id))
    db.flush()  # plain Core below: pending changes to the employee's overrides or stores first
    who = {"tenant_id": emp.tenant_id, "employee_id": emp.id}
    overrides = db.execute(select(EmployeePermission.code, EmployeePermission.effect).filter_by(**who)).all()
    stores = db.scalars(select(EmployeeStore.store_id).filter_by(**who)).all()
    return _actor(tenant_id=emp.tenant_id, employee_id=emp.id, username=emp.username, display_name=emp.display_name,
                  role_code=role.code if role else "", role_permissions=role.permissions if role else (),
                  max_discount_bp=role.max_discount_bp if role else 0, all_stores=emp.all_stores,
                  is_owner=emp.is_owner, grants=[c for c, e in overrides if e == "grant"],
                  denies=[c for c, e in overrides if e == "deny"], store_ids=stores, ip=ip,
                  terminal_id=terminal_id, session_id=session_id, request_id=request_id)


@dataclass(frozen=True)
class SessionRow:
    """What one query reads about a token: the session, its employee, their role, overrides and stores, and
    the merchant. Kept on the request (`request.state.session_row`, web.deps) so GET /me does not read it
    again."""

    session_id: uuid.UUID
    tenant_id: uuid.UUID
    employee_id: uuid.UUID
    terminal_id: uuid.UUID | None
    last_seen_at: datetime
    expires_at: datetime
    revoked: bool
    username: str
    display_name: str
    active: bool
    all_stores: bool
    is_owner: bool
    role_code: str
    role_permissions: tuple[str, ...]
    max_discount_bp: int
    tenant_active: bool
    merchant_code: str
    merchant_name: str
    grants: tuple[str, ...]
    denies: tuple[str, ...]
    store_ids: tuple[uuid.UUID, ...]


class _joined(FunctionElement):
    """The strings of a group joined with commas: string_agg on PostgreSQL, group_concat on SQLite. The
    separator is written into the SQL (func.aggregate_strings binds it, and re-renders the statement on
    every execution)."""

    type = String()
    inherit_cache = True


@compiles(_joined)
def _group_concat(element: _joined, compiler: Any, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)}, ',')"


@compiles(_joined, "postgresql")
def _string_agg(element: _joined, compiler: Any, **kw: Any) -> str:
    return f"string_agg({compiler.process(element.clauses, **kw)}, ',')"


# Every request runs this (built once, bound parameters): plain columns, not four ORM rows, and the employee's
# overrides ("grant:code,deny:code") and stores ("id,id") as two correlated aggregates, all in one round trip.
_BY_TOKEN = (
    select(AuthSession.id, AuthSession.tenant_id, AuthSession.employee_id, AuthSession.terminal_id,
           AuthSession.last_seen_at, AuthSession.expires_at, AuthSession.revoked_at, Employee.username,
           Employee.display_name, Employee.active, Employee.all_stores, Employee.is_owner, Role.code,
           Role.permissions, Role.max_discount_bp, Tenant.status, Tenant.code, Tenant.name,
           select(_joined(EmployeePermission.effect + literal_column("':'", String) + EmployeePermission.code))
           .where(EmployeePermission.tenant_id == AuthSession.tenant_id,
                  EmployeePermission.employee_id == AuthSession.employee_id).scalar_subquery(),
           select(_joined(cast(EmployeeStore.store_id, String)))
           .where(EmployeeStore.tenant_id == AuthSession.tenant_id,
                  EmployeeStore.employee_id == AuthSession.employee_id).scalar_subquery())
    .join(Employee, (Employee.tenant_id == AuthSession.tenant_id) & (Employee.id == AuthSession.employee_id))
    .join(Role, (Role.tenant_id == Employee.tenant_id) & (Role.id == Employee.role_id))
    .join(Tenant, Tenant.id == AuthSession.tenant_id)
    .where(AuthSession.token_hash == bindparam("token_hash"))
)


_BY_TOKEN_READ = Read(_BY_TOKEN)


def read_session(conn: Connection, token: str) -> SessionRow | None:
    """The session behind a token (alive or not), or None. Plain Core on any connection (cloudpos.fastread on
    PostgreSQL: this runs on every API request)."""
    return _session_by_hash(conn, token_hash(token))


def _session_by_hash(conn: Connection, hashed: str) -> SessionRow | None:
    r = _BY_TOKEN_READ.first(conn, {"token_hash": hashed})
    return None if r is None else _session_row(r)


_WITH_CALLER: dict[int, Read] = {}


def with_caller(read: Read) -> Read:
    """`read` (its tenant the bind parameter `tid`) joined to the caller's session read, for one round trip:
    the session's columns, then `read`'s first row (NULLs when it found none), its tenant the token's. The
    caller's check (`check`) decides whether that second part is used at all."""
    if id(read) not in _WITH_CALLER:
        caller = _BY_TOKEN.subquery("caller")

        def tenant_of_caller(element: Any) -> Any:
            return caller.c.tenant_id if isinstance(element, BindParameter) and element.key == "tid" else None

        hit = replacement_traverse(read.stmt, {}, tenant_of_caller).lateral("hit")
        _WITH_CALLER[id(read)] = Read(select(*caller.c, *hit.c).select_from(caller.outerjoin(hit, true())))
    return _WITH_CALLER[id(read)]


def read_session_and(conn: Connection, hashed: str, read: Read, params: dict[str, Any]
                     ) -> tuple[SessionRow | None, tuple[Any, ...] | None]:
    """The session behind a token (given as its `token_hash`) and `read`'s row for the token's tenant (None
    when it found none): on PostgreSQL one statement (`with_caller`); elsewhere the two reads in turn."""
    if conn.dialect.name != "postgresql":
        row = _session_by_hash(conn, hashed)
        return row, (read.first(conn, {**params, "tid": row.tenant_id}) if row is not None else None)
    r = with_caller(read).first(conn, {**params, "token_hash": hashed})
    if r is None:
        return None, None
    n = len(_BY_TOKEN.selected_columns)
    other = tuple(r[n:])
    return _session_row(r), (other if any(v is not None for v in other) else None)


def _session_row(r: Any) -> SessionRow:
    overrides = [o.split(":", 1) for o in r[18].split(",")] if r[18] else []
    return SessionRow(
        session_id=r[0], tenant_id=r[1], employee_id=r[2], terminal_id=r[3], last_seen_at=r[4], expires_at=r[5],
        revoked=r[6] is not None, username=r[7], display_name=r[8], active=r[9], all_stores=r[10],
        is_owner=r[11], role_code=r[12], role_permissions=tuple(r[13] or ()), max_discount_bp=r[14],
        tenant_active=r[15] == "active", merchant_code=r[16], merchant_name=r[17],
        grants=tuple(sorted(c for e, c in overrides if e == "grant")),
        denies=tuple(sorted(c for e, c in overrides if e == "deny")),
        store_ids=tuple(uuid.UUID(s) for s in r[19].split(",")) if r[19] else ())


def check(row: SessionRow | None, *, ip: str = "", request_id: str = "") -> Actor:
    """The Actor of a live session; Unauthorized when it expired, idled out, was revoked, or its employee or
    merchant was deactivated."""
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    if (row is None or not row.active or not row.tenant_active
            or not domain.session_alive(clock.now(), row.last_seen_at, row.expires_at, idle, row.revoked)):
        raise Unauthorized(N_("Your session has ended. Please log in again."), code="session_expired")
    return _actor(tenant_id=row.tenant_id, employee_id=row.employee_id, username=row.username,
                  display_name=row.display_name, role_code=row.role_code, role_permissions=row.role_permissions,
                  max_discount_bp=row.max_discount_bp, all_stores=row.all_stores, is_owner=row.is_owner,
                  grants=row.grants, denies=row.denies, store_ids=row.store_ids, ip=ip,
                  terminal_id=row.terminal_id, session_id=row.session_id, request_id=request_id)


def needs_touch(row: SessionRow) -> bool:
    return clock.now() - row.last_seen_at > TOUCH_EVERY


def touch(db: Session, row: SessionRow) -> None:
    """Refresh the session's last-seen time (the idle timeout counts from it), at most once a minute."""
    db.execute(update(AuthSession).where(AuthSession.tenant_id == row.tenant_id, AuthSession.id == row.session_id)
               .values(last_seen_at=clock.now()))
    db.commit()


def bind(db: Session, row: SessionRow) -> None:
    """Scope the request's session to the caller's tenant."""
    db.info["tenant_id"] = row.tenant_id


def authenticate(db: Session, token: str, *, ip: str = "", request_id: str = "") -> Actor:
    """Resolve a token to an Actor on the given session, or raise Unauthorized (expired, idle, revoked,
    deactivated). The API's dependencies do the same read outside the request's transaction (web/deps.py)."""
    row = read_session(db.connection(), token)
    actor = check(row, ip=ip, request_id=request_id)
    bind(db, row)
    if needs_touch(row):
        db.rollback()  # end the read first: the refresh begins its own transaction with the write
        touch(db, row)
    return actor


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
