"""Scheduled jobs (huey): what runs when, for every merchant.

    every minute   payments reconciliation (wallet payments left pending: complete or reverse them),
                   campaigns whose time has come (and retries of failed sends)
    09:00 Beijing  birthday run: the birthday coupon and greeting
    02:00 Beijing  tier re-evaluation, points expiry, nightly repair of the member rollup

Embedded mode: `cloudpos serve` runs the consumer in background threads of the server process, its queue
in SQLite under var/ (`jobs.db`). Cloud mode (CLOUDPOS_REDIS_URL set): the queue is in Redis and
`cloudpos worker` runs the consumer as its own process, once per deployment; `cloudpos serve` then runs
no jobs (CLOUDPOS_RUN_JOBS=true forces them). Every job is also a CLI command (`cloudpos members …`,
`cloudpos payments reconcile`) and safe to run again.
"""

from __future__ import annotations

import threading
from typing import Any

import structlog
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer

from cloudpos.config import Settings, get_settings

log = structlog.get_logger("cloudpos.jobs")

# crontab runs in UTC (huey's default); Beijing time is UTC+8 all year.
EVERY_MINUTE = crontab(minute="*")
BIRTHDAYS = crontab(minute="0", hour="1")  # 09:00 Beijing
NIGHTLY = crontab(minute="0", hour="18")  # 02:00 Beijing


def make_huey(settings: Settings) -> Huey:
    if settings.redis_url:
        return RedisHuey("cloudpos", url=settings.redis_url)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("cloudpos", filename=str(settings.var_dir / "jobs.db"))


huey = make_huey(get_settings())

_factory_lock = threading.Lock()
_factory: Any = None


def factory() -> Any:
    """One engine for the jobs of this process."""
    global _factory
    with _factory_lock:
        if _factory is None:
            from cloudpos.db import make_engine, make_sessionmaker

            _factory = make_sessionmaker(make_engine(get_settings().db_url))
        return _factory


def _run(name: str, fn: Any) -> Any:
    result = fn(factory())
    log.info("job done", job=name, result=str(result)[:500])
    return result


@huey.periodic_task(EVERY_MINUTE, name="payments.reconcile")
def reconcile_payments() -> Any:
    from cloudpos.payments.reconcile import reconcile

    return _run("payments.reconcile", lambda f: reconcile(f).line())


@huey.periodic_task(EVERY_MINUTE, name="members.campaigns")
def run_campaigns() -> Any:
    from cloudpos.members import jobs

    return _run("members.campaigns", jobs.run_due_campaigns)


def _merchants() -> list[str]:
    from sqlalchemy import select

    from cloudpos.tenancy.models import Tenant

    with factory()() as db:
        return list(db.scalars(select(Tenant.code).where(Tenant.status == "active").order_by(Tenant.code)))


# The daily jobs fan out: one task per merchant, so one merchant's failure (retried) does not hold up the others.

@huey.task(retries=3, retry_delay=300, name="members.birthdays_for")
def birthdays_for(merchant: str) -> Any:
    from cloudpos.members import jobs

    return _run(f"members.birthdays {merchant}", lambda f: jobs.birthday_run(f, merchant).get(merchant))


@huey.task(retries=3, retry_delay=300, name="members.nightly_for")
def nightly_for(merchant: str) -> dict[str, Any]:
    from cloudpos.members import jobs

    def one(fn: Any) -> Any:
        return fn(factory(), merchant).get(merchant)

    return {"tiers": one(jobs.evaluate_tiers), "points_expired": one(jobs.expire_points),
            "stats": one(jobs.rebuild_stats)}


@huey.periodic_task(BIRTHDAYS, name="members.birthdays")
def birthdays() -> int:
    merchants = _merchants()
    for code in merchants:
        birthdays_for(code)
    return len(merchants)


@huey.periodic_task(NIGHTLY, name="members.nightly")
def nightly() -> int:
    merchants = _merchants()
    for code in merchants:
        nightly_for(code)
    return len(merchants)


class _InProcess(Consumer):
    """A consumer that lives in threads of another program (the web server): it leaves the process's signal
    handlers to that program."""

    def _set_signal_handlers(self) -> None:
        return None


def start_in_process() -> Consumer:
    """Start the scheduler and one worker thread; `.stop()` at exit."""
    consumer = _InProcess(huey, workers=1, periodic=True, worker_type="thread", check_worker_health=False)
    consumer.start()
    log.info("jobs started in this process", storage=type(huey).__name__)
    return consumer


def run_worker() -> None:
    """`cloudpos worker`: the consumer in the foreground (cloud mode), until SIGINT/SIGTERM."""
    huey.create_consumer(workers=2, periodic=True, worker_type="thread").run()
