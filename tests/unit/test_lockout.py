"""Login lockout, session expiry, password and username rules, effective permissions
(cloudpos.auth.domain / permissions). Pure: no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cloudpos.auth.domain import (
    LockoutPolicy,
    LoginCounters,
    after_failure,
    after_success,
    is_locked,
    password_errors,
    session_alive,
    username_errors,
)
from cloudpos.auth.permissions import ALL, BUILTIN_ROLES, effective, unknown_codes

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
POLICY = LockoutPolicy()
FRESH = LoginCounters(0, None, None)


def fail(c: LoginCounters, at: datetime) -> LoginCounters:
    return after_failure(c, at, POLICY)


def test_policy_defaults_are_5_in_15_minutes_for_15_minutes():
    assert (POLICY.threshold, POLICY.window, POLICY.duration) == (5, timedelta(minutes=15), timedelta(minutes=15))


def test_the_fifth_failure_within_the_window_locks_for_15_minutes():
    c = FRESH
    for i in range(4):
        c = fail(c, T0 + timedelta(minutes=3 * i))
        assert not is_locked(c, T0 + timedelta(minutes=3 * i))
    at = T0 + timedelta(minutes=14)
    c = fail(c, at)
    assert c.failed_logins == 5 and c.locked_until == at + timedelta(minutes=15)
    assert is_locked(c, at + timedelta(minutes=14, seconds=59))
    assert not is_locked(c, at + timedelta(minutes=15))


def test_failures_outside_the_window_start_a_new_count():
    c = FRESH
    for i in range(4):
        c = fail(c, T0 + timedelta(minutes=i))
    c = fail(c, T0 + timedelta(minutes=15, seconds=1))
    assert c.failed_logins == 1 and c.first_failed_at == T0 + timedelta(minutes=15, seconds=1)
    assert not is_locked(c, T0 + timedelta(minutes=16))


def test_success_resets():
    assert after_success() == FRESH


def test_session_idle_and_absolute_expiry():
    idle = timedelta(minutes=120)
    expires = T0 + timedelta(hours=12)
    assert session_alive(T0 + timedelta(minutes=119), T0, expires, idle, False)
    assert not session_alive(T0 + timedelta(minutes=120), T0, expires, idle, False)
    assert not session_alive(expires, expires - timedelta(minutes=1), expires, idle, False)
    assert not session_alive(T0, T0, expires, idle, True)


def test_password_rules():
    assert password_errors("Abcdef-1") == []
    assert [e.code for e in password_errors("short1")] == ["too_short"]
    assert [e.code for e in password_errors("x" * 129)] == ["too_long"]
    assert [e.code for e in password_errors("onlyletters")] == ["too_simple"]
    assert [e.code for e in password_errors("12345678")] == ["too_simple"]
    assert [e.code for e in password_errors("Alice123", username="alice123")] == ["too_simple"]


def test_username_rules():
    for ok in ("ab", "cashier-01", "li.ming", "A_b"):
        assert username_errors(ok) == [], ok
    for bad in ("a", "-ab", "a b", "收银员", "x" * 41, "'; DROP TABLE employees; --", ""):
        assert username_errors(bad), bad


def test_effective_permissions_deny_wins_and_unknown_codes_are_dropped():
    cashier = BUILTIN_ROLES["cashier"].permissions
    assert effective(cashier, {"report.view"}, set()) == cashier | {"report.view"}
    assert "sale.create" not in effective(cashier, {"sale.create"}, {"sale.create"})
    assert effective(cashier, {"no.such"}, set()) == cashier
    assert unknown_codes(["sale.create", "no.such"]) == ["no.such"]


def test_builtin_roles_are_nested_and_admin_has_everything():
    r = {k: v.permissions for k, v in BUILTIN_ROLES.items()}
    assert r["admin"] == ALL
    assert r["salesperson"] < r["store_manager"] and r["cashier"] < r["store_manager"] < r["admin"]
    assert not {"staff.manage", "role.manage", "settings.manage", "audit.view"} & r["cashier"]
    assert "role.manage" not in r["store_manager"] and "settings.manage" not in r["store_manager"]
