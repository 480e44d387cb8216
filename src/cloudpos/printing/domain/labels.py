"""Shelf labels (价签): barcode checks and sheet layouts. Pure, no database."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sheet:
    key: str
    columns: int
    rows: int
    margin_left_mm: float
    margin_top_mm: float
    label_w_mm: float
    label_h_mm: float


# Common A4 label sheets: 3 x 8 (70 x 37 mm, 24 per sheet) and 2 x 5 (105 x 57 mm, 10 per sheet).
SHEETS: dict[str, Sheet] = {
    "a4-3x8": Sheet("a4-3x8", 3, 8, 0.0, 0.5, 70.0, 37.0),
    "a4-2x5": Sheet("a4-2x5", 2, 5, 0.0, 6.0, 105.0, 57.0),
}


def ean13_check_digit(first12: str) -> int:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return (10 - total % 10) % 10


def valid_ean13(code: str) -> bool:
    return len(code) == 13 and code.isdigit() and ean13_check_digit(code[:12]) == int(code[12])


def barcode_kind(code: str, wanted: str) -> str | None:
    """The symbology a label's code is printed in: EAN-13 when asked for and the code is a valid
    EAN-13, else Code 128 (any printable ASCII); None when there is nothing printable."""
    if not code:
        return None
    if wanted == "ean13" and valid_ean13(code):
        return "EAN13"
    if all(32 <= ord(c) < 127 for c in code) and len(code) <= 40:
        return "CODE128"
    return None
