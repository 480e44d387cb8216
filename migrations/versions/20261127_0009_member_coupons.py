"""members: one coupon store — member coupons move into pricing's `coupons`; `member_coupons` is dropped

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 12:30:00

Until now a coupon issued to a member (by hand, segment campaign, registration, birthday, every N visits)
lived in `member_coupons`, which the till never reads: such a code could not be redeemed. Each row becomes
a pricing coupon with the same id, code, member, template, validity, reason and use:
issued/expired → active (expiry is computed from valid_until), used → used (used_at = the sale's time),
void → void. A row whose template does not exist in `coupon_templates` gets a switched-off placeholder
template with that id and is moved as void (it never carried a discount).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

PLACEHOLDER = "会员券（原模板缺失）/ member coupon, template missing"


def upgrade() -> None:
    op.execute(sa.text("""
        INSERT INTO coupon_templates (tenant_id, id, name, kind, value, threshold, max_discount, scope, valid_days,
                                      valid_from, valid_until, active, created_at)
        SELECT mc.tenant_id, mc.template_id, :name, 'amount_off', 0, 0, NULL, :scope, NULL, NULL, NULL, :off,
               MIN(mc.issued_at)
        FROM member_coupons mc
        WHERE NOT EXISTS (SELECT 1 FROM coupon_templates t WHERE t.tenant_id = mc.tenant_id AND t.id = mc.template_id)
        GROUP BY mc.tenant_id, mc.template_id
    """).bindparams(sa.bindparam("name", PLACEHOLDER), sa.bindparam("scope", {}, type_=sa.JSON),
                    sa.bindparam("off", False, type_=sa.Boolean)))
    op.execute(sa.text("""
        INSERT INTO coupons (tenant_id, id, template_id, code, member_id, status, valid_from, valid_until,
                             issued_at, issued_reason, used_at, used_sale_id)
        SELECT mc.tenant_id, mc.id, mc.template_id, mc.code, mc.member_id,
               CASE WHEN EXISTS (SELECT 1 FROM coupon_templates t WHERE t.tenant_id = mc.tenant_id
                                 AND t.id = mc.template_id AND t.name = :name AND t.value = 0) THEN 'void'
                    WHEN mc.status IN ('issued', 'expired') THEN 'active'
                    ELSE mc.status END,
               mc.valid_from, mc.valid_to, mc.issued_at, mc.issued_reason,
               CASE WHEN mc.status = 'used' THEN (SELECT s.created_at FROM sales s WHERE s.tenant_id = mc.tenant_id
                                                  AND s.id = mc.used_sale_id) END,
               CASE WHEN mc.status = 'used' THEN mc.used_sale_id END
        FROM member_coupons mc
        WHERE NOT EXISTS (SELECT 1 FROM coupons c WHERE c.tenant_id = mc.tenant_id AND c.code = mc.code)
    """).bindparams(sa.bindparam("name", PLACEHOLDER)))
    with op.batch_alter_table('member_coupons', schema=None) as batch_op:
        batch_op.drop_index('ix_member_coupons_tenant_id_member_id_status')
    op.drop_table('member_coupons')


def downgrade() -> None:
    """The table comes back (empty): coupons issued meanwhile stay in pricing's `coupons`, where the till
    and the members pages read them."""
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
    sa.ForeignKeyConstraint(['tenant_id', 'member_id'], ['members.tenant_id', 'members.id'],
                            name=op.f('fk_member_coupons_tenant_id_member_id_members')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_member_coupons')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_member_coupons_tenant_id_code'))
    )
    with op.batch_alter_table('member_coupons', schema=None) as batch_op:
        batch_op.create_index('ix_member_coupons_tenant_id_member_id_status', ['tenant_id', 'member_id', 'status'],
                              unique=False)
