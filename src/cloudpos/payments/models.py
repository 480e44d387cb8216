"""Payment methods, provider credentials, payments (every tender: cash, card, wallets…) and refunds."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from cloudpos import clock
from cloudpos.db import Base, TenantMixin

TENANT_SCOPE = "*"  # payment_methods.scope for the merchant-wide row; a store's row holds its id


class PaymentMethod(TenantMixin, Base):
    """A method's settings for the whole merchant (scope "*") or overridden for one store (scope = store id)."""

    __tablename__ = "payment_methods"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "store_id"], ["stores.tenant_id", "stores.id"]),
        UniqueConstraint("tenant_id", "scope", "code"),
    )

    store_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    scope: Mapped[str] = mapped_column(String(36))
    code: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(default=True)
    fee_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    settlement_cycle_days: Mapped[int] = mapped_column(Integer, default=0)
    provider: Mapped[str] = mapped_column(String(16), default="")  # which provider config a wallet uses
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class ProviderConfig(TenantMixin, Base):
    """A merchant's credentials for one provider. The secret (WeChat API key / Alipay app private key)
    is stored encrypted (see `payments.secrets`) and never returned in full."""

    __tablename__ = "payment_provider_configs"
    __table_args__ = (UniqueConstraint("tenant_id", "provider"),)

    provider: Mapped[str] = mapped_column(String(16))
    gateway_url: Mapped[str] = mapped_column(String(300), default="")
    app_id: Mapped[str] = mapped_column(String(64), default="")
    mch_id: Mapped[str] = mapped_column(String(64), default="")
    sign_type: Mapped[str] = mapped_column(String(16), default="")
    public_key: Mapped[str] = mapped_column(Text, default="")  # Alipay's public key (PEM), not a secret
    secret_enc: Mapped[str] = mapped_column(Text, default="")
    secret_hint: Mapped[str] = mapped_column(String(16), default="")  # e.g. "…a1b2" to recognise it
    cert_path: Mapped[str] = mapped_column(String(300), default="")  # WeChat client certificate (secapi)
    key_path: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class Payment(TenantMixin, Base):
    """One tender. For wallets `out_trade_no` (= id.hex) is what the gateway knows the payment by.
    The customer's payment code is never stored: only its last four digits."""

    __tablename__ = "payments"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "store_id"], ["stores.tenant_id", "stores.id"]),
        ForeignKeyConstraint(["tenant_id", "terminal_id"], ["terminals.tenant_id", "terminals.id"]),
        UniqueConstraint("out_trade_no"),  # notifications arrive without a tenant: found by this
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_payments_tenant_id_store_id_paid_at", "tenant_id", "store_id", "paid_at"),
        Index("ix_payments_tenant_id_sale_id", "tenant_id", "sale_id"),
        # The reconciliation job looks across tenants for the few open payments.
        Index("ix_payments_status_created_at", "status", "created_at"),
    )

    store_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    terminal_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    employee_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    method: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(16), default="")
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    status: Mapped[str] = mapped_column(String(12))
    out_trade_no: Mapped[str] = mapped_column(String(32))
    provider_trade_no: Mapped[str] = mapped_column(String(64), default="")
    auth_code_last4: Mapped[str] = mapped_column(String(4), default="")
    card_brand: Mapped[str] = mapped_column(String(20), default="")
    card_last4: Mapped[str] = mapped_column(String(4), default="")
    approval_code: Mapped[str] = mapped_column(String(20), default="")
    reference: Mapped[str] = mapped_column(String(64), default="")
    sale_ref: Mapped[str] = mapped_column(String(100), default="")
    sale_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    deadline: Mapped[datetime | None] = mapped_column(default=None)
    fee_rate_bp: Mapped[int] = mapped_column(Integer, default=0)  # snapshot at payment time
    settlement_cycle_days: Mapped[int] = mapped_column(Integer, default=0)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    error_code: Mapped[str] = mapped_column(String(64), default="")
    message: Mapped[str] = mapped_column(String(200), default="")
    reconcile_claim_at: Mapped[datetime | None] = mapped_column(default=None)
    paid_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class PaymentRefund(TenantMixin, Base):
    """A refund of (part of) a succeeded payment; `out_refund_no` (= id.hex) is the gateway's key."""

    __tablename__ = "payment_refunds"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "payment_id"], ["payments.tenant_id", "payments.id"]),
        UniqueConstraint("out_refund_no"),
        Index("ix_payment_refunds_tenant_id_payment_id", "tenant_id", "payment_id"),
        Index("ix_payment_refunds_tenant_id_store_id_created_at", "tenant_id", "store_id", "created_at"),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))  # pending | succeeded | failed
    out_refund_no: Mapped[str] = mapped_column(String(32))
    provider_refund_no: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(200), default="")
    sale_ref: Mapped[str] = mapped_column(String(100), default="")
    error_code: Mapped[str] = mapped_column(String(64), default="")
    message: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
