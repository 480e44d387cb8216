"""Per-call precomputation: canonical line order, list/member amounts, promotion index.

Lines are processed in a *canonical* order (sorted by product, sku, price,
quantity, line id) and results are mapped back to the caller's order, so the
price never depends on the order in which lines were scanned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
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
    PromotionKind,
    Scope,
)

_LINE_CACHE_SIZE = 50_000  # product signatures remembered by a PromotionIndex
_OPEN_CACHE_SIZE = 64  # (store-local day, minute) keys remembered by a PromotionIndex
LocalParts = tuple[date, int, time]  # store-local date, ISO weekday, time of day
MEMBER_PRICE_SOURCE = "member_price"
TIER_SOURCE_PREFIX = "tier:"


@dataclass(frozen=True)
class MemberBenefit:
    source_id: Id
    name_zh: str
    name_en: str
    amount_fen: int  # discount vs list amount


@dataclass(slots=True, eq=False)
class Applicable:
    """A promotion that is open now, for this customer and store, with the lines it can touch.

    Internal, created ~100 times per call: a plain slotted class (cheaper than frozen).
    """

    promo: Promotion
    lines: tuple[int, ...]  # canonical indices, ascending
    sort_key: tuple[int, int, int, str]
    order_level: bool


class PromotionIndex:
    """Promotions indexed by product / category / brand scope (build once, reuse).

    Looking up a cart costs O(lines x matching promotions) instead of
    O(lines x all promotions). Keep one per store/tenant and promotion version:
    it also memoises per-promotion data and per-product lookups (idempotent
    caches, safe to share between threads).
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
        self._static: dict[int, tuple[tuple[int, int, int, str], bool]] = {}
        self._line_cache: dict[tuple[object, ...], tuple[int, ...]] = {}
        # Validity windows change at most once a minute when every time bound is a whole minute
        # (the service stores "HH:MM"): then the open promotions are computed once per local minute.
        self._minute_granular = all(
            t is None or (t.second == 0 and t.microsecond == 0)
            for p in self.promotions
            for t in (p.validity.time_from, p.validity.time_to)
        )
        self._open_cache: dict[tuple[date, int, int], frozenset[int]] = {}
        # promotion id -> per-member limit: the service loads a member's use counts for these only
        self.member_limits: dict[Id, int] = {
            p.id: p.max_uses_per_member for p in self.promotions if p.max_uses_per_member is not None
        }

    def open_at(self, parts: LocalParts) -> Container[int] | None:
        """Positions of the promotions whose validity window is open at ``parts`` (cached per
        store-local minute), or None when the windows are finer than a minute (check each)."""
        if not self._minute_granular:
            return None
        day, weekday, clock = parts
        key = (day, clock.hour, clock.minute)
        found = self._open_cache.get(key)
        if found is None:
            minute = time(clock.hour, clock.minute)
            found = frozenset(
                k for k, p in enumerate(self.promotions) if p.validity.is_open_on(day, weekday, minute)
            )
            if len(self._open_cache) >= _OPEN_CACHE_SIZE:
                self._open_cache.clear()
            self._open_cache[key] = found
        return found

    def static_info(self, position: int) -> tuple[tuple[int, int, int, str], bool]:
        """(application key, order level) of a promotion, computed on first use and cached."""
        info = self._static.get(position)
        if info is None:
            promo = self.promotions[position]
            info = self._static[position] = (application_key(promo), promo.order_level)
        return info

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
        """Positions of the promotions whose scope may include ``line`` (before exclusions)."""
        return set(self.scoped_candidates(line)).union(self._everywhere)

    def scoped_candidates(self, line: CartLine) -> tuple[int, ...]:
        """Positions registered under the line's product, brand or categories (cached per signature)."""
        signature = (line.product_id, line.brand_id, line.category_id, line.category_ancestor_ids)
        found = self._line_cache.get(signature)
        if found is None:
            positions = set(self._by_product.get(line.product_id, ()))
            if line.brand_id is not None:
                positions.update(self._by_brand.get(line.brand_id, ()))
            for category_id in line.category_ids:
                positions.update(self._by_category.get(category_id, ()))
            if len(self._line_cache) >= _LINE_CACHE_SIZE:
                self._line_cache.clear()
            found = self._line_cache[signature] = tuple(sorted(positions))
        return found

    @property
    def everywhere(self) -> list[int]:
        """Positions of the ``scope_all`` promotions (they may touch every line)."""
        return self._everywhere


_ITEM_PHASE = {
    PromotionKind.SPECIAL_PRICE: 0,
    PromotionKind.BUNDLE: 1,
    PromotionKind.BUY_X_GET_Y: 2,
    PromotionKind.PERCENT_OFF: 3,
    PromotionKind.AMOUNT_OFF: 4,
}
_ORDER_PHASE = {
    PromotionKind.PERCENT_OFF: 0,
    PromotionKind.AMOUNT_OFF: 1,
    PromotionKind.SPEND_SAVE: 2,
    PromotionKind.GIFT: 3,
}


def application_key(promo: Promotion) -> tuple[int, int, int, str]:
    """Order in which a combination's promotions are applied.

    Item rules that do not stack with member benefits first (they compete with
    the member price on list prices), then the other item rules, then order
    rules; within each: 特价, 组合价, 买赠, percent, amount / 整单折扣, 立减, 满减,
    gifts; then higher priority first, then id.
    """
    if promo.order_level:
        return (2, _ORDER_PHASE[promo.kind], -promo.priority, promo.id)
    return (1 if promo.stacks_with_member else 0, _ITEM_PHASE[promo.kind], -promo.priority, promo.id)


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
            source = TIER_SOURCE_PREFIX + customer.tier_id if customer.tier_id else "tier"
            best = MemberBenefit(source, "会员折扣", "Member tier discount", saved)
    return best


class PricingContext:
    """Everything about the cart that does not depend on the promotion combination."""

    def __init__(self, cart: Cart, now: datetime) -> None:
        validate_cart(cart, now)
        self.cart = cart
        self.customer = cart.customer
        self.local_now = now.astimezone(ZoneInfo(cart.store_tz))
        self._local_parts: LocalParts = (self.local_now.date(), self.local_now.isoweekday(), self.local_now.time())
        self.now = now
        order = sorted(range(len(cart.lines)), key=lambda i: canonical_key(cart.lines[i]))
        self.input_position = order  # canonical index -> caller's index
        self.lines: tuple[CartLine, ...] = tuple(cart.lines[i] for i in order)
        self.list_amounts = [line_amount(ln.unit_price_fen, ln.qty_milli) for ln in self.lines]
        self.benefits = [
            member_benefit(ln, amount, self.customer) for ln, amount in zip(self.lines, self.list_amounts, strict=True)
        ]
        self.member_amounts = [
            amount - (b.amount_fen if b else 0) for amount, b in zip(self.list_amounts, self.benefits, strict=True)
        ]
        self.member_flags = [b is not None for b in self.benefits]
        self.line_index = {ln.line_id: i for i, ln in enumerate(self.lines)}
        self.category_sets = [frozenset(ln.category_ids) for ln in self.lines]

    @property
    def size(self) -> int:
        return len(self.lines)

    def runs_now(self, promo: Promotion) -> bool:
        """Store and validity window (store local time); customer conditions are separate."""
        return self.open_now(promo) and self.runs_here(promo)

    @property
    def local_parts(self) -> LocalParts:
        return self._local_parts

    def open_now(self, promo: Promotion) -> bool:
        """The validity window (dates, weekdays, time of day) in the store's local time."""
        return promo.validity.is_open_on(*self._local_parts)

    def runs_here(self, promo: Promotion) -> bool:
        return promo.store_ids is None or self.cart.store_id in promo.store_ids

    def customer_allowed(self, promo: Promotion) -> bool:
        return self.customer_problem(promo) is None

    def customer_problem(self, promo: Promotion) -> str | None:
        """Why this customer may not have ``promo`` (a reason code), or None.

        ``member_limit`` means the promotion counts uses per member and the
        customer is not an identified member; ``member_limit_reached`` that this
        member has used it as often as allowed.
        """
        customer = self.customer
        if promo.member_only and not customer.is_member:
            return "member_only"
        if promo.tier_ids and (not customer.is_member or customer.tier_id not in promo.tier_ids):
            return "tier"
        if promo.birthday_only and not customer.birthday_today:
            return "birthday"
        limit = promo.max_uses_per_member
        if limit is not None:
            if not customer.is_member:
                return "member_limit"
            if customer.promotion_uses.get(promo.id, 0) >= limit:
                return "member_limit_reached"
        return None

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
                if self.lines[i].product_id in rule.get_product_ids or self.scope_matches(promo.scope, i)
            )
        scope = promo.scope
        if not (scope.exclude_product_ids or scope.exclude_brand_ids or scope.exclude_category_ids):
            return tuple(positions)  # the index already proved inclusion
        return tuple(i for i in positions if not self.scope_excludes(scope, i))

    def scope_excludes(self, scope: Scope, index: int) -> bool:
        line = self.lines[index]
        return (
            line.product_id in scope.exclude_product_ids
            or line.brand_id in scope.exclude_brand_ids
            or not scope.exclude_category_ids.isdisjoint(self.category_sets[index])
        )

    def scope_matches(self, scope: Scope, index: int) -> bool:
        """``scope.matches(line)`` with the line's categories as a precomputed set (hot path)."""
        if self.scope_excludes(scope, index):
            return False
        line = self.lines[index]
        categories = self.category_sets[index]
        return (
            scope.scope_all
            or line.product_id in scope.product_ids
            or line.brand_id in scope.brand_ids
            or not scope.category_ids.isdisjoint(categories)
        )
