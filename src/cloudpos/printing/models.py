"""Printers (打印设置), receipt templates per store, and the print job queue."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from cloudpos import clock
from cloudpos.db import Base, TenantMixin

CONNECTIONS = ("network", "usb", "device", "file", "browser")
JOB_STATUSES = ("queued", "sending", "done", "failed")


class Printer(TenantMixin, Base):
    __tablename__ = "printers"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "store_id"], ["stores.tenant_id", "stores.id"]),
        ForeignKeyConstraint(["tenant_id", "terminal_id"], ["terminals.tenant_id", "terminals.id"]),
        Index("ix_printers_tenant_id_store_id", "tenant_id", "store_id"),
    )

    store_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    terminal_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)  # None: any terminal of the store
    name: Mapped[str] = mapped_column(String(60))
    profile: Mapped[str] = mapped_column(String(40), default="default")  # python-escpos capabilities key
    connection: Mapped[str] = mapped_column(String(16))  # network | usb | device | file | browser
    host: Mapped[str] = mapped_column(String(253), default="")
    port: Mapped[int] = mapped_column(Integer, default=9100)
    usb_vendor_id: Mapped[int | None] = mapped_column(Integer, default=None)
    usb_product_id: Mapped[int | None] = mapped_column(Integer, default=None)
    device_path: Mapped[str] = mapped_column(String(200), default="")
    paper_mm: Mapped[int] = mapped_column(Integer, default=80)
    copies: Mapped[int] = mapped_column(Integer, default=1)
    auto_print: Mapped[bool] = mapped_column(Boolean, default=True)
    open_drawer: Mapped[bool] = mapped_column(Boolean, default=False)
    drawer_pin: Mapped[int] = mapped_column(Integer, default=2)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class ReceiptTemplateRow(TenantMixin, Base):
    __tablename__ = "receipt_templates"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "store_id"], ["stores.tenant_id", "stores.id"]),
        UniqueConstraint("tenant_id", "store_id"),
    )

    store_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # ReceiptTemplate.to_json()
    logo_png: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_by: Mapped[str] = mapped_column(String(60), default="")


class PrintJob(TenantMixin, Base):
    __tablename__ = "print_jobs"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "printer_id"], ["printers.tenant_id", "printers.id"]),
        Index("ix_print_jobs_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_print_jobs_tenant_id_terminal_id_status", "tenant_id", "terminal_id", "status"),
        # The dispatcher looks for due jobs across tenants (the one index not led by tenant_id).
        Index("ix_print_jobs_status_next_attempt_at", "status", "next_attempt_at"),
    )

    store_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    terminal_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    printer_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    document_kind: Mapped[str] = mapped_column(String(16))  # sale|refund|void|reprint|report|test|labels
    document_ref: Mapped[str] = mapped_column(String(80), default="")  # receipt no., sale id…
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=6)
    error_code: Mapped[str] = mapped_column(String(40), default="")
    last_error: Mapped[str] = mapped_column(String(500), default="")  # English source text
    error_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    payload: Mapped[bytes] = mapped_column(LargeBinary, default=b"")  # ESC/POS bytes or HTML (browser)
    payload_size: Mapped[int] = mapped_column(BigInteger, default=0)
    content_type: Mapped[str] = mapped_column(String(40), default="application/octet-stream")
    source: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what to render again on reprint
    open_drawer: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
