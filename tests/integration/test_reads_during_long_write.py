"""A long write (a 100k-row import holds its transaction for seconds) must not stop the tills or the back
office from reading: the scanner's look-up, the price quote, product lists and GET /me answer while another
connection holds the write lock (SQLite, embedded mode: a deferred BEGIN for reads, db.reads_only) or a row
lock on the very product being read (PostgreSQL). The writer is a raw database connection in this test."""

from __future__ import annotations

import secrets
import sqlite3
import threading

import psycopg
import pytest


def _long_writer(settings, product_id: str):
    """Open a transaction that changes the product and keeps its lock until .close()."""
    url = settings.db_url
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None, timeout=30)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE products SET name = name || '!' WHERE id = ?", (product_id.replace("-", ""),))
    else:
        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        conn.execute("UPDATE products SET name = name || '!' WHERE id = %s", (product_id,))
    return conn


def _answers_while_locked(call) -> object:
    """Run `call` in a thread; it must finish while the writer still holds its lock (a hung read waits for
    the 30 s busy timeout and would still be running at the join)."""
    out: dict[str, object] = {}
    t = threading.Thread(target=lambda: out.setdefault("r", call()), daemon=True)
    t.start()
    t.join(timeout=10)
    assert not t.is_alive(), "the read waited for the writer"
    return out["r"]


@pytest.mark.parametrize("what", ["lookup", "quote", "list", "me"])
def test_reads_answer_while_another_connection_holds_the_write_lock(merchant, settings, what):
    c, h = merchant.client, merchant.owner
    code = "69" + "".join(secrets.choice("0123456789") for _ in range(10))
    code += str((10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(code)) % 10) % 10)
    r = c.post("/api/v1/products", headers=h, json={"sku": f"L{secrets.token_hex(3)}", "name": "可口可乐",
                                                     "price": 350, "barcodes": [code]})
    assert r.status_code == 201, r.text
    product = r.json()
    calls = {
        "lookup": lambda: c.get("/api/v1/products/lookup", params={"code": code}, headers=h),
        "quote": lambda: c.post("/api/v1/pricing/quote", headers=h, json={
            "store_id": str(merchant.store_id), "lines": [{"product_id": product["id"], "quantity": "2"}]}),
        "list": lambda: c.get("/api/v1/products", params={"q": "可口"}, headers=h),
        "me": lambda: c.get("/api/v1/me", headers=h),
    }
    writer = _long_writer(settings, product["id"])
    try:
        resp = _answers_while_locked(calls[what])
    finally:
        writer.rollback()
        writer.close()
    assert resp.status_code == 200, resp.text
    if what == "quote":
        assert resp.json()["total"] == 700  # the committed price: the writer's change is not visible
    if what == "lookup":
        assert resp.json()["product"]["name"] == "可口可乐"


def test_a_lock_held_past_the_busy_timeout_is_a_503_to_retry_not_a_500(merchant, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from cloudpos.catalog import service

    def locked(*_a, **_k):
        raise OperationalError("UPDATE products ...", {}, Exception("database is locked"))

    monkeypatch.setattr(service, "list_products", locked)
    r = merchant.client.get("/api/v1/products", headers={**merchant.owner, "Accept-Language": "zh-CN"})
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "database_busy" and "数据库正在处理另一项修改" in r.json()["detail"]


def test_a_page_hit_by_a_held_lock_says_so_as_a_page(merchant, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from cloudpos.catalog import service

    def locked(*_a, **_k):
        raise OperationalError("SELECT ...", {}, Exception("database is locked"))

    monkeypatch.setattr(service, "list_products", locked)
    c = merchant.client
    c.cookies.set("cloudpos_session", merchant.owner["Authorization"].split(" ", 1)[1])
    try:
        r = c.get("/catalog/products", headers={"Accept": "text/html", "Accept-Language": "en"})
    finally:
        c.cookies.clear()
    assert r.status_code == 503 and r.headers["content-type"].startswith("text/html")
    assert "The database is busy with another change" in r.text and "<html" in r.text.lower()
