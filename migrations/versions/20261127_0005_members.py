"""members: tiers, members, points and stored-value ledgers, coupons, segments, campaigns, rollups

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-27 09:00:00

References only foundation tables (tenants, stores). The two ledgers are append-only.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

APPEND_ONLY = ("member_points_ledger", "member_stored_value_ledger")


def upgrade() -> None:
    op.create_table('member_daily',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('new_members', sa.Integer(), nullable=False),
    sa.Column('active_members', sa.Integer(), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('spend_fen', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'day', name=op.f('pk_member_daily'))
    )

    op.create_table('member_sms_outbox',
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('body', sa.String(length=500), nullable=False),
    sa.Column('member_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_member_sms_outbox'))
    )

    with op.batch_alter_table('member_sms_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_member_sms_outbox_tenant_id_created_at', ['tenant_id', 'created_at'], unique=False)

    op.create_table('member_points_catalog',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=True),
    sa.Column('stock', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_member_points_catalog_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_member_points_catalog'))
    )

    op.create_table('member_programs',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_member_programs_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_member_programs'))
    )

    op.create_table('member_segments',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_member_segments_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_member_segments'))
    )

    op.create_table('member_tiers',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=16), nullable=False),
    sa.Column('threshold_spend_fen', sa.BigInteger(), nullable=False),
    sa.Column('threshold_visits', sa.Integer(), nullable=False),
    sa.Column('period_days', sa.Integer(), nullable=False),
    sa.Column('discount_bp', sa.Integer(), nullable=False),
    sa.Column('member_prices', sa.Boolean(), nullable=False),
    sa.Column('points_multiplier_bp', sa.Integer(), nullable=False),
    sa.Column('birthday_coupon_template_id', sa.Uuid(), nullable=True),
    sa.Column('birthday_double_points', sa.Boolean(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_member_tiers_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_member_tiers')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_member_tiers_tenant_id_code'))
    )

    op.create_table('member_topup_rules',
    sa.Column('threshold_fen', sa.BigInteger(), nullable=False),
    sa.Column('bonus_fen', sa.BigInteger(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_member_topup_rules_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_member_topup_rules'))
    )

    op.create_table('member_campaigns',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('segment_id', sa.Uuid(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'segment_id'], ['member_segments.tenant_id', 'member_segments.id'], name=op.f('fk_member_campaigns_tenant_id_segment_id_member_segments')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_member_campaigns'))
    )

    with op.batch_alter_table('member_campaigns', schema=None) as batch_op:
        batch_op.create_index('ix_member_campaigns_tenant_id_status_scheduled_at', ['tenant_id', 'status', 'scheduled_at'], unique=False)

    op.create_table('members',
    sa.Column('card_no', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('birth_month', sa.SmallInteger(), nullable=True),
    sa.Column('birth_day', sa.SmallInteger(), nullable=True),
    sa.Column('gender', sa.String(length=8), nullable=False),
    sa.Column('tier_id', sa.Uuid(), nullable=True),
    sa.Column('tier_locked', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('store_id', sa.Uuid(), nullable=True),
    sa.Column('points_balance', sa.BigInteger(), nullable=False),
    sa.Column('stored_value_balance', sa.BigInteger(), nullable=False),
    sa.Column('sv_principal_fen', sa.BigInteger(), nullable=False),
    sa.Column('sv_bonus_fen', sa.BigInteger(), nullable=False),
    sa.Column('visit_count', sa.Integer(), nullable=False),
    sa.Column('total_spend_fen', sa.BigInteger(), nullable=False),
    sa.Column('first_visit_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_visit_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pin_hash', sa.String(length=200), nullable=True),
    sa.Column('pin_failed', sa.Integer(), nullable=False),
    sa.Column('pin_locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('privacy_consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('marketing_consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('registered_ip', sa.String(length=64), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_members_tenant_id_store_id_stores')),
    sa.ForeignKeyConstraint(['tenant_id', 'tier_id'], ['member_tiers.tenant_id', 'member_tiers.id'], name=op.f('fk_members_tenant_id_tier_id_member_tiers')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_members')),
    sa.UniqueConstraint('tenant_id', 'card_no', name=op.f('uq_members_tenant_id_card_no')),
    sa.UniqueConstraint('tenant_id', 'phone', name=op.f('uq_members_tenant_id_phone'))
    )

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index('ix_members_tenant_id_birth_month_birth_day', ['tenant_id', 'birth_month', 'birth_day'], unique=False)
        batch_op.create_index('ix_members_tenant_id_created_at', ['tenant_id', 'created_at'], unique=False)
        batch_op.create_index('ix_members_tenant_id_last_visit_at', ['tenant_id', 'last_visit_at'], unique=False)
        batch_op.create_index('ix_members_tenant_id_name', ['tenant_id', 'name'], unique=False)
        batch_op.create_index('ix_members_tenant_id_tier_id', ['tenant_id', 'tier_id'], unique=False)
        batch_op.create_index('ix_members_tenant_id_total_spend_fen', ['tenant_id', 'total_spend_fen'], unique=False)

    op.create_table('member_campaign_sends',
    sa.Column('campaign_id', sa.Uuid(), nullable=True),
    sa.Column('member_id', sa.Uuid(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=120), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('error', sa.String(length=300), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'member_id'], ['members.tenant_id', 'members.id'], name=op.f('fk_member_campaign_sends_tenant_id_member_id_members')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_member_campaign_sends')),
    sa.UniqueConstraint('tenant_id', 'dedupe_key', name=op.f('uq_member_campaign_sends_tenant_id_dedupe_key'))
    )

    with op.batch_alter_table('member_campaign_sends', schema=None) as batch_op:
        batch_op.create_index('ix_member_campaign_sends_tenant_id_campaign_id_status', ['tenant_id', 'campaign_id', 'status'], unique=False)
        batch_op.create_index('ix_member_campaign_sends_tenant_id_member_id', ['tenant_id', 'member_id'], unique=False)

    op.create_table('member_coupons',
    sa.Column('member_id', sa.Uuid(), nullable=False),
    sa.Column('template_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_reason', sa.String(length=100), nullable=False),
    sa.Column('used_sale_id', sa.Uuid(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'member_id'], ['members.tenant_id', 'members.id'], name=op.f('fk_member_coupons_tenant_id_member_id_members')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_member_coupons')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_member_coupons_tenant_id_code'))
    )

    with op.batch_alter_table('member_coupons', schema=None) as batch_op:
        batch_op.create_index('ix_member_coupons_tenant_id_member_id_status', ['tenant_id', 'member_id', 'status'], unique=False)

    op.create_table('member_points_ledger',
    sa.Column('member_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('delta', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('sale_id', sa.Uuid(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('actor_name', sa.String(length=60), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'member_id'], ['members.tenant_id', 'members.id'], name=op.f('fk_member_points_ledger_tenant_id_member_id_members')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_member_points_ledger'))
    )

    with op.batch_alter_table('member_points_ledger', schema=None) as batch_op:
        batch_op.create_index('ix_member_points_ledger_tenant_id_member_id_occurred_at', ['tenant_id', 'member_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_member_points_ledger_tenant_id_sale_id', ['tenant_id', 'sale_id'], unique=False)

    op.create_table('member_sales',
    sa.Column('member_id', sa.Uuid(), nullable=False),
    sa.Column('sale_id', sa.Uuid(), nullable=False),
    sa.Column('store_id', sa.Uuid(), nullable=True),
    sa.Column('paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('eligible_fen', sa.BigInteger(), nullable=False),
    sa.Column('by_category', sa.JSON(), nullable=False),
    sa.Column('multiplier_bp', sa.Integer(), nullable=False),
    sa.Column('points_earned', sa.BigInteger(), nullable=False),
    sa.Column('points_redeemed', sa.BigInteger(), nullable=False),
    sa.Column('points_reversed', sa.BigInteger(), nullable=False),
    sa.Column('points_returned', sa.BigInteger(), nullable=False),
    sa.Column('refunded_fen', sa.BigInteger(), nullable=False),
    sa.Column('refunded_eligible_fen', sa.BigInteger(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'member_id'], ['members.tenant_id', 'members.id'], name=op.f('fk_member_sales_tenant_id_member_id_members')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_member_sales')),
    sa.UniqueConstraint('tenant_id', 'sale_id', name=op.f('uq_member_sales_tenant_id_sale_id'))
    )

    with op.batch_alter_table('member_sales', schema=None) as batch_op:
        batch_op.create_index('ix_member_sales_tenant_id_member_id_occurred_at', ['tenant_id', 'member_id', 'occurred_at'], unique=False)

    op.create_table('member_stored_value_ledger',
    sa.Column('member_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('principal_delta', sa.BigInteger(), nullable=False),
    sa.Column('bonus_delta', sa.BigInteger(), nullable=False),
    sa.Column('delta', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('payment_method', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('sale_id', sa.Uuid(), nullable=True),
    sa.Column('store_id', sa.Uuid(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('actor_name', sa.String(length=60), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'member_id'], ['members.tenant_id', 'members.id'], name=op.f('fk_member_stored_value_ledger_tenant_id_member_id_members')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_member_stored_value_ledger'))
    )

    with op.batch_alter_table('member_stored_value_ledger', schema=None) as batch_op:
        batch_op.create_index('ix_member_stored_value_ledger_tenant_id_member_id_occurred_at', ['tenant_id', 'member_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_member_stored_value_ledger_tenant_id_sale_id', ['tenant_id', 'sale_id'], unique=False)

    for table in APPEND_ONLY:
        _append_only(table)


def _append_only(table: str) -> None:
    """History is append-only: the database itself refuses UPDATE and DELETE on the table."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE OR REPLACE FUNCTION cloudpos_append_only() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'cloudpos: % is append-only (% refused)', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
            END $$ LANGUAGE plpgsql;
        """)
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION cloudpos_append_only()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, 'cloudpos: {table} is append-only'); END")


def downgrade() -> None:
    with op.batch_alter_table('member_stored_value_ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_member_stored_value_ledger_tenant_id_sale_id')
        batch_op.drop_index('ix_member_stored_value_ledger_tenant_id_member_id_occurred_at')

    op.drop_table('member_stored_value_ledger')

    with op.batch_alter_table('member_sales', schema=None) as batch_op:
        batch_op.drop_index('ix_member_sales_tenant_id_member_id_occurred_at')

    op.drop_table('member_sales')

    with op.batch_alter_table('member_points_ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_member_points_ledger_tenant_id_sale_id')
        batch_op.drop_index('ix_member_points_ledger_tenant_id_member_id_occurred_at')

    op.drop_table('member_points_ledger')

    with op.batch_alter_table('member_coupons', schema=None) as batch_op:
        batch_op.drop_index('ix_member_coupons_tenant_id_member_id_status')

    op.drop_table('member_coupons')

    with op.batch_alter_table('member_campaign_sends', schema=None) as batch_op:
        batch_op.drop_index('ix_member_campaign_sends_tenant_id_member_id')
        batch_op.drop_index('ix_member_campaign_sends_tenant_id_campaign_id_status')

    op.drop_table('member_campaign_sends')

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('ix_members_tenant_id_total_spend_fen')
        batch_op.drop_index('ix_members_tenant_id_tier_id')
        batch_op.drop_index('ix_members_tenant_id_name')
        batch_op.drop_index('ix_members_tenant_id_last_visit_at')
        batch_op.drop_index('ix_members_tenant_id_created_at')
        batch_op.drop_index('ix_members_tenant_id_birth_month_birth_day')

    op.drop_table('members')

    with op.batch_alter_table('member_campaigns', schema=None) as batch_op:
        batch_op.drop_index('ix_member_campaigns_tenant_id_status_scheduled_at')

    op.drop_table('member_campaigns')

    op.drop_table('member_topup_rules')

    op.drop_table('member_tiers')

    op.drop_table('member_segments')

    op.drop_table('member_programs')

    op.drop_table('member_points_catalog')

    with op.batch_alter_table('member_sms_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_member_sms_outbox_tenant_id_created_at')

    op.drop_table('member_sms_outbox')

    op.drop_table('member_daily')
