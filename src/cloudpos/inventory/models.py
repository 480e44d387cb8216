"""Inventory tables: the append-only movement ledger, the cached on-hand balance per
(tenant, store, product), goods receipts, adjustments, transfers, low-stock alert events and
stocktakes. Quantities are BIGINT thousandths (milli-units); money is BIGINT fen.

Products and stores are referenced by composite foreign keys (tenant_id, id); the catalog's
tables are never read from here (see `inventory/products.py`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKeyConstraint, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from cloudpos import clock
from cloudpos.db import Base, TenantMixin

_STORE_FK = (["tenant_id", "store_id"], ["stores.tenant_id", "stores.id"])
_PRODUCT_FK = (["tenant_id", "product_id"], ["products.tenant_id", "products.id"])


class StockLevel(Base):
    """The cached on-hand of one product in one store: always the sum of its movements."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        ForeignKeyConstraint(*_STORE_FK),
        ForeignKeyConstraint(*_PRODUCT_FK),
        Index("ix_stock_levels_tenant_id_product_id", "tenant_id", "product_id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    on_hand: Mapped[int] = mapped_column(BigInteger, default=0)
    # This store's own low-stock threshold (milli); None = the product's threshold.
    low_stock_threshold: Mapped[int | None] = mapped_column(BigInteger, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class StockMovement(TenantMixin, Base):
    """One change of stock. Append-only (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        ForeignKeyConstraint(*_STORE_FK),
        ForeignKeyConstraint(*_PRODUCT_FK),
        Index("ix_stock_movements_tenant_id_store_id_product_id", "tenant_id", "store_id", "product_id"),
        Index("ix_stock_movements_tenant_id_occurred_at", "tenant_id", "occurred_at"),
        Index("ix_stock_movements_tenant_id_ref_id", "tenant_id", "ref_id"),
    )

    store_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    # sale | refund | receipt | adjustment | stocktake | transfer_out | transfer_in
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(BigInteger)  # signed delta, milli
    unit_cost: Mapped[int | None] = mapped_column(BigInteger, default=None)  # fen
    balance_after: Mapped[int] = mapped_column(BigInteger)
    ref_type: Mapped[str] = mapped_column(String(20), default="")
    ref_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    reason: Mapped[str] = mapped_column(String(16), default="")
    note: Mapped[str] = mapped_column(String(300), default="")
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    actor_name: Mapped[str] = mapped_column(String(60), default="")
    occurred_at: Mapped[datetime] = mapped_column(default=clock.now)


class GoodsReceipt(TenantMixin, Base):
    """进货入库: posted when created (its lines are receipt movements)."""

    __tablename__ = "stock_receipts"
    __table_args__ = (
        ForeignKeyConstraint(*_STORE_FK),
        UniqueConstraint("tenant_id", "number"),
        Index("ix_stock_receipts_tenant_id_created_at", "tenant_id", "created_at"),
    )

    number: Mapped[str] = mapped_column(String(32))
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    supplier: Mapped[str] = mapped_column(String(100), default="")
    reference: Mapped[str] = mapped_column(String(60), default="")
    note: Mapped[str] = mapped_column(String(300), default="")
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    total_quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    total_cost: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    created_by_name: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class GoodsReceiptLine(Base):
    __tablename__ = "stock_receipt_lines"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "receipt_id"], ["stock_receipts.tenant_id", "stock_receipts.id"]),
        ForeignKeyConstraint(*_PRODUCT_FK),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    receipt_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    quantity: Mapped[int] = mapped_column(BigInteger)
    unit_cost: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    cost_before: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_after: Mapped[int] = mapped_column(BigInteger, default=0)


class StockAdjustment(TenantMixin, Base):
    """A manual adjustment with a reason code; its lines are adjustment movements."""

    __tablename__ = "stock_adjustments"
    __table_args__ = (
        ForeignKeyConstraint(*_STORE_FK),
        UniqueConstraint("tenant_id", "number"),
        Index("ix_stock_adjustments_tenant_id_created_at", "tenant_id", "created_at"),
    )

    number: Mapped[str] = mapped_column(String(32))
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(300), default="")
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    created_by_name: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class StockTransfer(TenantMixin, Base):
    """调拨: draft → in_transit (shipped: transfer_out at the source) → received (transfer_in)."""

    __tablename__ = "stock_transfers"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "from_store_id"], ["stores.tenant_id", "stores.id"]),
        ForeignKeyConstraint(["tenant_id", "to_store_id"], ["stores.tenant_id", "stores.id"]),
        UniqueConstraint("tenant_id", "number"),
        Index("ix_stock_transfers_tenant_id_status", "tenant_id", "status"),
    )

    number: Mapped[str] = mapped_column(String(32))
    from_store_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    to_store_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft|in_transit|received|cancelled
    note: Mapped[str] = mapped_column(String(300), default="")
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_name: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    shipped_by_name: Mapped[str] = mapped_column(String(60), default="")
    shipped_at: Mapped[datetime | None] = mapped_column(default=None)
    received_by_name: Mapped[str] = mapped_column(String(60), default="")
    received_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)


class StockTransferLine(Base):
    __tablename__ = "stock_transfer_lines"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "transfer_id"], ["stock_transfers.tenant_id", "stock_transfers.id"]),
        ForeignKeyConstraint(*_PRODUCT_FK),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    transfer_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    received_quantity: Mapped[int | None] = mapped_column(BigInteger, default=None)
    unit_cost: Mapped[int | None] = mapped_column(BigInteger, default=None)


class StockAlertEvent(TenantMixin, Base):
    """A product fell below its low-stock threshold in a store (库存预警). Append-only; a later
    module delivers these (SMS, WeChat…)."""

    __tablename__ = "stock_alert_events"
    __table_args__ = (
        ForeignKeyConstraint(*_STORE_FK),
        ForeignKeyConstraint(*_PRODUCT_FK),
        Index("ix_stock_alert_events_tenant_id_occurred_at", "tenant_id", "occurred_at"),
    )

    store_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    on_hand: Mapped[int] = mapped_column(BigInteger)
    threshold: Mapped[int] = mapped_column(BigInteger)
    movement_kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(default=clock.now)


class Stocktake(TenantMixin, Base):
    """盘点: open (counting) → posted (read-only) or cancelled."""

    __tablename__ = "stocktakes"
    __table_args__ = (
        ForeignKeyConstraint(*_STORE_FK),
        UniqueConstraint("tenant_id", "number"),
        Index("ix_stocktakes_tenant_id_status", "tenant_id", "status"),
    )

    number: Mapped[str] = mapped_column(String(32))
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    scope: Mapped[str] = mapped_column(String(16))  # all | category | products
    category_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    blind: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="open")
    note: Mapped[str] = mapped_column(String(300), default="")
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_name: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    posted_by_name: Mapped[str] = mapped_column(String(60), default="")
    posted_at: Mapped[datetime | None] = mapped_column(default=None)


class StocktakeLine(Base):
    """One product of a stocktake. `expected_at_count` is the on-hand at the moment the product was
    first counted (不停业盘点: sales during the count move it away from the snapshot)."""

    __tablename__ = "stocktake_lines"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "stocktake_id"], ["stocktakes.tenant_id", "stocktakes.id"]),
        ForeignKeyConstraint(*_PRODUCT_FK),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    stocktake_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    expected_snapshot: Mapped[int] = mapped_column(BigInteger, default=0)
    expected_at_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    counted: Mapped[int | None] = mapped_column(BigInteger, default=None)
    first_counted_at: Mapped[datetime | None] = mapped_column(default=None)
    last_counted_at: Mapped[datetime | None] = mapped_column(default=None)
    unit_cost: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str] = mapped_column(String(16), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    posted_delta: Mapped[int | None] = mapped_column(BigInteger, default=None)
