"""Catalog tables: categories (a tree), products, barcodes, per-store prices, images,
scale-barcode rules (称重码) and Excel import jobs.

Brands and units are plain strings on the product (pick-lists come from the values in use).
`products.barcodes` is a denormalized copy of the product's codes (in order) so a lookup or a
list page reads one row per product; `product_barcodes` is the unique index the scanner hits.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from cloudpos import clock
from cloudpos.db import Base, TenantMixin


class Category(TenantMixin, Base):
    __tablename__ = "categories"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["categories.tenant_id", "categories.id"]),
        Index("ix_categories_tenant_id_path", "tenant_id", "path"),
        Index("ix_categories_tenant_id_parent_id", "tenant_id", "parent_id"),
    )

    name: Mapped[str] = mapped_column(String(60))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    # Materialized path of ids, "/<root id>/<child id>/…/<own id>/": descendants share the prefix.
    path: Mapped[str] = mapped_column(String(400))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class Product(TenantMixin, Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        ForeignKeyConstraint(["tenant_id", "category_id"], ["categories.tenant_id", "categories.id"]),
        Index("ix_products_tenant_id_category_id", "tenant_id", "category_id"),
        Index("ix_products_tenant_id_status", "tenant_id", "status"),
        Index("ix_products_tenant_id_search_text", "tenant_id", "search_text"),
    )

    sku: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    category_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    brand: Mapped[str] = mapped_column(String(60), default="")
    unit: Mapped[str] = mapped_column(String(16), default="")
    price: Mapped[int] = mapped_column(BigInteger, default=0)  # fen
    cost: Mapped[int] = mapped_column(BigInteger, default=0)  # fen
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    spec: Mapped[str] = mapped_column(String(200), default="")
    sold_by_weight: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="listed")  # listed | delisted
    low_stock_threshold: Mapped[int | None] = mapped_column(BigInteger, default=None)  # milli-units
    barcodes: Mapped[list[str]] = mapped_column(JSON, default=list)
    search_text: Mapped[str] = mapped_column(String(1000), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class ProductBarcode(Base):
    """One barcode of one product; the scanner's hot path is a primary-key hit on (tenant, code)."""

    __tablename__ = "product_barcodes"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"],
                             ondelete="CASCADE"),
        Index("ix_product_barcodes_tenant_id_product_id", "tenant_id", "product_id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    position: Mapped[int] = mapped_column(Integer, default=0)


class StorePrice(Base):
    """A store's own sale price for a product (overrides products.price in that store)."""

    __tablename__ = "store_prices"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "store_id"], ["stores.tenant_id", "stores.id"]),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    store_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    price: Mapped[int] = mapped_column(BigInteger)


class ProductImage(TenantMixin, Base):
    __tablename__ = "product_images"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"],
                             ondelete="CASCADE"),
        Index("ix_product_images_tenant_id_product_id", "tenant_id", "product_id"),
    )

    product_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    position: Mapped[int] = mapped_column(Integer, default=0)
    key: Mapped[str] = mapped_column(String(200))  # relative to the media root
    thumb_key: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class ScaleRule(TenantMixin, Base):
    """A scale barcode (称重码) format: prefix + item code + embedded price/weight + check digit."""

    __tablename__ = "scale_barcode_rules"
    __table_args__ = (UniqueConstraint("tenant_id", "prefix", "total_length"),)

    name: Mapped[str] = mapped_column(String(60), default="")
    prefix: Mapped[str] = mapped_column(String(4))
    total_length: Mapped[int] = mapped_column(Integer, default=13)
    item_code_length: Mapped[int] = mapped_column(Integer, default=5)
    value_kind: Mapped[str] = mapped_column(String(8), default="price")  # price (fen) | weight (grams)
    value_length: Mapped[int] = mapped_column(Integer, default=5)
    check_digit: Mapped[bool] = mapped_column(Boolean, default=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class ImportJob(TenantMixin, Base):
    """An Excel import running in the background; any process can read its progress."""

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_tenant_id_created_at", "tenant_id", "created_at"),)

    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|running|done|failed
    phase: Mapped[str] = mapped_column(String(16), default="")  # validating | writing
    filename: Mapped[str] = mapped_column(String(200), default="")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    created_by_name: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
