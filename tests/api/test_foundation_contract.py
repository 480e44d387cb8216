"""The foundation API contract: health, sign-up, login/logout, /me, employees, roles, the permission
catalog, the audit log, problem+json errors, OpenAPI and the docs page."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from foundation_util import assert_problem, events
from merchants import OWNER_PASSWORD, STAFF_PASSWORD, signup

from cloudpos.auth.permissions import ALL, BUILTIN_ROLES
from cloudpos.config import get_settings


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_every_response_has_a_request_id_timing_and_the_security_headers(client):
    """A caller's X-Request-ID is echoed (log correlation); otherwise each response gets a new, unique one."""
    r = client.get("/healthz", headers={"X-Request-ID": "till-7-scan-42"})
    assert r.headers["x-request-id"] == "till-7-scan-42"
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5 and all(len(i) == 32 for i in ids)
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin" and r.headers["server-timing"].startswith("app;dur=")
    assert r.headers.get_list("x-request-id") == ["till-7-scan-42"]


def test_signup_login_me_logout(client):
    code = f"c{secrets.token_hex(5)}"
    r = client.post("/api/v1/signup", json={
        "merchant_name": "Contract Mart", "store_name": "First", "address": "1 Main St", "phone": "021-1234567",
        "owner_username": "boss", "owner_password": OWNER_PASSWORD, "merchant_code": code})
    assert r.status_code == 201, r.text
    out = r.json()
    assert set(out) == {"merchant_code", "tenant_id", "store_id", "terminal_id"}
    assert out["merchant_code"] == code
    for key in ("tenant_id", "store_id", "terminal_id"):
        uuid.UUID(out[key])

    r = client.post("/api/v1/auth/login", json={"merchant_code": code, "username": "boss", "password": OWNER_PASSWORD})
    assert r.status_code == 200, r.text
    tok = r.json()
    assert tok["token_type"] == "bearer"
    assert tok["expires_in"] == get_settings().session_absolute_hours * 3600
    assert len(tok["access_token"]) >= 32
    headers = {"Authorization": f"Bearer {tok['access_token']}"}

    r = client.get("/api/v1/me", headers=headers)
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["employee"]["username"] == "boss"
    assert me["employee"]["is_owner"] is True
    assert me["role"]["code"] == "admin"
    assert me["merchant_code"] == code
    assert me["tenant_id"] == out["tenant_id"]
    assert [s["id"] for s in me["stores"]] == [out["store_id"]]
    assert me["permissions"] == sorted(ALL)

    r = client.post("/api/v1/auth/logout", headers=headers)
    assert r.status_code == 204
    assert_problem(client.get("/api/v1/me", headers=headers), 401, "session_expired")


def test_signup_generates_a_merchant_code_and_refuses_a_taken_one(client):
    body = {"merchant_name": "好又多超市", "store_name": "一店", "address": "北京路 1 号", "phone": "020-8888888",
            "owner_username": "owner", "owner_password": OWNER_PASSWORD}
    r = client.post("/api/v1/signup", json=body)
    assert r.status_code == 201, r.text
    code = r.json()["merchant_code"]
    assert code.startswith("hyd")  # pinyin initials of the name
    r = client.post("/api/v1/signup", json={**body, "merchant_code": code})
    assert_problem(r, 409, "duplicate_merchant_code")


def test_login_with_wrong_credentials(client, shared_merchant):
    m = shared_merchant
    for body in ({"merchant_code": m.code, "username": "owner", "password": "wrong-pass-1"},
                 {"merchant_code": m.code, "username": "nobody", "password": OWNER_PASSWORD},
                 {"merchant_code": "no-such-merchant", "username": "owner", "password": OWNER_PASSWORD}):
        p = assert_problem(client.post("/api/v1/auth/login", json=body), 401, "invalid_credentials")
        assert "access_token" not in p
    # the owner (one failure so far) still logs in
    m.login("owner", OWNER_PASSWORD)


def test_unauthenticated_requests_are_401_problems(client):
    assert_problem(client.get("/api/v1/me"), 401, "unauthorized")
    assert_problem(client.get("/api/v1/employees"), 401, "unauthorized")
    assert_problem(client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"}), 401, "session_expired")
    r = client.get("/api/v1/me")
    assert r.headers["www-authenticate"] == "Bearer"


def test_employees_crud(client, shared_merchant):
    m = shared_merchant
    username = f"crud-{secrets.token_hex(3)}"
    r = client.post("/api/v1/employees", headers=m.owner, json={
        "username": username, "display_name": "Crud One", "password": STAFF_PASSWORD, "role": "cashier",
        "store_ids": [str(m.store_id)], "phone": "13800000000"})
    assert r.status_code == 201, r.text
    emp = r.json()
    assert emp["username"] == username and emp["display_name"] == "Crud One"
    assert emp["role"]["code"] == "cashier"
    assert emp["store_ids"] == [str(m.store_id)]
    assert emp["active"] is True and emp["is_owner"] is False
    assert "password" not in emp and "password_hash" not in emp

    r = client.get("/api/v1/employees", headers=m.owner, params={"q": username})
    assert r.status_code == 200
    page = r.json()
    assert set(page) == {"items", "total", "page", "page_size"}
    assert [e["id"] for e in page["items"]] == [emp["id"]] and page["total"] == 1

    r = client.get(f"/api/v1/employees/{emp['id']}", headers=m.owner)
    assert r.status_code == 200 and r.json()["id"] == emp["id"]

    r = client.patch(f"/api/v1/employees/{emp['id']}", headers=m.owner, json={"display_name": "Crud Renamed"})
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "Crud Renamed"
    assert client.get(f"/api/v1/employees/{emp['id']}", headers=m.owner).json()["display_name"] == "Crud Renamed"

    r = client.delete(f"/api/v1/employees/{emp['id']}", headers=m.owner)
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    # deactivated, not deleted
    assert client.get(f"/api/v1/employees/{emp['id']}", headers=m.owner).json()["active"] is False
    inactive = client.get("/api/v1/employees", headers=m.owner, params={"active": "false", "q": username}).json()
    assert [e["id"] for e in inactive["items"]] == [emp["id"]]
    active = client.get("/api/v1/employees", headers=m.owner, params={"active": "true", "q": username}).json()
    assert active["items"] == []

    assert_problem(client.get(f"/api/v1/employees/{uuid.uuid4()}", headers=m.owner), 404, "not_found")


def test_duplicate_username_is_a_conflict(client, shared_merchant):
    m = shared_merchant
    username = f"dup-{secrets.token_hex(3)}"
    m.add_employee(username)
    r = client.post("/api/v1/employees", headers=m.owner, json={
        "username": username, "display_name": "Again", "password": STAFF_PASSWORD, "role": "cashier",
        "store_ids": [str(m.store_id)]})
    p = assert_problem(r, 409, "duplicate_username")
    assert p["errors"][0]["field"] == "username"


def test_roles_and_permission_catalog(client, shared_merchant):
    m = shared_merchant
    r = client.get("/api/v1/permissions", headers=m.owner)
    assert r.status_code == 200
    catalog = r.json()
    assert {p["code"] for p in catalog} == set(ALL)
    for p in catalog:
        assert p["description"] and p["group"] and p["group_name"]
    en = client.get("/api/v1/permissions", headers={**m.owner, "Accept-Language": "en"}).json()
    assert {p["code"]: p["description"] for p in en}["staff.manage"] == "Create, edit and deactivate employees"

    roles = client.get("/api/v1/roles", headers=m.owner).json()
    builtin = {r["code"]: r for r in roles if r["builtin"]}
    assert set(builtin) == set(BUILTIN_ROLES)
    for code, role in builtin.items():
        assert set(role["permissions"]) == set(BUILTIN_ROLES[code].permissions)

    code = f"r_{secrets.token_hex(3)}"
    r = client.post("/api/v1/roles", headers=m.owner, json={
        "code": code, "name": "Stock clerk", "permissions": ["inventory.view", "inventory.receive"]})
    assert r.status_code == 201, r.text
    role = r.json()
    assert role["builtin"] is False and role["permissions"] == ["inventory.receive", "inventory.view"]
    assert code in {x["code"] for x in client.get("/api/v1/roles", headers=m.owner).json()}
    assert client.get(f"/api/v1/roles/{role['id']}", headers=m.owner).json()["code"] == code

    r = client.post("/api/v1/roles", headers=m.owner, json={"code": f"x_{secrets.token_hex(3)}", "name": "Bad",
                                                            "permissions": ["no.such.permission"]})
    p = assert_problem(r, 422, "validation_error")
    assert p["errors"][0]["code"] == "unknown_permission"
    assert_problem(client.post("/api/v1/roles", headers=m.owner, json={"code": code, "name": "Twice",
                                                                       "permissions": []}), 409, "duplicate_role")


def test_stores_and_merchant(client, shared_merchant):
    m = shared_merchant
    stores = client.get("/api/v1/stores", headers=m.owner).json()
    assert str(m.store_id) in {s["id"] for s in stores}
    r = client.get("/api/v1/merchant", headers=m.owner)
    assert r.status_code == 200 and r.json()["merchant_code"] == m.code
    terminals = client.get("/api/v1/terminals", headers=m.owner, params={"store_id": str(m.store_id)}).json()
    assert str(m.terminal_id) in {t["id"] for t in terminals}


def test_audit_events_filters_and_pagination(client):
    m = signup(client)
    cashier = m.add_employee(f"aud-{secrets.token_hex(3)}")
    client.patch(f"/api/v1/employees/{cashier['id']}", headers=m.owner, json={"display_name": "Audited"})
    cashier_headers = m.login(cashier["username"])
    client.get("/api/v1/employees", headers=cashier_headers)  # denied

    everything = events(m)
    seqs = [e["seq"] for e in everything]
    assert seqs == sorted(seqs, reverse=True) and seqs[-1] == 1  # newest first, starting at 1
    first = everything[-1]
    assert first["action"] == "merchant.signup"
    for key in ("occurred_at", "actor_id", "actor_name", "ip", "action", "target_type", "target_id",
                "target_label", "summary", "result", "prev_hash", "hash"):
        assert key in first

    updates = events(m, action="employee.update")
    assert [e["target_id"] for e in updates] == [cashier["id"]]
    assert updates[0]["summary"] == {"before": {"display_name": cashier["display_name"]},
                                     "after": {"display_name": "Audited"}}
    denied = events(m, result="denied")
    assert len(denied) == 1 and denied[0]["actor_id"] == cashier["id"]
    assert denied[0]["action"] == "access.denied"
    by_actor = events(m, actor=cashier["id"])
    assert {e["action"] for e in by_actor} == {"auth.login", "access.denied"}
    assert {e["action"] for e in events(m, action="auth.")} == {"auth.login"}  # prefix filter

    since = datetime.now(UTC) - timedelta(minutes=5)
    assert len(events(m, since=since.isoformat())) == len(everything)
    assert events(m, until=since.isoformat()) == []
    assert events(m, since=(datetime.now(UTC) + timedelta(minutes=5)).isoformat()) == []

    total = len(everything)
    page1 = client.get("/api/v1/audit-events", headers=m.owner, params={"page_size": 2, "page": 1}).json()
    page2 = client.get("/api/v1/audit-events", headers=m.owner, params={"page_size": 2, "page": 2}).json()
    assert page1["total"] == page2["total"] == total
    assert [e["seq"] for e in page1["items"] + page2["items"]] == seqs[:4]
    far = client.get("/api/v1/audit-events", headers=m.owner, params={"page_size": 2, "page": 100000}).json()
    assert far["items"] == [] and far["total"] == total


def test_problem_json_for_unknown_routes_and_methods(client):
    assert_problem(client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert_problem(client.put("/api/v1/auth/login", json={}), 405, "method_not_allowed")


def test_openapi_and_docs(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    expected = {
        "/healthz": {"get"},
        "/api/v1/signup": {"post"},
        "/api/v1/auth/login": {"post"},
        "/api/v1/auth/logout": {"post"},
        "/api/v1/auth/password": {"post"},
        "/api/v1/me": {"get"},
        "/api/v1/employees": {"get", "post"},
        "/api/v1/employees/{employee_id}": {"get", "patch", "delete"},
        "/api/v1/employees/{employee_id}/unlock": {"post"},
        "/api/v1/roles": {"get", "post"},
        "/api/v1/permissions": {"get"},
        "/api/v1/audit-events": {"get"},
        "/api/v1/approvals/{approval_id}/approve": {"post"},
        "/api/v1/merchant/settings": {"patch"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    r = client.get("/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()
