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

_HEAD = ChainHead.__table__


def ensure_head(db: Session, tenant_id: uuid.UUID, chain: str) -> None:
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.execute(
        insert(ChainHead)
        .values(tenant_id=tenant_id, chain=chain, last_seq=0, last_hash=GENESIS)
        .on_conflict_do_nothing(index_elements=["tenant_id", "chain"])
    )


def advance(db: Session, tenant_id: uuid.UUID, chain: str) -> tuple[int, str]:
    """Lock the head and return (next sequence number, previous hash).

    Pending ORM changes are flushed first, so the head is always the last lock a transaction takes
    (the same order for every writer: no deadlock). Core statements on the session's connection:
    this runs on every write, and the ORM layer would double its cost.
    """
    db.flush()
    conn = db.connection()
    row = conn.execute(
        select(_HEAD.c.last_seq, _HEAD.c.last_hash)
        .where(_HEAD.c.tenant_id == tenant_id, _HEAD.c.chain == chain)
        .with_for_update()
    ).one_or_none()
    if row is None:
        ensure_head(db, tenant_id, chain)
        return advance(db, tenant_id, chain)
    return row.last_seq + 1, row.last_hash


def commit_link(db: Session, tenant_id: uuid.UUID, chain: str, seq: int, new_hash: str) -> None:
    db.connection().execute(
        update(_HEAD)
        .where(_HEAD.c.tenant_id == tenant_id, _HEAD.c.chain == chain)
        .values(last_seq=seq, last_hash=new_hash)
    )


def head(db: Session, tenant_id: uuid.UUID, chain: str) -> tuple[int, str]:
    row = db.connection().execute(
        select(_HEAD.c.last_seq, _HEAD.c.last_hash)
        .where(_HEAD.c.tenant_id == tenant_id, _HEAD.c.chain == chain)
    ).one_or_none()
    return (row.last_seq, row.last_hash) if row else (0, GENESIS)
