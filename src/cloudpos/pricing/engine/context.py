"""Per-call precomputation: canonical line order, list/member amounts, promotion index.

Lines are processed in a *canonical* order (sorted by product, sku, price,
quantity, line id) and results are mapped back to the caller's order, so the
price never depends on the order in which lines were scanned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from cloudpos.money import apply_bp, line_amount
from cloudpos.pricing.engine.model import (
    Bundle,
    BuyXGetY,
    Cart,
    CartLine,
    Customer,
    Id,
    Promotion,
)

MEMBER_PRICE_SOURCE = "member_price"
TIER_SOURCE_PREFIX = "tier:"


@dataclass(frozen=True)
class MemberBenefit:
    source_id: Id
    name_zh: str
    name_en: str
    amount_fen: int  # discount vs list amount


@dataclass(frozen=True)
class Applicable:
    """A promotion that is open now, for this customer and store, with the lines it can touch."""

    promo: Promotion
    lines: tuple[int, ...]  # canonical indices, ascending
    sort_key: tuple[int, int, int, str]


class PromotionIndex:
    """Promotions indexed by product / category / brand scope (build once, reuse).

    Looking up a cart costs O(lines x matching promotions) instead of
    O(lines x all promotions).
    """

    def __init__(self, promotions: Iterable[Promotion]) -> None:
        self.promotions: tuple[Promotion, ...] = tuple(promotions)
        ids = [p.id for p in self.promotions]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate promotion id")
        self._by_product: dict[Id, list[int]] = defaultdict(list)
        self._by_category: dict[Id, list[int]] = defaultdict(list)
        self._by_brand: dict[Id, list[int]] = defaultdict(list)
        self._everywhere: list[int] = []
        for position, promo in enumerate(self.promotions):
            self._register(position, promo)

    def _register(self, position: int, promo: Promotion) -> None:
        rule = promo.rule
        if isinstance(rule, Bundle):
            for product_id in {item.product_id for item in rule.items}:
                self._by_product[product_id].append(position)
            return
        if isinstance(rule, BuyXGetY):
            for product_id in rule.get_product_ids:
                self._by_product[product_id].append(position)
        scope = promo.scope
        if scope.scope_all:
            self._everywhere.append(position)
            return
        for product_id in scope.product_ids:
            self._by_product[product_id].append(position)
        for category_id in scope.category_ids:
            self._by_category[category_id].append(position)
        for brand_id in scope.brand_ids:
            self._by_brand[brand_id].append(position)

    def candidates(self, line: CartLine) -> set[int]:
        found = set(self._everywhere)
        found.update(self._by_product.get(line.product_id, ()))
        if line.brand_id is not None:
            found.update(self._by_brand.get(line.brand_id, ()))
        for category_id in line.category_ids:
            found.update(self._by_category.get(category_id, ()))
        return found


def canonical_key(line: CartLine) -> tuple[str, str, int, int, int, str]:
    member = -1 if line.member_price_fen is None else line.member_price_fen
    return (line.product_id, line.sku, line.unit_price_fen, line.qty_milli, member, line.line_id)


def validate_cart(cart: Cart, now: datetime) -> None:
    """Programming errors in the input raise ``ValueError`` (bad data, not business rules)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    seen: set[Id] = set()
    for line in cart.lines:
        if line.line_id in seen:
            raise ValueError(f"duplicate line_id {line.line_id!r}")
        seen.add(line.line_id)
        if line.qty_milli <= 0:
            raise ValueError(f"line {line.line_id}: quantity must be > 0")
        if line.unit_price_fen < 0 or (line.member_price_fen is not None and line.member_price_fen < 0):
            raise ValueError(f"line {line.line_id}: prices must be >= 0")
    if not 0 <= cart.customer.tier_discount_bp <= 10_000:
        raise ValueError("tier_discount_bp must be within 0..10000")
    for manual in cart.manual_discounts:
        if manual.line_id is not None and manual.line_id not in seen:
            raise ValueError(f"manual discount {manual.id}: unknown line {manual.line_id!r}")


def member_benefit(line: CartLine, list_amount: int, customer: Customer) -> MemberBenefit | None:
    """Best of member price and tier discount for a member (member price wins ties)."""
    if not customer.is_member:
        return None
    best: MemberBenefit | None = None
    if line.member_price_fen is not None and line.member_price_fen < line.unit_price_fen:
        saved = list_amount - line_amount(line.member_price_fen, line.qty_milli)
        if saved > 0:
            best = MemberBenefit(MEMBER_PRICE_SOURCE, "会员价", "Member price", saved)
    if customer.tier_discount_bp > 0:
        saved = apply_bp(list_amount, customer.tier_discount_bp)
        if saved > 0 and (best is None or saved > best.amount_fen):
            source = TIER_SOURCE_PREFIX + (customer.tier_id or "")
            best = MemberBenefit(source, "会员折扣", "Member tier discount", saved)
    return best


class PricingContext:
    """Everything about the cart that does not depend on the promotion combination."""

    def __init__(self, cart: Cart, now: datetime) -> None:
        validate_cart(cart, now)
        self.cart = cart
        self.customer = cart.customer
        self.local_now = now.astimezone(ZoneInfo(cart.store_tz))
        self.now = now
        order = sorted(range(len(cart.lines)), key=lambda i: canonical_key(cart.lines[i]))
        self.input_position = order  # canonical index -> caller's index
        self.lines: tuple[CartLine, ...] = tuple(cart.lines[i] for i in order)
        self.list_amounts = [line_amount(ln.unit_price_fen, ln.qty_milli) for ln in self.lines]
        self.benefits = [
            member_benefit(ln, amount, self.customer)
            for ln, amount in zip(self.lines, self.list_amounts, strict=True)
        ]
        self.member_amounts = [
            amount - (b.amount_fen if b else 0) for amount, b in zip(self.list_amounts, self.benefits, strict=True)
        ]
        self.member_flags = [b is not None for b in self.benefits]
        self.line_index = {ln.line_id: i for i, ln in enumerate(self.lines)}

    @property
    def size(self) -> int:
        return len(self.lines)

    def is_open(self, promo: Promotion) -> bool:
        """Validity window, store, and customer conditions."""
        if promo.store_ids is not None and self.cart.store_id not in promo.store_ids:
            return False
        return promo.validity.is_open(self.local_now) and self.customer_allowed(promo)

    def customer_allowed(self, promo: Promotion) -> bool:
        customer = self.customer
        if promo.member_only and not customer.is_member:
            return False
        if promo.tier_ids and (not customer.is_member or customer.tier_id not in promo.tier_ids):
            return False
        return not (promo.birthday_only and not customer.birthday_today)

    def eligible_lines(self, promo: Promotion, positions: Sequence[int]) -> tuple[int, ...]:
        """Canonical indices of the lines ``promo`` may touch (``positions`` from the index)."""
        rule = promo.rule
        if isinstance(rule, Bundle):
            wanted = {item.product_id for item in rule.items}
            return tuple(i for i in positions if self.lines[i].product_id in wanted)
        if isinstance(rule, BuyXGetY) and rule.get_product_ids:
            return tuple(
                i
                for i in positions
                if self.lines[i].product_id in rule.get_product_ids or promo.scope.matches(self.lines[i])
            )
        return tuple(i for i in positions if promo.scope.matches(self.lines[i]))
