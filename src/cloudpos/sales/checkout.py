"""Checkout: `POST /api/v1/sales`. The server prices the cart itself; a client total is never trusted.

Order of work, so that no money is lost or doubled:
1. price the cart and check the payments cover it — nothing written yet (422 if not);
2. charge wallet payments (WeChat Pay / Alipay) through the payments module, each in its own
   committed steps, keyed by the Idempotency-Key so a retry never charges twice;
3. one transaction: idempotency key, receipt number + hash link, lines, payments, stock,
   coupons, points / stored value, audit, print job — all or nothing. If it fails after a wallet
   charge, the charge is given back at once (and the reconciliation job would find it anyway).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

import structlog
from sqlalchemy.orm import Session

from cloudpos.audit import service as audit
from cloudpos.auth import service as auth
from cloudpos.composed import Tail
from cloudpos.context import Actor
from cloudpos.db import retrying
from cloudpos.errors import ApprovalRequired, Conflict, FieldError, Forbidden, Invalid, NotFound, Problem
from cloudpos.i18n import N_
from cloudpos.idempotency import service as idempotency
from cloudpos.inventory import service as inventory
from cloudpos.members import service as members
from cloudpos.payments import service as payments
from cloudpos.pricing import service as pricing
from cloudpos.sales import documents, domain, hooks, queries, shifts
from cloudpos.sales.documents import LineDraft, PaymentDraft
from cloudpos.sales.schemas import SaleIn
from cloudpos.tenancy import service as tenancy

log = structlog.get_logger("cloudpos.sales")
SCOPE = "sales.create"
WALLETS = ("wechat", "alipay")
MEMBER_METHODS = ("stored_value", "points")


def _price(db: Session, actor: Actor, data: SaleIn, approved: bool) -> pricing.Priced:
    wanted = [pricing.WantedLine(ln.product_id, ln.code, ln.quantity) for ln in data.lines]
    manual = [pricing.WantedManual(m.line_index if m.scope == "line" else None, m.percent_bp, m.amount, m.reason)
              for m in data.manual_discounts]
    return pricing.price(db, actor, data.store_id, wanted, member_id=data.member_id,
                         coupon_codes=data.coupon_codes, manual=manual, manual_approved=approved)


def _approve_discounts(db: Session, actor: Actor, priced: pricing.Priced, data: SaleIn) -> bool:
    """Manual discounts above the cashier's limit need a manager's credentials at the till."""
    if not priced.result.approvals:
        return False
    if data.override is None:
        raise ApprovalRequired(N_("This discount is above your limit: a manager must authorize it."),
                               code="approval_required",
                               extra={"approvals": [{"line_index": a.line_id, "requested_bp": a.requested_bp,
                                                     "allowed_bp": a.allowed_bp} for a in priced.result.approvals]})
    manager = auth.verify_credentials(db, actor.tenant_id, data.override.username, data.override.password,
                                      ip=actor.ip)
    if manager is None or not manager.can("approval.decide") or not manager.can("sale.discount"):
        # Only the refusal is kept: the sale's transaction so far (its Idempotency-Key claim included, which
        # committed would answer every retry with "still being processed") is rolled back first.
        db.rollback()
        audit.record(db, actor, "approval.override", target_type="operation", target_label="sale.discount",
                     result="failed", details={"manager": data.override.username})
        db.commit()
        raise Forbidden(N_("These manager credentials cannot authorize this operation."), code="override_denied")
    audit.record(db, actor, "approval.override", target_type="operation", target_label="sale.discount",
                 details={"approved_by": manager.username,
                          "requested_bp": [a.requested_bp for a in priced.result.approvals]})
    return True


def _tenders(data: SaleIn) -> list[domain.Tender]:
    return [domain.Tender(p.method, p.amount, p.tendered) for p in data.payments]


def _check_cover(total: int, data: SaleIn, rounding: str) -> domain.Settlement:
    s = domain.settle(total, _tenders(data), rounding)
    if not s.ok:
        raise Invalid(N_("The payments do not match the total."), code="payment_mismatch",
                      errors=[FieldError("payments", msg, {}, "payment_mismatch") for msg in s.problems],
                      extra={"total": total, "due": s.due})
    if any(p.method in MEMBER_METHODS for p in data.payments) and data.member_id is None:
        raise Invalid(errors=[FieldError("payments", N_("Stored value and points need a member on the sale."), {},
                                         "member_required")])
    return s


def _preflight(db: Session, actor: Actor, data: SaleIn) -> None:
    """Price and check the payments before any money moves (writes nothing)."""
    try:
        store = tenancy.get_store(db, actor, data.store_id)
        terminal = next((t for t in tenancy.list_terminals(db, actor, store.id) if t.id == data.terminal_id), None)
        if terminal is None:
            raise NotFound(N_("Terminal not found."))
        shifts.require_open(db, actor, data.terminal_id)
        priced = _price(db, actor, data, approved=data.override is not None)
        if priced.result.approvals and data.override is None:
            _approve_discounts(db, actor, priced, data)
        _check_cover(priced.result.total_fen, data, tenancy.cash_rounding(db, actor.tenant_id, store))
    finally:
        db.rollback()


def _charge_wallets(db: Session, actor: Actor, data: SaleIn, key: str | None,
                    ip: str) -> dict[int, payments.PaymentResult]:
    done: dict[int, payments.PaymentResult] = {}
    for i, p in enumerate(data.payments):
        if p.method not in WALLETS or p.payment_id is not None:
            continue
        if not p.auth_code:
            raise Invalid(errors=[FieldError(f"payments.{i}.auth_code",
                                             N_("Scan the customer's payment code."), {}, "required")])
        result = payments.start_wallet_payment(
            db, actor, data.store_id, data.terminal_id, p.method, p.amount, p.auth_code,
            sale_ref=data.client_ref or (key or ""), idempotency_key=f"{key}:{i}" if key else None, client_ip=ip)
        if not result.ok:
            _give_back(db, actor, done)
            raise Problem(result.message, code="payment_failed", status=402,
                          extra={"payment_id": str(result.payment_id), "status": result.status,
                                 "provider_code": result.code, "payment_index": i})
        done[i] = result
    return done


def _give_back(db: Session, actor: Actor, charged: dict[int, payments.PaymentResult]) -> None:
    for result in charged.values():
        try:
            payments.refund_wallet(db, actor, result.payment_id, result.amount_fen,
                                   reason="sale not completed")
        except Exception:  # noqa: BLE001 - the reconciliation job settles whatever is left
            log.exception("giving back a wallet charge failed", payment_id=str(result.payment_id))


def _charges_wallet(data: SaleIn) -> bool:
    return any(p.method in WALLETS and p.payment_id is None for p in data.payments)


def create_sale(db: Session, actor: Actor, data: SaleIn, *, idempotency_key: str | None = None,
                ip: str = "") -> tuple[int, dict[str, Any]]:
    """Returns (status code, response body); a replay returns the first response.

    A sale that charges a wallet first peeks at the key (a retry must not charge again) and prices the
    cart outside any transaction (nothing is charged for a cart that would be refused). Any other sale is
    one transaction: the sale's own claim, pricing and checks come before anything is written, and a
    refusal rolls the claim back with the rest.
    """
    actor.require("sale.create")
    key = idempotency.check_key(idempotency_key)
    body = data.model_dump(mode="json", exclude={"override"})
    charged: dict[int, payments.PaymentResult] = {}
    if _charges_wallet(data):
        if key:
            try:
                idempotency.claim(db, actor.tenant_id, SCOPE, key, body)
            except idempotency.Replay as replay:
                db.rollback()
                return replay.status_code, replay.response
            db.rollback()  # only a peek: the key is claimed for real inside the sale's transaction
        _preflight(db, actor, data)
        charged = _charge_wallets(db, actor, data, key, ip)
    try:
        return retrying(lambda: _commit_sale(db, actor, data, key, body, charged))
    except idempotency.Replay as replay:
        db.rollback()
        return replay.status_code, replay.response
    except BaseException as exc:
        db.rollback()
        _give_back(db, actor, charged)
        if isinstance(exc, members.WrongPin):
            members.note_pin_failure(db, actor, exc.member_id)  # counted after the rollback; locks after 5
        raise


def _commit_sale(db: Session, actor: Actor, data: SaleIn, key: str | None, body: dict[str, Any],
                 charged: dict[int, payments.PaymentResult]) -> tuple[int, dict[str, Any]]:
    try:
        if key:
            idempotency.claim(db, actor.tenant_id, SCOPE, key, body)
        sale, response = _write_sale(db, actor, data, charged, key)
        hooks.in_transaction("sale", db, actor, sale)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    hooks.after_commit("sale", actor, sale.id)
    return 201, response


def _write_sale(db: Session, actor: Actor, data: SaleIn, charged: dict[int, payments.PaymentResult],
                key: str | None) -> tuple[Any, dict[str, Any]]:
    """The sale and what it changed, written, its response stored under the Idempotency-Key and its audit
    event recorded. Returns the sale and the response."""
    from cloudpos.ids import uuid7

    store = tenancy.store_facts(db, actor, data.store_id)
    shift = _open_shift(db, actor, store.id, data.terminal_id)
    if data.replaces_id is not None:
        original = queries.get_row(db, actor, data.replaces_id)
        if not queries.is_voided(db, actor, original.id):
            raise Conflict(N_("Void the original sale before replacing it."), code="not_voided")
    priced = _price(db, actor, data, approved=False)
    if priced.result.approvals:
        priced = _price(db, actor, data, approved=_approve_discounts(db, actor, priced, data))
    r = priced.result
    settlement = _check_cover(r.total_fen, data, tenancy.cash_rounding(db, actor.tenant_id, store))
    sale_id = uuid7()
    lines = _line_drafts(priced)
    drafts = _payment_drafts(data, settlement, charged)
    # Member money first (stored value, points), so the immutable sale row is written once, complete.
    points_redeemed = _member_payments(db, actor, data, drafts, sale_id, store.id, r.total_fen)
    points_earned = 0
    if data.member_id is not None:
        points_earned = _member_purchase(db, actor, data, sale_id, store.id, r.total_fen, lines, drafts)
    # The payment records (which give the sale's payment rows their ids) are written before the receipt
    # number is taken: the store's chain head stays locked from there to COMMIT, so that stretch is kept short.
    _record_payments(db, actor, data, drafts, sale_id, store.id)
    used = [c.code for c in r.coupons if c.usable]
    if used:
        pricing.redeem_coupons(db, actor, used, sale_id)
    pricing.record_promotion_uses(db, actor, priced, sale_id)  # per-member limits (409 if reached meanwhile)
    hooks.before_number("sale", db, actor, store.id, data.terminal_id)
    # What needs the receipt number rides in the statement that takes it (cloudpos.composed): the store's
    # receipt chain stays locked from there to COMMIT, so nothing is asked of the database in between.
    stock = inventory.movements_tail(db, actor, store.id, [(ln.product_id, -ln.qty, ln.unit_cost) for ln in lines],
                                     "sale", "sale", sale_id, products=_stock_products(priced))
    audited = {"target_type": "sale", "target_id": sale_id, "store_id": store.id,
               "details": {"total": r.total_fen, "paid": settlement.due, "change": settlement.change,
                           "payments": [[p.method, p.amount] for p in drafts if p.amount], "lines": len(lines)}}
    # The audit event rides last (its chain head is the last lock a transaction takes), except on a member's
    # sale: the members module's in-transaction hook locks the member's figures after the sale is written, so
    # there the event is recorded as any other and sent at COMMIT (audit.pending), its head still locked last.
    audit_rides = data.member_id is None
    response: dict[str, Any] = {}

    def tails(unnumbered: Any) -> list[Tail]:
        response.update(queries.sale_out(db, actor, unnumbered, new=True).model_dump(mode="json"))
        out = [stock] if stock else []
        if key:
            out.append(idempotency.remember_tail(db, actor.tenant_id, SCOPE, key, 201, response))
        if audit_rides:
            out.append(audit.record_tail(db, actor, "sale.create", **audited))
        return out

    sale = documents.write(
        db, actor, store, kind="sale", shift_id=shift.id, terminal_id=data.terminal_id, lines=lines,
        payments=[d for d in drafts if d.amount > 0], subtotal=r.subtotal_fen, discount_total=r.discount_total_fen,
        total=r.total_fen, cash_rounding=settlement.cash_rounding, paid=settlement.due, change=settlement.change,
        member_id=data.member_id, salesperson_id=data.salesperson_id, replaces_id=data.replaces_id,
        pricing={"explanation": [{"zh": m.zh, "en": m.en} for m in r.explanation],
                 "order_discounts": [{"name": o.name, "amount": o.amount_fen, "kind": str(o.source_kind)}
                                     for o in r.order_discounts],
                 "coupons": [c.code for c in r.coupons if c.usable]},
        note=data.note, client_ref=data.client_ref, sale_id=sale_id, points_earned=points_earned,
        points_redeemed=points_redeemed, tails=tails)
    response["receipt_no"] = sale.receipt_no
    if not audit_rides:
        audit.record(db, actor, "sale.create", target_label=sale.receipt_no, **audited)
    return sale, response


def _open_shift(db: Session, actor: Actor, store_id: uuid.UUID, terminal_id: uuid.UUID):
    """The terminal's open shift, which also proves the terminal belongs to the store (a shift is opened
    at a terminal of its store). The terminals are only listed to tell the two refusals apart."""
    shift = shifts.open_shift_ref(db, actor, terminal_id)
    if shift is None or shift.store_id != store_id:
        if not any(t.id == terminal_id for t in tenancy.list_terminals(db, actor, store_id)):
            raise NotFound(N_("Terminal not found."))
        return shifts.require_open(db, actor, terminal_id)
    return shift


def _stock_products(priced: pricing.Priced) -> dict[uuid.UUID, inventory.ProductInfo] | None:
    """The products inventory needs for the stock movements, from what pricing already read (None when a
    gift line brings in a product pricing did not read: inventory then reads them itself)."""
    if priced.result.gifts:
        return None
    return {ln.facts.id: inventory.ProductInfo(id=ln.facts.id, sku=ln.facts.sku, name=ln.facts.name, barcodes=(),
                                               category_id=ln.facts.category_id, unit=ln.facts.unit,
                                               cost=ln.facts.cost, price=ln.facts.price,
                                               low_stock_threshold=ln.facts.low_stock_threshold,
                                               status=ln.facts.status)
            for ln in priced.lines}


def _line_drafts(priced: pricing.Priced) -> list[LineDraft]:
    by_index = {ln.index: ln for ln in priced.lines}
    out = []
    for pl in priced.result.lines:
        facts = by_index[int(pl.line_id)].facts
        out.append(LineDraft(product_id=facts.id, sku=facts.sku, name=facts.name, category_id=facts.category_id,
                             qty=pl.qty_milli, unit_price=pl.unit_price_fen, list_amount=pl.list_amount_fen,
                             discount=pl.discount_fen, amount=pl.final_amount_fen, unit_cost=facts.cost,
                             discounts=[{"kind": str(a.source_kind), "id": a.source_id, "name": a.name,
                                         "amount": a.amount_fen} for a in pl.discounts]))
    for g in priced.result.gifts:
        out.append(LineDraft(product_id=uuid.UUID(g.product_id), sku="", name=g.name, category_id=None,
                             qty=g.qty_milli, unit_price=0, list_amount=0, discount=0, amount=0, is_gift=True,
                             discounts=[{"kind": "gift", "id": g.promotion_id, "name": g.promotion_name,
                                         "amount": 0}]))
    return out


def _payment_drafts(data: SaleIn, s: domain.Settlement,
                    charged: dict[int, payments.PaymentResult]) -> list[PaymentDraft]:
    """One draft per requested payment, at what it paid towards the sale (cash: change removed)."""
    drafts = []
    for i, (p, t) in enumerate(zip(data.payments, s.tenders, strict=True)):
        wallet = charged.get(i)
        drafts.append(PaymentDraft(method=p.method, amount=t.amount,
                                   tendered=t.tendered if p.method == "cash" else None,
                                   payment_id=wallet.payment_id if wallet else p.payment_id,
                                   reference=p.reference or (wallet.provider_trade_no if wallet else ""),
                                   card_brand=p.card_brand or "", card_last4=p.card_last4 or "",
                                   approval_code=p.approval_code or "", member_pin=p.member_pin))
    return drafts


def _member_payments(db: Session, actor: Actor, data: SaleIn, drafts: list[PaymentDraft], sale_id: uuid.UUID,
                     store_id: uuid.UUID, total: int) -> int:
    redeemed = 0
    for d in drafts:
        if d.amount <= 0:
            continue
        if d.method == "stored_value":
            members.pay_with_stored_value(db, actor, data.member_id, d.amount, sale_id, d.member_pin,
                                          store_id=store_id)
        elif d.method == "points":
            redeemed += _redeem_points(db, actor, data.member_id, d.amount, sale_id, total)
    return redeemed


def _record_payments(db: Session, actor: Actor, data: SaleIn, drafts: list[PaymentDraft], sale_id: uuid.UUID,
                     store_id: uuid.UUID) -> None:
    """Bind wallet charges to the sale and record the other tenders in the payments ledger; sets each
    draft's payment_id before the sale (and its hash) is written."""
    for d in drafts:
        if d.amount <= 0:
            continue
        if d.method in WALLETS:
            payments.attach_to_sale(db, actor, d.payment_id, sale_id, expected_amount_fen=d.amount)
            continue
        rec = payments.record_offline_payment(
            db, actor, store_id, d.method, d.amount, terminal_id=data.terminal_id, sale_id=sale_id,
            sale_ref=data.client_ref, card_brand=d.card_brand, card_last4=d.card_last4,
            approval_code=d.approval_code, reference=d.reference, place_checked=True)
        d.payment_id = rec.id


def _redeem_points(db: Session, actor: Actor, member_id: uuid.UUID, amount: int, sale_id: uuid.UUID,
                   total: int) -> int:
    quote = members.points_quote(db, actor, member_id, total)
    points, rest = divmod(amount * quote.points_per_yuan, 100)
    bad = Invalid(errors=[FieldError("payments", N_("That amount cannot be paid with whole points."), {},
                                     "points_fraction")])
    if rest:
        raise bad
    out = members.redeem_points(db, actor, member_id, points, sale_id, order_fen=total)
    if out.value_fen != amount:
        raise bad
    return out.points


def _member_purchase(db: Session, actor: Actor, data: SaleIn, sale_id: uuid.UUID, store_id: uuid.UUID,
                     total: int, lines: list[LineDraft], drafts: list[PaymentDraft]) -> int:
    eligible: dict[str, int] = defaultdict(int)
    for ln in lines:
        if not ln.is_gift:
            eligible[str(ln.category_id) if ln.category_id else ""] += ln.amount
    by_method: dict[str, int] = defaultdict(int)
    for d in drafts:
        by_method[d.method] += d.amount
    out = members.record_purchase(db, actor, data.member_id, sale_id, total, dict(eligible),
                                  points_paid_fen=by_method["points"],
                                  stored_value_paid_fen=by_method["stored_value"], store_id=store_id)
    return out.points_earned


__all__ = ["create_sale"]
