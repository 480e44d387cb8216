"""Pure loyalty rules: card numbers, phones, points earn/redeem/expiry, tiers, RFM, top-up bonuses.

No database, no web. Money is int fen, points are ints, rates are int basis points; never floats.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import phonenumbers

from cloudpos.i18n import N_
from cloudpos.money import BP_SCALE, allocate

# --- card numbers ---------------------------------------------------------------------------------


def luhn_check_digit(digits: str) -> str:
    """The Luhn digit that makes `digits + d` valid."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and len(number) >= 2 and luhn_check_digit(number[:-1]) == number[-1]


def new_card_no(length: int = 10) -> str:
    """A random readable card number: `length` digits, first one not 0, last one a Luhn check digit."""
    if not 8 <= length <= 12:
        raise ValueError("card numbers have 8 to 12 digits")
    body = str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(length - 2))
    return body + luhn_check_digit(body)


def looks_like_card_no(text: str) -> bool:
    return 8 <= len(text) <= 12 and luhn_valid(text)


# --- phones and personal data ------------------------------------------------------------------


def normalize_phone(raw: str, region: str = "CN") -> str:
    """E.164 (`+8613812341234`) for a valid mobile/fixed number, else ValueError."""
    text = (raw or "").strip().replace(" ", "").replace("-", "")
    if not text:
        raise ValueError("empty")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(str(exc)) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("invalid number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def national_phone(e164: str | None) -> str:
    """`+8613812341234` → `13812341234`; other countries keep the international form."""
    if not e164:
        return ""
    return e164[3:] if e164.startswith("+86") else e164


def mask_phone(e164: str | None) -> str:
    """`138****1234`: the first three and last four digits."""
    digits = national_phone(e164)
    if not digits:
        return ""
    if len(digits) <= 7:
        return digits[:1] + "*" * (len(digits) - 1)
    return digits[:3] + "****" + digits[-4:]


def mask_email(email: str | None) -> str:
    if not email or "@" not in email:
        return ""
    local, domain = email.split("@", 1)
    return (local[:1] or "*") + "***@" + domain


def pin_problem(pin: str) -> str | None:
    """None when acceptable, else a short English reason (translated by the caller)."""
    if len(pin) != 6 or not pin.isdigit():
        return N_("The PIN must be exactly 6 digits.")
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        return N_("The PIN is too easy to guess.")
    return None


def is_birthday(birthday: date | None, today: date) -> bool:
    """29 February is celebrated on 28 February in other years."""
    if birthday is None:
        return False
    if birthday.month == 2 and birthday.day == 29 and not _leap(today.year):
        return today.month == 2 and today.day == 28
    return (birthday.month, birthday.day) == (today.month, today.day)


def in_birthday_month(birthday: date | None, today: date) -> bool:
    return birthday is not None and birthday.month == today.month


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# --- points ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EarnRule:
    fen_per_point: int = 100  # 1 point per yuan
    excluded_category_ids: frozenset[str] = frozenset()


def combined_multiplier_bp(tier_bp: int, birthday_double: bool = False, boosts_bp: Iterable[int] = ()) -> int:
    """Tier multiplier, doubled in the birthday month, times the best active campaign boost."""
    m = tier_bp * (2 if birthday_double else 1)
    best = max((b for b in boosts_bp if b > 0), default=BP_SCALE)
    return m * best // BP_SCALE


def earn_base_fen(paid_fen: int, eligible_fen_by_category: Mapping[str, int], excluded: Iterable[str],
                  points_paid_fen: int = 0, stored_value_paid_fen: int = 0) -> int:
    """The amount that earns points: eligible categories only, never the part paid with points or stored value.

    `paid_fen` is the sale total to pay; the part paid with real money is `paid - points - stored value`,
    and the eligible amount is scaled down to that share (floor)."""
    excluded = set(excluded)
    eligible = sum(max(0, v) for k, v in eligible_fen_by_category.items() if k not in excluded)
    eligible = min(eligible, max(0, paid_fen))
    cash = max(0, paid_fen - max(0, points_paid_fen) - max(0, stored_value_paid_fen))
    if paid_fen <= 0 or cash <= 0:
        return 0
    return eligible * cash // paid_fen


def earn_points(base_fen: int, rule: EarnRule, multiplier_bp: int = BP_SCALE) -> int:
    """Whole points for `base_fen` (floor: points are never rounded up)."""
    if base_fen <= 0 or rule.fen_per_point <= 0 or multiplier_bp <= 0:
        return 0
    return base_fen * multiplier_bp // (rule.fen_per_point * BP_SCALE)


@dataclass(frozen=True)
class RedeemRule:
    points_per_yuan: int = 100  # 100 points = ¥1
    max_order_bp: int = 5000  # at most 50 % of the order
    min_points: int = 100


@dataclass(frozen=True)
class PointsQuote:
    balance: int
    max_points: int
    max_value_fen: int
    points_per_yuan: int


def points_value_fen(points: int, rule: RedeemRule) -> int:
    return points * 100 // rule.points_per_yuan if points > 0 else 0


def points_for_value(value_fen: int, rule: RedeemRule) -> int:
    """The fewest points worth `value_fen` (ceil)."""
    return -(-value_fen * rule.points_per_yuan // 100) if value_fen > 0 else 0


def quote(balance: int, order_fen: int, rule: RedeemRule) -> PointsQuote:
    cap = max(0, order_fen) * rule.max_order_bp // BP_SCALE
    value = min(cap, points_value_fen(max(0, balance), rule))
    points = points_for_value(value, rule)
    if points < rule.min_points:
        value, points = 0, 0
    return PointsQuote(balance=balance, max_points=points, max_value_fen=value, points_per_yuan=rule.points_per_yuan)


def cumulative_share(total: int, part_cumulative: int, whole: int) -> int:
    """The share of `total` due for `part_cumulative` of `whole` (floor; the whole part gives all of it)."""
    if total <= 0:
        return 0
    if whole <= 0:
        return total if part_cumulative > 0 else 0
    part = min(max(0, part_cumulative), whole)
    return total * part // whole


def points_to_expire(credits_by_year: Mapping[int, int], total_debits: int, through_year: int, balance: int) -> int:
    """FIFO expiry: debits consume the oldest credits first; credits of years <= `through_year` left over expire.

    `total_debits` is the positive sum of every debit so far (redeem, reversal, adjustment, earlier expiry)."""
    old = sum(v for y, v in credits_by_year.items() if y <= through_year and v > 0)
    return max(0, min(balance, old - max(0, total_debits)))


def expiry_year_for(today: date) -> int:
    """Points earned in year Y expire at the end of Y+1: a run during year T expires years <= T-2."""
    return today.year - 2


# --- tiers -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierRule:
    id: str
    rank: int
    rule: str  # spend | visits | manual
    threshold_spend_fen: int = 0
    threshold_visits: int = 0
    period_days: int = 0
    is_default: bool = False


@dataclass(frozen=True)
class Stats:
    spend_fen: int = 0
    visits: int = 0


def qualifies(tier: TierRule, stats: Stats) -> bool:
    if tier.is_default:
        return True
    if tier.rule == "spend":
        return stats.spend_fen >= tier.threshold_spend_fen
    if tier.rule == "visits":
        return stats.visits >= tier.threshold_visits
    return False  # manual tiers are given by hand only


def qualifying_tier(tiers: Sequence[TierRule], stats_by_period: Mapping[int, Stats]) -> TierRule | None:
    """The best tier whose rule the member meets (the default tier when no other)."""
    best: TierRule | None = None
    for t in tiers:
        if qualifies(t, stats_by_period.get(t.period_days, Stats())) and (best is None or t.rank > best.rank):
            best = t
    return best


def next_tier(tiers: Sequence[TierRule], current_id: str | None, locked: bool,
              stats_by_period: Mapping[int, Stats], allow_downgrade: bool) -> str | None:
    """The tier the member should hold: upgrades always, downgrades only when allowed (the periodic job)."""
    if locked:
        return current_id
    by_id = {t.id: t for t in tiers}
    current = by_id.get(current_id) if current_id else None
    target = qualifying_tier(tiers, stats_by_period)
    if target is None:
        return current_id
    if current is None:
        return target.id
    if current.rule == "manual" and not allow_downgrade:
        return current_id
    if target.rank > current.rank or (allow_downgrade and target.rank < current.rank):
        return target.id
    return current_id


# --- RFM -----------------------------------------------------------------------------------------------

RFM_CLASSES: dict[str, str] = {
    # code: English label (Chinese in the catalog)
    "important_value": N_("Important value"),
    "important_develop": N_("Important to develop"),
    "important_keep": N_("Important to keep"),
    "important_retain": N_("Important to win back"),
    "general_value": N_("General value"),
    "general_develop": N_("General to develop"),
    "general_keep": N_("General to keep"),
    "general_retain": N_("General to win back"),
    "none": N_("No purchase yet"),
}

_RFM_BY_FLAGS = {
    (True, True, True): "important_value",
    (True, False, True): "important_develop",
    (False, True, True): "important_keep",
    (False, False, True): "important_retain",
    (True, True, False): "general_value",
    (True, False, False): "general_develop",
    (False, True, False): "general_keep",
    (False, False, False): "general_retain",
}


@dataclass(frozen=True)
class RfmThresholds:
    recent_days: int = 90
    frequent_visits: int = 3
    monetary_fen: int = 100_000


def rfm_flags(days_since_last: int | None, visits: int, spend_fen: int, t: RfmThresholds) -> tuple[bool, bool, bool]:
    recent = days_since_last is not None and days_since_last <= t.recent_days
    return recent, visits >= t.frequent_visits, spend_fen >= t.monetary_fen


def rfm_class(days_since_last: int | None, visits: int, spend_fen: int, t: RfmThresholds) -> str:
    if days_since_last is None or visits <= 0:
        return "none"
    return _RFM_BY_FLAGS[rfm_flags(days_since_last, visits, spend_fen, t)]


def rfm_code_for_flags(recent: bool, frequent: bool, monetary: bool) -> str:
    return _RFM_BY_FLAGS[(recent, frequent, monetary)]


# --- stored value ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BonusRule:
    threshold_fen: int
    bonus_fen: int


def top_up_bonus(amount_fen: int, rules: Iterable[BonusRule]) -> int:
    """The bonus of the best rule reached (highest threshold <= amount; the larger bonus on a tie)."""
    best: BonusRule | None = None
    for r in rules:
        if r.threshold_fen <= amount_fen and (
                best is None or (r.threshold_fen, r.bonus_fen) > (best.threshold_fen, best.bonus_fen)):
            best = r
    return best.bonus_fen if best else 0


def split_spend(amount_fen: int, principal_fen: int, bonus_fen: int) -> tuple[int, int]:
    """Split a payment between principal and bonus in proportion to the balances (exact, sums to amount)."""
    if amount_fen <= 0:
        return 0, 0
    if principal_fen + bonus_fen <= 0:
        return amount_fen, 0
    p, b = allocate(amount_fen, [max(0, principal_fen), max(0, bonus_fen)])
    # never take more of one part than there is (possible only through rounding at the very end)
    if b > bonus_fen:
        p, b = p + (b - bonus_fen), bonus_fen
    if p > principal_fen:
        p, b = principal_fen, b + (p - principal_fen)
    return p, b


# --- coupons ----------------------------------------------------------------------------------------

COUPON_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I


def new_coupon_code() -> str:
    raw = "".join(secrets.choice(COUPON_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def uuid_or_none(value: object) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None
