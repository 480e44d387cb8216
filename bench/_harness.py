"""What the benchmarks share: a real uvicorn server in a thread (httptools and uvloop, as `cloudpos serve`
runs) or `cloudpos serve` itself in a process of its own, scratch databases, the Server-Timing figure, unique
EAN-13 codes, and how fast the machine is."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def live(app) -> Iterator[str]:
    from cloudpos.web.threaded import serve_in_thread

    running = serve_in_thread(app, name="bench-server")
    try:
        yield running.url
    finally:
        running.stop()


@contextmanager
def spawned(argv: list[str], port: int, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A server process (`argv`), yielded once http://127.0.0.1:`port`/healthz answers; stopped afterwards."""
    import httpx

    proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{' '.join(argv[-4:])} did not start on port {port}")
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def served(db_url: str, var_dir: Path) -> Iterator[str]:
    """`cloudpos serve` on `db_url` in a process of its own, as a store runs it: the load generator does not
    share the server's interpreter (in a thread it competes with the server for the GIL, which shows in the
    server's own tail latencies). Scheduled jobs off, as in the threaded server."""
    from cloudpos.web.threaded import free_port

    port = free_port()
    env = {"CLOUDPOS_DATABASE_URL": db_url, "CLOUDPOS_VAR_DIR": str(var_dir), "CLOUDPOS_RUN_JOBS": "false",
           "CLOUDPOS_LOG_JSON": "false"}
    with spawned([sys.executable, "-c", "from cloudpos.cli import main; main()", "serve", "--port", str(port)],
                 port, env):
        yield f"http://127.0.0.1:{port}"


def pg_base() -> str:
    return (os.environ.get("CLOUDPOS_BENCH_PG_URL") or os.environ.get("CLOUDPOS_TEST_PG_URL")
            or "postgresql://postgres@127.0.0.1:5432/test").replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def sqlite_db(folder: Path) -> Iterator[str]:
    d = Path(tempfile.mkdtemp(prefix="sqlite-", dir=folder))
    yield f"sqlite:///{d / 'bench.db'}"


@contextmanager
def postgres_db(name: str) -> Iterator[str]:
    """A scratch database `name` on the benchmark's PostgreSQL server, dropped afterwards."""
    import psycopg

    admin = re.sub(r"/[^/?]*(\?|$)", r"/postgres\1", pg_base(), count=1)
    with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield re.sub(r"/[^/?]*(\?|$)", rf"/{name}\1", pg_base(), count=1)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_ms(headers) -> float:
    """The server's own time for a request (`Server-Timing: app;dur=`), NaN when absent."""
    m = re.search(r"dur=([0-9.]+)", headers.get("server-timing", ""))
    return float(m.group(1)) if m else float("nan")


def unique_ean13(rng: random.Random, seen: set[str]) -> str:
    """A valid EAN-13 starting 69 (China) that is not in `seen` yet (and is then added to it)."""
    from cloudpos.catalog import domain

    while True:
        code = domain.with_check_digit("69" + "".join(str(rng.randrange(10)) for _ in range(10)))
        if code not in seen:
            seen.add(code)
            return code


def speed() -> str:
    """How fast this machine is right now. The development machine's speed moves by up to 2x within minutes
    (shared host): the same query took 0.17 ms in one run and 0.34 ms in the next. Each benchmark prints this
    next to its figures, so runs can be compared."""
    started = time.perf_counter()
    total = 0
    for i in range(5_000_000):
        total += i
    took = time.perf_counter() - started
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    return f"machine speed: a fixed 5M-step Python loop took {took:.2f} s (lower is faster); load {load}"
