"""Merchants signed up through the API for tests (imported by tests/conftest.py and by test modules:
`from merchants import signup`; a module named conftest would be ambiguous next to tests/e2e/conftest.py)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field

from fastapi.testclient import TestClient

OWNER_PASSWORD = "Owner-pass-1"
STAFF_PASSWORD = "Staff-pass-1"


@dataclass
class Merchant:
    """A merchant signed up through the API, with helpers to act as its staff."""

    client: TestClient
    code: str
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    terminal_id: uuid.UUID
    owner_token: str
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def owner(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.owner_token}"}

    def login(self, username: str, password: str = STAFF_PASSWORD) -> dict[str, str]:
        r = self.client.post("/api/v1/auth/login",
                             json={"merchant_code": self.code, "username": username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def add_employee(self, username: str, role: str = "cashier", store_ids: list | None = None,
                     **extra) -> dict:
        body = {"username": username, "display_name": username.title(), "password": STAFF_PASSWORD,
                "role": role, "store_ids": [str(s) for s in (store_ids or [self.store_id])], **extra}
        r = self.client.post("/api/v1/employees", headers=self.owner, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def as_role(self, role: str, store_ids: list | None = None) -> dict[str, str]:
        """Headers of a fresh employee holding `role`."""
        username = f"{role[:10]}-{secrets.token_hex(3)}"
        self.add_employee(username, role, store_ids)
        return self.login(username)


def signup(client: TestClient, **overrides) -> Merchant:
    body = {"merchant_name": "测试便利店", "store_name": "一号店", "address": "上海市人民路 1 号",
            "phone": "021-60000000", "owner_username": "owner", "owner_password": OWNER_PASSWORD,
            "merchant_code": f"t{secrets.token_hex(5)}"}
    body.update(overrides)
    r = client.post("/api/v1/signup", json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    r = client.post("/api/v1/auth/login", json={"merchant_code": out["merchant_code"],
                                                "username": body["owner_username"],
                                                "password": body["owner_password"]})
    assert r.status_code == 200, r.text
    return Merchant(client, out["merchant_code"], uuid.UUID(out["tenant_id"]), uuid.UUID(out["store_id"]),
                    uuid.UUID(out["terminal_id"]), r.json()["access_token"])
