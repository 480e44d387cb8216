"""`cloudpos stock verify`: exit 0 when every balance equals its ledger; non-zero naming the first
mismatching store and product after a stock_levels row is tampered with."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from test_inventory_support import make_product, receive
from typer.testing import CliRunner


def _run(settings, monkeypatch, *args: str):
    import cloudpos.cli as cli

    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    return CliRunner().invoke(cli.app, ["stock", "verify", *args])


def test_stock_verify_passes_then_names_a_tampered_balance(client, merchant, settings, db, monkeypatch):
    p = make_product(merchant, name="王老吉")
    receive(merchant, p["id"], "12")
    r = _run(settings, monkeypatch, "--merchant", merchant.code)
    assert r.exit_code == 0, r.output
    assert "OK" in r.output

    pid = uuid.UUID(p["id"])
    db.execute(text("UPDATE stock_levels SET on_hand = on_hand + 1000 WHERE product_id = :p"),
               {"p": pid if db.bind.dialect.name == "postgresql" else pid.hex})
    db.commit()
    r = _run(settings, monkeypatch, "--merchant", merchant.code)
    assert r.exit_code != 0
    assert "MISMATCH" in r.output and p["sku"] in r.output and "S01" in r.output
    assert "13.000" in r.output and "12.000" in r.output

    assert _run(settings, monkeypatch, "--merchant", "no-such-merchant").exit_code != 0
