"""db.LoopConnection: the event loop's reads (who is calling, a scan, /me) share one kept connection on
PostgreSQL. A read inside another, or from another thread, takes a pooled one; a read that finds the
connection dropped by the database runs again on a fresh one; one idle for a while is pinged before use."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from cloudpos import db as dbmod
from cloudpos.db import LoopConnection


def _pid(conn) -> int:
    return conn.connection.dbapi_connection.info.backend_pid


def _kill(app, pid: int) -> None:
    url = app.state.settings.db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.2)


def _product(m) -> str:
    """A product of merchant m; its barcode."""
    r = m.client.post("/api/v1/products", headers=m.owner, json={
        "sku": "LOOP-1", "name": "农夫山泉 550ml", "barcodes": ["6921168509256"], "price": 200, "unit": "瓶"})
    assert r.status_code == 201, r.text
    return r.json()["barcodes"][0]


def _scan(client, m, code: str) -> int:
    return client.get("/api/v1/products/lookup", headers=m.owner, params={"code": code}).status_code


def _scan_then_kill_its_connection(client, m, backend: str) -> tuple[str, int]:
    """A scan on the loop's kept connection, then that connection's backend terminated: (code, its pid)."""
    if backend != "postgresql":
        pytest.skip("the kept connection is PostgreSQL's")
    code = _product(m)
    assert _scan(client, m, code) == 200
    with client.app.state.loop_db.connect() as conn:
        pid = _pid(conn)
    _kill(client.app, pid)
    return code, pid


def test_reads_share_one_connection_and_a_nested_read_takes_another(app, backend):
    loop = LoopConnection(app.state.auth_engine)
    with loop.connect() as a:
        first = a
        with loop.connect() as b:  # held by the outer read: the pool's
            assert b is not a
            assert b.exec_driver_sql("SELECT 1").scalar() == 1
    with loop.connect() as c:
        assert (c is first) == (backend == "postgresql")  # SQLite: the pool every time
        assert c.exec_driver_sql("SELECT 2").scalar() == 2


def test_another_thread_never_shares_the_held_connection(app, backend):
    loop = LoopConnection(app.state.auth_engine)
    seen: list[object] = []
    inside, done = threading.Event(), threading.Event()

    def other() -> None:
        inside.wait(5)
        with loop.connect() as conn:
            seen.append(conn)
            conn.exec_driver_sql("SELECT 1")
        done.set()

    t = threading.Thread(target=other)
    t.start()
    with loop.connect() as mine:
        inside.set()
        assert done.wait(5)
        assert seen and seen[0] is not mine
    t.join()


def test_a_connection_the_server_dropped_costs_no_request(client, merchant, backend):
    """Killed within the ping interval: the scan that finds it broken reads again on a fresh connection."""
    code, pid = _scan_then_kill_its_connection(client, merchant, backend)
    assert [_scan(client, merchant, code) for _ in range(3)] == [200, 200, 200]
    with client.app.state.loop_db.connect() as conn:
        assert _pid(conn) != pid


def test_a_connection_idle_for_a_while_is_pinged_and_replaced_if_dead(client, merchant, backend, monkeypatch):
    code, pid = _scan_then_kill_its_connection(client, merchant, backend)
    monkeypatch.setattr(dbmod, "PING_AFTER_IDLE_S", 0.0)  # as if the till had been idle
    pinged = []
    real = dbmod._broken
    monkeypatch.setattr(dbmod, "_broken", lambda conn: pinged.append(conn) or real(conn))
    assert _scan(client, merchant, code) == 200  # the ping found it dead: a fresh one, no failed scan
    assert not pinged  # found by the ping, not by a failed read
    with client.app.state.loop_db.connect() as conn:
        assert _pid(conn) != pid
