"""Scheduled jobs: the schedule says what runs when (Beijing time), and a job goes through the real huey
queue (SQLite storage under var/) to the consumer threads `cloudpos serve` starts, and does its work on
the database: the nightly member job repairs a damaged member rollup row. SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from datetime import datetime

import pytest
from sqlalchemy import select, update

from cloudpos.members.models import MemberStats
from cloudpos.ops import scheduler


def test_schedule_in_beijing_time():
    def at(hour_utc: int, minute: int = 0) -> datetime:
        return datetime(2026, 11, 27, hour_utc, minute)

    assert scheduler.EVERY_MINUTE(at(3, 17)) and scheduler.EVERY_MINUTE(at(14, 59))
    assert scheduler.BIRTHDAYS(at(1)) and not scheduler.BIRTHDAYS(at(9))  # 09:00 in Beijing is 01:00 UTC
    assert scheduler.NIGHTLY(at(18)) and not scheduler.NIGHTLY(at(2))  # 02:00 in Beijing
    names = {t.__name__ for t in scheduler.huey._registry._periodic_tasks}
    assert names == {"payments.reconcile", "members.campaigns", "members.birthdays", "members.nightly"}


@pytest.fixture
def consumer(app, monkeypatch):
    monkeypatch.setattr(scheduler, "_factory", app.state.sessionmaker)  # the jobs work on this test's database
    scheduler.huey.flush()
    c = scheduler.start_in_process()
    yield c
    c.stop(graceful=True)


def test_the_nightly_job_runs_through_the_queue_and_repairs_the_rollup(app, merchant, consumer):
    m, c, h = merchant, merchant.client, merchant.owner
    member = c.post("/api/v1/members", headers=h, json={"phone": "136" + "".join(secrets.choice("0123456789")
                                                                                for _ in range(8)), "name": "周"})
    assert member.status_code == 201, member.text
    product = c.post("/api/v1/products", headers=h, json={"sku": f"S{secrets.token_hex(3)}", "name": "薯片",
                                                          "price": 800}).json()
    cashier = m.as_role("cashier")
    assert c.post("/api/v1/shifts", headers=cashier, json={"terminal_id": str(m.terminal_id),
                                                           "opening_float": 0}).status_code == 201
    r = c.post("/api/v1/sales", headers=cashier, json={
        "store_id": str(m.store_id), "terminal_id": str(m.terminal_id), "member_id": member.json()["id"],
        "lines": [{"product_id": product["id"], "quantity": "2"}], "payments": [{"method": "cash", "amount": 1600}]})
    assert r.status_code == 201, r.text

    def stats_row():
        with app.state.sessionmaker() as db:
            db.info["tenant_id"] = m.tenant_id
            return db.execute(select(MemberStats.visits, MemberStats.spend_fen)
                              .where(MemberStats.tenant_id == m.tenant_id)).one()

    assert tuple(stats_row()) == (1, 1600)
    with app.state.sessionmaker() as db:
        db.info["tenant_id"] = m.tenant_id
        db.execute(update(MemberStats).where(MemberStats.tenant_id == m.tenant_id).values(visits=7, spend_fen=1))
        db.commit()

    # what the 02:00 run enqueues for each merchant; the consumer thread picks it up from the queue
    out = scheduler.nightly_for(m.code).get(blocking=True, timeout=60)
    assert out == {"tiers": 0, "points_expired": 0, "stats": {"members": 1, "repaired": 1}}
    assert tuple(stats_row()) == (1, 1600)
