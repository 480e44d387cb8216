"""inventory: stock ledger (append-only), on-hand balances, receipts, adjustments, transfers, alerts, stocktakes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 08:53:19.043050
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stock_adjustments',
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('store_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_by_name', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_stock_adjustments_tenant_id_store_id_stores')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_stock_adjustments')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_stock_adjustments_tenant_id_number'))
    )
    with op.batch_alter_table('stock_adjustments', schema=None) as batch_op:
        batch_op.create_index('ix_stock_adjustments_tenant_id_created_at', ['tenant_id', 'created_at'], unique=False)

    op.create_table('stock_alert_events',
    sa.Column('store_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('on_hand', sa.BigInteger(), nullable=False),
    sa.Column('threshold', sa.BigInteger(), nullable=False),
    sa.Column('movement_kind', sa.String(length=16), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['products.tenant_id', 'products.id'], name=op.f('fk_stock_alert_events_tenant_id_product_id_products')),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_stock_alert_events_tenant_id_store_id_stores')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_stock_alert_events'))
    )
    with op.batch_alter_table('stock_alert_events', schema=None) as batch_op:
        batch_op.create_index('ix_stock_alert_events_tenant_id_occurred_at', ['tenant_id', 'occurred_at'], unique=False)

    op.create_table('stock_levels',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('store_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('on_hand', sa.BigInteger(), nullable=False),
    sa.Column('low_stock_threshold', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['products.tenant_id', 'products.id'], name=op.f('fk_stock_levels_tenant_id_product_id_products')),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_stock_levels_tenant_id_store_id_stores')),
    sa.PrimaryKeyConstraint('tenant_id', 'store_id', 'product_id', name=op.f('pk_stock_levels'))
    )
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.create_index('ix_stock_levels_tenant_id_product_id', ['tenant_id', 'product_id'], unique=False)

    op.create_table('stock_movements',
    sa.Column('store_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('unit_cost', sa.BigInteger(), nullable=True),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('ref_type', sa.String(length=20), nullable=False),
    sa.Column('ref_id', sa.Uuid(), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_name', sa.String(length=60), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['products.tenant_id', 'products.id'], name=op.f('fk_stock_movements_tenant_id_product_id_products')),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_stock_movements_tenant_id_store_id_stores')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_stock_movements'))
    )
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.create_index('ix_stock_movements_tenant_id_occurred_at', ['tenant_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_stock_movements_tenant_id_ref_id', ['tenant_id', 'ref_id'], unique=False)
        batch_op.create_index('ix_stock_movements_tenant_id_store_id_product_id', ['tenant_id', 'store_id', 'product_id'], unique=False)

    op.create_table('stock_receipts',
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('store_id', sa.Uuid(), nullable=False),
    sa.Column('supplier', sa.String(length=100), nullable=False),
    sa.Column('reference', sa.String(length=60), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('total_quantity', sa.BigInteger(), nullable=False),
    sa.Column('total_cost', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_by_name', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_stock_receipts_tenant_id_store_id_stores')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_stock_receipts')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_stock_receipts_tenant_id_number'))
    )
    with op.batch_alter_table('stock_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_stock_receipts_tenant_id_created_at', ['tenant_id', 'created_at'], unique=False)

    op.create_table('stock_transfers',
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('from_store_id', sa.Uuid(), nullable=False),
    sa.Column('to_store_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('created_by_name', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shipped_by_name', sa.String(length=60), nullable=False),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_by_name', sa.String(length=60), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'from_store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_stock_transfers_tenant_id_from_store_id_stores')),
    sa.ForeignKeyConstraint(['tenant_id', 'to_store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_stock_transfers_tenant_id_to_store_id_stores')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_stock_transfers')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_stock_transfers_tenant_id_number'))
    )
    with op.batch_alter_table('stock_transfers', schema=None) as batch_op:
        batch_op.create_index('ix_stock_transfers_tenant_id_status', ['tenant_id', 'status'], unique=False)

    op.create_table('stocktakes',
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('store_id', sa.Uuid(), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('category_id', sa.Uuid(), nullable=True),
    sa.Column('blind', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('created_by_name', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('posted_by_name', sa.String(length=60), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_stocktakes_tenant_id_store_id_stores')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_stocktakes')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_stocktakes_tenant_id_number'))
    )
    with op.batch_alter_table('stocktakes', schema=None) as batch_op:
        batch_op.create_index('ix_stocktakes_tenant_id_status', ['tenant_id', 'status'], unique=False)

    op.create_table('stock_receipt_lines',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('receipt_id', sa.Uuid(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('unit_cost', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('cost_before', sa.BigInteger(), nullable=False),
    sa.Column('cost_after', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['products.tenant_id', 'products.id'], name=op.f('fk_stock_receipt_lines_tenant_id_product_id_products')),
    sa.ForeignKeyConstraint(['tenant_id', 'receipt_id'], ['stock_receipts.tenant_id', 'stock_receipts.id'], name=op.f('fk_stock_receipt_lines_tenant_id_receipt_id_stock_receipts')),
    sa.PrimaryKeyConstraint('tenant_id', 'receipt_id', 'line_no', name=op.f('pk_stock_receipt_lines'))
    )
    op.create_table('stock_transfer_lines',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('transfer_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('received_quantity', sa.BigInteger(), nullable=True),
    sa.Column('unit_cost', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['products.tenant_id', 'products.id'], name=op.f('fk_stock_transfer_lines_tenant_id_product_id_products')),
    sa.ForeignKeyConstraint(['tenant_id', 'transfer_id'], ['stock_transfers.tenant_id', 'stock_transfers.id'], name=op.f('fk_stock_transfer_lines_tenant_id_transfer_id_stock_transfers')),
    sa.PrimaryKeyConstraint('tenant_id', 'transfer_id', 'product_id', name=op.f('pk_stock_transfer_lines'))
    )
    op.create_table('stocktake_lines',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('stocktake_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('expected_snapshot', sa.BigInteger(), nullable=False),
    sa.Column('expected_at_count', sa.BigInteger(), nullable=True),
    sa.Column('counted', sa.BigInteger(), nullable=True),
    sa.Column('first_counted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_counted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unit_cost', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('posted_delta', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['products.tenant_id', 'products.id'], name=op.f('fk_stocktake_lines_tenant_id_product_id_products')),
    sa.ForeignKeyConstraint(['tenant_id', 'stocktake_id'], ['stocktakes.tenant_id', 'stocktakes.id'], name=op.f('fk_stocktake_lines_tenant_id_stocktake_id_stocktakes')),
    sa.PrimaryKeyConstraint('tenant_id', 'stocktake_id', 'product_id', name=op.f('pk_stocktake_lines'))
    )

    _append_only("stock_movements")
    _append_only("stock_alert_events")


def _append_only(table: str) -> None:
    """History is append-only: the database itself refuses UPDATE and DELETE on the table."""
    if op.get_bind().dialect.name == "postgresql":
        # cloudpos_append_only() is created by 0001.
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION cloudpos_append_only()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, 'cloudpos: {table} is append-only'); END")


def downgrade() -> None:
    op.drop_table('stocktake_lines')
    op.drop_table('stock_transfer_lines')
    op.drop_table('stock_receipt_lines')
    with op.batch_alter_table('stocktakes', schema=None) as batch_op:
        batch_op.drop_index('ix_stocktakes_tenant_id_status')

    op.drop_table('stocktakes')
    with op.batch_alter_table('stock_transfers', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_transfers_tenant_id_status')

    op.drop_table('stock_transfers')
    with op.batch_alter_table('stock_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_receipts_tenant_id_created_at')

    op.drop_table('stock_receipts')
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_movements_tenant_id_store_id_product_id')
        batch_op.drop_index('ix_stock_movements_tenant_id_ref_id')
        batch_op.drop_index('ix_stock_movements_tenant_id_occurred_at')

    op.drop_table('stock_movements')
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_levels_tenant_id_product_id')

    op.drop_table('stock_levels')
    with op.batch_alter_table('stock_alert_events', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_alert_events_tenant_id_occurred_at')

    op.drop_table('stock_alert_events')
    with op.batch_alter_table('stock_adjustments', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_adjustments_tenant_id_created_at')

    op.drop_table('stock_adjustments')
