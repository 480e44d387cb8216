"""members: the per-member rollup moves off the wide member row into `member_stats`

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 14:00:00

Member analytics (active/dormant, repeat rate, RFM, spend by tier, top members) scanned the 30-column member
row: 1.5–16 s at 1M members. `member_stats` holds one narrow row per active member (tier, visits, spend,
first/last visit) with covering indexes, kept by each sale, refund and void in its transaction; every report
becomes one index-only range aggregate. The rollup columns and their indexes leave `members` (one copy of
the figures, not two), after their values are copied. (0010 is taken by a parallel pricing migration.)
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

MOVED = ("visit_count", "total_spend_fen", "first_visit_at", "last_visit_at")


def upgrade() -> None:
    op.create_table('member_stats',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('member_id', sa.Uuid(), nullable=False),
    sa.Column('tier_id', sa.Uuid(), nullable=True),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('spend_fen', sa.BigInteger(), nullable=False),
    sa.Column('first_visit_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_visit_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'member_id'], ['members.tenant_id', 'members.id'],
                            name=op.f('fk_member_stats_tenant_id_member_id_members')),
    sa.PrimaryKeyConstraint('tenant_id', 'member_id', name=op.f('pk_member_stats'))
    )
    op.execute("""
        INSERT INTO member_stats (tenant_id, member_id, tier_id, visits, spend_fen, first_visit_at, last_visit_at)
        SELECT tenant_id, id, tier_id, visit_count, total_spend_fen, first_visit_at, last_visit_at
        FROM members WHERE status = 'active'
    """)
    with op.batch_alter_table('member_stats', schema=None) as batch_op:
        batch_op.create_index('ix_member_stats_tenant_id_last_visit_at',
                              ['tenant_id', 'last_visit_at', 'visits', 'spend_fen'], unique=False)
        batch_op.create_index('ix_member_stats_tenant_id_spend_fen', ['tenant_id', 'spend_fen'], unique=False)
        batch_op.create_index('ix_member_stats_tenant_id_tier_id', ['tenant_id', 'tier_id', 'spend_fen'],
                              unique=False)
    op.drop_index('ix_members_tenant_id_last_visit_at', table_name='members')
    op.drop_index('ix_members_tenant_id_total_spend_fen', table_name='members')
    for column in MOVED:  # plain ALTER TABLE … DROP COLUMN: PostgreSQL, and SQLite ≥ 3.35 (no table rebuild)
        op.execute(f"ALTER TABLE members DROP COLUMN {column}")


def downgrade() -> None:
    op.add_column('members', sa.Column('visit_count', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('members', sa.Column('total_spend_fen', sa.BigInteger(), nullable=False, server_default='0'))
    op.add_column('members', sa.Column('first_visit_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('members', sa.Column('last_visit_at', sa.DateTime(timezone=True), nullable=True))
    for column in MOVED:
        source = {"visit_count": "visits", "total_spend_fen": "spend_fen"}.get(column, column)
        op.execute(f"UPDATE members SET {column} = (SELECT s.{source} FROM member_stats s "  # noqa: S608 - constants
                   f"WHERE s.tenant_id = members.tenant_id AND s.member_id = members.id) "
                   f"WHERE EXISTS (SELECT 1 FROM member_stats s WHERE s.tenant_id = members.tenant_id "
                   f"AND s.member_id = members.id)")
    op.create_index('ix_members_tenant_id_last_visit_at', 'members', ['tenant_id', 'last_visit_at'], unique=False)
    op.create_index('ix_members_tenant_id_total_spend_fen', 'members', ['tenant_id', 'total_spend_fen'],
                    unique=False)
    op.drop_table('member_stats')
