"""Writing a sales document (sale, refund or void): receipt number, hash link, lines, payments.

Shared by checkout and refunds; runs inside their transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import chains
from cloudpos.audit.domain import link_hash
from cloudpos.composed import Tail
from cloudpos.context import Actor
from cloudpos.ids import uuid7
from cloudpos.sales import chain, domain, queries
from cloudpos.sales.models import Sale, SaleLine, SalePayment
from cloudpos.tenancy.models import Store
from cloudpos.tenancy.service import StoreFacts


@dataclass
class LineDraft:
    product_id: uuid.UUID
    sku: str
    name: str
    category_id: uuid.UUID | None
    qty: int
    unit_price: int
    list_amount: int
    discount: int
    amount: int
    unit_cost: int = 0
    is_gift: bool = False
    original_line_no: int | None = None
    discounts: list[dict[str, Any]] | None = None


@dataclass
class PaymentDraft:
    method: str
    amount: int
    tendered: int | None = None
    payment_id: uuid.UUID | None = None
    reference: str = ""
    card_brand: str = ""
    card_last4: str = ""
    approval_code: str = ""
    member_pin: str | None = None  # used to pay, never stored


_SALES, _LINES, _PAYMENTS = Sale.__table__, SaleLine.__table__, SalePayment.__table__
_INSERT_LINES, _INSERT_PAYMENTS = insert(_LINES), insert(_PAYMENTS)


_KEYS = {t.name: tuple(c.key for c in t.columns) for t in (_SALES, _LINES, _PAYMENTS)}


def _record(table: Any, **values: Any) -> Any:
    """A document row as a plain object, read like the mapped class (`sale.total`, `line.qty`) without the
    ORM's instance bookkeeping: the tables are append-only, the rows go in as Core inserts and are never
    kept in the session, so a mapped instance would only be built to be read."""
    return SimpleNamespace(**{**dict.fromkeys(_KEYS[table.name]), **values})


def _row(obj: Any, table: Any) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in _KEYS[table.name]}


def write(db: Session, actor: Actor, store: Store | StoreFacts, *, kind: str, shift_id: uuid.UUID | None,
          terminal_id: uuid.UUID | None, lines: list[LineDraft], payments: list[PaymentDraft], subtotal: int,
          discount_total: int, total: int, cash_rounding: int, paid: int, change: int,
          member_id: uuid.UUID | None = None, salesperson_id: uuid.UUID | None = None,
          original_id: uuid.UUID | None = None, replaces_id: uuid.UUID | None = None,
          pricing: dict[str, Any] | None = None, note: str = "", client_ref: str = "",
          sale_id: uuid.UUID | None = None, points_earned: int = 0, points_redeemed: int = 0,
          before_hash: Callable[[], None] | None = None,
          tails: Callable[[Sale], Sequence[Tail]] | None = None) -> Sale:
    """Insert the document complete, once (the tables are append-only). `before_hash` runs after the
    receipt number is taken and before the payment rows are built (it may fill in payment ids).
    `tails` gives, for the document not numbered yet (its rows readable through `queries`), the writes
    that need its receipt number (cloudpos.composed): on PostgreSQL they ride in the numbering statement.

    The store's chain head is locked from the receipt number to COMMIT, so the rows go in as plain Core
    inserts (every column given). On PostgreSQL, without `before_hash`, number, hash link, sale, lines and
    payments are one statement (`chain.append_pg`). The returned sale and its rows are plain records with the
    mapped classes' attributes (not in the session); `queries` serves the rows to the rest of the transaction
    (receipt, response)."""
    now = clock.now()
    day = domain.business_day(now, store.timezone)
    sale = _record(_SALES, tenant_id=actor.tenant_id, id=sale_id or uuid7(), kind=kind, original_id=original_id,
                   replaces_id=replaces_id, store_id=store.id, terminal_id=terminal_id, shift_id=shift_id,
                   cashier_id=actor.employee_id, cashier_name=actor.display_name, salesperson_id=salesperson_id,
                   member_id=member_id, receipt_seq=0, receipt_no="", business_day=day, currency="CNY",
                   subtotal=subtotal, discount_total=discount_total, total=total, cash_rounding=cash_rounding,
                   paid=paid, change=change, pricing=pricing or {}, note=note, client_ref=client_ref, created_at=now,
                   prev_hash="", hash="", points_earned=points_earned, points_redeemed=points_redeemed)
    if before_hash is None and db.get_bind().dialect.name == "postgresql":
        rows, pays = _lines(actor, sale, lines), _payments(actor, sale, payments)
        queries.remember_written(db, sale.id, rows, pays)
        chain.append_pg(db, sale, rows, pays, number_prefix=domain.receipt_no(store.code, day, 0)[:-6],
                        tails=tails(sale) if tails else ())
        return sale
    name = chain.chain_name(store.id)
    sale.receipt_seq, sale.prev_hash = chains.advance(db, actor.tenant_id, name)
    sale.receipt_no = domain.receipt_no(store.code, day, sale.receipt_seq)
    if before_hash is not None:
        before_hash()
    rows, pays = _lines(actor, sale, lines), _payments(actor, sale, payments)
    sale.hash = link_hash(sale.prev_hash, chain.payload(sale, rows, pays))
    db.flush()  # whatever before_hash added, before the rows that may refer to it
    chains.append(db, _SALES, _row(sale, _SALES), actor.tenant_id, name, sale.receipt_seq, sale.hash)
    conn = db.connection()
    if rows:
        conn.execute(_INSERT_LINES, [_row(r, _LINES) for r in rows])
    if pays:
        conn.execute(_INSERT_PAYMENTS, [_row(p, _PAYMENTS) for p in pays])
    queries.remember_written(db, sale.id, rows, pays)
    for tail in tails(sale) if tails else ():
        tail.alone(sale.receipt_no)
    return sale


def _lines(actor: Actor, sale: Sale, lines: list[LineDraft]) -> list[SaleLine]:
    return [_record(_LINES, tenant_id=actor.tenant_id, sale_id=sale.id, line_no=i + 1, product_id=ln.product_id,
                    sku=ln.sku, name=ln.name, category_id=ln.category_id, qty=ln.qty, unit_price=ln.unit_price,
                    list_amount=ln.list_amount, discount=ln.discount, amount=ln.amount, unit_cost=ln.unit_cost,
                    is_gift=int(ln.is_gift), original_line_no=ln.original_line_no, discounts=ln.discounts or [])
            for i, ln in enumerate(lines)]


def _payments(actor: Actor, sale: Sale, payments: list[PaymentDraft]) -> list[SalePayment]:
    return [_record(_PAYMENTS, tenant_id=actor.tenant_id, sale_id=sale.id, seq=i + 1, method=p.method, amount=p.amount,
                    tendered=p.tendered, payment_id=p.payment_id, reference=p.reference,
                    card_brand=p.card_brand, card_last4=p.card_last4, approval_code=p.approval_code)
            for i, p in enumerate(payments)]
