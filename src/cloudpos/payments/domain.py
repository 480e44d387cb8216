"""Pure payment rules: methods and their defaults, amounts, fees, settlement dates, card-data checks.

No database, no web. Money is integer fen; fee rates are integer basis points (bp, 10000 = 100 %).

Settlement dates (结算日) are *calendar* days: a payment taken on business day D with a T+N cycle is
expected on D + N days, weekends and public holidays included. That is the contractual date the
providers state (WeChat Pay and Alipay settle every calendar day; a bank may credit the money on the
next working day, which the report cannot know).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from cloudpos import money
from cloudpos.i18n import N_

METHODS: tuple[str, ...] = ("cash", "card", "wechat", "alipay", "stored_value", "points", "coupon")
WALLET_METHODS: frozenset[str] = frozenset({"wechat", "alipay"})
OFFLINE_METHODS: frozenset[str] = frozenset(METHODS) - WALLET_METHODS
PROVIDERS: tuple[str, ...] = ("wechat", "alipay")
SETTLEMENT_CYCLES: tuple[int, ...] = (0, 1, 7)
MAX_FEE_BP = 1000  # 10 %: anything higher is a typo (real rates are 0.2 %–0.6 %)
MAX_AMOUNT_FEN = 10_000_000  # ¥100,000 per payment

# Statuses of a payment (and what they mean for money):
PENDING = "pending"  # row written, nothing sent to the gateway yet
PAYING = "paying"  # sent; the outcome is not known yet (USERPAYING, timeout, lost response)
SUCCEEDED = "succeeded"  # the gateway confirmed the charge (or an offline tender was recorded)
FAILED = "failed"  # definitely not charged
REVERSED = "reversed"  # reversed/cancelled at the gateway: any charge was given back
REFUNDED = "refunded"  # refunded in full after success
STATUSES = (PENDING, PAYING, SUCCEEDED, FAILED, REVERSED, REFUNDED)
OPEN_STATUSES = (PENDING, PAYING)
FINAL_STATUSES = (SUCCEEDED, FAILED, REVERSED, REFUNDED)


@dataclass(frozen=True)
class MethodDefaults:
    enabled: bool
    fee_rate_bp: int
    settlement_cycle_days: int
    provider: str = ""


# What a new merchant gets before changing anything (typical published rates: WeChat/Alipay 0.38 %,
# bank card debit/credit ~0.6 %; stored value, points and coupons are the merchant's own money).
DEFAULTS: dict[str, MethodDefaults] = {
    "cash": MethodDefaults(True, 0, 0),
    "card": MethodDefaults(True, 60, 1),
    "wechat": MethodDefaults(True, 38, 1, "wechat"),
    "alipay": MethodDefaults(True, 38, 1, "alipay"),
    "stored_value": MethodDefaults(True, 0, 0),
    "points": MethodDefaults(True, 0, 0),
    "coupon": MethodDefaults(True, 0, 0),
}


def fee_fen(amount_fen: int, fee_rate_bp: int) -> int:
    """The provider's fee on one payment, half-up to the fen (providers charge per transaction)."""
    return money.apply_bp(amount_fen, fee_rate_bp)


def settlement_date(business_day: date, cycle_days: int) -> date:
    """T+N in calendar days (see the module docstring)."""
    if cycle_days < 0:
        raise ValueError("cycle_days must be >= 0")
    return business_day + timedelta(days=cycle_days)


def amount_problem(amount_fen: object) -> str | None:
    """Why an amount cannot be charged, or None. Integer fen only (never a float)."""
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        return N_("The amount must be a whole number of fen.")
    if amount_fen <= 0:
        return N_("The amount must be greater than zero.")
    if amount_fen > MAX_AMOUNT_FEN:
        return N_("The amount is over the limit for one payment.")
    return None


def fee_rate_problem(bp: int) -> str | None:
    if bp < 0 or bp > MAX_FEE_BP:
        return N_("The fee rate must be between 0 % and 10 %.")
    return None


def cycle_problem(days: int) -> str | None:
    if days not in SETTLEMENT_CYCLES:
        return N_("The settlement cycle must be T+0, T+1 or T+7.")
    return None


# --- money at the Alipay boundary -----------------------------------------------------------------

def fen_to_yuan(amount_fen: int) -> str:
    """Exact: 1250 → "12.50" (Alipay amounts are yuan strings with two decimals)."""
    return money.format_yuan(amount_fen)


_YUAN = re.compile(r"^[0-9]{1,13}(\.[0-9]{1,2})?$")


def yuan_to_fen(value: str) -> int:
    """Exact: "12.5" / "12.50" → 1250. Anything but plain digits with at most two decimals raises ValueError
    (no sign, no exponent, no more decimals: that is the providers' format)."""
    text = str(value).strip()
    if not _YUAN.match(text):
        raise ValueError(f"not an amount: {value!r}")
    return int(Decimal(text) * 100)


# --- customer payment codes (付款码) and card data --------------------------------------------------

_AUTH_CODE = re.compile(r"^[0-9]{16,24}$")
_DIGIT_RUN = re.compile(r"[0-9]{13,}")
_SEPARATORS = re.compile(r"[\s\-_.]")


class PaymentCode(str):
    """A scanned payment code: behaves as the string, but its repr shows only the last 4 digits, so a
    traceback that prints local variables (rich/structlog dev output) never shows the whole code."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"PaymentCode('…{self[-4:]}')"


def valid_auth_code(code: str) -> bool:
    """A scanned payment code: 16–24 digits (WeChat: 18 digits starting 10–15; Alipay: 16–24 digits)."""
    return bool(_AUTH_CODE.match(code or ""))


def last4(code: str) -> str:
    return (code or "")[-4:]


def looks_like_pan(value: str | None) -> bool:
    """True when a text holds 13 or more digits in a row (ignoring spaces and dashes): a card number
    (PAN) must never be accepted, stored or logged, so such input is refused before anything else."""
    if not value:
        return False
    return bool(_DIGIT_RUN.search(_SEPARATORS.sub("", value)))


# --- the settlement report ------------------------------------------------------------------------

@dataclass(frozen=True)
class SettlementItem:
    """One recorded movement: a payment (positive) or a refund (negative amount)."""

    business_day: date
    method: str
    amount_fen: int
    fee_rate_bp: int
    cycle_days: int


@dataclass
class SettlementRow:
    business_day: date
    method: str
    settlement_date: date
    count: int = 0
    gross_fen: int = 0
    refunds_fen: int = 0
    fee_fen: int = 0
    net_fen: int = 0


def settle(items: Iterable[SettlementItem]) -> list[SettlementRow]:
    """Group by (business day, method): gross, refunds, fees and net, with the expected settlement date.

    The fee is computed per payment (half-up to the fen) at the rate recorded with the payment;
    a refund gives back the fee on the refunded amount at the same rate (half-up per refund), as
    both wallets do. net = gross − refunds − fees. A cycle change applies to later payments only.
    """
    rows: dict[tuple[date, str, int], SettlementRow] = {}
    for it in items:
        key = (it.business_day, it.method, it.cycle_days)
        row = rows.get(key)
        if row is None:
            row = rows[key] = SettlementRow(it.business_day, it.method, settlement_date(it.business_day, it.cycle_days))
        fee = fee_fen(abs(it.amount_fen), it.fee_rate_bp)
        if it.amount_fen >= 0:
            row.count += 1
            row.gross_fen += it.amount_fen
            row.fee_fen += fee
        else:
            row.refunds_fen += -it.amount_fen
            row.fee_fen -= fee
    for row in rows.values():
        row.net_fen = row.gross_fen - row.refunds_fen - row.fee_fen
    order = {m: i for i, m in enumerate(METHODS)}
    return sorted(rows.values(), key=lambda r: (r.business_day, order.get(r.method, 99), r.settlement_date))
