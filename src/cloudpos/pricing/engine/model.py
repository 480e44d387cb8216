"""Input value objects of the price engine (all frozen, all money in int fen).

Representation decisions (used consistently by every module):

* money: ``int`` fen; quantities: ``int`` milli-units (1 piece / 1 kg = 1000);
* rates: ``percent_off_bp`` is the DISCOUNT in basis points, so 8.8折 (pay 88 %)
  is ``percent_off_bp=1200`` and "half price" is ``5000``; ``10000`` = free;
* ids are strings (the service layer passes ``str(uuid)``);
* weekdays are ISO numbers, Monday = 1 ... Sunday = 7;
* sequence/set fields accept any iterable and are frozen into tuples/frozensets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from types import MappingProxyType

Id = str


def _freeze_set(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, frozenset):
            object.__setattr__(obj, name, frozenset(value))


def _freeze_tuple(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, tuple):
            object.__setattr__(obj, name, tuple(value))


class PromotionKind(StrEnum):
    PERCENT_OFF = "percent_off"
    AMOUNT_OFF = "amount_off"
    SPECIAL_PRICE = "special_price"
    SPEND_SAVE = "spend_save"
    BUY_X_GET_Y = "buy_x_get_y"
    GIFT = "gift"
    BUNDLE = "bundle"


class ApplyTo(StrEnum):
    ITEM = "item"
    ORDER = "order"


class Stacking(StrEnum):
    EXCLUSIVE = "exclusive"
    STACKABLE = "stackable"


class CouponKind(StrEnum):
    AMOUNT_OFF = "amount_off"
    PERCENT_OFF = "percent_off"


class CouponStatus(StrEnum):
    ACTIVE = "active"
    USED = "used"
    EXPIRED = "expired"
    VOID = "void"


class ManualKind(StrEnum):
    PERCENT = "percent"
    AMOUNT = "amount"


class CashRounding(StrEnum):
    NONE = "none"
    JIAO_DOWN = "jiao_down"
    JIAO_NEAREST = "jiao_nearest"
    YUAN_DOWN = "yuan_down"
    YUAN_NEAREST = "yuan_nearest"


# --------------------------------------------------------------------------- cart


@dataclass(frozen=True)
class CartLine:
    line_id: Id
    product_id: Id
    sku: str
    name: str
    qty_milli: int
    unit_price_fen: int
    category_id: Id | None = None
    category_ancestor_ids: tuple[Id, ...] = ()
    brand_id: Id | None = None
    member_price_fen: int | None = None
    sold_by_weight: bool = False

    def __post_init__(self) -> None:
        _freeze_tuple(self, "category_ancestor_ids")

    @property
    def category_ids(self) -> tuple[Id, ...]:
        """The line's own category followed by all its ancestors."""
        own = () if self.category_id is None else (self.category_id,)
        return own + self.category_ancestor_ids


@dataclass(frozen=True)
class Customer:
    """Who is buying. ``tier_discount_bp`` is a discount (500 = 9.5折).

    ``promotion_uses``: how many earlier sales of this member used each promotion
    (promotion id -> count, net of uses given back by refunds); only the promotions
    with a per-member limit need to be present.
    """

    is_member: bool = False
    member_id: Id | None = None
    tier_id: Id | None = None
    tier_discount_bp: int = 0
    birthday_today: bool = False
    promotion_uses: Mapping[Id, int] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.promotion_uses, MappingProxyType):
            object.__setattr__(self, "promotion_uses", MappingProxyType(dict(self.promotion_uses)))


@dataclass(frozen=True)
class Scope:
    """Which lines a promotion or coupon covers.

    A line matches when it is not excluded and either ``scope_all`` is set or
    its product, brand, own category or any ancestor category is listed.
    An all-empty scope matches nothing (and is refused by validation).
    """

    scope_all: bool = False
    product_ids: frozenset[Id] = frozenset()
    category_ids: frozenset[Id] = frozenset()
    brand_ids: frozenset[Id] = frozenset()
    exclude_product_ids: frozenset[Id] = frozenset()
    exclude_category_ids: frozenset[Id] = frozenset()
    exclude_brand_ids: frozenset[Id] = frozenset()

    def __post_init__(self) -> None:
        _freeze_set(
            self,
            "product_ids",
            "category_ids",
            "brand_ids",
            "exclude_product_ids",
            "exclude_category_ids",
            "exclude_brand_ids",
        )

    @property
    def is_empty(self) -> bool:
        return not (self.scope_all or self.product_ids or self.category_ids or self.brand_ids)

    def excludes(self, line: CartLine) -> bool:
        return (
            line.product_id in self.exclude_product_ids
            or (line.brand_id is not None and line.brand_id in self.exclude_brand_ids)
            or any(c in self.exclude_category_ids for c in line.category_ids)
        )

    def matches(self, line: CartLine) -> bool:
        if self.excludes(line):
            return False
        return (
            self.scope_all
            or line.product_id in self.product_ids
            or (line.brand_id is not None and line.brand_id in self.brand_ids)
            or any(c in self.category_ids for c in line.category_ids)
        )


ALL_PRODUCTS = Scope(scope_all=True)


@dataclass(frozen=True)
class Validity:
    """When a promotion runs, evaluated in the store's local time.

    Dates are inclusive; ``weekdays`` empty = every day; the time window is
    ``[time_from, time_to)`` and wraps midnight when ``time_from > time_to``
    (the weekday checked is the local calendar day of the moment).
    """

    start_date: date | None = None
    end_date: date | None = None
    weekdays: frozenset[int] = frozenset()
    time_from: time | None = None
    time_to: time | None = None

    def __post_init__(self) -> None:
        _freeze_set(self, "weekdays")

    def is_open(self, local: datetime) -> bool:
        """Open at ``local`` (a datetime already in the store's time zone)?"""
        return self.is_open_on(local.date(), local.isoweekday(), local.time())

    def is_open_on(self, day: date, isoweekday: int, clock: time) -> bool:
        if self.start_date is not None and day < self.start_date:
            return False
        if self.end_date is not None and day > self.end_date:
            return False
        if self.weekdays and isoweekday not in self.weekdays:
            return False
        return self._time_open(clock)

    def _time_open(self, now: time) -> bool:
        start, end = self.time_from, self.time_to
        if start is None and end is None:
            return True
        if start is None:
            return now < end  # type: ignore[operator]
        if end is None:
            return now >= start
        if start <= end:
            return start <= now < end
        return now >= start or now < end


ALWAYS = Validity()


# --------------------------------------------------------------------------- promotion rules


@dataclass(frozen=True)
class PercentOff:
    """``percent_off_bp`` off each scoped item (ITEM) or off the scoped order total (ORDER)."""

    percent_off_bp: int
    apply_to: ApplyTo = ApplyTo.ITEM
    min_spend_fen: int = 0  # ORDER only: threshold over the scope


@dataclass(frozen=True)
class AmountOff:
    """``amount_fen`` off each unit (per kg for weighed goods) or once off the order."""

    amount_fen: int
    apply_to: ApplyTo = ApplyTo.ITEM
    min_spend_fen: int = 0  # ORDER only


@dataclass(frozen=True)
class SpecialPrice:
    """特价: the scoped products sell at ``unit_price_fen`` (if that is lower)."""

    unit_price_fen: int


@dataclass(frozen=True)
class SpendTier:
    threshold_fen: int
    save_fen: int


@dataclass(frozen=True)
class SpendSave:
    """满减, either tiered (``tiers``) or repeating (每满 ``every_fen`` 减 ``save_fen``)."""

    tiers: tuple[SpendTier, ...] = ()
    every_fen: int | None = None
    save_fen: int | None = None
    cap_fen: int | None = None

    def __post_init__(self) -> None:
        _freeze_tuple(self, "tiers")

    @property
    def repeating(self) -> bool:
        return not self.tiers


@dataclass(frozen=True)
class BuyXGetY:
    """Buy ``buy_qty`` get ``get_qty`` at ``get_percent_off_bp`` off (10000 = free).

    Without ``get_product_ids`` the Y items are the same product (or, with
    ``mix_and_match``, any scoped product). With ``get_product_ids`` buying
    X scoped units discounts Y units of those products.
    """

    buy_qty: int
    get_qty: int
    get_percent_off_bp: int = 10_000
    get_product_ids: frozenset[Id] = frozenset()
    discount_most_expensive: bool = False
    mix_and_match: bool = False

    def __post_init__(self) -> None:
        _freeze_set(self, "get_product_ids")


@dataclass(frozen=True)
class Gift:
    """赠品: reaching ``min_spend_fen`` and/or ``min_qty_milli`` over the scope adds a free line."""

    gift_product_id: Id
    gift_name: str
    gift_qty_milli: int = 1000
    min_spend_fen: int | None = None
    min_qty_milli: int | None = None
    repeat: bool = False  # 每满: one gift set per multiple of the threshold


@dataclass(frozen=True)
class BundleItem:
    product_id: Id
    qty: int  # whole units


@dataclass(frozen=True)
class Bundle:
    """组合价: the listed items together cost ``price_fen`` (per complete bundle)."""

    items: tuple[BundleItem, ...]
    price_fen: int

    def __post_init__(self) -> None:
        _freeze_tuple(self, "items")


Rule = PercentOff | AmountOff | SpecialPrice | SpendSave | BuyXGetY | Gift | Bundle

_KIND_BY_RULE: dict[type, PromotionKind] = {
    PercentOff: PromotionKind.PERCENT_OFF,
    AmountOff: PromotionKind.AMOUNT_OFF,
    SpecialPrice: PromotionKind.SPECIAL_PRICE,
    SpendSave: PromotionKind.SPEND_SAVE,
    BuyXGetY: PromotionKind.BUY_X_GET_Y,
    Gift: PromotionKind.GIFT,
    Bundle: PromotionKind.BUNDLE,
}


@dataclass(frozen=True)
class Promotion:
    """A promotion. ``rule`` carries the kind-specific parameters.

    Stacking: ``EXCLUSIVE`` promotions are never combined with any other
    promotion in the same order; ``STACKABLE`` ones combine except that at most
    one promotion per ``stack_group`` is used per order (``None`` = no group).
    ``stacks_with_member`` says whether member price / tier discount may apply
    on top (see the engine docs for the exact rule). ``priority``: higher wins ties.
    ``max_uses_per_order`` caps the units / groups / repetitions one order gets;
    ``max_uses_per_member`` caps how many sales of one member may use the
    promotion (counted in ``Customer.promotion_uses``): such a promotion needs
    an identified member, as a walk-in customer's uses cannot be counted.
    The scope has no "everything" default: pass ``ALL_PRODUCTS`` explicitly (an
    empty scope matches nothing and is refused by ``validate_promotion``;
    bundles are scoped by their items).
    """

    id: Id
    name: str
    rule: Rule
    scope: Scope = Scope()
    validity: Validity = ALWAYS
    store_ids: frozenset[Id] | None = None
    member_only: bool = False
    tier_ids: frozenset[Id] = frozenset()
    birthday_only: bool = False
    priority: int = 0
    stacking: Stacking = Stacking.STACKABLE
    stack_group: str | None = None
    stacks_with_member: bool = True
    max_uses_per_order: int | None = None
    max_uses_per_member: int | None = None

    def __post_init__(self) -> None:
        _freeze_set(self, "tier_ids")
        if self.store_ids is not None:
            _freeze_set(self, "store_ids")

    @property
    def kind(self) -> PromotionKind:
        return _KIND_BY_RULE[type(self.rule)]

    @property
    def order_level(self) -> bool:
        """Order-level promotions spread one discount over the scoped lines."""
        rule = self.rule
        if isinstance(rule, PercentOff | AmountOff):
            return rule.apply_to is ApplyTo.ORDER
        return isinstance(rule, SpendSave | Gift)

    @property
    def exclusive(self) -> bool:
        return self.stacking is Stacking.EXCLUSIVE


# --------------------------------------------------------------------------- coupons & manual


@dataclass(frozen=True)
class Coupon:
    """A presented coupon (already loaded). ``value``: fen for AMOUNT_OFF, bp off for PERCENT_OFF."""

    code: str
    kind: CouponKind
    value: int
    threshold_fen: int = 0
    scope: Scope = ALL_PRODUCTS
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    status: CouponStatus = CouponStatus.ACTIVE
    name: str = ""
    template_id: Id | None = None
    max_discount_fen: int | None = None  # optional cap for percent coupons


@dataclass(frozen=True)
class ManualDiscount:
    """A cashier discount on one line (``line_id``) or the whole order (``line_id=None``).

    ``value`` is bp off for PERCENT and fen for AMOUNT. ``max_allowed_bp`` is the
    largest discount (in bp of the target amount) the cashier's role may give;
    above it the discount is NOT applied unless ``approved`` is set.
    """

    id: Id
    kind: ManualKind
    value: int
    max_allowed_bp: int
    line_id: Id | None = None
    approved: bool = False
    reason: str = ""


@dataclass(frozen=True)
class Cart:
    store_id: Id
    store_tz: str
    lines: tuple[CartLine, ...]
    customer: Customer = field(default_factory=Customer)
    coupons: tuple[Coupon, ...] = ()
    manual_discounts: tuple[ManualDiscount, ...] = ()
    cash_rounding: CashRounding = CashRounding.NONE

    def __post_init__(self) -> None:
        _freeze_tuple(self, "lines", "coupons", "manual_discounts")
