"""Receipts through a real TCP socket to a fake network printer on 127.0.0.1, on SQLite and PostgreSQL:
the bytes a sale produces, the drawer kick for cash only, a dead printer, paper out, retry, reprint."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.context import system_actor
from cloudpos.db import unit_of_work
from cloudpos.printing import service
from cloudpos.printing.domain.receipt import Payment
from cloudpos.printing.domain.sample import sample_receipt
from cloudpos.printing.jobs.dispatcher import Dispatcher, dispatch_due
from cloudpos.printing.models import PrintJob
from cloudpos.printing.testing import FakePrinter, closed_port

ESC_INIT, CHINESE_MODE, QR, CUT, KICK = b"\x1b@", b"\x1c&", b"\x1d(k", b"\x1dV", b"\x1bp"


@pytest.fixture
def fake():
    printer = FakePrinter()
    yield printer
    printer.close()


def add_printer(merchant, port: int, **extra) -> dict:
    body = {"store_id": str(merchant.store_id), "name": "前台小票机", "connection": "network",
            "host": "127.0.0.1", "port": port, "paper_mm": 80, "open_drawer": True, **extra}
    r = merchant.client.post("/api/v1/printers", headers=merchant.owner, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def sell(app, merchant, data, open_drawer: bool, printer_id=None):
    """What checkout will do: its own writes and `enqueue` in ONE transaction; printing after commit."""
    actor = system_actor(merchant.tenant_id, "checkout")
    with unit_of_work(app.state.sessionmaker, merchant.tenant_id) as db:
        audit.record(db, actor, "sale.complete", target_type="sale", target_id=data.receipt_no,
                     target_label=data.receipt_no)
        job_id = service.enqueue(db, actor, printer_id, "sale", data, open_drawer, store_id=merchant.store_id,
                                 terminal_id=merchant.terminal_id, auto=True)
    return job_id


def settle(app, merchant, job_id, **kw) -> PrintJob:
    """Run the dispatcher for this job (the app's background thread may have claimed it first)."""
    with app.state.sessionmaker() as db:
        dispatch_due(db, job_id=job_id, **kw)
        deadline = time.monotonic() + 10
        while True:
            db.expire_all()
            job = db.get(PrintJob, (merchant.tenant_id, job_id))
            db.expunge(job)
            db.rollback()  # never hold a transaction while waiting (SQLite: it holds the writer lock)
            if job.status not in ("queued", "sending") or time.monotonic() > deadline:
                return job
            time.sleep(0.05)


def test_cash_sale_bytes(app, merchant, fake):
    add_printer(merchant, fake.port)
    data = sample_receipt()
    job_id = sell(app, merchant, data, open_drawer=True)
    job = settle(app, merchant, job_id)
    assert job.status == "done", job.last_error
    out = fake.wait_for(1)[0]
    assert out.startswith(ESC_INIT + CHINESE_MODE)
    assert "可口可乐".encode("gb18030") in out
    assert "好邻居便利店".encode("gb18030") in out
    assert "合计".encode("gb18030") in out  # the template is Chinese by default
    assert QR in out and data.qr_payload.encode() in out
    assert CUT in out
    assert out.count(KICK) == 1


def test_card_sale_does_not_open_drawer(app, merchant, fake):
    add_printer(merchant, fake.port)
    data = replace(sample_receipt(), payments=(Payment("微信支付", 5902),), change=0)
    job_id = sell(app, merchant, data, open_drawer=data.has_cash)
    assert settle(app, merchant, job_id).status == "done"
    out = fake.wait_for(1)[0]
    assert KICK not in out and CUT in out


def test_drawer_setting_off_means_no_kick(app, merchant, fake):
    add_printer(merchant, fake.port, open_drawer=False)
    job_id = sell(app, merchant, sample_receipt(), open_drawer=True)
    assert settle(app, merchant, job_id).status == "done"
    assert KICK not in fake.wait_for(1)[0]


def test_dead_printer_keeps_the_sale_and_retries(app, merchant, client):
    printer = add_printer(merchant, closed_port())
    data = sample_receipt()
    job_id = sell(app, merchant, data, open_drawer=True)  # must not raise
    # the caller's transaction committed: its audit event is there, and so is the queued job
    r = client.get("/api/v1/audit-events", headers=merchant.owner, params={"action": "sale.complete"})
    assert r.status_code == 200 and r.json()["total"] == 1
    job = settle(app, merchant, job_id)
    assert job.status == "failed" and job.error_code == "refused"
    assert job.attempts == 1 and job.next_attempt_at is not None
    assert job.next_attempt_at - clock.now() > timedelta(seconds=5)  # backoff
    r = client.get("/api/v1/print-jobs", headers=merchant.owner, params={"status": "failed"})
    item = r.json()["items"][0]
    assert item["will_retry"] and "拒绝" in item["error"]  # translated into the caller's language (zh_CN)
    r = client.get("/api/v1/print-jobs", headers={**merchant.owner, "Accept-Language": "en"})
    assert "refused" in r.json()["items"][0]["error"]
    # not due yet: nothing happens
    with app.state.sessionmaker() as db:
        assert dispatch_due(db, job_id=job_id) == 0
    # the printer comes back (new address): the next due round prints it
    with FakePrinter() as live:
        r = client.patch(f"/api/v1/printers/{printer['id']}", headers=merchant.owner, json={"port": live.port})
        assert r.status_code == 200, r.text
        job = settle(app, merchant, job_id, now=clock.now() + timedelta(seconds=11))
        assert job.status == "done" and job.attempts == 2
        assert "可口可乐".encode("gb18030") in live.wait_for(1)[0]


def test_paper_out_is_a_failure(app, merchant):
    fp = FakePrinter(paper_out=True)
    try:
        add_printer(merchant, fp.port)
        job_id = sell(app, merchant, sample_receipt(), open_drawer=False)
        job = settle(app, merchant, job_id)
        assert job.status == "failed" and job.error_code == "paper_out"
    finally:
        fp.close()


def test_reprint_is_marked_and_never_kicks(app, merchant, client, fake):
    add_printer(merchant, fake.port)
    job_id = sell(app, merchant, sample_receipt(), open_drawer=True)
    settle(app, merchant, job_id)
    r = client.post(f"/api/v1/print-jobs/{job_id}/reprint", headers=merchant.owner)
    assert r.status_code == 201, r.text
    new_id = r.json()["id"]
    assert settle(app, merchant, uuid.UUID(new_id)).status == "done"
    jobs = fake.wait_for(2)
    assert len(jobs) == 2
    assert "重打印".encode("gb18030") in jobs[1] and KICK not in jobs[1]
    assert "重打印".encode("gb18030") not in jobs[0]


def test_background_dispatcher_sends(app, merchant, fake):
    add_printer(merchant, fake.port)
    d = Dispatcher(app.state.sessionmaker, app.state.settings.var_dir, interval=0.1)
    d.start()
    try:
        sell(app, merchant, sample_receipt(), open_drawer=False)
        d.poke()
        assert fake.wait_for(1, timeout=10), "the dispatcher thread did not print"
    finally:
        d.stop()


def test_failed_jobs_for_terminal(app, merchant):
    add_printer(merchant, closed_port())
    job_id = sell(app, merchant, sample_receipt(), open_drawer=False)
    settle(app, merchant, job_id)
    actor = system_actor(merchant.tenant_id)
    with unit_of_work(app.state.sessionmaker, merchant.tenant_id) as db:
        failed = service.failed_jobs_for_terminal(db, actor, merchant.terminal_id)
    assert [j.id for j in failed] == [job_id]
    assert failed[0].will_retry and failed[0].error
