"""Parallel writers against a real server keep the audit chain gap-free (SQLite and PostgreSQL)."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from merchants import signup
from sqlalchemy import select

from cloudpos.audit import service as audit_service
from cloudpos.audit.models import AuditEvent

N = 20


def test_parallel_audited_writes_leave_a_gap_free_verified_chain(live_server, client, db):
    m = signup(client)
    targets = [m.add_employee(f"par{i}-{secrets.token_hex(2)}")["id"] for i in range(4)]
    cashier = m.as_role("cashier")
    barrier = threading.Barrier(N)

    def one(i: int) -> httpx.Response:
        barrier.wait(timeout=30)  # all 20 go at once
        if i % 5 == 4:  # a denied attempt is an audit event too (committed before the 403)
            return http.get("/api/v1/employees", headers=cashier)
        return http.patch(f"/api/v1/employees/{targets[i % 4]}", headers=m.owner, json={"display_name": f"Par {i}"})

    with httpx.Client(base_url=live_server.url, timeout=120) as http, ThreadPoolExecutor(N) as pool:
        latest = http.get("/api/v1/audit-events", headers=m.owner, params={"page_size": 1}).json()["items"]
        seq_before = latest[0]["seq"]
        responses = list(pool.map(one, range(N)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 16 and statuses.count(403) == 4, [r.text for r in responses if r.status_code >= 500]

    try:
        rows = db.execute(select(AuditEvent.seq, AuditEvent.action, AuditEvent.summary)
                          .where(AuditEvent.tenant_id == m.tenant_id).order_by(AuditEvent.seq)).all()
        count, broken = audit_service.verify_chain(db, m.tenant_id)
    finally:
        db.rollback()
    seqs = [r.seq for r in rows]
    assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate
    assert seqs[-1] == seq_before + N  # exactly one event per request
    new = rows[seq_before:]
    names = sorted(r.summary["after"]["display_name"] for r in new if r.action == "employee.update")
    assert names == sorted(f"Par {i}" for i in range(N) if i % 5 != 4)
    assert sum(r.action == "access.denied" for r in new) == 4
    assert broken is None and count == len(seqs)
