"""Test databases: an SQLite file and a PostgreSQL database per test worker, both built by the migrations."""

from __future__ import annotations

import atexit
import os
import re
from pathlib import Path

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def pg_base_url() -> str:
    return os.environ.get("CLOUDPOS_TEST_PG_URL") or DEFAULT_PG


def pg_reachable(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


def worker_pg_url(base: str, worker: str) -> str:
    """A fresh database per xdist worker (cloudpos_test_gw0…), made from the base URL's server."""
    import psycopg

    plain = base.replace("postgresql+psycopg://", "postgresql://")
    # one database per test process: parallel runs on one machine never drop each other's database
    name = f"cloudpos_test_{re.sub(r'[^a-z0-9_]', '', worker.lower()) or 'main'}_{os.getpid()}"
    admin = re.sub(r"/[^/?]*(\?|$)", r"/postgres\1", plain, count=1) if plain.count("/") >= 3 else plain
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception:  # noqa: BLE001 - no CREATE DATABASE right: reset the given database instead
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        return plain
    atexit.register(_drop, admin, name)
    return re.sub(r"/[^/?]*(\?|$)", rf"/{name}\1", plain, count=1)


def _drop(admin: str, name: str) -> None:
    import psycopg

    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception:  # noqa: BLE001, S110 - best effort at exit
        pass


def sqlite_url(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'cloudpos-test.db'}"
