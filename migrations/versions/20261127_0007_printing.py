"""printing: printers, receipt templates, print jobs

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-27 09:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('printers',
    sa.Column('store_id', sa.Uuid(), nullable=False),
    sa.Column('terminal_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('profile', sa.String(length=40), nullable=False),
    sa.Column('connection', sa.String(length=16), nullable=False),
    sa.Column('host', sa.String(length=253), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('usb_vendor_id', sa.Integer(), nullable=True),
    sa.Column('usb_product_id', sa.Integer(), nullable=True),
    sa.Column('device_path', sa.String(length=200), nullable=False),
    sa.Column('paper_mm', sa.Integer(), nullable=False),
    sa.Column('copies', sa.Integer(), nullable=False),
    sa.Column('auto_print', sa.Boolean(), nullable=False),
    sa.Column('open_drawer', sa.Boolean(), nullable=False),
    sa.Column('drawer_pin', sa.Integer(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_printers_tenant_id_store_id_stores')),
    sa.ForeignKeyConstraint(['tenant_id', 'terminal_id'], ['terminals.tenant_id', 'terminals.id'], name=op.f('fk_printers_tenant_id_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_printers'))
    )
    with op.batch_alter_table('printers', schema=None) as batch_op:
        batch_op.create_index('ix_printers_tenant_id_store_id', ['tenant_id', 'store_id'], unique=False)

    op.create_table('receipt_templates',
    sa.Column('store_id', sa.Uuid(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('logo_png', sa.LargeBinary(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=60), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_receipt_templates_tenant_id_store_id_stores')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_receipt_templates')),
    sa.UniqueConstraint('tenant_id', 'store_id', name=op.f('uq_receipt_templates_tenant_id_store_id'))
    )

    op.create_table('print_jobs',
    sa.Column('store_id', sa.Uuid(), nullable=False),
    sa.Column('terminal_id', sa.Uuid(), nullable=True),
    sa.Column('printer_id', sa.Uuid(), nullable=False),
    sa.Column('document_kind', sa.String(length=16), nullable=False),
    sa.Column('document_ref', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('error_code', sa.String(length=40), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('error_params', sa.JSON(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('payload_size', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('source', sa.JSON(), nullable=False),
    sa.Column('open_drawer', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'printer_id'], ['printers.tenant_id', 'printers.id'], name=op.f('fk_print_jobs_tenant_id_printer_id_printers')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_print_jobs'))
    )
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_print_jobs_tenant_id_created_at', ['tenant_id', 'created_at'], unique=False)
        batch_op.create_index('ix_print_jobs_tenant_id_terminal_id_status', ['tenant_id', 'terminal_id', 'status'], unique=False)
        batch_op.create_index('ix_print_jobs_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_print_jobs_status_next_attempt_at')
        batch_op.drop_index('ix_print_jobs_tenant_id_terminal_id_status')
        batch_op.drop_index('ix_print_jobs_tenant_id_created_at')
    op.drop_table('print_jobs')
    op.drop_table('receipt_templates')
    with op.batch_alter_table('printers', schema=None) as batch_op:
        batch_op.drop_index('ix_printers_tenant_id_store_id')
    op.drop_table('printers')
