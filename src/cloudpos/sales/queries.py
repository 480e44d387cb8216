"""Reading sales: one sale with its lines and payments, lists with filters (销售订单查询)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, event, exists, func, select
from sqlalchemy.orm import Session

from cloudpos.context import Actor
from cloudpos.errors import NotFound
from cloudpos.i18n import N_, current_locale
from cloudpos.money import milli_to_str
from cloudpos.sales.models import Sale, SaleLine, SalePayment
from cloudpos.sales.schemas import SaleLineOut, SaleOut, SalePaymentOut

_WRITTEN = "sales.written"  # Session.info: {document id: (lines, payments)} written by this session


def remember_written(db: Session, sale_id: uuid.UUID, lines: list[SaleLine], payments: list[SalePayment]) -> None:
    """The rows of a document this session just inserted: lines and payments are append-only (never
    updated), so later reads in the session (receipt, response) are served from memory."""
    db.info.setdefault(_WRITTEN, {})[sale_id] = (lines, payments)


@event.listens_for(Session, "after_soft_rollback")
def _forget_written(session: Session, _previous: object) -> None:
    session.info.pop(_WRITTEN, None)  # a rolled-back document was never written


def _written(db: Session, sale_id: uuid.UUID) -> tuple[list[SaleLine], list[SalePayment]] | None:
    return db.info.get(_WRITTEN, {}).get(sale_id)


def get_row(db: Session, actor: Actor, sale_id: uuid.UUID) -> Sale:
    s = db.get(Sale, (actor.tenant_id, sale_id))
    if s is None or not actor.sees_store(s.store_id):
        raise NotFound(N_("Sale not found."))
    return s


def by_receipt_no(db: Session, actor: Actor, receipt_no: str) -> Sale:
    s = db.scalar(select(Sale).where(Sale.tenant_id == actor.tenant_id, Sale.receipt_no == receipt_no.strip()))
    if s is None or not actor.sees_store(s.store_id):
        raise NotFound(N_("No sale has this receipt number."))
    return s


def is_voided(db: Session, actor: Actor, sale_id: uuid.UUID) -> bool:
    return bool(db.scalar(select(exists().where(Sale.tenant_id == actor.tenant_id, Sale.original_id == sale_id,
                                                Sale.kind == "void"))))


def lines_of(db: Session, tenant_id: uuid.UUID, sale_id: uuid.UUID) -> list[SaleLine]:
    written = _written(db, sale_id)
    if written is not None and all(ln.tenant_id == tenant_id for ln in written[0]):
        return list(written[0])
    return list(db.scalars(select(SaleLine).where(SaleLine.tenant_id == tenant_id, SaleLine.sale_id == sale_id)
                           .order_by(SaleLine.line_no)).all())


def payments_of(db: Session, tenant_id: uuid.UUID, sale_id: uuid.UUID) -> list[SalePayment]:
    written = _written(db, sale_id)
    if written is not None and all(p.tenant_id == tenant_id for p in written[1]):
        return list(written[1])
    return list(db.scalars(select(SalePayment).where(SalePayment.tenant_id == tenant_id,
                                                     SalePayment.sale_id == sale_id).order_by(SalePayment.seq)).all())


def refunded_by_line(db: Session, tenant_id: uuid.UUID, sale_id: uuid.UUID) -> dict[int, tuple[int, int]]:
    """original line no → (quantity refunded, amount refunded), as positive numbers."""
    rows = db.execute(select(SaleLine.original_line_no, func.sum(SaleLine.qty), func.sum(SaleLine.amount))
                      .join(Sale, and_(Sale.tenant_id == SaleLine.tenant_id, Sale.id == SaleLine.sale_id))
                      .where(Sale.tenant_id == tenant_id, Sale.original_id == sale_id,
                             Sale.kind.in_(("refund", "void")))
                      .group_by(SaleLine.original_line_no)).all()
    return {no: (-int(q), -int(a)) for no, q, a in rows if no is not None}  # PG sums are numeric


def sale_out(db: Session, actor: Actor, s: Sale, *, new: bool = False) -> SaleOut:
    """`new`: the document was written in the current transaction, so nothing can have refunded or
    voided it yet (saves both look-ups)."""
    lines = lines_of(db, actor.tenant_id, s.id)
    pays = payments_of(db, actor.tenant_id, s.id)
    refunded = refunded_by_line(db, actor.tenant_id, s.id) if s.kind == "sale" and not new else {}
    lang = "zh" if current_locale.get() == "zh_CN" else "en"
    return SaleOut(
        id=s.id, kind=s.kind, receipt_no=s.receipt_no, store_id=s.store_id, terminal_id=s.terminal_id,
        shift_id=s.shift_id, cashier_name=s.cashier_name, salesperson_id=s.salesperson_id, member_id=s.member_id,
        original_id=s.original_id, replaces_id=s.replaces_id, business_day=s.business_day, currency=s.currency,
        lines=[SaleLineOut(line_no=ln.line_no, product_id=ln.product_id, sku=ln.sku, name=ln.name,
                           quantity=milli_to_str(ln.qty), unit_price=ln.unit_price, list_amount=ln.list_amount,
                           discount=ln.discount, amount=ln.amount, is_gift=bool(ln.is_gift), discounts=ln.discounts,
                           refundable_quantity=milli_to_str(ln.qty - refunded.get(ln.line_no, (0, 0))[0])
                           if s.kind == "sale" else None)
               for ln in lines],
        subtotal=s.subtotal, discount_total=s.discount_total, total=s.total, cash_rounding=s.cash_rounding,
        payments=[SalePaymentOut(method=p.method, amount=p.amount, tendered=p.tendered, reference=p.reference,
                                 card_brand=p.card_brand, card_last4=p.card_last4, approval_code=p.approval_code,
                                 payment_id=p.payment_id) for p in pays],
        paid=s.paid, change=s.change, points_earned=s.points_earned, points_redeemed=s.points_redeemed,
        explanation=[{"text": m.get(lang, "")} for m in (s.pricing or {}).get("explanation", [])],
        created_at=s.created_at, refunded_total=sum(a for _, a in refunded.values()),
        voided=is_voided(db, actor, s.id) if s.kind == "sale" and not new else False,
    )


@dataclass(frozen=True)
class SaleFilter:
    store_id: uuid.UUID | None = None
    date_from: date | None = None
    date_to: date | None = None
    receipt_no: str | None = None
    member_id: uuid.UUID | None = None
    cashier_id: uuid.UUID | None = None
    method: str | None = None
    kind: str | None = None
    min_total: int | None = None
    max_total: int | None = None


def list_sales(db: Session, actor: Actor, f: SaleFilter, page: int, page_size: int) -> tuple[list[Sale], int]:
    actor.require("sale.view")
    stmt = select(Sale).where(Sale.tenant_id == actor.tenant_id)
    if f.store_id is not None:
        actor.check_store(f.store_id)
        stmt = stmt.where(Sale.store_id == f.store_id)
    elif not actor.all_stores:
        stmt = stmt.where(Sale.store_id.in_(actor.store_ids or [uuid.UUID(int=0)]))
    if f.date_from:
        stmt = stmt.where(Sale.business_day >= f.date_from)
    if f.date_to:
        stmt = stmt.where(Sale.business_day <= f.date_to)
    if f.receipt_no:
        stmt = stmt.where(Sale.receipt_no.contains(f.receipt_no.strip(), autoescape=True))
    if f.member_id:
        stmt = stmt.where(Sale.member_id == f.member_id)
    if f.cashier_id:
        stmt = stmt.where(Sale.cashier_id == f.cashier_id)
    if f.kind:
        stmt = stmt.where(Sale.kind == f.kind)
    if f.min_total is not None:
        stmt = stmt.where(Sale.total >= f.min_total)
    if f.max_total is not None:
        stmt = stmt.where(Sale.total <= f.max_total)
    if f.method:
        stmt = stmt.where(exists().where(SalePayment.tenant_id == Sale.tenant_id, SalePayment.sale_id == Sale.id,
                                         SalePayment.method == f.method))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(Sale.created_at.desc()).offset((page - 1) * page_size).limit(page_size)).all()
    return list(rows), total
