"""Scheduled member jobs, for every merchant (system actor): tier re-evaluation, points expiry, the birthday
run, due campaigns and the nightly repair of the member rollup from the sales. Each is a function (a scheduler
such as huey calls it) and a `cloudpos members …` command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloudpos.context import Actor, system_actor
from cloudpos.members import campaigns, points, stats, tiers
from cloudpos.tenancy.models import Tenant


def for_each_tenant(factory: sessionmaker[Session], job: Callable[[Session, Actor], Any], name: str,
                    merchant: str | None = None) -> dict[str, Any]:
    """Run `job` once per active merchant, each in its own session bound to that tenant."""
    with factory() as db:
        stmt = select(Tenant.id, Tenant.code).where(Tenant.status == "active")
        if merchant:
            stmt = stmt.where(Tenant.code == merchant)
        tenants = db.execute(stmt).all()
    out: dict[str, Any] = {}
    for tenant_id, code in tenants:
        with factory() as db:
            db.info["tenant_id"] = tenant_id
            out[code] = job(db, system_actor(tenant_id, name))
            db.commit()
    return out


def evaluate_tiers(factory: sessionmaker[Session], merchant: str | None = None) -> dict[str, int]:
    return for_each_tenant(factory, tiers.evaluate_all, "job:evaluate-tiers", merchant)


def expire_points(factory: sessionmaker[Session], merchant: str | None = None) -> dict[str, int]:
    return for_each_tenant(factory, points.expire_points, "job:expire-points", merchant)


def birthday_run(factory: sessionmaker[Session], merchant: str | None = None) -> dict[str, Any]:
    return for_each_tenant(factory, lambda db, a: campaigns.birthday_run(db, a).model_dump(), "job:birthday-run",
                           merchant)


def rebuild_stats(factory: sessionmaker[Session], merchant: str | None = None) -> dict[str, Any]:
    return for_each_tenant(factory, stats.rebuild, "job:rebuild-stats", merchant)


def run_due_campaigns(factory: sessionmaker[Session], merchant: str | None = None) -> dict[str, Any]:
    return for_each_tenant(factory, lambda db, a: len(campaigns.run_due(db, a)), "job:campaigns", merchant)


# --- `cloudpos members …` ----------------------------------------------------------------------------

members_app = typer.Typer(help="Members: tier re-evaluation, points expiry, birthday greetings, campaigns")


def _factory() -> tuple[Any, sessionmaker[Session]]:
    from cloudpos.config import get_settings
    from cloudpos.db import make_engine, make_sessionmaker

    engine = make_engine(get_settings().db_url)
    return engine, make_sessionmaker(engine)


def _run(fn: Callable[..., dict[str, Any]], merchant: str | None, label: str) -> None:
    engine, factory = _factory()
    try:
        for code, result in fn(factory, merchant).items():
            typer.echo(f"{code}: {label} {result}")
    finally:
        engine.dispose()


MERCHANT = typer.Option(None, "--merchant", help="Merchant code; all merchants if omitted")


@members_app.command("evaluate-tiers")
def evaluate_tiers_cmd(merchant: str = MERCHANT) -> None:
    """Re-evaluate every member's tier (upgrades and downgrades; tiers set by hand are kept)."""
    _run(evaluate_tiers, merchant, "members moved:")


@members_app.command("expire-points")
def expire_points_cmd(merchant: str = MERCHANT) -> None:
    """Expire points earned before the end of last-year-but-one (FIFO; safe to run again)."""
    _run(expire_points, merchant, "points expired:")


@members_app.command("birthday-run")
def birthday_run_cmd(merchant: str = MERCHANT) -> None:
    """Today's birthdays: the birthday coupon, and a greeting to members who agreed to messages."""
    _run(birthday_run, merchant, "")


@members_app.command("run-campaigns")
def run_campaigns_cmd(merchant: str = MERCHANT) -> None:
    """Run the scheduled campaigns whose time has come and retry failed sends."""
    _run(run_due_campaigns, merchant, "campaigns run:")


@members_app.command("rebuild-stats")
def rebuild_stats_cmd(merchant: str = MERCHANT) -> None:
    """Recompute every member's visits, spend and first/last visit from the sales (nightly repair)."""
    _run(rebuild_stats, merchant, "")
