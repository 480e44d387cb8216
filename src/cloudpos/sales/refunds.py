"""Refunds/returns (退货) and voids (作废) — new documents pointing at the original, never edits.

A refund returns what was paid for the chosen lines (exactly: the last unit of a line returns
whatever is left of it), back to the original payment methods in proportion; stock comes back
(or goes to the damaged bin), points are reversed and redeemed points returned, stored value goes
back to the balance, coupons come back on a full refund. Wallet refunds are reserved inside the
refund's transaction and sent to the provider after it commits (the reconciliation job retries
any that could not be confirmed). A void is a full refund of an untouched sale, for corrections.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudpos.approvals import service as approvals
from cloudpos.approvals.schemas import ManagerOverride
from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import retrying
from cloudpos.errors import Conflict, FieldError, Invalid
from cloudpos.i18n import N_
from cloudpos.idempotency import service as idempotency
from cloudpos.ids import uuid7
from cloudpos.inventory import service as inventory
from cloudpos.members import service as members
from cloudpos.money import qty_to_milli, round_half_up
from cloudpos.payments import service as payments
from cloudpos.pricing import service as pricing
from cloudpos.sales import documents, domain, hooks, queries, shifts
from cloudpos.sales.documents import LineDraft, PaymentDraft
from cloudpos.sales.models import Sale, SalePayment
from cloudpos.sales.schemas import RefundIn, VoidIn
from cloudpos.tenancy import service as tenancy

WALLETS = ("wechat", "alipay")


def _wanted(original_lines, refunded: dict[int, tuple[int, int]],
            requested: list[tuple[int, int]] | None) -> list[tuple[Any, int, int]]:
    """(line, qty, amount) to refund; all that is left when nothing was requested."""
    by_no = {ln.line_no: ln for ln in original_lines}
    picks = requested if requested is not None else [
        (ln.line_no, ln.qty - refunded.get(ln.line_no, (0, 0))[0]) for ln in original_lines]
    out, seen = [], set()
    for i, (no, qty) in enumerate(picks):
        ln = by_no.get(no)
        if ln is None or no in seen:
            raise Invalid(errors=[FieldError(f"lines.{i}.line_no", N_("No such line on the sale."), {}, "invalid")])
        seen.add(no)
        if qty <= 0 and requested is None:
            continue
        done_q, done_a = refunded.get(no, (0, 0))
        paid = domain.PaidLine(no, ln.qty, ln.amount, done_q, done_a)
        if qty <= 0 or qty > paid.refundable_qty:
            raise Invalid(errors=[FieldError(f"lines.{i}.quantity", N_("At most %(q)s can be returned."),
                                             {"q": _q(paid.refundable_qty)}, "too_many")])
        if not ln.qty % 1000 and qty % 1000:
            raise Invalid(errors=[FieldError(f"lines.{i}.quantity", N_("Return whole pieces."), {}, "invalid")])
        out.append((ln, qty, domain.refund_amount(paid, qty)))
    if not out:
        raise Conflict(N_("Everything on this sale has already been refunded."), code="nothing_to_refund")
    return out


def _q(milli: int) -> str:
    from cloudpos.money import milli_to_str

    return milli_to_str(milli).rstrip("0").rstrip(".")


def _open_tenders(db: Session, tenant_id: uuid.UUID, sale: Sale) -> list[tuple[SalePayment, domain.PaidTender]]:
    """The sale's payments with what each still has open after earlier refunds."""
    pays = queries.payments_of(db, tenant_id, sale.id)
    back: dict[uuid.UUID | None, int] = defaultdict(int)
    for s in db.scalars(select(Sale.id).where(Sale.tenant_id == tenant_id, Sale.original_id == sale.id)).all():
        for p in queries.payments_of(db, tenant_id, s):
            back[p.payment_id] += -p.amount
    return [(p, domain.PaidTender(p.method, p.amount, back.get(p.payment_id, 0), str(p.payment_id))) for p in pays]


def _refund_in_tx(db: Session, actor: Actor, original: Sale, *, kind: str, requested: list[tuple[int, int]] | None,
                  reason: str, restock: bool, terminal_id: uuid.UUID | None) -> tuple[Sale, list[uuid.UUID]]:
    lines = queries.lines_of(db, actor.tenant_id, original.id)
    refunded = queries.refunded_by_line(db, actor.tenant_id, original.id)
    picks = _wanted(lines, refunded, requested)
    total = sum(a for _, _, a in picks)
    store = tenancy.get_store(db, actor, original.store_id)
    shift = shifts.open_shift_for(db, actor, terminal_id) if terminal_id else None
    tenders = _open_tenders(db, actor.tenant_id, original)
    split = domain.split_refund(total, [t for _, t in tenders]) if total else []
    pay_of = {t.payment_ref: p for p, t in tenders}
    drafts = [PaymentDraft(method=t.method, amount=-amount, payment_id=pay_of[t.payment_ref].payment_id,
                           reference=original.receipt_no) for t, amount in split]
    line_drafts = []
    for ln, qty, amount in picks:
        listed = round_half_up(ln.list_amount * qty, ln.qty)
        line_drafts.append(LineDraft(product_id=ln.product_id, sku=ln.sku, name=ln.name, category_id=ln.category_id,
                                     qty=-qty, unit_price=ln.unit_price, list_amount=-listed,
                                     discount=-(listed - amount), amount=-amount, unit_cost=ln.unit_cost,
                                     is_gift=bool(ln.is_gift), original_line_no=ln.line_no))
    fully = all(ln.qty - refunded.get(ln.line_no, (0, 0))[0] == qty for ln, qty, _ in picks) and \
        len(picks) == sum(1 for ln in lines if ln.qty - refunded.get(ln.line_no, (0, 0))[0] > 0)
    doc_id = uuid7()
    wallet_refunds: list[uuid.UUID] = []

    def money_back() -> None:
        for d in drafts:
            if d.payment_id is None:
                continue
            if d.method in WALLETS:
                wallet_refunds.append(payments.reserve_wallet_refund(
                    db, actor, d.payment_id, -d.amount, reason=reason, sale_ref=original.receipt_no))
            else:
                payments.record_offline_refund(db, actor, d.payment_id, -d.amount, reason=reason,
                                               sale_ref=original.receipt_no)
            if d.method == "stored_value" and original.member_id:
                members.refund_stored_value(db, actor, original.member_id, -d.amount, original.id, refund_id=doc_id)

    points_back = 0
    if original.member_id and (original.points_earned or original.points_redeemed):
        eligible: dict[str, int] = defaultdict(int)
        for ln, _, amount in picks:
            if not ln.is_gift:
                eligible[str(ln.category_id) if ln.category_id else ""] += amount
        out = members.reverse_for_refund(db, actor, original.member_id, original.id, total, dict(eligible),
                                         refund_id=doc_id)
        points_back = getattr(out, "points_reversed", 0)
    hooks.before_number(kind, db, actor, store.id, terminal_id)
    doc = documents.write(
        db, actor, store, kind=kind, shift_id=shift.id if shift else None, terminal_id=terminal_id,
        lines=line_drafts, payments=drafts, subtotal=sum(d.list_amount for d in line_drafts),
        discount_total=sum(d.discount for d in line_drafts), total=-total, cash_rounding=0, paid=-total, change=0,
        member_id=original.member_id, original_id=original.id, note=reason[:200], sale_id=doc_id,
        points_earned=-points_back, before_hash=money_back)
    if restock:
        inventory.apply_movements(db, actor, store.id, [(d.product_id, -d.qty, d.unit_cost) for d in line_drafts],
                                  "refund", kind, doc.id, note=original.receipt_no, check_negative=False)
    if fully:
        pricing.restore_coupons(db, actor, original.id)
        pricing.give_back_promotion_uses(db, actor, original.id, doc.id)
    audit.record(db, actor, f"sale.{kind}", target_type="sale", target_id=original.id,
                 target_label=original.receipt_no,
                 details={"document": doc.receipt_no, "amount": total, "reason": reason, "restock": restock,
                          "lines": [[ln.line_no, qty, amount] for ln, qty, amount in picks]},
                 store_id=store.id)
    hooks.in_transaction(kind, db, actor, doc)
    return doc, wallet_refunds


def _requested(data: RefundIn) -> list[tuple[int, int]] | None:
    if data.lines is None:
        return None
    return [(ln.line_no, qty_to_milli(ln.quantity)) for ln in data.lines]


def _run(db: Session, actor: Actor, scope: str, key: str | None, body: dict[str, Any], work) -> tuple[int, dict]:
    key = idempotency.check_key(key)

    def attempt() -> tuple[int, dict, list[uuid.UUID], uuid.UUID]:
        try:
            if key:
                idempotency.claim(db, actor.tenant_id, scope, key, body)
            doc, wallets = work()
            response = queries.sale_out(db, actor, doc).model_dump(mode="json")
            if key:
                idempotency.remember(db, actor.tenant_id, scope, key, 201, response)
            db.commit()
            return 201, response, wallets, doc.id
        except BaseException:
            db.rollback()
            raise

    try:
        status, response, wallets, doc_id = retrying(attempt)
    except idempotency.Replay as replay:
        return replay.status_code, replay.response
    for refund_id in wallets:
        payments.send_reserved_refund(db, actor, refund_id)
    hooks.after_commit(body.get("kind", "refund"), actor, doc_id)
    return status, response


def _large_refund_gate(db: Session, actor: Actor, original: Sale, amount: int, payload: dict[str, Any],
                       override: ManagerOverride | None) -> None:
    limit = tenancy.tenant_settings(db, actor.tenant_id).refund_approval_above
    if limit is not None and amount > limit:
        from cloudpos.money import format_yuan

        approvals.gate(db, actor, "sale.refund.large", payload,
                       f"{original.receipt_no} ¥{format_yuan(amount)}", override=override, store_id=original.store_id)


def create_refund(db: Session, actor: Actor, sale_id: uuid.UUID, data: RefundIn, *,
                  idempotency_key: str | None = None) -> tuple[int, dict]:
    actor.require("sale.refund")
    original = queries.get_row(db, actor, sale_id)
    if original.kind != "sale":
        raise Conflict(N_("Only a sale can be refunded."), code="not_a_sale")
    if queries.is_voided(db, actor, original.id):
        raise Conflict(N_("This sale was voided."), code="sale_voided")
    body = {"kind": "refund", "sale_id": str(sale_id), **data.model_dump(mode="json", exclude={"override"})}
    requested = _requested(data)

    def work():
        lines = queries.lines_of(db, actor.tenant_id, original.id)
        picks = _wanted(lines, queries.refunded_by_line(db, actor.tenant_id, original.id), requested)
        override = ManagerOverride(**data.override.model_dump()) if data.override else None
        _large_refund_gate(db, actor, original, sum(a for _, _, a in picks),
                           {"sale_id": str(sale_id), **body}, override)
        return _refund_in_tx(db, actor, original, kind="refund", requested=requested, reason=data.reason,
                             restock=data.restock, terminal_id=data.terminal_id)

    return _run(db, actor, f"sales.refund:{sale_id}", idempotency_key, body, work)


def void_sale(db: Session, actor: Actor, sale_id: uuid.UUID, data: VoidIn, *,
              idempotency_key: str | None = None) -> tuple[int, dict]:
    """作废: a full reversal of a sale nobody has refunded from yet (the first half of 修改订单)."""
    actor.require("sale.void")
    original = queries.get_row(db, actor, sale_id)
    if original.kind != "sale":
        raise Conflict(N_("Only a sale can be voided."), code="not_a_sale")
    if queries.refunded_by_line(db, actor.tenant_id, original.id):
        raise Conflict(N_("Part of this sale was already refunded or voided; refund the rest instead."),
                       code="already_refunded")
    body = {"kind": "void", "sale_id": str(sale_id), **data.model_dump(mode="json", exclude={"override"})}
    return _run(db, actor, f"sales.void:{sale_id}", idempotency_key, body,
                lambda: _refund_in_tx(db, actor, original, kind="void", requested=None, reason=data.reason,
                                      restock=True, terminal_id=data.terminal_id))


def _approved_refund(db: Session, approver: Actor, payload: dict[str, Any]) -> dict[str, Any]:
    original = queries.get_row(db, approver, uuid.UUID(payload["sale_id"]))
    lines = payload.get("lines")
    requested = None if lines is None else [(ln["line_no"], qty_to_milli(ln["quantity"])) for ln in lines]
    doc, wallets = _refund_in_tx(db, approver, original, kind="refund", requested=requested,
                                 reason=payload.get("reason", ""), restock=payload.get("restock", True),
                                 terminal_id=None)
    # wallet refunds stay reserved (pending): the reconciliation job sends them
    return {"refund_id": str(doc.id), "receipt_no": doc.receipt_no, "wallet_refunds": [str(w) for w in wallets]}


approvals.register("sale.refund.large", N_("Refund above the approval limit"), "sale.refund", _approved_refund)
