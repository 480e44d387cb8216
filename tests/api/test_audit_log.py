"""The audit log: what is recorded, in the same transaction as the change; the hash chain; the database
refusing UPDATE/DELETE; no route that edits events; `cloudpos audit verify` on intact and tampered chains."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from foundation_util import assert_problem, audit_seq, count_rows, events
from merchants import STAFF_PASSWORD, signup
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from cloudpos.audit import service as audit_service
from cloudpos.audit.domain import GENESIS, link_hash
from cloudpos.audit.models import AuditEvent
from cloudpos.auth.models import Employee

EVENTS = AuditEvent.__table__
CLI = Path(sys.executable).with_name("cloudpos")


def test_changes_are_recorded_with_who_when_where_what(client, shared_merchant):
    m = shared_merchant
    emp = m.add_employee(f"rec-{secrets.token_hex(3)}", "cashier")
    created = events(m, action="employee.create", target_id=emp["id"])
    assert len(created) == 1
    ev = created[0]
    owner = client.get("/api/v1/me", headers=m.owner).json()["employee"]
    assert ev["actor_id"] == owner["id"] and ev["actor_name"] == owner["display_name"]
    assert ev["ip"] == "testclient" and ev["result"] == "ok"
    assert ev["target_type"] == "employee" and ev["target_label"] == emp["username"]
    assert ev["summary"]["after"]["role"] == "cashier" and ev["summary"]["after"]["active"] is True
    assert "password" not in str(ev["summary"]).lower().replace("has_pin", "")
    assert ev["occurred_at"].endswith("Z")

    client.delete(f"/api/v1/employees/{emp['id']}", headers=m.owner)
    ev = events(m, action="employee.deactivate", target_id=emp["id"])[0]
    assert ev["summary"]["before"] == {"active": True} and ev["summary"]["after"] == {"active": False}

    r = client.patch("/api/v1/merchant/settings", headers=m.owner, json={"merchant_name": "Renamed Mart"})
    assert r.status_code == 200
    ev = events(m, action="settings.update")[0]
    assert ev["summary"]["after"] == {"merchant_name": "Renamed Mart"}


def test_the_event_is_written_in_the_same_transaction_as_the_change(client, shared_merchant, db, monkeypatch):
    """If recording the event fails, the change is not kept either (and vice versa)."""
    m = shared_merchant
    seq = audit_seq(db, m.tenant_id)
    employees = count_rows(db, Employee, m.tenant_id)
    real = audit_service.record

    def record_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(audit_service, "record", record_then_fail)
    r = client.post("/api/v1/employees", headers=m.owner, json={
        "username": f"atomic-{secrets.token_hex(3)}", "display_name": "Atomic", "password": STAFF_PASSWORD,
        "role": "cashier", "store_ids": [str(m.store_id)]})
    assert_problem(r, 500, "internal_error")
    monkeypatch.setattr(audit_service, "record", real)
    assert count_rows(db, Employee, m.tenant_id) == employees
    assert audit_seq(db, m.tenant_id) == seq

    # a change refused half-way (duplicate username after the checks) leaves no event
    name = f"twice-{secrets.token_hex(3)}"
    m.add_employee(name)
    seq = audit_seq(db, m.tenant_id)
    r = client.post("/api/v1/employees", headers=m.owner, json={
        "username": name, "display_name": "Twice", "password": STAFF_PASSWORD, "role": "cashier",
        "store_ids": [str(m.store_id)]})
    assert_problem(r, 409)
    assert audit_seq(db, m.tenant_id) == seq


def test_chain_links_are_sha256_of_prev_hash_and_canonical_json(client, shared_merchant, db):
    m = shared_merchant
    m.add_employee(f"chain-{secrets.token_hex(3)}")
    try:
        rows = db.scalars(select(AuditEvent).where(AuditEvent.tenant_id == m.tenant_id)
                          .order_by(AuditEvent.seq)).all()
        assert [e.seq for e in rows] == list(range(1, len(rows) + 1))
        prev = GENESIS
        for ev in rows:
            assert ev.prev_hash == prev
            assert ev.hash == link_hash(prev, audit_service._payload(ev))
            prev = ev.hash
        count, broken = audit_service.verify_chain(db, m.tenant_id)
        assert broken is None and count == len(rows)
    finally:
        db.rollback()


def test_the_database_refuses_update_and_delete(client, shared_merchant, db):
    m = shared_merchant
    m.add_employee(f"ro-{secrets.token_hex(3)}")
    target = (EVENTS.c.tenant_id == m.tenant_id) & (EVENTS.c.seq == 1)
    for stmt in (update(EVENTS).where(target).values(action="forged"), delete(EVENTS).where(target)):
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(stmt)
        db.rollback()
    assert db.scalar(select(EVENTS.c.action).where(target)) == "merchant.signup"
    db.rollback()


def test_no_route_edits_or_deletes_events(client, shared_merchant, app):
    from test_permission_matrix import api_routes

    m = shared_merchant
    audit_routes = [r for r in api_routes(app) if r.path.startswith("/api/v1/audit-events")]
    assert audit_routes and {r.method for r in audit_routes} == {"GET"}
    ev = events(m)[0]
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        for path in ("/api/v1/audit-events", f"/api/v1/audit-events/{ev['id']}", f"/api/v1/audit-events/{ev['seq']}"):
            r = client.request(method, path, headers=m.owner, json={"action": "forged"})
            assert r.status_code in (404, 405), (method, path, r.status_code)
            assert_problem(r, r.status_code)
    assert events(m)[0] == ev


# --- `cloudpos audit verify` -------------------------------------------------------------------

def verify(settings, merchant_code: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "CLOUDPOS_DATABASE_URL": settings.database_url}
    cmd = [str(CLI), "audit", "verify"] + (["--merchant", merchant_code] if merchant_code else [])
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


@contextmanager
def tampering(db, backend: str) -> Iterator[None]:
    """Let this connection change audit_events for a moment: the append-only triggers are off
    (PostgreSQL: replica mode for this transaction only; SQLite: triggers dropped, then recreated)."""
    if backend == "postgresql":
        db.execute(text("SET LOCAL session_replication_role = replica"))
        try:
            yield
            db.commit()
        except BaseException:
            db.rollback()
            raise
        return
    ddl = {name: sql for name, sql in db.execute(text(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'")).all()}
    assert len(ddl) == 2, ddl
    try:
        for name in ddl:
            db.execute(text(f"DROP TRIGGER {name}"))
        yield
    finally:
        for sql in ddl.values():
            db.execute(text(sql))
        db.commit()


def _rows(db, tenant_id) -> list[dict]:
    rows = [dict(r._mapping) for r in db.execute(select(EVENTS).where(EVENTS.c.tenant_id == tenant_id)
                                                 .order_by(EVENTS.c.seq)).all()]
    db.rollback()
    return rows


@pytest.fixture
def chained(client):
    """A merchant of its own (its chain gets tampered with) with a dozen events."""
    m = signup(client)
    for i in range(3):
        emp = m.add_employee(f"v{i}-{secrets.token_hex(2)}")
        client.patch(f"/api/v1/employees/{emp['id']}", headers=m.owner, json={"display_name": f"V {i}"})
    return m


def test_verify_passes_on_an_intact_chain(chained, settings):
    r = verify(settings, chained.code)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK" in r.stdout and chained.code in r.stdout


@pytest.mark.parametrize("how", ["edited", "deleted", "reordered", "rehashed"])
def test_verify_names_the_first_broken_link(chained, settings, db, backend, how):
    m = chained
    rows = _rows(db, m.tenant_id)
    assert len(rows) >= 8
    k = 4
    ev = (EVENTS.c.tenant_id == m.tenant_id)
    try:
        with tampering(db, backend):
            if how == "edited":
                db.execute(update(EVENTS).where(ev & (EVENTS.c.seq == k)).values(target_label="someone else"))
            elif how == "deleted":
                db.execute(delete(EVENTS).where(ev & (EVENTS.c.seq == k)))
            elif how == "reordered":  # swap events k and k+1
                db.execute(update(EVENTS).where(ev & (EVENTS.c.seq == k)).values(seq=-1))
                db.execute(update(EVENTS).where(ev & (EVENTS.c.seq == k + 1)).values(seq=k))
                db.execute(update(EVENTS).where(ev & (EVENTS.c.seq == -1)).values(seq=k + 1))
            else:  # edited, and its hash recomputed to match: the next link still breaks
                row = rows[k - 1]
                forged = {**row, "target_label": "someone else"}
                payload = audit_service._payload(AuditEvent(**forged))
                db.execute(update(EVENTS).where(ev & (EVENTS.c.seq == k)).values(
                    target_label="someone else", hash=link_hash(row["prev_hash"], payload)))
        expected = k + 1 if how == "rehashed" else k
        if how == "rehashed":  # in-process (the command's own code path), to spare a process start
            count, broken = audit_service.verify_chain(db, m.tenant_id)
            db.rollback()
            assert broken is not None and broken.seq == expected, broken
        else:
            r = verify(settings, m.code)
            assert r.returncode != 0, r.stdout
            assert f"BROKEN at sequence #{expected}" in r.stdout, r.stdout
    finally:  # put the chain back as it was: other tests (and `verify` of every merchant) share the database
        with tampering(db, backend):
            db.execute(delete(EVENTS).where(ev))
            db.execute(insert(EVENTS), rows)
    count, broken = audit_service.verify_chain(db, m.tenant_id)
    db.rollback()
    assert broken is None and count == len(rows)
