"""Output value objects of the price engine (frozen, money in int fen)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cloudpos.pricing.engine.model import Id


class SourceKind(StrEnum):
    PROMOTION = "promotion"
    COUPON = "coupon"
    MANUAL = "manual"
    MEMBER = "member"


class DiscountLevel(StrEnum):
    ITEM = "item"  # computed on the line itself (特价, 买赠, member price, line manual ...)
    ORDER = "order"  # the line's allocated share of an order-level discount


@dataclass(frozen=True)
class Message:
    """A human-readable text in both languages."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang.lower().startswith("en") else self.zh

    def as_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


@dataclass(frozen=True, init=False)
class AppliedDiscount:
    source_kind: SourceKind
    source_id: Id
    name: str
    amount_fen: int
    level: DiscountLevel

    def __init__(
        self, source_kind: SourceKind, source_id: Id, name: str, amount_fen: int, level: DiscountLevel
    ) -> None:
        # Hot path (hundreds per priced cart): fill the frozen instance directly, ~3x faster
        # than the generated __init__ (one object.__setattr__ call per field). Same semantics.
        self.__dict__.update(
            source_kind=source_kind, source_id=source_id, name=name, amount_fen=amount_fen, level=level
        )


@dataclass(frozen=True, init=False)
class PricedLine:
    line_id: Id
    product_id: Id
    sku: str
    name: str
    qty_milli: int
    unit_price_fen: int
    list_amount_fen: int
    discounts: tuple[AppliedDiscount, ...]
    discount_fen: int
    final_amount_fen: int

    def __init__(
        self,
        line_id: Id,
        product_id: Id,
        sku: str,
        name: str,
        qty_milli: int,
        unit_price_fen: int,
        list_amount_fen: int,
        discounts: tuple[AppliedDiscount, ...],
        discount_fen: int,
        final_amount_fen: int,
    ) -> None:
        # hot path, see AppliedDiscount.__init__
        self.__dict__.update(
            line_id=line_id,
            product_id=product_id,
            sku=sku,
            name=name,
            qty_milli=qty_milli,
            unit_price_fen=unit_price_fen,
            list_amount_fen=list_amount_fen,
            discounts=discounts,
            discount_fen=discount_fen,
            final_amount_fen=final_amount_fen,
        )

    @property
    def allocated_order_discount_fen(self) -> int:
        """This line's share of order-level discounts (what a refund must take back)."""
        return sum(d.amount_fen for d in self.discounts if d.level is DiscountLevel.ORDER)


@dataclass(frozen=True)
class OrderDiscount:
    """An order-level discount; each line's share is recorded on the line (level ORDER).

    Use ``PricedCart.allocations(discount)`` for the per-line split.
    """

    source_kind: SourceKind
    source_id: Id
    name: str
    amount_fen: int


@dataclass(frozen=True)
class GiftLine:
    product_id: Id
    name: str
    qty_milli: int
    promotion_id: Id
    promotion_name: str
    unit_price_fen: int = 0
    amount_fen: int = 0


@dataclass(frozen=True)
class AppliedPromotion:
    promotion_id: Id
    name: str
    amount_fen: int
    gift_qty_milli: int = 0


@dataclass(frozen=True)
class CouponUse:
    code: str
    usable: bool
    amount_fen: int
    reason_code: str  # "applied", "status", "not_started", "expired", "duplicate", ...
    message: Message


@dataclass(frozen=True)
class ApprovalRequest:
    manual_id: Id
    line_id: Id | None
    requested_bp: int
    allowed_bp: int
    message: Message


@dataclass(frozen=True)
class PricedCart:
    lines: tuple[PricedLine, ...]
    order_discounts: tuple[OrderDiscount, ...]
    gifts: tuple[GiftLine, ...]
    applied_promotions: tuple[AppliedPromotion, ...]
    coupons: tuple[CouponUse, ...]
    approvals: tuple[ApprovalRequest, ...]
    subtotal_fen: int
    discount_total_fen: int
    total_fen: int
    cash_rounding_fen: int
    cash_due_fen: int
    explanation: tuple[Message, ...]

    @property
    def needs_approval(self) -> bool:
        """True when a manual discount above the cashier's limit was held back."""
        return bool(self.approvals)

    @property
    def unusable_coupons(self) -> tuple[CouponUse, ...]:
        return tuple(c for c in self.coupons if not c.usable)

    def allocations(self, discount: OrderDiscount) -> dict[Id, int]:
        """line_id -> fen of ``discount`` allocated to that line (lines with a zero share omitted)."""
        out: dict[Id, int] = {}
        for priced in self.lines:
            for applied in priced.discounts:
                if (
                    applied.level is DiscountLevel.ORDER
                    and applied.source_kind is discount.source_kind
                    and applied.source_id == discount.source_id
                ):
                    out[priced.line_id] = out.get(priced.line_id, 0) + applied.amount_fen
        return out

    def line(self, line_id: Id) -> PricedLine:
        for priced in self.lines:
            if priced.line_id == line_id:
                return priced
        raise KeyError(line_id)
