"""The `cloudpos` command: serve, migrate, demo, audit verify, doctor."""

from __future__ import annotations

import sys

import typer

from cloudpos.config import get_settings

app = typer.Typer(help="cloudpos — multi-tenant cloud point-of-sale", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log")
demo_app = typer.Typer(help="The demo merchant")
app.add_typer(audit_app, name="audit")
app.add_typer(demo_app, name="demo")
from cloudpos.payments.cli import payments_app  # noqa: E402 - the payments sub-commands

app.add_typer(payments_app, name="payments")
stock_app = typer.Typer(help="Stock: the movement ledger and on-hand balances")
app.add_typer(stock_app, name="stock")
from cloudpos.members.jobs import members_app  # noqa: E402 - the members jobs

app.add_typer(members_app, name="members")


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (Alembic)."""
    from cloudpos.migrate import upgrade

    s = get_settings()
    if s.is_sqlite:
        s.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(s.db_url)
    typer.echo(f"Database is up to date: {_safe_url(s.db_url)}")


@app.command()
def serve(host: str = typer.Option(None, help="Default: CLOUDPOS_HOST or 127.0.0.1"),
          port: int = typer.Option(None, help="Default: CLOUDPOS_PORT or 8000"),
          workers: int = typer.Option(1)) -> None:
    """Serve the web UI and the API."""
    import uvicorn

    from cloudpos.logging import configure

    s = get_settings()
    configure(s.log_json)
    host, port = host or s.host, port or s.port
    _print_demo_credentials()
    typer.echo(f"cloudpos is serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    consumer = None
    if s.run_jobs if s.run_jobs is not None else not s.redis_url:
        from cloudpos.ops.scheduler import start_in_process

        consumer = start_in_process()
    try:
        uvicorn.run("cloudpos.app:create_app", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", access_log=False)
    finally:
        if consumer is not None:
            consumer.stop()


@app.command()
def worker() -> None:
    """Run the scheduled jobs (cloud mode, with CLOUDPOS_REDIS_URL): payments reconciliation and due campaigns
    every minute, birthdays at 09:00 and the nightly member jobs at 02:00 Beijing time."""
    from cloudpos.logging import configure
    from cloudpos.ops.scheduler import run_worker

    configure(get_settings().log_json)
    run_worker()


@demo_app.command("seed")
def demo_seed() -> None:
    """Create the demo merchant (code `demo`, owner `admin`) with 60 days of trading, once; later runs keep the
    data."""
    import logging

    import structlog

    from cloudpos.ops.demo import seed_demo

    # thousands of past payments and documents: only warnings on the console
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    out = seed_demo(get_settings())
    if out.owner_password:
        c = out.counts
        typer.echo(f"Demo merchant created in {out.seconds:.1f} s: {c.get('sales', 0)} sales, "
                   f"{c.get('refunds', 0)} refunds, {c.get('voids', 0)} void(s) over {c.get('shifts', 0)} shifts; "
                   f"{c.get('members', 0)} members.")
    else:
        typer.echo("Demo merchant already exists; data kept.")


@audit_app.command("verify")
def audit_verify(merchant: str = typer.Option(None, "--merchant",
                                             help="Merchant code; all merchants if omitted")) -> None:
    """Check every audit chain; exits non-zero naming the first broken sequence number."""
    from cloudpos.ops.verify import verify_audit

    ok = verify_audit(get_settings().db_url, merchant, typer.echo)
    raise typer.Exit(0 if ok else 1)


@stock_app.command("verify")
def stock_verify(merchant: str = typer.Option(None, "--merchant",
                                             help="Merchant code; all merchants if omitted")) -> None:
    """Check that every on-hand balance equals the sum of its movements; exits non-zero naming the first
    mismatching store and product."""
    from cloudpos.ops.stock_verify import verify_stock

    raise typer.Exit(0 if verify_stock(get_settings().db_url, merchant, typer.echo) else 1)


@app.command()
def doctor() -> None:
    """Check the installation: database reachable and migrated, static files present."""
    from cloudpos.ops.doctor import run

    raise typer.Exit(0 if run(get_settings(), typer.echo) else 1)


def _print_demo_credentials() -> None:
    path = get_settings().var_dir / "demo-credentials.txt"
    if path.exists():
        typer.echo("-" * 64)
        typer.echo(path.read_text().rstrip())
        typer.echo("-" * 64)


def _safe_url(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
