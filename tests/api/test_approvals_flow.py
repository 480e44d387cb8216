"""Approvals: deactivating an employee marked as needing approval — parked as a request, authorized on
the spot by a manager's credentials, or approved / rejected later by the owner."""

from __future__ import annotations

import secrets

import pytest
from foundation_util import assert_problem, audit_seq, events
from merchants import OWNER_PASSWORD, STAFF_PASSWORD, signup


@pytest.fixture
def gated(client):
    """A merchant where employee.deactivate needs approval, with a store manager and a cashier."""
    m = signup(client)
    r = client.patch("/api/v1/merchant/settings", headers=m.owner, json={"approval_required": ["employee.deactivate"]})
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["approval_required"] == ["employee.deactivate"]
    ops = {o["code"]: o for o in client.get("/api/v1/approval-operations", headers=m.owner).json()}
    assert ops["employee.deactivate"]["required"] is True
    manager = m.add_employee(f"mgr-{secrets.token_hex(3)}", "store_manager")
    return m, manager, m.login(manager["username"])


def _cashier(m):
    return m.add_employee(f"csh-{secrets.token_hex(3)}", "cashier")


def _active(m, emp_id) -> bool:
    return m.client.get(f"/api/v1/employees/{emp_id}", headers=m.owner).json()["active"]


def test_unknown_operations_cannot_be_marked(client, shared_merchant):
    r = client.patch("/api/v1/merchant/settings", headers=shared_merchant.owner,
                     json={"approval_required": ["employee.fly"]})
    p = assert_problem(r, 422)
    assert p["errors"][0]["code"] == "unknown_operation"


def test_delete_is_parked_until_the_owner_approves(client, gated, db):
    m, manager, mh = gated
    emp = _cashier(m)
    emp_headers = m.login(emp["username"])
    r = client.delete(f"/api/v1/employees/{emp['id']}", headers=mh)
    p = assert_problem(r, 403, "approval_required")
    approval_id = p["approval_id"]
    assert _active(m, emp["id"]) is True
    assert client.get("/api/v1/me", headers=emp_headers).status_code == 200  # sessions untouched
    req = events(m, action="approval.request")[0]
    assert req["target_id"] == approval_id and req["actor_id"] == manager["id"]

    pending = client.get("/api/v1/approvals", headers=m.owner, params={"status": "pending"}).json()["items"]
    assert [a["id"] for a in pending] == [approval_id]
    assert pending[0]["operation"] == "employee.deactivate" and pending[0]["payload"] == {"employee_id": emp["id"]}
    # the requester sees their own request; cannot decide it
    assert approval_id in {a["id"] for a in client.get("/api/v1/approvals", headers=mh).json()["items"]}
    assert_problem(client.post(f"/api/v1/approvals/{approval_id}/approve", headers=mh), 403, "self_approval")

    r = client.post(f"/api/v1/approvals/{approval_id}/approve", headers=m.owner, json={"note": "ok, left the company"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["decided_by_name"]
    assert _active(m, emp["id"]) is False
    assert_problem(client.get("/api/v1/me", headers=emp_headers), 401)
    approve = events(m, action="approval.approve")[0]
    assert approve["target_id"] == approval_id and approve["summary"]["note"] == "ok, left the company"
    deact = events(m, action="employee.deactivate", target_id=emp["id"])[0]
    assert deact["summary"]["approval"] == "request" and deact["seq"] == approve["seq"] + 1

    seq = audit_seq(db, m.tenant_id)
    assert_problem(client.post(f"/api/v1/approvals/{approval_id}/approve", headers=m.owner), 409, "already_decided")
    assert_problem(client.post(f"/api/v1/approvals/{approval_id}/reject", headers=m.owner), 409, "already_decided")
    assert audit_seq(db, m.tenant_id) == seq


def test_reject_changes_nothing(client, gated):
    m, manager, mh = gated
    emp = _cashier(m)
    approval_id = assert_problem(client.delete(f"/api/v1/employees/{emp['id']}", headers=mh), 403,
                                 "approval_required")["approval_id"]
    r = client.post(f"/api/v1/approvals/{approval_id}/reject", headers=m.owner, json={"note": "no"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert _active(m, emp["id"]) is True
    assert events(m, action="employee.deactivate", target_id=emp["id"]) == []
    assert events(m, action="approval.reject")[0]["target_id"] == approval_id
    assert m.login(emp["username"])


def test_manager_override_on_the_spot(client, gated):
    m, manager, mh = gated
    approver = m.add_employee(f"boss-{secrets.token_hex(3)}", "store_manager")
    emp = _cashier(m)
    r = client.request("DELETE", f"/api/v1/employees/{emp['id']}", headers=mh,
                       json={"username": approver["username"], "password": STAFF_PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    override = events(m, action="approval.override")[0]
    assert override["result"] == "ok" and override["summary"]["approved_by"] == approver["username"]
    assert override["actor_id"] == manager["id"]
    deact = events(m, action="employee.deactivate", target_id=emp["id"])[0]
    assert deact["summary"]["approval"] == "override" and deact["summary"]["approved_by"] == approver["username"]
    assert client.get("/api/v1/approvals", headers=m.owner, params={"status": "pending"}).json()["items"] == []

    # the owner's credentials work too
    emp2 = _cashier(m)
    r = client.request("DELETE", f"/api/v1/employees/{emp2['id']}", headers=mh,
                       json={"username": "owner", "password": OWNER_PASSWORD})
    assert r.status_code == 200 and r.json()["active"] is False


def test_wrong_override_credentials_are_refused(client, gated, db):
    m, manager, mh = gated
    emp = _cashier(m)
    cashier = _cashier(m)  # a real employee, but without approval.decide
    for creds in ({"username": "owner", "password": "not-the-password-1"},
                  {"username": "nobody-here", "password": STAFF_PASSWORD},
                  {"username": cashier["username"], "password": STAFF_PASSWORD}):
        seq = audit_seq(db, m.tenant_id)
        r = client.request("DELETE", f"/api/v1/employees/{emp['id']}", headers=mh, json=creds)
        assert_problem(r, 403, "override_denied")
        assert _active(m, emp["id"]) is True
        assert audit_seq(db, m.tenant_id) == seq + 1  # only the failed override is recorded
        failed = events(m, action="approval.override")[0]
        assert failed["result"] == "failed" and failed["summary"]["manager"] == creds["username"]
    assert client.get("/api/v1/approvals", headers=m.owner, params={"status": "pending"}).json()["items"] == []


def test_without_the_setting_no_approval_is_needed(client, shared_merchant):
    m = shared_merchant
    manager = m.as_role("store_manager")
    emp = _cashier(m)
    r = client.delete(f"/api/v1/employees/{emp['id']}", headers=manager)
    assert r.status_code == 200 and r.json()["active"] is False
    assert events(m, action="employee.deactivate", target_id=emp["id"])[0]["summary"]["approval"] == "not_required"
