"""Catalog request/response shapes. Money is integer fen; quantities are decimal strings ("1.250")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from cloudpos.approvals.schemas import ManagerOverride
from cloudpos.schemas import StrictModel, Text

Fen = Annotated[int, Field(strict=True, ge=0, le=10_000_000_000)]
Bp = Annotated[int, Field(strict=True, ge=0, le=10_000)]
Status = Literal["listed", "delisted"]
# A quantity: a decimal string with at most 3 places ("10", "2.5"), or a whole number.
Qty = Annotated[str | int, Field(union_mode="left_to_right")]


def _qty(value: str | int | None) -> str | int | None:
    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip()
    raise ValueError("must be a decimal string")


# --- categories -------------------------------------------------------------------------------

class CategoryIn(StrictModel):
    name: Text(60, 1)
    parent_id: uuid.UUID | None = None
    sort_order: int = Field(0, ge=-100000, le=100000)


class CategoryPatch(StrictModel):
    name: Text(60, 1) | None = None
    parent_id: uuid.UUID | None = None
    move_to_root: bool = False
    sort_order: int | None = Field(None, ge=-100000, le=100000)


class CategoryOut(BaseModel):
    id: uuid.UUID
    name: str
    parent_id: uuid.UUID | None
    full_name: str  # "食品 > 饮料 > 碳酸饮料"
    depth: int
    sort_order: int
    product_count: int = 0  # including the products of its sub-categories


# --- products ---------------------------------------------------------------------------------

class StorePriceIn(StrictModel):
    store_id: uuid.UUID
    price: Fen


class StorePriceOut(BaseModel):
    store_id: uuid.UUID
    store_name: str = ""
    price: int


class ImageOut(BaseModel):
    id: uuid.UUID
    url: str
    thumb_url: str
    width: int
    height: int


class ProductIn(StrictModel):
    sku: Text(40, 1)
    name: Text(120, 1)
    barcodes: list[Text(40, 1)] = Field(default_factory=list, max_length=20)
    category_id: uuid.UUID | None = None
    brand: Text(60) = ""
    unit: Text(16) = ""
    price: Fen = 0
    cost: Fen = 0
    tax_rate_bp: Bp = 0
    spec: Text(200) = ""
    sold_by_weight: bool = False
    status: Status = "listed"
    low_stock_threshold: Qty | None = None
    store_prices: list[StorePriceIn] | None = Field(default=None, max_length=500)

    _q = field_validator("low_stock_threshold", mode="before")(_qty)


class ProductPatch(StrictModel):
    sku: Text(40, 1) | None = None
    name: Text(120, 1) | None = None
    barcodes: list[Text(40, 1)] | None = Field(default=None, max_length=20)
    category_id: uuid.UUID | None = None
    clear_category: bool = False
    brand: Text(60) | None = None
    unit: Text(16) | None = None
    price: Fen | None = None
    cost: Fen | None = None
    tax_rate_bp: Bp | None = None
    spec: Text(200) | None = None
    sold_by_weight: bool | None = None
    status: Status | None = None
    low_stock_threshold: Qty | None = None
    clear_low_stock_threshold: bool = False
    store_prices: list[StorePriceIn] | None = Field(default=None, max_length=500)
    override: ManagerOverride | None = Field(None, description="A manager's credentials, when approval is needed")

    _q = field_validator("low_stock_threshold", mode="before")(_qty)


class ProductOut(BaseModel):
    id: uuid.UUID
    sku: str
    barcodes: list[str]
    name: str
    category_id: uuid.UUID | None
    brand: str
    unit: str
    price: int
    cost: int
    tax_rate_bp: int
    sold_by_weight: bool
    status: Status
    low_stock_threshold: str | None
    spec: str = ""
    category_name: str = ""
    images: list[ImageOut] = Field(default_factory=list)
    store_prices: list[StorePriceOut] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class DeleteOut(BaseModel):
    id: uuid.UUID
    deleted: bool  # False: the product has history and was delisted instead
    status: Status | None


class BulkStatusIn(StrictModel):
    ids: list[uuid.UUID] = Field(min_length=1, max_length=500)
    status: Status


class BulkStatusOut(BaseModel):
    changed: int


# --- lookup and scale rules -------------------------------------------------------------------

class LookupOut(BaseModel):
    code: str
    matched_by: Literal["barcode", "sku", "scale"]
    product: ProductOut
    quantity: str  # "1.000", or the weight on a scale label ("1.250")
    unit_price: int  # fen; the store's own price when store_id is given
    amount: int  # fen for this quantity (the printed price on a price label)
    scale_rule_id: uuid.UUID | None = None


class ScaleRuleIn(StrictModel):
    name: Text(60) = ""
    prefix: Text(4, 1)
    total_length: int = Field(13, ge=8, le=18)
    item_code_length: int = Field(5, ge=1, le=7)
    value_kind: Literal["price", "weight"] = "price"
    value_length: int = Field(5, ge=3, le=6)
    check_digit: bool = True
    enabled: bool = True


class ScaleRuleOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    total_length: int
    item_code_length: int
    value_kind: str
    value_length: int
    check_digit: bool
    enabled: bool
    example: str = ""


# --- import -----------------------------------------------------------------------------------

class RowError(BaseModel):
    row: int
    column: str
    message: str


class ImportResult(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[RowError] = Field(default_factory=list)
    error_count: int = 0
    rows: int = 0
    dry_run: bool = True
    written: bool = False
    categories_created: int = 0


class ImportJobOut(BaseModel):
    job_id: uuid.UUID
    status: Literal["queued", "running", "done", "failed"]
    phase: str
    filename: str
    total_rows: int
    processed_rows: int
    progress: int  # percent
    dry_run: bool
    skip_invalid: bool = False
    result: ImportResult | None
    error: str = ""
    created_at: datetime
    finished_at: datetime | None
