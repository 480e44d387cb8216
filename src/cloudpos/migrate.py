"""Run Alembic migrations from code (the CLI, `make demo` and the test suite all use this)."""

from __future__ import annotations

import importlib
import pkgutil

from alembic import command
from alembic.config import Config

from cloudpos.config import ROOT
from cloudpos.db import Base


def load_all_models() -> type[Base]:
    """Import every module's models so Base.metadata knows all tables."""
    import cloudpos

    for mod in pkgutil.iter_modules(cloudpos.__path__):
        if mod.ispkg:
            try:
                importlib.import_module(f"cloudpos.{mod.name}.models")
            except ModuleNotFoundError as exc:
                if exc.name != f"cloudpos.{mod.name}.models":
                    raise
    return Base


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)
