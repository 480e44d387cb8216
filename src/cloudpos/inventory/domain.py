"""Pure inventory rules: no database, no web. Quantities are int milli-units, money int fen."""

from __future__ import annotations

from dataclasses import dataclass

from cloudpos.i18n import N_
from cloudpos.money import line_amount, round_half_up

KINDS = ("sale", "refund", "receipt", "adjustment", "stocktake", "transfer_out", "transfer_in")
KIND_LABELS = {
    "sale": N_("Sale"), "refund": N_("Refund"), "receipt": N_("Goods receipt"), "adjustment": N_("Adjustment"),
    "stocktake": N_("Stocktake"), "transfer_out": N_("Transfer out"), "transfer_in": N_("Transfer in"),
}
ADJUSTMENT_REASONS = ("damaged", "lost", "expired", "entry_error", "other")
VARIANCE_REASONS = ("lost", "damaged", "entry_error", "other")
REASON_LABELS = {
    "damaged": N_("Damaged"), "lost": N_("Lost"), "expired": N_("Expired"),
    "entry_error": N_("Entry error"), "other": N_("Other"),
}
TRANSFER_STATUSES = ("draft", "in_transit", "received", "cancelled")
STATUS_LABELS = {
    "draft": N_("Draft"), "in_transit": N_("In transit"), "received": N_("Received"),
    "cancelled": N_("Cancelled"), "open": N_("Counting"), "posted": N_("Posted"),
}
MAX_QTY = 10**12  # a billion units, in milli


def moving_average_cost(on_hand: int, cost: int, qty_in: int, unit_cost_in: int) -> int:
    """The product's new average cost after receiving `qty_in` at `unit_cost_in`, half-up to the fen.

    Stock at or below zero carries no value: the new cost is then the receipt's unit cost.
    """
    if qty_in <= 0:
        return cost
    if on_hand <= 0:
        return unit_cost_in
    return round_half_up(on_hand * cost + qty_in * unit_cost_in, on_hand + qty_in)


def crossed_below(before: int, after: int, threshold: int | None) -> bool:
    """True when the on-hand just fell below the low-stock threshold (an alert is recorded once)."""
    return threshold is not None and threshold > 0 and before >= threshold > after


def is_low(on_hand: int, threshold: int | None) -> bool:
    return threshold is not None and threshold > 0 and on_hand < threshold


def effective_threshold(store_threshold: int | None, product_threshold: int | None) -> int | None:
    return store_threshold if store_threshold is not None else product_threshold


def blocks_negative(policy: str, before_delta_on_hand: int, delta: int) -> bool:
    """Under the 'block' policy a decrease may not take the on-hand below zero."""
    return policy == "block" and delta < 0 and before_delta_on_hand + delta < 0


@dataclass(frozen=True)
class Variance:
    expected: int  # milli
    counted: int  # milli
    difference: int  # milli, counted - expected
    difference_cost: int  # fen


def expected_at_count(snapshot: int, movements_since_snapshot: list[int]) -> int:
    """Expected on-hand when a product is counted: the snapshot plus every movement since
    (a sale during the count lowers what should be on the shelf)."""
    return snapshot + sum(movements_since_snapshot)


def variance(expected: int, counted: int, unit_cost: int) -> Variance:
    diff = counted - expected
    return Variance(expected, counted, diff, line_amount(unit_cost, diff))


def merge_count(current: int | None, quantity: int, mode: str) -> int:
    """A counter's entry: `set` replaces the count, `add` adds to it (scan → +1)."""
    if mode == "set":
        return quantity
    return (current or 0) + quantity


def doc_number(prefix: str, seq: int) -> str:
    return f"{prefix}{seq:06d}"
