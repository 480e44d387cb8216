"""`cloudpos payments …`: the reconciliation job and the sandbox gateway."""

from __future__ import annotations

import typer

payments_app = typer.Typer(help="Payments: reconciliation and the sandbox gateway")


@payments_app.command("reconcile")
def reconcile_cmd(merchant: str = typer.Option(None, "--merchant", help="Merchant code; all merchants if omitted"),
                  ) -> None:
    """Query payments left pending past their deadline and complete or reverse them; reverse charges no sale
    claimed. Safe to run at any time and as often as you like (every minute from cron)."""
    from cloudpos.config import get_settings
    from cloudpos.db import make_engine, make_sessionmaker
    from cloudpos.payments.reconcile import reconcile
    from cloudpos.tenancy import service as tenancy

    engine = make_engine(get_settings().db_url)
    factory = make_sessionmaker(engine)
    tenant_id = None
    if merchant:
        with factory() as db:
            tenant = tenancy.merchant_by_code(db, merchant)
        if tenant is None:
            typer.echo(f"No merchant with code {merchant!r}.", err=True)
            raise typer.Exit(2)
        tenant_id = tenant.id
    report = reconcile(factory, tenant_id=tenant_id)
    typer.echo(report.line())
    for error in report.errors:
        typer.echo(f"error: {error}", err=True)
    engine.dispose()
    raise typer.Exit(1 if report.errors else 0)


@payments_app.command("sandbox")
def sandbox_cmd(port: int = typer.Option(8900, help="Port on 127.0.0.1"),
                slow_seconds: float = typer.Option(15.0, help="How long a 'timeout' (1303…) pay call sleeps")) -> None:
    """Run the sandbox gateway (WeChat Pay v2 + Alipay, signatures included) for the demo and manual tests.
    Keys are generated once into var/payments-sandbox/. Payment codes choose the outcome: 1300… success,
    1301… USERPAYING then success, 1302… insufficient funds, 1303… timeout, 1304… response lost,
    1305… system error (charged), 1306… never confirmed, 1307… tampered answer."""
    import uvicorn

    from cloudpos.payments.config import sandbox_dir
    from cloudpos.payments.providers.sandbox import credentials
    from cloudpos.payments.sandbox.app import create_sandbox_app

    app = create_sandbox_app(credentials(), slow_seconds=slow_seconds, books=sandbox_dir() / "ledger.json")
    typer.echo(f"Payments sandbox on http://127.0.0.1:{port}  (WeChat Pay: /pay/micropay · Alipay: /gateway.do)")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
