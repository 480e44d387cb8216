"""Per-tenant gap-free sequences with a running hash (the audit log; later, receipts per store).

`advance` locks the chain head row (SELECT … FOR UPDATE on PostgreSQL; SQLite writers are
already serialized by BEGIN IMMEDIATE), so the caller's transaction owns the next number
until it commits — a rolled-back transaction gives its number back, leaving no gap.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cloudpos.audit.domain import GENESIS
from cloudpos.audit.models import ChainHead


def ensure_head(db: Session, tenant_id: uuid.UUID, chain: str) -> None:
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.execute(
        insert(ChainHead)
        .values(tenant_id=tenant_id, chain=chain, last_seq=0, last_hash=GENESIS)
        .on_conflict_do_nothing(index_elements=["tenant_id", "chain"])
    )


def advance(db: Session, tenant_id: uuid.UUID, chain: str) -> tuple[int, str]:
    """Lock the head and return (next sequence number, previous hash)."""
    row = db.execute(
        select(ChainHead.last_seq, ChainHead.last_hash)
        .where(ChainHead.tenant_id == tenant_id, ChainHead.chain == chain)
        .with_for_update()
    ).one_or_none()
    if row is None:
        ensure_head(db, tenant_id, chain)
        return advance(db, tenant_id, chain)
    return row.last_seq + 1, row.last_hash


def commit_link(db: Session, tenant_id: uuid.UUID, chain: str, seq: int, new_hash: str) -> None:
    db.execute(
        update(ChainHead)
        .where(ChainHead.tenant_id == tenant_id, ChainHead.chain == chain)
        .values(last_seq=seq, last_hash=new_hash)
    )


def head(db: Session, tenant_id: uuid.UUID, chain: str) -> tuple[int, str]:
    row = db.execute(
        select(ChainHead.last_seq, ChainHead.last_hash)
        .where(ChainHead.tenant_id == tenant_id, ChainHead.chain == chain)
    ).one_or_none()
    return (row.last_seq, row.last_hash) if row else (0, GENESIS)
