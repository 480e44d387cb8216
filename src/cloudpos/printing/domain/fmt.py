"""Numbers as printed: money from fen and quantities from milli-units, exactly (no floats)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from cloudpos.money import format_yuan


def money(fen: int) -> str:
    """1050 -> "10.50", -175 -> "-1.75"."""
    return format_yuan(fen)


def qty(milli: int) -> str:
    """2000 -> "2", 1250 -> "1.250" (weighed goods keep three decimals)."""
    if isinstance(milli, bool) or not isinstance(milli, int):
        raise TypeError("quantity must be int milli-units")
    sign = "-" if milli < 0 else ""
    whole, frac = divmod(abs(milli), 1000)
    return f"{sign}{whole}" if frac == 0 else f"{sign}{whole}.{frac:03d}"


def local_time(at: datetime, tz: str) -> str:
    if at.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware")
    try:
        zone = ZoneInfo(tz)
    except Exception:  # noqa: BLE001 - an unknown zone falls back to the product default
        zone = ZoneInfo("Asia/Shanghai")
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def mask_card(card: str) -> str:
    """Member card numbers are never printed in full: 6201888812341234 -> 6201********1234."""
    card = card.strip()
    if not card or "*" in card:
        return card
    if len(card) <= 4:
        return "*" * len(card)
    if len(card) <= 8:
        return "*" * (len(card) - 4) + card[-4:]
    return card[:4] + "*" * (len(card) - 8) + card[-4:]
