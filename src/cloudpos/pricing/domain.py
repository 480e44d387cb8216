"""The pure price engine of cloudpos: public API (no database, no web, no I/O).

Import everything from here::

    from cloudpos.pricing.domain import Cart, CartLine, Promotion, SpendSave, price_cart

    result = price_cart(cart, promotions, now)   # promotions: list or a cached PromotionIndex

Conventions
    money ``int`` fen; quantities ``int`` milli-units; rates ``int`` basis points of
    DISCOUNT (``percent_off_bp=1200`` is 8.8折, 5000 is half price, 10000 free). All
    rounding goes through :mod:`cloudpos.money` (half-up to the fen).

Order of application (``engine.evaluate``)
    member price / tier discount -> item promotions (特价, 组合价, 买赠, percent,
    amount) -> order promotions (整单折扣, 立减, 满减, gifts; thresholds on the
    item-discounted amounts) -> coupons -> manual discounts -> cash rounding (only
    on ``cash_due``). Order-level discounts are allocated to their lines by current
    amount with largest remainder; each line records its share.

Member benefits vs. ``stacks_with_member=False``
    item promotions compete with the member price line by line (买赠 / 组合价: over
    the lines they touch) and the cheaper wins; order promotions skip lines that
    keep a member price ("会员价商品不参与满减").

Held back, and said so in the explanation
    a promotion that would touch the cart now but runs only at other stores
    (named via ``price_cart(..., names=...)``), is for members / tiers / birthdays
    the customer does not match, or has a per-member limit (``max_uses_per_member``)
    that this member reached (``Customer.promotion_uses``) or that needs an
    identified member.

Choosing promotions (``engine.search``)
    an EXCLUSIVE promotion is used alone; STACKABLE ones combine with at most one
    per ``stack_group``. Small problems are searched exhaustively; larger ones
    compare the greedy best-per-group set (+ a threshold-repair variant), no
    promotion, and each exclusive alone, pruning with a sound bound. Ties: more
    gifts, then higher priority, then smaller id. The result explains the choice.
"""

from cloudpos.pricing.engine.context import PromotionIndex
from cloudpos.pricing.engine.model import (
    ALL_PRODUCTS,
    ALWAYS,
    AmountOff,
    ApplyTo,
    Bundle,
    BundleItem,
    BuyXGetY,
    Cart,
    CartLine,
    CashRounding,
    Coupon,
    CouponKind,
    CouponStatus,
    Customer,
    Gift,
    Id,
    ManualDiscount,
    ManualKind,
    PercentOff,
    Promotion,
    PromotionKind,
    Rule,
    Scope,
    SpecialPrice,
    SpendSave,
    SpendTier,
    Stacking,
    Validity,
)
from cloudpos.pricing.engine.pricer import cash_due, price_cart, price_combination
from cloudpos.pricing.engine.result import (
    AppliedDiscount,
    AppliedPromotion,
    ApprovalRequest,
    CouponUse,
    DiscountLevel,
    GiftLine,
    Message,
    OrderDiscount,
    PricedCart,
    PricedLine,
    SourceKind,
)
from cloudpos.pricing.engine.search import EXHAUSTIVE_LIMIT, EXHAUSTIVE_WORK
from cloudpos.pricing.engine.text import describe_promotion
from cloudpos.pricing.engine.validation import FieldError, validate_promotion

__all__ = [
    "ALL_PRODUCTS",
    "ALWAYS",
    "EXHAUSTIVE_LIMIT",
    "EXHAUSTIVE_WORK",
    "AmountOff",
    "AppliedDiscount",
    "AppliedPromotion",
    "ApplyTo",
    "ApprovalRequest",
    "Bundle",
    "BundleItem",
    "BuyXGetY",
    "Cart",
    "CartLine",
    "CashRounding",
    "Coupon",
    "CouponKind",
    "CouponStatus",
    "CouponUse",
    "Customer",
    "DiscountLevel",
    "FieldError",
    "Gift",
    "GiftLine",
    "Id",
    "ManualDiscount",
    "ManualKind",
    "Message",
    "OrderDiscount",
    "PercentOff",
    "PricedCart",
    "PricedLine",
    "Promotion",
    "PromotionIndex",
    "PromotionKind",
    "Rule",
    "Scope",
    "SourceKind",
    "SpecialPrice",
    "SpendSave",
    "SpendTier",
    "Stacking",
    "Validity",
    "cash_due",
    "describe_promotion",
    "price_cart",
    "price_combination",
    "validate_promotion",
]
