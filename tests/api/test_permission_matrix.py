"""Every route declares its permission, and the declaration is what is enforced.

1. Walk the app's routes: every API route (JSON under /api/v1, and every HTML page) carries exactly one
   dependency marked with a `.permission` attribute (`public()`, `authenticated()` or `requires(code)`
   from cloudpos.web.deps).
2. Call every /api/v1 route as each built-in role: a role without the declared permission gets a 403
   problem+json `permission_denied` (and the refusal is in the audit log as "denied"); a role with it
   is never refused (any 2xx/4xx but 401/403: the empty body may well be invalid).
3. Every route taking an id in its path answers 404 to another merchant's id.

Path parameters come from real objects (an employee, a custom role, a store, a terminal, a pending
approval) where the route is one of the foundation's; other ids are fresh UUIDs.
"""

from __future__ import annotations

import secrets
import typing
import uuid
from collections import Counter
from dataclasses import dataclass

from fastapi.routing import APIRoute
from foundation_util import PROBLEM_JSON, assert_problem, events
from merchants import signup
from starlette.routing import Mount, Route

from cloudpos.auth.permissions import BUILTIN_ROLES, CATALOG

ROLES = list(BUILTIN_ROLES)  # cashier, salesperson, store_manager, admin
FRAMEWORK_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
WRITE_METHODS = {"POST", "PUT", "PATCH"}


@dataclass(frozen=True)
class R:
    method: str
    path: str
    permission: str | None  # None when the route does not declare exactly one
    marks: tuple[str, ...]
    path_params: tuple[tuple[str, object], ...]
    original: APIRoute


def _marks(dependant) -> list[str]:
    out = []
    for d in dependant.dependencies:
        perm = getattr(d.call, "permission", None)
        if perm is not None:
            out.append(perm)
        out.extend(_marks(d))
    return out


def _contexts(app):
    """(route, path, methods, dependant) for every route, through FastAPI's included routers."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        for route in app.routes:
            yield route, getattr(route, "path", ""), getattr(route, "methods", None), getattr(route, "dependant", None)
        return
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        dependant = ctx.dependant if isinstance(route, APIRoute) else None
        yield route, ctx.path, ctx.methods, dependant


def api_routes(app) -> list[R]:
    out = []
    for route, path, methods, dependant in _contexts(app):
        if not isinstance(route, APIRoute):
            continue
        marks = tuple(_marks(dependant))
        params = tuple((p.name, p.field_info.annotation) for p in dependant.path_params)
        for method in sorted(methods or ()):
            out.append(R(method, path, marks[0] if len(marks) == 1 else None, marks, params, route))
    return out


def test_every_route_declares_exactly_one_permission(app):
    routes = api_routes(app)
    assert any(r.path == "/api/v1/employees" for r in routes)
    bad = [f"{r.method} {r.path}: {list(r.marks) or 'no permission dependency'}" for r in routes
           if len(r.marks) != 1]
    assert not bad, "Routes without exactly one permission dependency (public/authenticated/requires):\n" + \
        "\n".join(bad)
    unknown = sorted({f"{r.method} {r.path}: {r.permission}" for r in routes
                      if r.permission not in CATALOG and r.permission not in ("public", "authenticated")})
    assert not unknown, "Routes requiring a permission that is not in the catalog:\n" + "\n".join(unknown)
    # plain Starlette routes cannot declare a permission: only the framework's own are allowed
    plain = [path for route, path, _, _ in _contexts(app)
             if isinstance(route, Route) and not isinstance(route, APIRoute) and path not in FRAMEWORK_ROUTES]
    assert not plain, f"Routes outside FastAPI's dependency system: {plain}"
    assert all(isinstance(route, APIRoute | Route | Mount) for route, *_ in _contexts(app))


def test_no_route_pays_extra_thread_hops(app):
    """A request takes at most one worker-thread hop: every endpoint and every permission dependency is a
    coroutine (sync endpoints are wrapped by cloudpos.web.routing.OneHopRoute). A module that builds its
    router from fastapi.APIRouter instead would put its sync endpoints back to three hops."""
    import inspect

    slow = []
    for route, path, methods, dependant in _contexts(app):
        if not isinstance(route, APIRoute):
            continue
        calls = [route.endpoint] + [d.call for d in dependant.dependencies if hasattr(d.call, "permission")]
        slow += [f"{sorted(methods)} {path}: {c.__name__}" for c in calls if not inspect.iscoroutinefunction(c)]
    assert not slow, "Synchronous endpoints or permission dependencies:\n" + "\n".join(slow)


# --- objects to put in paths ---------------------------------------------------------------------

def _objects(m, approval_target_name: str) -> dict[str, str]:
    """Real ids of the merchant's objects, by path parameter name."""
    c = m.client
    target = m.add_employee(f"target-{secrets.token_hex(3)}", "cashier")
    role = c.post("/api/v1/roles", headers=m.owner, json={"code": f"m_{secrets.token_hex(3)}", "name": "Matrix",
                                                          "permissions": ["catalog.view"]})
    assert role.status_code == 201, role.text
    # a pending approval request, made by the owner (so a manager's decision is not a self-approval)
    victim = m.add_employee(approval_target_name, "cashier")
    assert c.patch("/api/v1/merchant/settings", headers=m.owner,
                   json={"approval_required": ["employee.deactivate"]}).status_code == 200
    r = c.delete(f"/api/v1/employees/{victim['id']}", headers=m.owner)
    approval_id = assert_problem(r, 403, "approval_required")["approval_id"]
    assert c.patch("/api/v1/merchant/settings", headers=m.owner, json={"approval_required": []}).status_code == 200
    return {"employee_id": target["id"], "role_id": role.json()["id"], "store_id": str(m.store_id),
            "terminal_id": str(m.terminal_id), "approval_id": approval_id}


def _param_value(name: str, annotation, objects: dict[str, str]) -> str:
    if name in objects:
        return objects[name]
    if typing.get_origin(annotation) is typing.Literal:
        return str(typing.get_args(annotation)[0])
    if annotation is int:
        return "1"
    if annotation is uuid.UUID:
        return str(uuid.uuid4())
    return "x"


def _url(r: R, objects: dict[str, str]) -> str:
    url = r.path
    for name, annotation in r.path_params:
        url = url.replace("{" + name + "}", _param_value(name, annotation, objects))
        url = url.replace("{" + name + ":path}", _param_value(name, annotation, objects))
    return url


def _call(client, method: str, url: str, headers: dict[str, str], body=None):
    if method in WRITE_METHODS:
        return client.request(method, url, headers=headers, json=body if body is not None else {})
    return client.request(method, url, headers=headers)


def test_permission_matrix(client, app):
    m = signup(client)
    objects = _objects(m, f"victim-{secrets.token_hex(3)}")
    employees = {}
    headers = {}
    for role in ROLES:
        username = f"{role[:10]}-{secrets.token_hex(3)}"
        employees[role] = m.add_employee(username, role)
        headers[role] = m.login(username)

    routes = [r for r in api_routes(app) if r.path.startswith("/api/v1/")]
    assert len(routes) >= 20
    denied: dict[str, list[str]] = {role: [] for role in ROLES}
    failures = []
    for r in routes:
        url = _url(r, objects)
        for role in ROLES:
            h = headers[role]
            if r.path == "/api/v1/auth/logout":  # would end the session the rest of the matrix uses
                h = m.login(employees[role]["username"])
            resp = _call(client, r.method, url, h)
            allowed = r.permission in ("public", "authenticated") or r.permission in BUILTIN_ROLES[role].permissions
            where = f"{r.method} {r.path} as {role} (needs {r.permission}): {resp.status_code} {resp.text[:200]}"
            if resp.status_code == 401 or resp.status_code >= 500 or (allowed and resp.status_code == 403):
                failures.append(where)
            elif not allowed:
                if (resp.status_code != 403 or not resp.headers.get("content-type", "").startswith(PROBLEM_JSON)
                        or resp.json().get("code") != "permission_denied"):
                    failures.append(where)
                else:
                    denied[role].append(f"{r.method} {url}")
    assert not failures, "\n".join(failures)

    # the declared permissions really split the built-in roles
    assert len(denied["cashier"]) > 5 and len(denied["salesperson"]) > len(denied["cashier"])
    assert denied["admin"] == []

    # every refusal is in the audit log, as "denied", under the employee who tried
    for role in ROLES:
        logged = [e for e in events(m, actor=employees[role]["id"], result="denied")]
        assert all(e["action"] == "access.denied" for e in logged)
        assert Counter(e["target_label"] for e in logged) == Counter(denied[role]), role
    sample = events(m, actor=employees["cashier"]["id"], result="denied")[0]
    assert sample["summary"]["permission"] in CATALOG and sample["ip"] == "testclient"


# --- another merchant's ids ------------------------------------------------------------------------

BODIES: dict[tuple[str, str], dict] = {
    ("PATCH", "/api/v1/employees/{employee_id}"): {"display_name": "Other"},
    ("POST", "/api/v1/employees/{employee_id}/password"): {"new_password": "Other-pass-1"},
    ("PATCH", "/api/v1/roles/{role_id}"): {"name": "Other"},
    ("PATCH", "/api/v1/stores/{store_id}"): {"name": "Other"},
}


def _resolve(schema: dict, spec: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def example(schema: dict, spec: dict, depth: int = 0):
    """A small valid-looking value for a JSON schema (required properties only)."""
    schema = _resolve(schema, spec)
    if "const" in schema:
        return schema["const"]
    if schema.get("examples"):
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and depth > 0:
        return schema["default"]
    disc = schema.get("discriminator")
    if disc and disc.get("mapping"):
        tag, ref = next(iter(disc["mapping"].items()))
        value = example({"$ref": ref}, spec, depth + 1)
        return {**value, disc["propertyName"]: tag}
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if _resolve(s, spec).get("type") != "null"]
            return example(options[0], spec, depth + 1) if options else None
    if "allOf" in schema:
        return example(schema["allOf"][0], spec, depth + 1)
    t = schema.get("type", "object")
    if t == "object":
        props = schema.get("properties", {})
        return {k: example(props[k], spec, depth + 1) for k in schema.get("required", []) if k in props}
    if t == "array":
        n = schema.get("minItems", 0)
        return [example(schema.get("items", {}), spec, depth + 1) for _ in range(n)]
    if t == "integer":
        return max(1, schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
    if t == "number":
        return 1
    if t == "boolean":
        return False
    fmt = schema.get("format")
    if fmt == "uuid":
        return str(uuid.uuid4())
    if fmt == "date-time":
        return "2026-01-01T00:00:00Z"
    if fmt == "date":
        return "2026-01-01"
    return "x" * max(1, schema.get("minLength", 1))


def _request_kwargs(r: R, spec: dict) -> dict:
    """A body (JSON or multipart) and the required query parameters, made up from the OpenAPI document."""
    op = spec["paths"].get(r.path, {}).get(r.method.lower(), {})
    kw: dict = {}
    query = {p["name"]: example(p.get("schema", {}), spec) for p in op.get("parameters", [])
             if p.get("in") == "query" and p.get("required")}
    if query:
        kw["params"] = query
    content = op.get("requestBody", {}).get("content", {})
    if (r.method, r.path) in BODIES:
        kw["json"] = BODIES[(r.method, r.path)]
    elif "application/json" in content:
        kw["json"] = example(content["application/json"]["schema"], spec)
    elif "multipart/form-data" in content:
        schema = _resolve(content["multipart/form-data"]["schema"], spec)
        data, files = {}, {}
        for name in schema.get("required", []):
            prop = _resolve(schema["properties"][name], spec)
            if prop.get("format") == "binary" or prop.get("contentMediaType"):
                files[name] = ("x.png", PNG, "image/png")
            else:
                data[name] = str(example(prop, spec))
        kw.update(data=data, files=files)
    elif r.method in WRITE_METHODS:
        kw["json"] = {}
    return kw


# the smallest valid PNG (1×1, transparent)
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000100e527de0000000049454e44ae426082")


def test_another_merchants_ids_are_404(client, app):
    m = signup(client)
    other = signup(client, merchant_name="别家超市")
    theirs = _objects(other, f"theirs-{secrets.token_hex(3)}")
    spec = client.get("/openapi.json").json()
    routes = [r for r in api_routes(app)
              if r.path.startswith("/api/v1/") and any(a is uuid.UUID for _, a in r.path_params)]
    assert {"/api/v1/employees/{employee_id}", "/api/v1/roles/{role_id}", "/api/v1/stores/{store_id}",
            "/api/v1/approvals/{approval_id}/approve"} <= {r.path for r in routes}
    failures = []
    for r in routes:
        url = _url(r, theirs)
        resp = client.request(r.method, url, headers=m.owner, **_request_kwargs(r, spec))
        if resp.status_code != 404 or not resp.headers.get("content-type", "").startswith(PROBLEM_JSON):
            failures.append(f"{r.method} {url}: {resp.status_code} {resp.text[:300]}")
    assert not failures, "Another merchant's id must be a 404:\n" + "\n".join(failures)

    # and nothing of theirs changed
    c = client
    other_emp = c.get(f"/api/v1/employees/{theirs['employee_id']}", headers=other.owner).json()
    assert other_emp["active"] is True and other_emp["display_name"] != "Other"
    assert c.get(f"/api/v1/roles/{theirs['role_id']}", headers=other.owner).json()["name"] == "Matrix"
    pending = c.get("/api/v1/approvals", headers=other.owner, params={"status": "pending"}).json()["items"]
    assert theirs["approval_id"] in {a["id"] for a in pending}
    assert other.login(other_emp["username"], "Staff-pass-1")
