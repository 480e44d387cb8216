"""Pricing a cart on the server: resolve scanned codes, load facts, promotions, member and coupons,
run the pure engine. Quotes write nothing; checkout prices the same way inside the sale transaction."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.catalog import service as catalog
from cloudpos.context import Actor
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound
from cloudpos.i18n import N_, current_locale
from cloudpos.money import line_amount, milli_to_str, qty_to_milli
from cloudpos.pricing import codec, promotions, usage
from cloudpos.pricing import coupons as coupon_store
from cloudpos.pricing import domain as d
from cloudpos.pricing.models import MemberPrice
from cloudpos.pricing.schemas import DiscountOut, QuoteIn, QuoteLineOut, QuoteOut
from cloudpos.tenancy import service as tenancy


@dataclass(frozen=True)
class WantedLine:
    product_id: uuid.UUID | None
    code: str | None
    quantity: str


@dataclass(frozen=True)
class WantedManual:
    line_index: int | None
    percent_bp: int | None
    amount: int | None
    reason: str = ""


@dataclass(frozen=True)
class ResolvedLine:
    index: int
    facts: Any  # catalog SaleFacts
    qty_milli: int
    unit_price: int
    code: str = ""


@dataclass
class Priced:
    store_id: uuid.UUID
    lines: list[ResolvedLine]
    result: d.PricedCart
    coupon_problems: dict[str, str] = field(default_factory=dict)
    member: Any = None
    member_limits: dict[str, int] = field(default_factory=dict)  # promotion id -> uses allowed per member


class LazyNames(Mapping[str, str]):
    """Display names loaded on first use: the engine reads names only when a message needs one
    (a promotion of other stores), so most quotes never run the query."""

    def __init__(self, load: Callable[[], dict[str, str]]) -> None:
        self._load: Callable[[], dict[str, str]] | None = load
        self._names: dict[str, str] = {}

    def _get(self) -> dict[str, str]:
        if self._load is not None:
            self._names, self._load = self._load(), None
        return self._names

    def __getitem__(self, key: str) -> str:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


_cache_lock = threading.Lock()
_index_cache: dict[uuid.UUID, tuple[Any, d.PromotionIndex]] = {}


def promotion_index(db: Session, tenant_id: uuid.UUID) -> d.PromotionIndex:
    """The engine's index of the tenant's active promotions, rebuilt only when a promotion changed
    (checked with one indexed query, so every process sees changes made by any other)."""
    ver = promotions.version(db, tenant_id)
    with _cache_lock:
        hit = _index_cache.get(tenant_id)
    if hit is not None and hit[0] == ver:
        return hit[1]
    index = d.PromotionIndex([codec.to_domain(p) for p in promotions.active_rows(db, tenant_id)])
    with _cache_lock:
        _index_cache[tenant_id] = (ver, index)
    return index


def _bad_line(i: int, message: str, params: dict[str, Any] | None = None, code: str = "invalid") -> Invalid:
    return Invalid(errors=[FieldError(f"lines.{i}", message, params or {}, code)])


def resolve_lines(db: Session, actor: Actor, store_id: uuid.UUID, wanted: list[WantedLine]) -> list[ResolvedLine]:
    """Scanned codes (barcode, scale label, SKU) or product ids → products with quantity and price.
    Unknown → 404, delisted → 409 naming the product, bad quantity → 422."""
    picked: list[tuple[int, uuid.UUID, int | None, int | None, str]] = []
    for i, w in enumerate(wanted):
        if w.product_id is None and not w.code:
            raise _bad_line(i, N_("Give a product_id or a code."), code="required")
        try:
            qty = qty_to_milli(w.quantity)
        except (ValueError, TypeError):
            raise _bad_line(i, N_("A positive quantity with at most 3 decimals."))
        if qty <= 0:
            raise _bad_line(i, N_("A positive quantity with at most 3 decimals."))
        if w.code and w.product_id is None:
            hit = catalog.lookup(db, actor, w.code, store_id)
            label_qty = qty_to_milli(hit.quantity) if hit.matched_by == "scale" else None
            label_amount = hit.amount if hit.matched_by == "scale" else None
            picked.append((i, hit.product.id, label_qty, label_amount, w.code))
        else:
            picked.append((i, w.product_id, None, None, w.code or ""))  # type: ignore[arg-type]
    facts = catalog.sale_facts(db, actor.tenant_id, store_id, [p[1] for p in picked])
    out = []
    for (i, pid, label_qty, label_amount, code), w in zip(picked, wanted, strict=True):
        f = facts.get(pid)
        if f is None:
            raise NotFound(N_("Product not found."), extra={"line": i})
        if f.status != "listed":
            raise Conflict(N_("%(name)s is delisted and cannot be sold (已下架)."), code="product_delisted",
                           params={"name": f.name}, extra={"line": i, "product_id": str(pid)})
        qty = qty_to_milli(w.quantity)
        if not f.sold_by_weight and qty % 1000:
            raise _bad_line(i, N_("%(name)s is sold by the piece: use a whole quantity."), {"name": f.name})
        price = f.price
        if label_qty is not None:
            qty = label_qty * (qty // 1000 or 1)
            if label_amount is not None and line_amount(price, label_qty) != label_amount:
                # a price-embedded label: charge what the label says
                price, qty = label_amount, 1000 * (qty // label_qty or 1)
        out.append(ResolvedLine(i, f, qty, price, code))
    return out


def _member_prices(db: Session, tenant_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not ids:
        return {}
    return dict(db.execute(select(MemberPrice.product_id, MemberPrice.price).where(
        MemberPrice.tenant_id == tenant_id, MemberPrice.product_id.in_(ids))).all())


def price(db: Session, actor: Actor, store_id: uuid.UUID, wanted: list[WantedLine], *,
          member_id: uuid.UUID | None = None, coupon_codes: list[str] | None = None,
          manual: list[WantedManual] | None = None, manual_approved: bool = False,
          draft: d.Promotion | None = None) -> Priced:
    """`draft`: an unsaved promotion to price with (the form's preview), replacing its saved version."""
    from cloudpos.members import service as members

    store = tenancy.store_facts(db, actor, store_id)
    lines = resolve_lines(db, actor, store_id, wanted)
    member = members.pricing_context(db, actor, member_id) if member_id else None
    mprices = _member_prices(db, actor.tenant_id, [ln.facts.id for ln in lines]) \
        if member is not None and member.is_member and member.member_prices else {}
    coupons, problems = coupon_store.load_for_cart(db, actor.tenant_id, coupon_codes or [], member_id)
    manual_discounts = []
    for k, m in enumerate(manual or []):
        if (m.percent_bp is None) == (m.amount is None):
            raise Invalid(errors=[FieldError(f"manual_discounts.{k}", N_("Give either percent_bp or amount."), {},
                                             "invalid")])
        if m.line_index is not None and not 0 <= m.line_index < len(lines):
            raise Invalid(errors=[FieldError(f"manual_discounts.{k}.line_index", N_("No such line."), {}, "invalid")])
        manual_discounts.append(d.ManualDiscount(
            id=f"m{k}", kind=d.ManualKind.PERCENT if m.percent_bp else d.ManualKind.AMOUNT,
            value=m.percent_bp or m.amount or 0, max_allowed_bp=actor.max_discount_bp if actor.can("sale.discount")
            else 0, line_id=str(m.line_index) if m.line_index is not None else None, approved=manual_approved,
            reason=m.reason))
    index = promotion_index(db, actor.tenant_id)
    if draft is not None:
        index = d.PromotionIndex([p for p in index.promotions if p.id != draft.id] + [draft])
    is_member = member is not None and member.is_member
    uses = usage.counts(db, actor.tenant_id, member.member_id, index.member_limits) \
        if is_member and index.member_limits else {}
    cart = d.Cart(
        store_id=str(store_id), store_tz=store.timezone,
        lines=tuple(d.CartLine(line_id=str(ln.index), product_id=str(ln.facts.id), sku=ln.facts.sku,
                               name=ln.facts.name, qty_milli=ln.qty_milli, unit_price_fen=ln.unit_price,
                               category_id=str(ln.facts.category_id) if ln.facts.category_id else None,
                               category_ancestor_ids=tuple(str(a) for a in ln.facts.category_ancestor_ids),
                               brand_id=ln.facts.brand or None, member_price_fen=mprices.get(ln.facts.id),
                               sold_by_weight=ln.facts.sold_by_weight) for ln in lines),
        customer=d.Customer(is_member=True, member_id=str(member.member_id),
                            tier_id=str(member.tier_id) if member.tier_id else None,
                            tier_discount_bp=member.tier_discount_bp, birthday_today=member.birthday_today,
                            promotion_uses=uses)
        if is_member else d.Customer(),
        coupons=tuple(coupons), manual_discounts=tuple(manual_discounts),
        cash_rounding=d.CashRounding(tenancy.cash_rounding(db, actor.tenant_id, store)),
    )
    tenant_id = actor.tenant_id
    names = LazyNames(lambda: {str(k): v for k, v in tenancy.store_names(db, tenant_id).items()})
    result = d.price_cart(cart, index, clock.now(), names)
    return Priced(store_id, lines, result, problems, member, dict(index.member_limits))


def _msg(m: Any) -> str:
    return m.zh if current_locale.get() == "zh_CN" else m.en


def _discount_out(a: Any) -> DiscountOut:
    return DiscountOut(source_kind=str(a.source_kind), source_id=a.source_id, name=a.name, amount=a.amount_fen,
                       level=str(getattr(a, "level", "order")))


_PROBLEM_TEXT = {"unknown": N_("No coupon has this code."),
                 "other_member": N_("This coupon belongs to another member.")}


def to_quote(p: Priced) -> QuoteOut:
    from cloudpos.i18n import _

    r = p.result
    by_line = {ln.index: ln for ln in p.lines}
    lines = [QuoteLineOut(index=int(pl.line_id), product_id=uuid.UUID(pl.product_id), sku=pl.sku, name=pl.name,
                          quantity=milli_to_str(pl.qty_milli), unit_price=pl.unit_price_fen,
                          list_amount=pl.list_amount_fen, discounts=[_discount_out(a) for a in pl.discounts],
                          discount=pl.discount_fen, amount=pl.final_amount_fen,
                          sold_by_weight=by_line[int(pl.line_id)].facts.sold_by_weight)
             for pl in r.lines]
    gifts = [QuoteLineOut(index=len(lines) + k, product_id=uuid.UUID(g.product_id), sku="", name=g.name,
                          quantity=milli_to_str(g.qty_milli), unit_price=0, list_amount=0, discounts=[], discount=0,
                          amount=0, is_gift=True) for k, g in enumerate(r.gifts)]
    coupons = [{"code": c.code, "usable": c.usable, "amount": c.amount_fen, "reason": c.reason_code,
                "message": _msg(c.message)} for c in r.coupons]
    coupons += [{"code": code, "usable": False, "amount": 0, "reason": why, "message": _(_PROBLEM_TEXT[why])}
                for code, why in p.coupon_problems.items()]
    approvals = [{"manual_id": a.manual_id, "line_index": int(a.line_id) if a.line_id is not None else None,
                  "requested_bp": a.requested_bp, "allowed_bp": a.allowed_bp, "message": _msg(a.message)}
                 for a in r.approvals]
    return QuoteOut(store_id=p.store_id, lines=lines, order_discounts=[_discount_out(o) for o in r.order_discounts],
                    gifts=gifts, subtotal=r.subtotal_fen, discount_total=r.discount_total_fen, total=r.total_fen,
                    cash_rounding=r.cash_rounding_fen, cash_due=r.cash_due_fen, coupons=coupons,
                    approvals=approvals, explanation=[_msg(m) for m in r.explanation])


def quote(db: Session, actor: Actor, data: QuoteIn) -> QuoteOut:
    wanted = [WantedLine(ln.product_id, ln.code, ln.quantity) for ln in data.lines]
    manual = [WantedManual(m.line_index, m.percent_bp, m.amount, m.reason) for m in data.manual_discounts]
    return to_quote(price(db, actor, data.store_id, wanted, member_id=data.member_id,
                          coupon_codes=data.coupon_codes, manual=manual))
