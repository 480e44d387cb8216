"""`cloudpos doctor`: what is wrong with this installation, in words (brief section 七: 故障排查)."""

from __future__ import annotations

from collections.abc import Callable

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from cloudpos.config import Settings
from cloudpos.db import make_engine
from cloudpos.i18n import PACKAGE_DIR
from cloudpos.migrate import alembic_config


def run(settings: Settings, echo: Callable[[str], None]) -> bool:
    ok = True
    engine = make_engine(settings.db_url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        head = ScriptDirectory.from_config(alembic_config(settings.db_url)).get_current_head()
        if current == head:
            echo(f"[ok] database reachable, schema at {head}")
        else:
            ok = False
            echo(f"[!!] schema at {current}, code expects {head}: run `cloudpos migrate`")
    except Exception as exc:  # noqa: BLE001 - report any failure in words
        ok = False
        echo(f"[!!] database unreachable: {exc.__class__.__name__}: {exc}")
    finally:
        engine.dispose()
    vendor = PACKAGE_DIR / "web" / "static" / "vendor" / "htmx.min.js"
    if vendor.exists():
        echo("[ok] front-end libraries installed")
    else:
        ok = False
        echo("[!!] front-end libraries missing: run `make assets`")
    return ok
