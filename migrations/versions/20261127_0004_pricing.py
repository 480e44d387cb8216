"""pricing: promotions, member prices, coupon templates and coupons

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coupon_templates',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('threshold', sa.BigInteger(), nullable=False),
    sa.Column('max_discount', sa.BigInteger(), nullable=True),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('valid_days', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_coupon_templates'))
    )

    op.create_table('promotions',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('rule', sa.JSON(), nullable=False),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('weekdays', sa.JSON(), nullable=False),
    sa.Column('time_from', sa.String(length=5), nullable=True),
    sa.Column('time_to', sa.String(length=5), nullable=True),
    sa.Column('store_ids', sa.JSON(), nullable=True),
    sa.Column('member_only', sa.Boolean(), nullable=False),
    sa.Column('tier_ids', sa.JSON(), nullable=False),
    sa.Column('birthday_only', sa.Boolean(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('stacking', sa.String(length=10), nullable=False),
    sa.Column('stack_group', sa.String(length=40), nullable=True),
    sa.Column('stacks_with_member', sa.Boolean(), nullable=False),
    sa.Column('max_uses_per_order', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_promotions'))
    )
    with op.batch_alter_table('promotions', schema=None) as batch_op:
        batch_op.create_index('ix_promotions_tenant_id_status_end_date', ['tenant_id', 'status', 'end_date'], unique=False)

    op.create_table('coupons',
    sa.Column('template_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('member_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_reason', sa.String(length=100), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_sale_id', sa.Uuid(), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'template_id'], ['coupon_templates.tenant_id', 'coupon_templates.id'], name=op.f('fk_coupons_tenant_id_template_id_coupon_templates')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_coupons')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_coupons_tenant_id_code'))
    )
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.create_index('ix_coupons_tenant_id_member_id', ['tenant_id', 'member_id'], unique=False)

    op.create_table('member_prices',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['products.tenant_id', 'products.id'], name=op.f('fk_member_prices_tenant_id_product_id_products')),
    sa.PrimaryKeyConstraint('tenant_id', 'product_id', name=op.f('pk_member_prices'))
    )


def downgrade() -> None:
    op.drop_table('member_prices')
    op.drop_table('coupons')
    op.drop_table('promotions')
    op.drop_table('coupon_templates')
