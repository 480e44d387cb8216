"""Alembic environment: the URL comes from cloudpos settings (or the caller), metadata from every module."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from cloudpos.config import get_settings
from cloudpos.db import make_engine
from cloudpos.migrate import load_all_models

config = context.config
target_metadata = load_all_models().metadata
url = config.attributes.get("url") or get_settings().db_url


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url, poolclass=pool.NullPool) if not url.startswith("sqlite") else make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
