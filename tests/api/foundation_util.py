"""Helpers shared by the foundation acceptance tests (auth, staff, audit, approvals)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

PROBLEM_JSON = "application/problem+json"


def assert_problem(r, status: int, code: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem: the media type, and status, code, detail and errors[] in the body."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers["content-type"]
    body = r.json()
    assert body["status"] == status
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], list)
    if code is not None:
        assert body["code"] == code, body
    return body


def events(m, headers: dict[str, str] | None = None, **params: Any) -> list[dict[str, Any]]:
    """Audit events of the merchant through the API (newest first)."""
    r = m.client.get("/api/v1/audit-events", headers=headers or m.owner, params={"page_size": 500, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def audit_seq(db: Session, tenant_id: uuid.UUID) -> int:
    """The tenant's last audit sequence number, read from the events themselves."""
    from cloudpos.audit.models import AuditEvent

    try:  # SQLite transactions begin IMMEDIATE (take the write lock): never leave one open
        return db.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0)).where(AuditEvent.tenant_id == tenant_id))
    finally:
        db.rollback()


def count_rows(db: Session, model, tenant_id: uuid.UUID) -> int:
    try:
        return db.scalar(select(func.count()).select_from(model).where(model.tenant_id == tenant_id))
    finally:
        db.rollback()


def employee_id(m, username: str) -> str:
    r = m.client.get("/api/v1/employees", headers=m.owner, params={"q": username, "page_size": 500})
    assert r.status_code == 200, r.text
    found = [e["id"] for e in r.json()["items"] if e["username"] == username]
    assert found, username
    return found[0]


def read(db: Session, stmt, many: bool = False):
    """Run a SELECT on the test's own session and end its transaction at once: on SQLite every
    transaction begins IMMEDIATE (takes the write lock), so an open one would block the app.
    ORM objects come back detached, with their loaded values."""
    try:
        out = db.scalars(stmt).all() if many else db.scalar(stmt)
        db.expunge_all()
        return out
    finally:
        db.rollback()
