"""Approval requests (审批): a sensitive operation parked until a manager approves or rejects it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from cloudpos import clock
from cloudpos.db import Base, TenantMixin


class ApprovalRequest(TenantMixin, Base):
    __tablename__ = "approval_requests"
    __table_args__ = (Index("ix_approval_requests_tenant_id_status", "tenant_id", "status"),)

    operation: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[str] = mapped_column(String(300), default="")
    store_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    requested_by: Mapped[uuid.UUID] = mapped_column(Uuid())
    requested_by_name: Mapped[str] = mapped_column(String(60), default="")
    requested_at: Mapped[datetime] = mapped_column(default=clock.now)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|approved|rejected
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    decided_by_name: Mapped[str] = mapped_column(String(60), default="")
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(String(300), default="")
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
