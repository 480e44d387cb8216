"""Real sales through POST /api/v1/sales print on a network printer (a fake one on 127.0.0.1 recording
bytes): GB18030 Chinese, the QR code, the cut, the drawer kick for cash only; a dead printer leaves the
sale completed and its receipt queued for retry; the receipt renders in all four formats."""

from __future__ import annotations

import secrets
import time

import pytest
from sqlalchemy import select

from cloudpos.i18n import gettext
from cloudpos.printing.jobs.dispatcher import dispatch_due
from cloudpos.printing.models import PrintJob
from cloudpos.printing.testing import FakePrinter, closed_port

KICK, QR, CUT = b"\x1bp", b"\x1d(k", b"\x1dV"


@pytest.fixture
def till(merchant):
    c, h = merchant.client, merchant.owner
    merchant.product = c.post("/api/v1/products", headers=h, json={
        "sku": f"P{secrets.token_hex(3)}", "name": "可口可乐 330ml", "price": 350, "cost": 200}).json()
    merchant.cashier = merchant.as_role("cashier")
    c.post("/api/v1/shifts", headers=merchant.cashier, json={"terminal_id": str(merchant.terminal_id),
                                                             "opening_float": 0})
    return merchant


def add_printer(m, port: int) -> dict:
    r = m.client.post("/api/v1/printers", headers=m.owner, json={
        "store_id": str(m.store_id), "name": "前台小票机", "connection": "network", "host": "127.0.0.1",
        "port": port, "paper_mm": 80, "open_drawer": True, "auto_print": True})
    assert r.status_code == 201, r.text
    return r.json()


def sell(m, method: str) -> dict:
    pay = {"method": method, "amount": 700}
    if method == "card":
        pay["card_last4"] = "4242"
    r = m.client.post("/api/v1/sales", headers=m.cashier, json={
        "store_id": str(m.store_id), "terminal_id": str(m.terminal_id),
        "lines": [{"product_id": m.product["id"], "quantity": "2"}], "payments": [pay]})
    assert r.status_code == 201, r.text
    return r.json()


def job_for(app, m, receipt_no: str) -> PrintJob:
    with app.state.sessionmaker() as db:
        deadline = time.monotonic() + 15
        while True:
            dispatch_due(db)
            db.expire_all()
            job = db.scalar(select(PrintJob).where(PrintJob.tenant_id == m.tenant_id,
                                                   PrintJob.document_ref == receipt_no))
            status = job.status if job else None
            if job is not None:
                db.expunge(job)
            db.rollback()  # never hold a transaction while waiting (SQLite: the writer lock)
            if (job and status not in ("queued", "sending")) or time.monotonic() > deadline:
                return job
            time.sleep(0.05)


def test_cash_sale_prints_chinese_qr_cut_and_kicks_the_drawer(app, till):
    fake = FakePrinter()
    try:
        add_printer(till, fake.port)
        cash = sell(till, "cash")
        assert job_for(app, till, cash["receipt_no"]).status == "done"
        card = sell(till, "card")
        assert job_for(app, till, card["receipt_no"]).status == "done"
        deadline = time.monotonic() + 5
        while len(fake.jobs) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        by_receipt = {r: next(j for j in fake.jobs if r.encode() in j) for r in (cash["receipt_no"],
                                                                                card["receipt_no"])}
    finally:
        fake.close()
    cash_bytes, card_bytes = by_receipt[cash["receipt_no"]], by_receipt[card["receipt_no"]]
    assert cash_bytes.startswith(b"\x1b@") or b"\x1b@" in cash_bytes[:8]
    assert "可口可乐".encode("gb18030") in cash_bytes
    assert QR in cash_bytes and CUT in cash_bytes
    assert KICK in cash_bytes and KICK not in card_bytes


def test_dead_printer_leaves_the_sale_and_queues_the_receipt(app, till):
    add_printer(till, closed_port())
    s = sell(till, "cash")
    job = job_for(app, till, s["receipt_no"])
    assert job.status == "failed" and job.error_code and job.next_attempt_at is not None
    assert till.client.get(f"/api/v1/sales/{s['id']}", headers=till.owner).status_code == 200
    failed = till.client.get("/api/v1/print-jobs", headers=till.cashier,
                             params={"terminal_id": str(till.terminal_id), "status": "failed"}).json()
    assert [j["document_ref"] for j in failed["items"]] == [s["receipt_no"]]


@pytest.mark.parametrize(("fmt", "media"), [("escpos", "application/octet-stream"), ("text", "text/plain"),
                                            ("html", "text/html"), ("pdf", "application/pdf")])
def test_receipt_formats_and_reprint(till, fmt, media):
    s = sell(till, "cash")
    r = till.client.get(f"/api/v1/sales/{s['id']}/receipt", headers=till.cashier, params={"format": fmt})
    assert r.status_code == 200 and r.headers["content-type"].startswith(media)
    if fmt == "text":
        assert s["receipt_no"] in r.text and "可口可乐" in r.text
    r = till.client.post(f"/api/v1/sales/{s['id']}/print", headers=till.cashier)
    assert r.status_code == 202


def test_closing_a_shift_prints_the_z_report(app, till):
    fake = FakePrinter()
    try:
        add_printer(till, fake.port)
        sell(till, "cash")
        shift = till.client.get("/api/v1/shifts", headers=till.cashier, params={"status": "open"}).json()["items"][0]
        r = till.client.post(f"/api/v1/shifts/{shift['id']}/close", headers=till.cashier, json={"counted_cash": 700})
        assert r.status_code == 200, r.text
        job = job_for(app, till, f"Z-{shift['id']}")
        assert job is not None and job.status == "done"
        title = gettext("Z report", "zh_CN").encode("gb18030")
        deadline = time.monotonic() + 5
        while not any(title in j for j in fake.jobs) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        fake.close()
    z = [j for j in fake.jobs if title in j]
    assert len(z) == 1 and b"7.00" in z[0]  # counted cash on the printed Z report


def test_receipt_qr_scanned_at_the_till_finds_the_sale(app, till, other_merchant):
    from cloudpos.printing import service as printing

    s = sell(till, "cash")
    url = printing.e_receipt_url("http://shop.example", app.state.secret, till.tenant_id, "sale", s["id"])
    r = till.client.get(f"/api/v1/receipts/{url.rsplit('/r/', 1)[1]}/sale", headers=till.cashier)
    assert r.status_code == 200 and r.json()["id"] == s["id"]
    page = till.client.get("/r/" + url.rsplit("/r/", 1)[1])
    assert page.status_code == 200 and s["receipt_no"] in page.text
    forged = url.rsplit("/r/", 1)[1][:-3] + "abc"
    assert till.client.get(f"/api/v1/receipts/{forged}/sale", headers=till.cashier).status_code == 404
    other = other_merchant.client.get(f"/api/v1/receipts/{url.rsplit('/r/', 1)[1]}/sale", headers=other_merchant.owner)
    assert other.status_code == 404
