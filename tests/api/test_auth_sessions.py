"""Sessions and credentials: hashed random tokens, idle and absolute expiry, revocation (logout, password
change and reset, deactivation), argon2id parameters, and the login lockout."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from foundation_util import assert_problem, events, read
from merchants import OWNER_PASSWORD, STAFF_PASSWORD, signup
from sqlalchemy import MetaData, select

from cloudpos.auth.models import AuthSession, Employee
from cloudpos.auth.passwords import token_hash
from cloudpos.config import get_settings


def _login(m, username: str, password: str = STAFF_PASSWORD):
    return m.client.post("/api/v1/auth/login", json={"merchant_code": m.code, "username": username,
                                                     "password": password})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _me(m, headers):
    return m.client.get("/api/v1/me", headers=headers)


def test_tokens_are_random_and_only_their_hash_is_stored(client, shared_merchant, db, settings):
    m = shared_merchant
    username = f"tok-{secrets.token_hex(3)}"
    m.add_employee(username)
    tokens = [_login(m, username).json()["access_token"] for _ in range(3)]
    assert len(set(tokens)) == 3
    for t in tokens:
        assert len(t) >= 40 and re.fullmatch(r"[A-Za-z0-9_\-]+", t)

    # every column of every table in the database, every row: the raw token is nowhere
    meta = MetaData()
    meta.reflect(bind=db.get_bind())
    for table in meta.sorted_tables:
        for row in db.execute(select(table)).all():
            blob = " ".join(str(v) for v in row)
            for t in tokens:
                assert t not in blob, f"raw token found in {table.name}"
    stored = set(db.scalars(select(AuthSession.token_hash)).all())
    db.rollback()  # SQLite transactions take the write lock: end ours
    for t in tokens:
        assert token_hash(t) in stored
    if settings.is_sqlite:  # and not in the database files either (WAL included)
        path = Path(settings.db_url.removeprefix("sqlite:///"))
        for f in (path, path.with_name(path.name + "-wal")):
            if f.exists():
                data = f.read_bytes()
                for t in tokens:
                    assert t.encode() not in data


def test_password_hashes_are_argon2id_with_owasp_parameters(client, shared_merchant, db):
    m = shared_merchant
    username = f"hash-{secrets.token_hex(3)}"
    emp = m.add_employee(username, pin="4321")
    row = read(db, select(Employee).where(Employee.tenant_id == m.tenant_id, Employee.id == uuid.UUID(emp["id"])))
    owner = read(db, select(Employee).where(Employee.tenant_id == m.tenant_id, Employee.is_owner.is_(True)))
    for h in (row.password_hash, row.pin_hash, owner.password_hash):
        match = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$[^$]+", h)
        assert match, h
        memory_kib, time_cost, _ = map(int, match.groups())
        assert memory_kib >= 19 * 1024
        assert time_cost >= 2
    assert STAFF_PASSWORD not in row.password_hash
    assert row.password_hash != owner.password_hash


def test_session_expires_when_idle(client, shared_merchant, frozen_clock):
    m = shared_merchant
    idle = get_settings().session_idle_minutes
    start = datetime.now(UTC)
    frozen_clock(start)
    headers = m.login("owner", OWNER_PASSWORD)
    # used within the idle window, it stays alive: each use moves the window on
    for k in (1, 2, 3):
        frozen_clock(start + timedelta(minutes=k * (idle - 1)))
        assert _me(m, headers).status_code == 200
    # then left idle
    frozen_clock(start + timedelta(minutes=3 * (idle - 1) + idle + 1))
    assert_problem(_me(m, headers), 401, "session_expired")


def test_session_expires_after_absolute_lifetime(client, shared_merchant, frozen_clock):
    m = shared_merchant
    s = get_settings()
    start = datetime.now(UTC)
    frozen_clock(start)
    headers = m.login("owner", OWNER_PASSWORD)
    t = start
    step = timedelta(minutes=s.session_idle_minutes - 5)
    while t + step < start + timedelta(hours=s.session_absolute_hours):
        t += step
        frozen_clock(t)
        assert _me(m, headers).status_code == 200, t - start
    frozen_clock(start + timedelta(hours=s.session_absolute_hours, minutes=1))
    assert_problem(_me(m, headers), 401, "session_expired")


def test_logout_revokes_only_that_session(client, shared_merchant, db):
    m = shared_merchant
    username = f"out-{secrets.token_hex(3)}"
    m.add_employee(username)
    a, b = m.login(username), m.login(username)
    assert m.client.post("/api/v1/auth/logout", headers=a).status_code == 204
    assert_problem(_me(m, a), 401, "session_expired")
    assert _me(m, b).status_code == 200
    assert_problem(m.client.post("/api/v1/auth/logout", headers=a), 401)
    token = a["Authorization"].split()[1]
    sess = read(db, select(AuthSession).where(AuthSession.token_hash == token_hash(token)))
    assert sess.revoked_at is not None and sess.revoked_reason == "logout"
    assert [e["action"] for e in events(m, action="auth.logout") if e["target_label"] == username] == ["auth.logout"]


def test_own_password_change_ends_sessions_and_swaps_the_password(client, shared_merchant):
    m = shared_merchant
    username = f"pw-{secrets.token_hex(3)}"
    m.add_employee(username)
    a, b = m.login(username), m.login(username)
    r = m.client.post("/api/v1/auth/password", headers=a,
                      json={"current_password": "wrong-one-1", "new_password": "Brand-new-2"})
    p = assert_problem(r, 422)
    assert p["errors"][0]["field"] == "current_password"
    assert _me(m, b).status_code == 200  # nothing changed
    r = m.client.post("/api/v1/auth/password", headers=a,
                      json={"current_password": STAFF_PASSWORD, "new_password": "short"})
    assert_problem(r, 422)
    r = m.client.post("/api/v1/auth/password", headers=a,
                      json={"current_password": STAFF_PASSWORD, "new_password": "Brand-new-2"})
    assert r.status_code == 204, r.text
    assert_problem(_me(m, b), 401, "session_expired")  # the other session has ended
    assert_problem(_login(m, username), 401, "invalid_credentials")
    assert _login(m, username, "Brand-new-2").status_code == 200
    ev = events(m, action="auth.password.change")
    assert ev and ev[0]["target_label"] == username and ev[0]["summary"]["sessions_revoked"] >= 1


def test_password_reset_by_manager_ends_sessions(client, shared_merchant):
    m = shared_merchant
    username = f"rst-{secrets.token_hex(3)}"
    emp = m.add_employee(username)
    headers = m.login(username)
    r = m.client.post(f"/api/v1/employees/{emp['id']}/password", headers=m.owner, json={"new_password": "Reset-pass-9"})
    assert r.status_code == 204, r.text
    assert_problem(_me(m, headers), 401, "session_expired")
    assert_problem(_login(m, username), 401, "invalid_credentials")
    assert _login(m, username, "Reset-pass-9").status_code == 200
    assert events(m, action="employee.password.reset", target_id=emp["id"])


def test_deactivation_ends_sessions_and_blocks_login(client, shared_merchant):
    m = shared_merchant
    username = f"deact-{secrets.token_hex(3)}"
    emp = m.add_employee(username)
    headers = m.login(username)
    assert m.client.delete(f"/api/v1/employees/{emp['id']}", headers=m.owner).status_code == 200
    assert_problem(_me(m, headers), 401, "session_expired")
    assert_problem(_login(m, username), 401, "invalid_credentials")
    # reactivated: can log in again, but the old session stays dead
    r = m.client.patch(f"/api/v1/employees/{emp['id']}", headers=m.owner, json={"active": True})
    assert r.status_code == 200 and r.json()["active"] is True
    assert_problem(_me(m, headers), 401, "session_expired")
    assert _login(m, username).status_code == 200


def test_every_login_is_audited(client):
    m = signup(client)
    username = f"log-{secrets.token_hex(3)}"
    emp = m.add_employee(username)
    _login(m, username, "wrong-pass-1")
    _login(m, "ghost")
    m.login(username)
    logins = events(m, action="auth.login")
    mine = [e for e in logins if e["target_label"] == username]
    assert [e["result"] for e in mine] == ["ok", "failed"]  # newest first
    assert mine[0]["actor_id"] == emp["id"] and mine[0]["ip"] == "testclient"
    assert mine[1]["summary"]["reason"] == "wrong password"
    ghost = [e for e in logins if e["target_label"] == "ghost"]
    assert len(ghost) == 1 and ghost[0]["result"] == "failed" and ghost[0]["summary"]["reason"] == "unknown user"


@pytest.fixture
def locked_out(client, shared_merchant, frozen_clock):
    """A cashier with 5 failed logins, the clock frozen at the 5th."""
    m = shared_merchant
    username = f"lock-{secrets.token_hex(3)}"
    emp = m.add_employee(username)
    start = datetime.now(UTC)
    for i in range(5):
        frozen_clock(start + timedelta(minutes=2 * i))
        assert_problem(_login(m, username, f"wrong-pass-{i}"), 401, "invalid_credentials")
    return m, username, emp, start + timedelta(minutes=8)


def test_five_failures_lock_the_account_even_for_the_right_password(locked_out):
    m, username, emp, _ = locked_out
    p = assert_problem(_login(m, username), 423, "account_locked")
    until = datetime.fromisoformat(p["locked_until"])
    # The message names the end of the lock on the merchant's clock (Asia/Shanghai), not the server's.
    assert until.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M") in p["detail"]
    assert m.client.get(f"/api/v1/employees/{emp['id']}", headers=m.owner).json()["locked"] is True
    lockouts = events(m, action="auth.lockout", target_id=emp["id"])
    assert len(lockouts) == 1
    failed = [e for e in events(m, action="auth.login", target_id=emp["id"]) if e["result"] == "failed"]
    assert len(failed) == 6  # five wrong passwords, then the right one refused while locked
    assert failed[0]["summary"]["reason"] == "locked"


def test_owner_unlocks(locked_out):
    m, username, emp, _ = locked_out
    r = m.client.post(f"/api/v1/employees/{emp['id']}/unlock", headers=m.owner)
    assert r.status_code == 200, r.text
    assert r.json()["locked"] is False
    assert _login(m, username).status_code == 200
    assert events(m, action="employee.unlock", target_id=emp["id"])


def test_lock_lifts_by_itself_after_15_minutes(locked_out, frozen_clock):
    m, username, emp, locked_at = locked_out
    frozen_clock(locked_at + timedelta(minutes=14))
    assert_problem(_login(m, username), 423, "account_locked")
    frozen_clock(locked_at + timedelta(minutes=15, seconds=1))
    assert _login(m, username).status_code == 200


def test_failures_spread_over_more_than_15_minutes_do_not_lock(client, shared_merchant, frozen_clock):
    m = shared_merchant
    username = f"slow-{secrets.token_hex(3)}"
    m.add_employee(username)
    start = datetime.now(UTC)
    for i in range(4):
        frozen_clock(start + timedelta(minutes=i))
        assert_problem(_login(m, username, "wrong-pass-1"), 401)
    frozen_clock(start + timedelta(minutes=16))
    assert_problem(_login(m, username, "wrong-pass-1"), 401)  # a new window starts: 1 failure
    assert _login(m, username).status_code == 200


def test_a_successful_login_resets_the_failure_count(client, shared_merchant, frozen_clock):
    m = shared_merchant
    username = f"reset-{secrets.token_hex(3)}"
    m.add_employee(username)
    frozen_clock(datetime.now(UTC))
    for _ in range(4):
        assert_problem(_login(m, username, "wrong-pass-1"), 401)
    assert _login(m, username).status_code == 200
    for _ in range(4):
        assert_problem(_login(m, username, "wrong-pass-1"), 401)
    assert _login(m, username).status_code == 200
