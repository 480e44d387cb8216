"""Employees and roles: edit, roles and overrides taking effect at once, custom roles, store scope,
and no privilege escalation."""

from __future__ import annotations

import secrets

import pytest
from foundation_util import assert_problem, audit_seq, events
from merchants import STAFF_PASSWORD

from cloudpos.auth.permissions import BUILTIN_ROLES


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def _new_store(m, name: str = "") -> str:
    r = m.client.post("/api/v1/stores", headers=m.owner, json={"name": name or _name("Store"), "address": "2 Side St"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _perms(m, headers) -> set[str]:
    r = m.client.get("/api/v1/me", headers=headers)
    assert r.status_code == 200, r.text
    return set(r.json()["permissions"])


def test_role_and_override_changes_apply_to_the_very_next_request(client, shared_merchant):
    m = shared_merchant
    emp = m.add_employee(_name("next"), "cashier")
    headers = m.login(emp["username"])
    assert _perms(m, headers) == set(BUILTIN_ROLES["cashier"].permissions)
    assert_problem(client.get("/api/v1/employees", headers=headers), 403, "permission_denied")

    r = client.patch(f"/api/v1/employees/{emp['id']}", headers=m.owner, json={"role": "store_manager"})
    assert r.status_code == 200 and r.json()["role"]["code"] == "store_manager"
    assert client.get("/api/v1/employees", headers=headers).status_code == 200  # same token
    assert _perms(m, headers) == set(BUILTIN_ROLES["store_manager"].permissions)

    r = client.patch(f"/api/v1/employees/{emp['id']}", headers=m.owner, json={"denies": ["staff.view"]})
    assert r.status_code == 200 and r.json()["denies"] == ["staff.view"]
    assert_problem(client.get("/api/v1/employees", headers=headers), 403, "permission_denied")

    r = client.patch(f"/api/v1/employees/{emp['id']}", headers=m.owner,
                     json={"role": "cashier", "denies": [], "grants": ["report.view", "staff.view"]})
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/employees", headers=headers).status_code == 200
    assert _perms(m, headers) == set(BUILTIN_ROLES["cashier"].permissions) | {"report.view", "staff.view"}

    ev = events(m, action="employee.update", target_id=emp["id"])[0]
    assert ev["summary"]["before"]["grants"] == [] and ev["summary"]["after"]["grants"] == ["report.view",
                                                                                            "staff.view"]


def test_deny_wins_over_the_role(client, shared_merchant):
    m = shared_merchant
    emp = m.add_employee(_name("deny"), "store_manager", denies=["staff.manage"])
    headers = m.login(emp["username"])
    assert "staff.manage" not in _perms(m, headers)
    body = {"username": _name("x"), "display_name": "X", "password": STAFF_PASSWORD, "role": "cashier",
            "store_ids": [str(m.store_id)]}
    assert_problem(client.post("/api/v1/employees", headers=headers, json=body), 403, "permission_denied")
    r = client.patch(f"/api/v1/employees/{emp['id']}", headers=m.owner, json={"grants": ["staff.manage"],
                                                                               "denies": ["staff.manage"]})
    assert_problem(r, 422)


def test_custom_role_built_from_the_catalog(client, shared_merchant):
    m = shared_merchant
    code = f"clerk_{secrets.token_hex(3)}"
    r = client.post("/api/v1/roles", headers=m.owner, json={"code": code, "name": "Staff clerk",
                                                            "permissions": ["staff.view", "catalog.view"]})
    assert r.status_code == 201, r.text
    role_id = r.json()["id"]
    emp = m.add_employee(_name("clerk"), code)
    assert emp["role"]["code"] == code
    headers = m.login(emp["username"])
    assert _perms(m, headers) == {"staff.view", "catalog.view"}
    assert client.get("/api/v1/employees", headers=headers).status_code == 200

    r = client.patch(f"/api/v1/roles/{role_id}", headers=m.owner, json={"permissions": ["catalog.view"]})
    assert r.status_code == 200, r.text
    assert_problem(client.get("/api/v1/employees", headers=headers), 403, "permission_denied")
    ev = events(m, action="role.update", target_id=role_id)[0]
    assert ev["summary"] == {"before": {"permissions": ["catalog.view", "staff.view"]},
                             "after": {"permissions": ["catalog.view"]}}

    # in use: cannot be deleted; once nobody holds it, it can
    assert_problem(client.delete(f"/api/v1/roles/{role_id}", headers=m.owner), 409, "role_in_use")
    client.patch(f"/api/v1/employees/{emp['id']}", headers=m.owner, json={"role": "cashier"})
    assert client.delete(f"/api/v1/roles/{role_id}", headers=m.owner).status_code == 204
    assert_problem(client.get(f"/api/v1/roles/{role_id}", headers=m.owner), 404)
    builtin = next(r for r in client.get("/api/v1/roles", headers=m.owner).json() if r["code"] == "cashier")
    assert_problem(client.delete(f"/api/v1/roles/{builtin['id']}", headers=m.owner), 409, "builtin_role")


def test_edit_reset_password_assign_stores_and_role(client, shared_merchant):
    m = shared_merchant
    store2 = _new_store(m)
    emp = m.add_employee(_name("edit"), "salesperson")
    r = client.patch(f"/api/v1/employees/{emp['id']}", headers=m.owner, json={
        "display_name": "小王 🙂", "phone": "13900000000", "store_ids": [str(m.store_id), store2],
        "role": "cashier", "pin": "2468"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["display_name"] == "小王 🙂" and out["phone"] == "13900000000"
    assert set(out["store_ids"]) == {str(m.store_id), store2}
    assert out["role"]["code"] == "cashier" and out["has_pin"] is True
    headers = m.login(emp["username"])
    me = client.get("/api/v1/me", headers=headers).json()
    assert {s["id"] for s in me["stores"]} == {str(m.store_id), store2}

    r = client.patch(f"/api/v1/employees/{emp['id']}", headers=m.owner, json={"store_ids": []})
    p = assert_problem(r, 422)
    assert p["errors"][0]["field"] == "store_ids"
    assert set(client.get(f"/api/v1/employees/{emp['id']}", headers=m.owner).json()["store_ids"]) == {
        str(m.store_id), store2}  # refused as a whole

    ev = events(m, action="employee.update", target_id=emp["id"])[0]
    assert ev["summary"]["before"]["role"] == "salesperson" and ev["summary"]["after"]["role"] == "cashier"
    assert ev["summary"]["after"]["has_pin"] is True and "pin" not in ev["summary"]["after"]


@pytest.fixture
def two_stores(client, shared_merchant):
    """Store A (the first) with a manager and a cashier, store B with a cashier."""
    m = shared_merchant
    store_b = _new_store(m)
    manager = m.add_employee(_name("mgr"), "store_manager")
    cashier_a = m.add_employee(_name("ca"), "cashier")
    cashier_b = m.add_employee(_name("cb"), "cashier", store_ids=[store_b])
    return m, store_b, manager, m.login(manager["username"]), cashier_a, cashier_b


def test_store_scoped_employees_see_only_their_stores(client, two_stores):
    m, store_b, manager, mh, cashier_a, cashier_b = two_stores
    assert [s["id"] for s in client.get("/api/v1/stores", headers=mh).json()] == [str(m.store_id)]
    assert [s["id"] for s in client.get("/api/v1/me", headers=mh).json()["stores"]] == [str(m.store_id)]
    assert_problem(client.get(f"/api/v1/stores/{store_b}", headers=mh), 404)
    terminals = client.get("/api/v1/terminals", headers=mh).json()
    assert terminals and {t["store_id"] for t in terminals} == {str(m.store_id)}

    listed = {e["id"] for e in client.get("/api/v1/employees", headers=mh, params={"page_size": 500}).json()["items"]}
    assert cashier_a["id"] in listed and manager["id"] in listed
    assert cashier_b["id"] not in listed
    owner_id = client.get("/api/v1/me", headers=m.owner).json()["employee"]["id"]
    assert owner_id not in listed
    for target in (cashier_b["id"], owner_id):
        assert_problem(client.get(f"/api/v1/employees/{target}", headers=mh), 404)
        assert_problem(client.patch(f"/api/v1/employees/{target}", headers=mh, json={"display_name": "x"}), 404)
        assert_problem(client.delete(f"/api/v1/employees/{target}", headers=mh), 404)
    # the owner sees everyone and every store
    everyone = {e["id"] for e in client.get("/api/v1/employees", headers=m.owner,
                                            params={"page_size": 500}).json()["items"]}
    assert {cashier_a["id"], cashier_b["id"], manager["id"], owner_id} <= everyone
    assert {str(m.store_id), store_b} <= {s["id"] for s in client.get("/api/v1/stores", headers=m.owner).json()}


def test_store_manager_cannot_escalate(client, two_stores, db):
    m, store_b, manager, mh, cashier_a, cashier_b = two_stores
    base = {"display_name": "New", "password": STAFF_PASSWORD, "store_ids": [str(m.store_id)]}
    before = audit_seq(db, m.tenant_id)
    refusals = [
        (client.post("/api/v1/employees", headers=mh, json={**base, "username": _name("a"), "role": "admin"}),
         403, "escalation_denied"),
        (client.post("/api/v1/employees", headers=mh, json={**base, "username": _name("a"), "role": "cashier",
                                                            "grants": ["settings.manage"]}), 403, "escalation_denied"),
        (client.post("/api/v1/employees", headers=mh, json={**base, "username": _name("a"), "role": "cashier",
                                                            "all_stores": True}), 403, "escalation_denied"),
        (client.post("/api/v1/employees", headers=mh, json={**base, "username": _name("a"), "role": "cashier",
                                                            "store_ids": [store_b]}), 422, "validation_error"),
        (client.patch(f"/api/v1/employees/{cashier_a['id']}", headers=mh, json={"role": "admin"}),
         403, "escalation_denied"),
        (client.patch(f"/api/v1/employees/{cashier_a['id']}", headers=mh, json={"grants": ["backup.manage"]}),
         403, "escalation_denied"),
        (client.patch(f"/api/v1/employees/{cashier_a['id']}", headers=mh, json={"all_stores": True}),
         403, "escalation_denied"),
        (client.patch(f"/api/v1/employees/{cashier_a['id']}", headers=mh, json={"store_ids": [store_b]}),
         422, "validation_error"),
        (client.patch(f"/api/v1/employees/{manager['id']}", headers=mh, json={"grants": ["role.manage"]}),
         403, "escalation_denied"),
        (client.patch(f"/api/v1/employees/{manager['id']}", headers=mh, json={"role": "admin"}),
         403, "escalation_denied"),
    ]
    for r, status, code in refusals:
        assert_problem(r, status, code)
    assert audit_seq(db, m.tenant_id) == before  # nothing written, not even an audit event
    assert_problem(client.post("/api/v1/roles", headers=mh, json={"code": f"x_{secrets.token_hex(3)}", "name": "X",
                                                                  "permissions": ["settings.manage"]}),
                   403, "permission_denied")
    assert client.get(f"/api/v1/employees/{cashier_a['id']}", headers=m.owner).json()["role"]["code"] == "cashier"
    assert "role.manage" not in _perms(m, mh)

    # what a store manager may do: a cashier in their own store, and grant what they hold
    r = client.post("/api/v1/employees", headers=mh, json={**base, "username": _name("ok"), "role": "cashier",
                                                           "grants": ["sale.refund"]})
    assert r.status_code == 201, r.text
    assert r.json()["grants"] == ["sale.refund"]


def test_owner_account_is_protected(client, shared_merchant):
    m = shared_merchant
    admin = m.add_employee(_name("adm"), "admin", all_stores=True)
    ah = m.login(admin["username"])
    owner_id = client.get("/api/v1/me", headers=m.owner).json()["employee"]["id"]
    assert_problem(client.patch(f"/api/v1/employees/{owner_id}", headers=ah, json={"display_name": "Hijack"}),
                   403, "owner_protected")
    assert_problem(client.post(f"/api/v1/employees/{owner_id}/password", headers=ah,
                               json={"new_password": "Hijack-pass-1"}), 403, "owner_protected")
    assert_problem(client.delete(f"/api/v1/employees/{owner_id}", headers=ah), 403, "owner_protected")
    assert_problem(client.patch(f"/api/v1/employees/{owner_id}", headers=m.owner, json={"role": "cashier"}),
                   403, "owner_protected")
    assert_problem(client.delete(f"/api/v1/employees/{admin['id']}", headers=ah), 409, "self_deactivation")
    assert client.get("/api/v1/me", headers=m.owner).json()["employee"]["display_name"] != "Hijack"


def test_create_employee_refuses_bad_values(client, shared_merchant, db):
    m = shared_merchant
    base = {"display_name": "Bad", "password": STAFF_PASSWORD, "role": "cashier", "store_ids": [str(m.store_id)]}
    before = audit_seq(db, m.tenant_id)
    cases = [
        ({**base, "username": "bad name!"}, "username"),
        ({**base, "username": _name("b"), "password": "short1"}, "password"),
        ({**base, "username": _name("b"), "password": "onlyletters"}, "password"),
        ({**base, "username": _name("b"), "role": "no_such_role"}, "role"),
        ({**base, "username": _name("b"), "store_ids": []}, "store_ids"),
        ({**base, "username": _name("b"), "store_ids": ["00000000-0000-0000-0000-000000000001"]}, "store_ids"),
        ({**base, "username": _name("b"), "pin": "12"}, "pin"),
        ({**base, "username": _name("b"), "grants": ["no.such"]}, "grants"),
    ]
    for body, fieldname in cases:
        p = assert_problem(client.post("/api/v1/employees", headers=m.owner, json=body), 422)
        assert fieldname in {e["field"] for e in p["errors"]}, (body, p)
    assert audit_seq(db, m.tenant_id) == before
