"""Integer money, rate and quantity helpers: the ONLY place cloudpos rounds.

Conventions used across the whole project:

* Money is always an ``int`` number of fen (1 yuan = 100 fen). Never float.
* Rates are ``int`` basis points (bp): 10000 bp = 100 %.
* Quantities are ``int`` milli-units (1 piece or 1 kg = 1000), at most three
  decimals.

Every helper rejects ``float`` (and ``bool``) with ``TypeError`` so that a
float can never sneak into a money computation.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

BP_SCALE = 10_000
MILLI = 1_000
FEN_PER_YUAN = 100
FEN_PER_JIAO = 10


def _require_int(name: str, value: object) -> int:
    if type(value) is not int:  # exact type: refuses bool, float and int subclasses alike
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return value


def round_half_up(numerator: int, denominator: int) -> int:
    """Exact ``numerator / denominator`` rounded half away from zero.

    >>> round_half_up(5, 2), round_half_up(-5, 2), round_half_up(7, -2)
    (3, -3, -4)
    """
    if type(numerator) is not int or type(denominator) is not int:
        _require_int("numerator", numerator)
        _require_int("denominator", denominator)
    if denominator == 0:
        raise ZeroDivisionError("round_half_up: denominator is zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def apply_bp(amount_fen: int, bp: int) -> int:
    """``amount_fen * bp / 10000`` rounded half-up to the fen."""
    if type(amount_fen) is not int or type(bp) is not int:
        _require_int("amount_fen", amount_fen)
        _require_int("bp", bp)
    return round_half_up(amount_fen * bp, BP_SCALE)


def line_amount(unit_price_fen: int, qty_milli: int) -> int:
    """Amount of ``qty_milli`` milli-units at ``unit_price_fen`` per unit, half-up."""
    if type(unit_price_fen) is not int or type(qty_milli) is not int:
        _require_int("unit_price_fen", unit_price_fen)
        _require_int("qty_milli", qty_milli)
    return round_half_up(unit_price_fen * qty_milli, MILLI)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` proportionally to ``weights`` (largest-remainder method).

    The result always sums to ``total`` exactly. Each share is the floor of its
    exact quota, plus one for the shares with the largest remainders; ties go to
    the lowest index, so the result is deterministic. If every weight is zero
    the total is split evenly (same largest-remainder rule). A negative total
    is allocated as the mirror image of the positive one.
    """
    _require_int("total", total)
    weights = list(weights)
    if not set(map(type, weights)) <= {int}:
        for weight in weights:
            _require_int("weight", weight)
    if not weights:
        if total == 0:
            return []
        raise ValueError("allocate: cannot allocate a non-zero total over no weights")
    if min(weights) < 0:
        raise ValueError("allocate: weights must be >= 0")
    if total < 0:
        return [-share for share in allocate(-total, weights)]
    weight_sum = sum(weights)
    if weight_sum == 0:
        weights = [1] * len(weights)
        weight_sum = len(weights)
    quotas = [divmod(total * weight, weight_sum) for weight in weights]
    shares = [share for share, _remainder in quotas]
    leftover = total - sum(shares)
    if leftover:
        remainders = [remainder for _share, remainder in quotas]
        # stable sort: equal remainders keep index order, so the lowest index wins ties
        for index in sorted(range(len(weights)), key=remainders.__getitem__, reverse=True)[:leftover]:
            shares[index] += 1
    return shares


def qty_to_milli(value: str | Decimal | int) -> int:
    """Parse a quantity into milli-units: ``"1.25"`` -> ``1250``.

    Accepts ``int``, ``Decimal`` or a decimal string. The *value* may have at
    most three decimals (``"1.2500"`` is fine, ``"1.2505"`` raises
    ``ValueError``). Floats are refused with ``TypeError``.
    """
    if isinstance(value, bool | float):
        raise TypeError("quantity must be str, Decimal or int, never float/bool")
    if isinstance(value, int):
        return value * MILLI
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError(f"not a decimal quantity: {value!r}") from exc
    if not isinstance(value, Decimal):
        raise TypeError(f"unsupported quantity type {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"quantity must be finite: {value!r}")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite Decimals have an int exponent
    magnitude = int("".join(map(str, digits)) or "0")
    shift = exponent + 3
    if shift >= 0:
        milli = magnitude * 10**shift
    else:
        divisor = 10**-shift
        if magnitude % divisor:
            raise ValueError(f"quantity has more than 3 decimals: {value}")
        milli = magnitude // divisor
    return -milli if sign else milli


def milli_to_str(qty_milli: int) -> str:
    """Render milli-units with exactly three decimals: ``1250`` -> ``"1.250"``."""
    _require_int("qty_milli", qty_milli)
    sign = "-" if qty_milli < 0 else ""
    whole, frac = divmod(abs(qty_milli), MILLI)
    return f"{sign}{whole}.{frac:03d}"


def round_down_to(amount_fen: int, step_fen: int) -> int:
    """Round toward zero to a multiple of ``step_fen`` (e.g. 10 = jiao)."""
    _require_int("amount_fen", amount_fen)
    _require_int("step_fen", step_fen)
    if step_fen <= 0:
        raise ValueError("step_fen must be > 0")
    magnitude = abs(amount_fen) // step_fen * step_fen
    return magnitude if amount_fen >= 0 else -magnitude


def round_nearest_to(amount_fen: int, step_fen: int) -> int:
    """Round half away from zero to a multiple of ``step_fen``."""
    _require_int("amount_fen", amount_fen)
    _require_int("step_fen", step_fen)
    if step_fen <= 0:
        raise ValueError("step_fen must be > 0")
    return round_half_up(amount_fen, step_fen) * step_fen


def format_yuan(amount_fen: int) -> str:
    """``1050`` -> ``"10.50"`` (always two decimals, no currency sign)."""
    _require_int("amount_fen", amount_fen)
    sign = "-" if amount_fen < 0 else ""
    yuan, fen = divmod(abs(amount_fen), FEN_PER_YUAN)
    return f"{sign}{yuan}.{fen:02d}"


def format_yuan_compact(amount_fen: int) -> str:
    """``10000`` -> ``"100"``, ``990`` -> ``"9.9"``, ``999`` -> ``"9.99"``."""
    return format_yuan(amount_fen).rstrip("0").rstrip(".")


def ceil_div(numerator: int, denominator: int) -> int:
    """Exact ceiling of ``numerator / denominator`` (for limits that must never round down)."""
    _require_int("numerator", numerator)
    _require_int("denominator", denominator)
    if denominator == 0:
        raise ZeroDivisionError("ceil_div: denominator is zero")
    return -(-numerator // denominator)


_FULL_WIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")


class AmountError(ValueError):
    """A typed yuan amount that is not one: `reason` is "format", "negative", "decimals" or "too_large"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_yuan(text: str, *, max_fen: int = 10**10) -> int:
    """What a person types as yuan → fen, exactly: "12.5" → 1250, "¥1,000" → 100000, "１２元" → 1200."""
    raw = str(text).strip().replace("¥", "").replace("￥", "").replace("元", "").replace(",", "").replace("，", "")
    raw = raw.translate(_FULL_WIDTH)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise AmountError("format") from None
    if not value.is_finite():
        raise AmountError("format")
    if value < 0:
        raise AmountError("negative")
    fen = value * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise AmountError("decimals")
    if fen > max_fen:
        raise AmountError("too_large")
    return int(fen)
