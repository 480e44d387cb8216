"""Pure checkout rules: receipt numbers, business days, tender settlement, refunds, shift cash.

Money is int fen, quantities int milli-units; rounding only through cloudpos.money.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cloudpos.money import allocate, round_half_up

CASH = "cash"
# Methods that can take more than is due (the rest is change). Everything else must not overpay.
CHANGE_GIVING = frozenset({CASH})


def receipt_no(store_code: str, day: date, seq: int) -> str:
    """S01-20261127-000123: store, business day, the store's gap-free sequence number."""
    return f"{store_code}-{day:%Y%m%d}-{seq:06d}"


def business_day(at: datetime, tz: str, cutoff_hour: int = 0) -> date:
    """The store's trading day for a moment: local date, shifted back before the cut-off hour."""
    local = at.astimezone(ZoneInfo(tz)) - timedelta(hours=cutoff_hour)
    return local.date()


# --- tender ---------------------------------------------------------------------------------

CASH_ROUNDING_MODES = ("none", "jiao_down", "jiao_nearest", "yuan_down", "yuan_nearest")


def round_cash(amount: int, mode: str) -> int:
    """抹零: the cash amount actually asked for, given the store's rounding mode."""
    if mode == "none" or amount <= 0:
        return amount
    unit = 10 if mode.startswith("jiao") else 100
    if mode.endswith("_down"):
        return amount - amount % unit
    return round_half_up(amount, unit) * unit


@dataclass(frozen=True)
class Tender:
    method: str
    amount: int  # what this tender pays towards the sale
    tendered: int | None = None  # cash handed over (>= amount); None = same as amount


@dataclass(frozen=True)
class Settlement:
    total: int  # the priced total
    cash_rounding: int  # <= 0 for 抹零 down; may be +/- for nearest
    due: int  # total + cash_rounding: what the tenders must cover exactly
    change: int
    tenders: list[Tender] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def settle(total: int, tenders: list[Tender], rounding_mode: str = "none") -> Settlement:
    """Check that the tenders cover the total, apply cash rounding to the part paid in cash,
    and work out the change. Problems are English source strings (translated by the caller)."""
    problems: list[str] = []
    if any(t.amount <= 0 for t in tenders):
        problems.append("Every payment must be a positive amount.")
    non_cash = sum(t.amount for t in tenders if t.method not in CHANGE_GIVING)
    cash = [t for t in tenders if t.method in CHANGE_GIVING]
    remainder = total - non_cash
    rounding = 0
    if cash and remainder > 0:
        rounding = round_cash(remainder, rounding_mode) - remainder
    due = total + rounding
    if non_cash > total:
        problems.append("Card, wallet and other payments cannot exceed the amount due.")
    cash_amount = sum(t.amount for t in cash)
    tendered = sum(t.tendered if t.tendered is not None else t.amount for t in cash)
    if any(t.tendered is not None and t.tendered < t.amount for t in cash):
        problems.append("Cash handed over is less than the cash amount.")
    paid = non_cash + cash_amount
    if paid < due:
        problems.append("The payments do not cover the total.")
    change = 0
    if not problems:
        # Cash paying more than due (e.g. amount entered as tendered) becomes change.
        over = paid - due
        change = over + (tendered - cash_amount)
        if over > 0:
            tenders = _trim_cash(tenders, over)
    return Settlement(total, rounding, due, change, tenders, problems)


def _trim_cash(tenders: list[Tender], over: int) -> list[Tender]:
    """Record cash at what it paid towards the sale, not what was handed over."""
    out = []
    for t in tenders:
        if t.method in CHANGE_GIVING and over > 0:
            cut = min(over, t.amount)
            over -= cut
            out.append(Tender(t.method, t.amount - cut, t.tendered if t.tendered is not None else t.amount))
        else:
            out.append(t)
    return out  # same order as given; a cash tender may end at 0 (all of it was change)


# --- refunds --------------------------------------------------------------------------------

@dataclass(frozen=True)
class PaidLine:
    line_no: int
    qty: int  # milli
    amount: int  # what was paid for the whole line, after every discount
    refunded_qty: int = 0
    refunded_amount: int = 0

    @property
    def refundable_qty(self) -> int:
        return self.qty - self.refunded_qty


def refund_amount(line: PaidLine, qty: int) -> int:
    """Exactly what `qty` of the line cost. Refunding the last of a line returns whatever is left,
    so the refunds of a line always add up to what was paid for it, never more."""
    if qty <= 0 or qty > line.refundable_qty:
        raise ValueError("quantity outside what can be refunded")
    if line.refunded_qty + qty == line.qty:
        return line.amount - line.refunded_amount
    return min(round_half_up(line.amount * qty, line.qty), line.amount - line.refunded_amount)


@dataclass(frozen=True)
class PaidTender:
    method: str
    amount: int  # paid towards the sale (change excluded)
    refunded: int = 0
    payment_ref: str = ""

    @property
    def open(self) -> int:
        return self.amount - self.refunded


def split_refund(amount: int, tenders: list[PaidTender]) -> list[tuple[PaidTender, int]]:
    """Send a refund back to the original payment methods, proportionally to what each still has
    open (largest remainder), never more than a method received."""
    open_total = sum(t.open for t in tenders)
    if amount > open_total:
        raise ValueError("refund exceeds what was paid")
    shares = allocate(amount, [t.open for t in tenders])
    return [(t, s) for t, s in zip(tenders, shares, strict=True) if s > 0]


# --- shifts ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShiftCash:
    opening_float: int
    cash_sales: int  # cash kept for sales (after change)
    cash_refunds: int
    cash_in: int
    cash_out: int

    @property
    def expected(self) -> int:
        return self.opening_float + self.cash_sales - self.cash_refunds + self.cash_in - self.cash_out


def shift_overdue(opened_at: datetime, now: datetime, hours: int = 24) -> bool:
    return now - opened_at > timedelta(hours=hours)
