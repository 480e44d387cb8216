"""sales: shifts, held carts, sales (append-only, hash-chained per store), idempotency keys

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotency_keys',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('scope', sa.String(length=60), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'scope', 'key', name=op.f('pk_idempotency_keys'))
    )

    op.create_table('shifts',
    sa.Column('store_id', sa.Uuid(), nullable=False),
    sa.Column('terminal_id', sa.Uuid(), nullable=False),
    sa.Column('opened_by', sa.Uuid(), nullable=False),
    sa.Column('opened_by_name', sa.String(length=60), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opening_float', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('closed_by', sa.Uuid(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expected_cash', sa.BigInteger(), nullable=True),
    sa.Column('counted_cash', sa.BigInteger(), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('notes', sa.String(length=500), nullable=False),
    sa.Column('z_report', sa.JSON(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_shifts_tenant_id_store_id_stores')),
    sa.ForeignKeyConstraint(['tenant_id', 'terminal_id'], ['terminals.tenant_id', 'terminals.id'], name=op.f('fk_shifts_tenant_id_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_shifts'))
    )
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.create_index('ix_shifts_tenant_id_terminal_id_status', ['tenant_id', 'terminal_id', 'status'], unique=False)

    op.create_table('cash_movements',
    sa.Column('shift_id', sa.Uuid(), nullable=False),
    sa.Column('direction', sa.String(length=4), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('employee_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'shift_id'], ['shifts.tenant_id', 'shifts.id'], name=op.f('fk_cash_movements_tenant_id_shift_id_shifts')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_cash_movements'))
    )
    with op.batch_alter_table('cash_movements', schema=None) as batch_op:
        batch_op.create_index('ix_cash_movements_tenant_id_shift_id', ['tenant_id', 'shift_id'], unique=False)

    # ### end Alembic commands ###

    op.create_table('held_carts',
    sa.Column('store_id', sa.Uuid(), nullable=False),
    sa.Column('terminal_id', sa.Uuid(), nullable=True),
    sa.Column('employee_id', sa.Uuid(), nullable=False),
    sa.Column('employee_name', sa.String(length=60), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('cart', sa.JSON(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_held_carts_tenant_id_store_id_stores')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_held_carts'))
    )
    with op.batch_alter_table('held_carts', schema=None) as batch_op:
        batch_op.create_index('ix_held_carts_tenant_id_store_id_status', ['tenant_id', 'store_id', 'status'], unique=False)

    op.create_table('sales',
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('original_id', sa.Uuid(), nullable=True),
    sa.Column('replaces_id', sa.Uuid(), nullable=True),
    sa.Column('store_id', sa.Uuid(), nullable=False),
    sa.Column('terminal_id', sa.Uuid(), nullable=True),
    sa.Column('shift_id', sa.Uuid(), nullable=True),
    sa.Column('cashier_id', sa.Uuid(), nullable=True),
    sa.Column('cashier_name', sa.String(length=60), nullable=False),
    sa.Column('salesperson_id', sa.Uuid(), nullable=True),
    sa.Column('member_id', sa.Uuid(), nullable=True),
    sa.Column('receipt_seq', sa.BigInteger(), nullable=False),
    sa.Column('receipt_no', sa.String(length=40), nullable=False),
    sa.Column('business_day', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('subtotal', sa.BigInteger(), nullable=False),
    sa.Column('discount_total', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('cash_rounding', sa.BigInteger(), nullable=False),
    sa.Column('paid', sa.BigInteger(), nullable=False),
    sa.Column('change', sa.BigInteger(), nullable=False),
    sa.Column('points_earned', sa.BigInteger(), nullable=False),
    sa.Column('points_redeemed', sa.BigInteger(), nullable=False),
    sa.Column('pricing', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('client_ref', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_sales_tenant_id_store_id_stores')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_sales')),
    sa.UniqueConstraint('tenant_id', 'receipt_no', name=op.f('uq_sales_tenant_id_receipt_no')),
    sa.UniqueConstraint('tenant_id', 'store_id', 'receipt_seq', name=op.f('uq_sales_tenant_id_store_id_receipt_seq'))
    )
    with op.batch_alter_table('sales', schema=None) as batch_op:
        batch_op.create_index('ix_sales_tenant_id_member_id', ['tenant_id', 'member_id'], unique=False)
        batch_op.create_index('ix_sales_tenant_id_original_id', ['tenant_id', 'original_id'], unique=False)
        batch_op.create_index('ix_sales_tenant_id_shift_id', ['tenant_id', 'shift_id'], unique=False)
        batch_op.create_index('ix_sales_tenant_id_store_id_business_day', ['tenant_id', 'store_id', 'business_day'], unique=False)

    op.create_table('sale_lines',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('sale_id', sa.Uuid(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category_id', sa.Uuid(), nullable=True),
    sa.Column('qty', sa.BigInteger(), nullable=False),
    sa.Column('unit_price', sa.BigInteger(), nullable=False),
    sa.Column('list_amount', sa.BigInteger(), nullable=False),
    sa.Column('discount', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('unit_cost', sa.BigInteger(), nullable=False),
    sa.Column('is_gift', sa.Integer(), nullable=False),
    sa.Column('original_line_no', sa.Integer(), nullable=True),
    sa.Column('discounts', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'sale_id'], ['sales.tenant_id', 'sales.id'], name=op.f('fk_sale_lines_tenant_id_sale_id_sales')),
    sa.PrimaryKeyConstraint('tenant_id', 'sale_id', 'line_no', name=op.f('pk_sale_lines'))
    )
    with op.batch_alter_table('sale_lines', schema=None) as batch_op:
        batch_op.create_index('ix_sale_lines_tenant_id_product_id', ['tenant_id', 'product_id'], unique=False)

    op.create_table('sale_payments',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('sale_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('tendered', sa.BigInteger(), nullable=True),
    sa.Column('payment_id', sa.Uuid(), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('card_brand', sa.String(length=20), nullable=False),
    sa.Column('card_last4', sa.String(length=4), nullable=False),
    sa.Column('approval_code', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'sale_id'], ['sales.tenant_id', 'sales.id'], name=op.f('fk_sale_payments_tenant_id_sale_id_sales')),
    sa.PrimaryKeyConstraint('tenant_id', 'sale_id', 'seq', name=op.f('pk_sale_payments'))
    )
    op.create_table('display_states',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('terminal_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'terminal_id', name=op.f('pk_display_states'))
    )
    for table in ("sales", "sale_lines", "sale_payments"):
        _append_only(table)


def _append_only(table: str) -> None:
    """A completed sale is never edited: the database refuses UPDATE and DELETE."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION cloudpos_append_only()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, 'cloudpos: {table} is append-only'); END")


def downgrade() -> None:
    op.drop_table('display_states')
    op.drop_table('sale_payments')
    op.drop_table('sale_lines')
    op.drop_table('sales')
    op.drop_table('held_carts')
    op.drop_table('cash_movements')
    op.drop_table('shifts')
    op.drop_table('idempotency_keys')
