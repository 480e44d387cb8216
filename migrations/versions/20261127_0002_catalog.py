"""catalog: categories, products, barcodes, store prices, images, scale barcode rules, import jobs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 08:52:19.729145
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('categories',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('path', sa.String(length=400), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'parent_id'], ['categories.tenant_id', 'categories.id'], name=op.f('fk_categories_tenant_id_parent_id_categories')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_categories'))
    )
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.create_index('ix_categories_tenant_id_parent_id', ['tenant_id', 'parent_id'], unique=False)
        batch_op.create_index('ix_categories_tenant_id_path', ['tenant_id', 'path'], unique=False)

    op.create_table('import_jobs',
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('processed_rows', sa.Integer(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_by_name', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_import_jobs'))
    )
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_import_jobs_tenant_id_created_at', ['tenant_id', 'created_at'], unique=False)

    op.create_table('scale_barcode_rules',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('prefix', sa.String(length=4), nullable=False),
    sa.Column('total_length', sa.Integer(), nullable=False),
    sa.Column('item_code_length', sa.Integer(), nullable=False),
    sa.Column('value_kind', sa.String(length=8), nullable=False),
    sa.Column('value_length', sa.Integer(), nullable=False),
    sa.Column('check_digit', sa.Boolean(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_scale_barcode_rules')),
    sa.UniqueConstraint('tenant_id', 'prefix', 'total_length', name=op.f('uq_scale_barcode_rules_tenant_id_prefix_total_length'))
    )
    op.create_table('products',
    sa.Column('sku', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('category_id', sa.Uuid(), nullable=True),
    sa.Column('brand', sa.String(length=60), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('cost', sa.BigInteger(), nullable=False),
    sa.Column('tax_rate_bp', sa.Integer(), nullable=False),
    sa.Column('spec', sa.String(length=200), nullable=False),
    sa.Column('sold_by_weight', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('low_stock_threshold', sa.BigInteger(), nullable=True),
    sa.Column('barcodes', sa.JSON(), nullable=False),
    sa.Column('search_text', sa.String(length=1000), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'category_id'], ['categories.tenant_id', 'categories.id'], name=op.f('fk_products_tenant_id_category_id_categories')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_products')),
    sa.UniqueConstraint('tenant_id', 'sku', name=op.f('uq_products_tenant_id_sku'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index('ix_products_tenant_id_category_id', ['tenant_id', 'category_id'], unique=False)
        batch_op.create_index('ix_products_tenant_id_search_text', ['tenant_id', 'search_text'], unique=False)
        batch_op.create_index('ix_products_tenant_id_status', ['tenant_id', 'status'], unique=False)
    _trigram_index()

    op.create_table('product_barcodes',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['products.tenant_id', 'products.id'], name=op.f('fk_product_barcodes_tenant_id_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'code', name=op.f('pk_product_barcodes'))
    )
    with op.batch_alter_table('product_barcodes', schema=None) as batch_op:
        batch_op.create_index('ix_product_barcodes_tenant_id_product_id', ['tenant_id', 'product_id'], unique=False)

    op.create_table('product_images',
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('thumb_key', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['products.tenant_id', 'products.id'], name=op.f('fk_product_images_tenant_id_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_product_images'))
    )
    with op.batch_alter_table('product_images', schema=None) as batch_op:
        batch_op.create_index('ix_product_images_tenant_id_product_id', ['tenant_id', 'product_id'], unique=False)

    op.create_table('store_prices',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('store_id', sa.Uuid(), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['products.tenant_id', 'products.id'], name=op.f('fk_store_prices_tenant_id_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['stores.tenant_id', 'stores.id'], name=op.f('fk_store_prices_tenant_id_store_id_stores')),
    sa.PrimaryKeyConstraint('tenant_id', 'product_id', 'store_id', name=op.f('pk_store_prices'))
    )


def _trigram_index() -> None:
    """On PostgreSQL, a trigram index makes `search_text LIKE '%kkkl%'` an index scan, when pg_trgm
    is installed or we may install it (otherwise search falls back to a scan of the tenant's rows)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    have = bind.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").scalar()
    if not have:
        can = bind.exec_driver_sql(
            "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AND EXISTS "
            "(SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm')").scalar()
        if not can:
            return
        bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    bind.exec_driver_sql("CREATE INDEX ix_products_search_trgm ON products USING gin (search_text gin_trgm_ops)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_products_search_trgm")
    op.drop_table('store_prices')
    with op.batch_alter_table('product_images', schema=None) as batch_op:
        batch_op.drop_index('ix_product_images_tenant_id_product_id')

    op.drop_table('product_images')
    with op.batch_alter_table('product_barcodes', schema=None) as batch_op:
        batch_op.drop_index('ix_product_barcodes_tenant_id_product_id')

    op.drop_table('product_barcodes')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index('ix_products_tenant_id_status')
        batch_op.drop_index('ix_products_tenant_id_search_text')
        batch_op.drop_index('ix_products_tenant_id_category_id')

    op.drop_table('products')
    op.drop_table('scale_barcode_rules')
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_import_jobs_tenant_id_created_at')

    op.drop_table('import_jobs')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_index('ix_categories_tenant_id_path')
        batch_op.drop_index('ix_categories_tenant_id_parent_id')

    op.drop_table('categories')
