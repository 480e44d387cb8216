"""Fixtures shared by the whole suite.

Every database test runs twice: on SQLite and on PostgreSQL (`CLOUDPOS_TEST_PG_URL`, default
postgresql://postgres@127.0.0.1:5432/test; skipped — loudly — when unreachable). The schema is
built by the Alembic migrations, never by create_all. Tests isolate themselves by signing up a
merchant of their own: tenants never see each other, so no test cleans up after another.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)
_TMP = Path(tempfile.mkdtemp(prefix="cloudpos-tests-"))
# Each test process (xdist workers inherit the controller's environment) uses its own var dir, so the
# signing secret read through get_settings() is the same one the test apps use.
os.environ["CLOUDPOS_VAR_DIR"] = str(_TMP / "var")
os.environ.setdefault("CLOUDPOS_LOG_JSON", "false")
sys.path.insert(0, str(Path(__file__).parent))

from dbs import pg_base_url, pg_reachable, sqlite_url, worker_pg_url  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from cloudpos.app import create_app  # noqa: E402
from cloudpos.config import Settings  # noqa: E402
from cloudpos.migrate import upgrade  # noqa: E402
from cloudpos.web.threaded import ThreadedServer, serve_in_thread  # noqa: E402

PG_OK = pg_reachable(pg_base_url())
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.skipif(
        not PG_OK, reason=f"PostgreSQL not reachable at {pg_base_url()} (set CLOUDPOS_TEST_PG_URL)")),
]

_urls: dict[str, str] = {}
_apps: dict[str, object] = {}


def database_url(backend: str, worker: str = "main") -> str:
    """The migrated test database for this backend (built once per test process)."""
    if backend not in _urls:
        if backend == "sqlite":
            d = _TMP / f"sqlite-{worker}"
            d.mkdir(exist_ok=True)
            url = sqlite_url(d)
        else:
            url = worker_pg_url(pg_base_url(), worker)
        upgrade(Settings(database_url=url).db_url)
        _urls[backend] = url
    return _urls[backend]


@pytest.fixture(scope="session")
def worker_id_safe(request: pytest.FixtureRequest) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(backend: str, worker_id_safe: str) -> Settings:
    return Settings(database_url=database_url(backend, worker_id_safe), var_dir=_TMP / "var")


@pytest.fixture
def app(settings: Settings, backend: str):
    if backend not in _apps:
        _apps[backend] = create_app(settings)
    return _apps[backend]


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def db(app):
    """A session on the backend's database (not bound to any tenant)."""
    session = app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()


from merchants import OWNER_PASSWORD, STAFF_PASSWORD, Merchant, signup  # noqa: E402,F401


@pytest.fixture
def merchant(client: TestClient) -> Merchant:
    return signup(client)


@pytest.fixture
def other_merchant(client: TestClient) -> Merchant:
    return signup(client, merchant_name="别家超市")


# --- a live server (browser tests, parallel-request tests) -------------------------------------

@dataclass
class LiveServer:
    url: str
    app: object


def start_live_server(app) -> tuple[LiveServer, ThreadedServer]:
    running = serve_in_thread(app, name="live-server")
    return LiveServer(running.url, app), running


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    live, running = start_live_server(app)
    yield live
    running.stop()


# --- shared merchants and a frozen clock (foundation acceptance tests) --------------------------

_shared_merchants: dict[tuple[str, str], Merchant] = {}


@pytest.fixture
def shared_merchant(request: pytest.FixtureRequest, client: TestClient, backend: str) -> Merchant:
    """One merchant per test module and backend, for tests that only add objects of their own
    (sign-up and every login cost an argon2 hash, ~50 ms)."""
    key = (backend, request.module.__name__)
    if key not in _shared_merchants:
        _shared_merchants[key] = signup(client)
    m = _shared_merchants[key]
    m.client = client
    return m


@pytest.fixture
def frozen_clock():
    """`freeze(at)` moves cloudpos.clock to `at` (aware); the clock runs again after the test."""
    from cloudpos import clock

    yield clock.freeze
    clock.freeze(None)
