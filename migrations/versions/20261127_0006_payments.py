"""payments: payment methods per merchant/store, provider credentials, payments (every tender) and refunds

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-27 09:10:00

References only foundation tables (stores, terminals). The lead re-chains down_revision when merging.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('payment_provider_configs',
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('gateway_url', sa.String(length=300), nullable=False),
    sa.Column('app_id', sa.String(length=64), nullable=False),
    sa.Column('mch_id', sa.String(length=64), nullable=False),
    sa.Column('sign_type', sa.String(length=16), nullable=False),
    sa.Column('public_key', sa.Text(), nullable=False),
    sa.Column('secret_enc', sa.Text(), nullable=False),
    sa.Column('secret_hint', sa.String(length=16), nullable=False),
    sa.Column('cert_path', sa.String(length=300), nullable=False),
    sa.Column('key_path', sa.String(length=300), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_payment_provider_configs')),
    sa.UniqueConstraint('tenant_id', 'provider', name=op.f('uq_payment_provider_configs_tenant_id_provider'))
    )
    op.create_table('payment_methods',
    sa.Column('store_id', sa.Uuid(), nullable=True),
    sa.Column('scope', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('fee_rate_bp', sa.Integer(), nullable=False),
    sa.Column('settlement_cycle_days', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_payment_methods_tenant_id_store_id_stores')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_payment_methods')),
    sa.UniqueConstraint('tenant_id', 'scope', 'code', name=op.f('uq_payment_methods_tenant_id_scope_code'))
    )
    op.create_table('payments',
    sa.Column('store_id', sa.Uuid(), nullable=False),
    sa.Column('terminal_id', sa.Uuid(), nullable=True),
    sa.Column('employee_id', sa.Uuid(), nullable=True),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('out_trade_no', sa.String(length=32), nullable=False),
    sa.Column('provider_trade_no', sa.String(length=64), nullable=False),
    sa.Column('auth_code_last4', sa.String(length=4), nullable=False),
    sa.Column('card_brand', sa.String(length=20), nullable=False),
    sa.Column('card_last4', sa.String(length=4), nullable=False),
    sa.Column('approval_code', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('sale_ref', sa.String(length=100), nullable=False),
    sa.Column('sale_id', sa.Uuid(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fee_rate_bp', sa.Integer(), nullable=False),
    sa.Column('settlement_cycle_days', sa.Integer(), nullable=False),
    sa.Column('refunded_fen', sa.BigInteger(), nullable=False),
    sa.Column('error_code', sa.String(length=64), nullable=False),
    sa.Column('message', sa.String(length=200), nullable=False),
    sa.Column('reconcile_claim_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_payments_tenant_id_store_id_stores')),
    sa.ForeignKeyConstraint(['tenant_id', 'terminal_id'], ['terminals.tenant_id', 'terminals.id'], name=op.f('fk_payments_tenant_id_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_payments')),
    sa.UniqueConstraint('out_trade_no', name=op.f('uq_payments_out_trade_no')),
    sa.UniqueConstraint('tenant_id', 'idempotency_key', name=op.f('uq_payments_tenant_id_idempotency_key'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_status_created_at', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_payments_tenant_id_sale_id', ['tenant_id', 'sale_id'], unique=False)
        batch_op.create_index('ix_payments_tenant_id_store_id_paid_at', ['tenant_id', 'store_id', 'paid_at'], unique=False)

    op.create_table('payment_refunds',
    sa.Column('payment_id', sa.Uuid(), nullable=False),
    sa.Column('store_id', sa.Uuid(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('out_refund_no', sa.String(length=32), nullable=False),
    sa.Column('provider_refund_no', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('sale_ref', sa.String(length=100), nullable=False),
    sa.Column('error_code', sa.String(length=64), nullable=False),
    sa.Column('message', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'payment_id'], ['payments.tenant_id', 'payments.id'], name=op.f('fk_payment_refunds_tenant_id_payment_id_payments')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_payment_refunds')),
    sa.UniqueConstraint('out_refund_no', name=op.f('uq_payment_refunds_out_refund_no'))
    )
    with op.batch_alter_table('payment_refunds', schema=None) as batch_op:
        batch_op.create_index('ix_payment_refunds_tenant_id_payment_id', ['tenant_id', 'payment_id'], unique=False)
        batch_op.create_index('ix_payment_refunds_tenant_id_store_id_created_at', ['tenant_id', 'store_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('payment_refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_refunds_tenant_id_store_id_created_at')
        batch_op.drop_index('ix_payment_refunds_tenant_id_payment_id')

    op.drop_table('payment_refunds')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_tenant_id_store_id_paid_at')
        batch_op.drop_index('ix_payments_tenant_id_sale_id')
        batch_op.drop_index('ix_payments_status_created_at')

    op.drop_table('payments')
    op.drop_table('payment_methods')
    op.drop_table('payment_provider_configs')
