"""The audit log (操作日志): append-only, hash-chained per tenant.

`chain_heads` holds, per tenant and chain, the last sequence number and hash; appending locks
that row first, so sequence numbers are gap-free even with parallel writers. Other chains
(receipt numbers per store) reuse the same table under another chain name.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from cloudpos.db import Base, TenantMixin


class AuditEvent(TenantMixin, Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "seq"),
        Index("ix_audit_events_tenant_id_occurred_at", "tenant_id", "occurred_at"),
        Index("ix_audit_events_tenant_id_action", "tenant_id", "action"),
        Index("ix_audit_events_tenant_id_actor_id", "tenant_id", "actor_id"),
    )

    seq: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column()
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    actor_name: Mapped[str] = mapped_column(String(60), default="")
    store_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    terminal_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    ip: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    target_label: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[str] = mapped_column(String(16), default="ok")  # ok | denied | failed
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ChainHead(Base):
    __tablename__ = "chain_heads"

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    chain: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="0" * 64)
