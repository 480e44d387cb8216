"""Inventory request/response shapes. Quantities travel as decimal strings ("1.250") and are
int milli-units inside; money is int fen."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, PlainSerializer, WithJsonSchema

from cloudpos.money import milli_to_str, qty_to_milli
from cloudpos.schemas import StrictModel, Text

from .domain import MAX_QTY


def _parse_qty(value: Any) -> int:
    if isinstance(value, bool | float):
        raise ValueError("give the quantity as a decimal string such as \"1.250\" (never a float)")
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str | Decimal):
        raise ValueError("give the quantity as a decimal string such as \"1.250\"")
    try:
        milli = qty_to_milli(value)
    except (ValueError, TypeError):
        raise ValueError("not a quantity with at most 3 decimals") from None
    if abs(milli) > MAX_QTY:
        raise ValueError("quantity too large")
    return milli


_QTY_SCHEMA = {"type": "string", "pattern": r"^-?\d+(\.\d{1,3})?$", "examples": ["1.250"]}

# A quantity in (decimal string or integer; at most 3 decimals) → int milli-units.
Qty = Annotated[int, BeforeValidator(_parse_qty), WithJsonSchema(_QTY_SCHEMA)]
# An int milli-units out → "1.250".
QtyOut = Annotated[int, PlainSerializer(milli_to_str, return_type=str), WithJsonSchema(_QTY_SCHEMA)]
Fen = Annotated[int, Field(strict=True, ge=0, le=10**12)]

AdjustmentReason = Literal["damaged", "lost", "expired", "entry_error", "other"]
VarianceReason = Literal["lost", "damaged", "entry_error", "other", ""]
Kind = Literal["sale", "refund", "receipt", "adjustment", "stocktake", "transfer_out", "transfer_in"]


class ProductRef(BaseModel):
    id: uuid.UUID
    sku: str
    name: str
    barcodes: list[str]
    unit: str
    category_id: uuid.UUID | None


class StockLevelOut(BaseModel):
    store_id: uuid.UUID
    product_id: uuid.UUID
    product: ProductRef | None
    on_hand: QtyOut
    low_stock_threshold: QtyOut | None
    store_threshold: QtyOut | None
    low: bool
    negative: bool
    cost: int
    value: int  # on-hand at cost, fen
    updated_at: datetime | None


class ThresholdIn(StrictModel):
    store_id: uuid.UUID
    product_id: uuid.UUID
    low_stock_threshold: Qty | None = Field(description="This store's threshold; null = the product's")


class MovementOut(BaseModel):
    id: uuid.UUID
    store_id: uuid.UUID
    product_id: uuid.UUID
    product: ProductRef | None = None
    kind: str
    quantity: QtyOut
    unit_cost: int | None
    balance_after: QtyOut
    ref_type: str
    ref_id: uuid.UUID | None
    reason: str
    note: str
    actor_name: str
    occurred_at: datetime


class ReceiptLineIn(StrictModel):
    product_id: uuid.UUID
    quantity: Qty
    unit_cost: Fen


class ReceiptIn(StrictModel):
    store_id: uuid.UUID
    supplier: Text(100) = ""
    reference: Text(60) = ""
    note: Text(300) = ""
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=1000)


class ReceiptLineOut(BaseModel):
    line_no: int
    product_id: uuid.UUID
    product: ProductRef | None = None
    quantity: QtyOut
    unit_cost: int
    amount: int
    cost_before: int
    cost_after: int


class ReceiptOut(BaseModel):
    id: uuid.UUID
    number: str
    store_id: uuid.UUID
    supplier: str
    reference: str
    note: str
    line_count: int
    total_quantity: QtyOut
    total_cost: int
    created_by_name: str
    created_at: datetime
    lines: list[ReceiptLineOut] = []


class AdjustmentLineIn(StrictModel):
    product_id: uuid.UUID
    quantity: Qty = Field(description="Signed change: \"-2\" removes two units, \"1.5\" adds 1.5")


class AdjustmentIn(StrictModel):
    store_id: uuid.UUID
    reason: AdjustmentReason
    note: Text(300) = ""
    lines: list[AdjustmentLineIn] = Field(min_length=1, max_length=1000)


class AdjustmentOut(BaseModel):
    id: uuid.UUID
    number: str
    store_id: uuid.UUID
    reason: str
    note: str
    line_count: int
    created_by_name: str
    created_at: datetime
    lines: list[MovementOut] = []


class TransferLineIn(StrictModel):
    product_id: uuid.UUID
    quantity: Qty


class TransferIn(StrictModel):
    from_store_id: uuid.UUID
    to_store_id: uuid.UUID
    note: Text(300) = ""
    ship: bool = Field(default=False, description="Ship at once (stock leaves the source store now)")
    lines: list[TransferLineIn] = Field(min_length=1, max_length=1000)


class ReceiveIn(StrictModel):
    lines: list[TransferLineIn] | None = Field(
        default=None, max_length=1000,
        description="Quantities actually received; omitted = everything shipped arrived")


class TransferLineOut(BaseModel):
    product_id: uuid.UUID
    product: ProductRef | None = None
    quantity: QtyOut
    received_quantity: QtyOut | None
    difference: QtyOut | None


class TransferOut(BaseModel):
    id: uuid.UUID
    number: str
    from_store_id: uuid.UUID
    to_store_id: uuid.UUID
    status: str
    note: str
    line_count: int
    created_by_name: str
    created_at: datetime
    shipped_by_name: str
    shipped_at: datetime | None
    received_by_name: str
    received_at: datetime | None
    cancelled_at: datetime | None
    lines: list[TransferLineOut] = []


class AlertOut(BaseModel):
    store_id: uuid.UUID
    product_id: uuid.UUID
    product: ProductRef | None
    on_hand: QtyOut
    threshold: QtyOut
    shortfall: QtyOut


class AlertEventOut(BaseModel):
    id: uuid.UUID
    store_id: uuid.UUID
    product_id: uuid.UUID
    on_hand: QtyOut
    threshold: QtyOut
    movement_kind: str
    occurred_at: datetime


class StocktakeIn(StrictModel):
    store_id: uuid.UUID
    scope: Literal["all", "category", "products"] = "all"
    category_id: uuid.UUID | None = None
    product_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20000)
    blind: bool = False
    note: Text(300) = ""


class CountIn(StrictModel):
    product_id: uuid.UUID | None = None
    barcode: Text(64) | None = None
    quantity: Qty
    mode: Literal["set", "add"] = "add"


class CountResult(BaseModel):
    product_id: uuid.UUID
    sku: str
    name: str
    counted: QtyOut
    expected: QtyOut | None  # None in a blind count


class CountsOut(BaseModel):
    stocktake_id: uuid.UUID
    counted_lines: int
    line_count: int
    results: list[CountResult]


class ReasonIn(StrictModel):
    product_id: uuid.UUID
    reason: VarianceReason
    note: Text(200) = ""


class ReasonsIn(StrictModel):
    lines: list[ReasonIn] = Field(min_length=1, max_length=20000)


class PostIn(StrictModel):
    zero_uncounted: bool = Field(default=False,
                                 description="Products never counted are set to zero (else left unchanged)")


class StocktakeOut(BaseModel):
    id: uuid.UUID
    number: str
    store_id: uuid.UUID
    scope: str
    category_id: uuid.UUID | None
    blind: bool
    status: str
    note: str
    line_count: int
    counted_lines: int
    created_by_name: str
    created_at: datetime
    posted_by_name: str
    posted_at: datetime | None


class VarianceLineOut(BaseModel):
    product_id: uuid.UUID
    product: ProductRef | None
    category: str
    expected_snapshot: QtyOut
    expected: QtyOut | None
    counted: QtyOut | None
    difference: QtyOut | None
    unit_cost: int
    difference_cost: int | None
    first_counted_at: datetime | None
    reason: str
    note: str
    posted_delta: QtyOut | None


class VarianceOut(BaseModel):
    stocktake: StocktakeOut
    lines: list[VarianceLineOut]
    counted_lines: int
    uncounted_lines: int
    lines_with_difference: int
    total_difference_cost: int
    gain_cost: int
    loss_cost: int
