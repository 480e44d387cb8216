"""pricing: per-member usage limit of promotions and the append-only ledger of their uses

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('promotions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_uses_per_member', sa.Integer(), nullable=True))

    op.create_table('promotion_uses',
    sa.Column('promotion_id', sa.Uuid(), nullable=False),
    sa.Column('member_id', sa.Uuid(), nullable=False),
    sa.Column('sale_id', sa.Uuid(), nullable=False),
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'promotion_id'], ['promotions.tenant_id', 'promotions.id'], name=op.f('fk_promotion_uses_tenant_id_promotion_id_promotions')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_promotion_uses'))
    )
    with op.batch_alter_table('promotion_uses', schema=None) as batch_op:
        batch_op.create_index('ix_promotion_uses_tenant_id_member_id_promotion_id', ['tenant_id', 'member_id', 'promotion_id'], unique=False)
        batch_op.create_index('ix_promotion_uses_tenant_id_sale_id', ['tenant_id', 'sale_id'], unique=False)

    _append_only('promotion_uses')


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
    with op.batch_alter_table('promotion_uses', schema=None) as batch_op:
        batch_op.drop_index('ix_promotion_uses_tenant_id_sale_id')
        batch_op.drop_index('ix_promotion_uses_tenant_id_member_id_promotion_id')

    op.drop_table('promotion_uses')
    with op.batch_alter_table('promotions', schema=None) as batch_op:
        batch_op.drop_column('max_uses_per_member')
