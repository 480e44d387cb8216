"""Sales documents, held carts and shifts.

A completed sale (and a refund or a void, which are sales of another kind pointing at the
original) is immutable: the tables carry append-only triggers. Each document takes the store's
next receipt number from a gap-free chain and joins the store's hash chain.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKeyConstraint, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from cloudpos import clock
from cloudpos.db import Base, TenantMixin


class Shift(TenantMixin, Base):
    __tablename__ = "shifts"
    __table_args__ = (
        Index("ix_shifts_tenant_id_terminal_id_status", "tenant_id", "terminal_id", "status"),
        ForeignKeyConstraint(["tenant_id", "store_id"], ["stores.tenant_id", "stores.id"]),
        ForeignKeyConstraint(["tenant_id", "terminal_id"], ["terminals.tenant_id", "terminals.id"]),
    )

    store_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    terminal_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    opened_by: Mapped[uuid.UUID] = mapped_column(Uuid())
    opened_by_name: Mapped[str] = mapped_column(String(60), default="")
    opened_at: Mapped[datetime] = mapped_column(default=clock.now)
    opening_float: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | closed
    closed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    expected_cash: Mapped[int | None] = mapped_column(BigInteger, default=None)
    counted_cash: Mapped[int | None] = mapped_column(BigInteger, default=None)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # other methods: counted amounts
    notes: Mapped[str] = mapped_column(String(500), default="")
    z_report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CashMovement(TenantMixin, Base):
    """Cash put into or taken out of the drawer during a shift (not a sale)."""

    __tablename__ = "cash_movements"
    __table_args__ = (
        Index("ix_cash_movements_tenant_id_shift_id", "tenant_id", "shift_id"),
        ForeignKeyConstraint(["tenant_id", "shift_id"], ["shifts.tenant_id", "shifts.id"]),
    )

    shift_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    direction: Mapped[str] = mapped_column(String(4))  # in | out
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
    employee_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class HeldCart(TenantMixin, Base):
    """挂单: a parked cart, visible to every terminal of the store until recalled."""

    __tablename__ = "held_carts"
    __table_args__ = (
        Index("ix_held_carts_tenant_id_store_id_status", "tenant_id", "store_id", "status"),
        ForeignKeyConstraint(["tenant_id", "store_id"], ["stores.tenant_id", "stores.id"]),
    )

    store_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    terminal_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    employee_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    employee_name: Mapped[str] = mapped_column(String(60), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    cart: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(10), default="held")  # held | recalled | dropped
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)


class Sale(TenantMixin, Base):
    __tablename__ = "sales"
    __table_args__ = (
        UniqueConstraint("tenant_id", "store_id", "receipt_seq"),
        UniqueConstraint("tenant_id", "receipt_no"),
        Index("ix_sales_tenant_id_store_id_business_day", "tenant_id", "store_id", "business_day"),
        Index("ix_sales_tenant_id_member_id", "tenant_id", "member_id"),
        Index("ix_sales_tenant_id_original_id", "tenant_id", "original_id"),
        Index("ix_sales_tenant_id_shift_id", "tenant_id", "shift_id"),
        ForeignKeyConstraint(["tenant_id", "store_id"], ["stores.tenant_id", "stores.id"]),
    )

    kind: Mapped[str] = mapped_column(String(8), default="sale")  # sale | refund | void
    original_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)  # refund/void → sale
    replaces_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)  # correction → voided sale
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    terminal_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    shift_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    cashier_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    cashier_name: Mapped[str] = mapped_column(String(60), default="")
    salesperson_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    member_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    receipt_seq: Mapped[int] = mapped_column(BigInteger)
    receipt_no: Mapped[str] = mapped_column(String(40))
    business_day: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    subtotal: Mapped[int] = mapped_column(BigInteger)
    discount_total: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    cash_rounding: Mapped[int] = mapped_column(BigInteger, default=0)
    paid: Mapped[int] = mapped_column(BigInteger)
    change: Mapped[int] = mapped_column(BigInteger, default=0)
    points_earned: Mapped[int] = mapped_column(BigInteger, default=0)
    points_redeemed: Mapped[int] = mapped_column(BigInteger, default=0)
    pricing: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the engine's explanation
    note: Mapped[str] = mapped_column(String(200), default="")
    client_ref: Mapped[str] = mapped_column(String(100), default="")  # terminal's own id (offline selling)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class SaleLine(Base):
    __tablename__ = "sale_lines"
    __table_args__ = (
        Index("ix_sale_lines_tenant_id_product_id", "tenant_id", "product_id"),
        ForeignKeyConstraint(["tenant_id", "sale_id"], ["sales.tenant_id", "sales.id"]),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    sale_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    qty: Mapped[int] = mapped_column(BigInteger)  # milli-units; negative on refunds
    unit_price: Mapped[int] = mapped_column(BigInteger)
    list_amount: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    unit_cost: Mapped[int] = mapped_column(BigInteger, default=0)
    is_gift: Mapped[int] = mapped_column(Integer, default=0)
    original_line_no: Mapped[int | None] = mapped_column(Integer, default=None)  # refunds: which line
    discounts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class SalePayment(Base):
    __tablename__ = "sale_payments"
    __table_args__ = (ForeignKeyConstraint(["tenant_id", "sale_id"], ["sales.tenant_id", "sales.id"]),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    sale_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    method: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(BigInteger)  # negative on refunds
    tendered: Mapped[int | None] = mapped_column(BigInteger, default=None)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)  # payments module record
    reference: Mapped[str] = mapped_column(String(100), default="")
    card_brand: Mapped[str] = mapped_column(String(20), default="")
    card_last4: Mapped[str] = mapped_column(String(4), default="")
    approval_code: Mapped[str] = mapped_column(String(20), default="")


class DisplayState(Base):
    """What the customer display (客显) of a terminal shows: written by the cashier screen, read by the
    display's event stream. In the database so any app process can serve either side."""

    __tablename__ = "display_states"

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    terminal_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
