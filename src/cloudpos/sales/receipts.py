"""Sales documents as receipts: printed after each sale/refund/void (queued in the same transaction,
sent after commit), rendered on demand (escpos|text|html|pdf), reprinted, and shown as e-receipts
behind the QR code — which the till also scans to start a refund."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from cloudpos.config import get_settings
from cloudpos.context import Actor, system_actor
from cloudpos.errors import NotFound
from cloudpos.i18n import N_, gettext
from cloudpos.printing import service as printing
from cloudpos.printing.domain.receipt import OrderDiscount, Payment, ReceiptData, ReceiptLine
from cloudpos.sales import hooks, queries
from cloudpos.sales.models import Sale
from cloudpos.tenancy import service as tenancy

METHOD_LABELS = {"cash": N_("Cash"), "card": N_("Bank card"), "wechat": N_("WeChat Pay"), "alipay": N_("Alipay"),
                 "stored_value": N_("Stored value"), "points": N_("Points"), "coupon": N_("Voucher")}


def _mask(card_no: str) -> str:
    return card_no if len(card_no) <= 4 else "*" * (len(card_no) - 4) + card_no[-4:]


def receipt_data(db: Session, actor: Actor, sale: Sale, *, language: str | None = None,
                 reprint: bool = False) -> ReceiptData:
    store = tenancy.get_store(db, actor, sale.store_id)
    lang = language or store.locale or "zh_CN"
    lines = queries.lines_of(db, actor.tenant_id, sale.id)
    pays = queries.payments_of(db, actor.tenant_id, sale.id)
    terminals = {t.id: t.name for t in tenancy.list_terminals(db, actor, store.id)}
    member_card, points_balance, sv_balance = "", None, None
    if sale.member_id:
        from cloudpos.members import service as members

        try:
            m = members.get_member(db, actor, sale.member_id)
            member_card, points_balance, sv_balance = _mask(m.card_no), m.points_balance, m.stored_value_balance
        except NotFound:
            pass
    settings = get_settings()
    kind = "reprint" if reprint and sale.kind == "sale" else sale.kind
    original_no = ""
    if sale.original_id:
        original_no = queries.get_row(db, actor, sale.original_id).receipt_no
    return ReceiptData(
        store_name=store.name, receipt_no=sale.receipt_no, issued_at=sale.created_at, timezone=store.timezone,
        kind=kind, language=lang if lang in ("zh_CN", "en") else "zh_CN", store_address=store.address,
        store_phone=store.phone, terminal=terminals.get(sale.terminal_id, ""), cashier=sale.cashier_name,
        lines=tuple(ReceiptLine(name=ln.name, qty_milli=ln.qty, unit_price=ln.unit_price, amount=ln.amount,
                                discount=ln.discount, discount_names=tuple(d.get("name", "") for d in ln.discounts),
                                sku=ln.sku) for ln in lines),
        subtotal=sale.subtotal, total=sale.total,
        discounts=tuple(OrderDiscount(o["name"], o["amount"]) for o in (sale.pricing or {}).get("order_discounts", [])),
        payments=tuple(Payment(gettext(METHOD_LABELS.get(p.method, p.method), lang), p.amount, p.method == "cash")
                       for p in pays),
        change=sale.change, member_card=member_card, points_earned=sale.points_earned or None,
        points_balance=points_balance, stored_value_balance=sv_balance,
        qr_payload=printing.e_receipt_url(settings.base_url, settings.resolved_secret(), actor.tenant_id,
                                          "sale", sale.id),
        original_receipt_no=original_no, reason=sale.note if sale.kind != "sale" else "", reprint=reprint,
    )


def _printers_first(kind: str, db: Session, actor: Actor, store_id: uuid.UUID, terminal_id: uuid.UUID | None) -> None:
    printing.prefetch_printers(db, actor, store_id)


def _auto_print(kind: str, db: Session, actor: Actor, sale: Any) -> None:
    """Queue the receipt in the sale's transaction; the drawer opens when cash completed a sale."""
    has_cash = any(p.method == "cash" for p in queries.payments_of(db, actor.tenant_id, sale.id))
    printing.enqueue(db, actor, None, kind if kind in ("sale", "refund", "void") else "sale",
                     lambda: receipt_data(db, actor, sale), open_drawer=kind == "sale" and has_cash,
                     store_id=sale.store_id, terminal_id=sale.terminal_id, document_ref=sale.receipt_no, auto=True)


def _source(db: Session, tenant_id: uuid.UUID, doc_id: str) -> ReceiptData | None:
    actor = system_actor(tenant_id, "e-receipt")
    try:
        return receipt_data(db, actor, queries.get_row(db, actor, uuid.UUID(str(doc_id))))
    except (NotFound, ValueError):
        return None


def render(db: Session, actor: Actor, sale_id: uuid.UUID, fmt: str, language: str | None = None):
    sale = queries.get_row(db, actor, sale_id)
    return printing.render_for_store(db, actor, sale.store_id, receipt_data(db, actor, sale, language=language), fmt,
                                     language=language)


def reprint(db: Session, actor: Actor, sale_id: uuid.UUID, printer_id: uuid.UUID | None) -> uuid.UUID | None:
    actor.require("sale.view")
    sale = queries.get_row(db, actor, sale_id)
    job = printing.enqueue(db, actor, printer_id, "reprint", receipt_data(db, actor, sale, reprint=True),
                           store_id=sale.store_id, terminal_id=actor.terminal_id, document_ref=sale.receipt_no)
    from cloudpos.audit import service as audit

    audit.record(db, actor, "sale.reprint", target_type="sale", target_id=sale.id, target_label=sale.receipt_no,
                 details={"job": str(job) if job else None}, store_id=sale.store_id)
    db.commit()
    return job


def sale_from_token(db: Session, actor: Actor, token: str, secret: str | None = None) -> Sale:
    """The receipt QR scanned at the till: the sale it names (404 when forged, expired or another tenant's)."""
    ref = printing.parse_receipt_token(secret or get_settings().resolved_secret(), token)
    if ref is None or ref.tenant_id != actor.tenant_id or ref.kind != "sale":
        raise NotFound(N_("This receipt code is not valid here."))
    return queries.get_row(db, actor, uuid.UUID(ref.doc_id))


for _kind in ("sale", "refund", "void"):
    printing.register_receipt_source(_kind, _source)
hooks.before_numbering(_printers_first)
hooks.on_document(_auto_print)


def print_shift_report(db: Session, actor: Actor, report: Any) -> uuid.UUID | None:
    """Queue the X/Z report on the terminal's printer, in the caller's transaction (none → nothing)."""
    from cloudpos.money import format_yuan
    from cloudpos.printing.domain.receipt import ReportData

    store = tenancy.get_store(db, actor, report.store_id)
    lang = store.locale if store.locale in ("zh_CN", "en") else "zh_CN"

    def t(text: str) -> str:
        return gettext(text, lang)

    rows = [(t(N_("Opened by")), report.opened_by_name), (t(N_("Sales")), str(report.sales_count)),
            (t(N_("Net sales")), format_yuan(report.net_sales)),
            (t(N_("Refunds and voids")), format_yuan(report.refunds_total))]
    rows += [(gettext(METHOD_LABELS.get(m.method, m.method), lang), format_yuan(m.net)) for m in report.by_method]
    rows += [(t(N_("Opening float")), format_yuan(report.opening_float)),
             (t(N_("Expected cash")), format_yuan(report.expected_cash))]
    if report.counted_cash is not None:
        rows += [(t(N_("Counted cash")), format_yuan(report.counted_cash)),
                 (t(N_("Difference")), format_yuan(report.difference or 0))]
    data = ReportData(title=t(N_("Z report")) if report.kind == "Z" else t(N_("X report")), store_name=store.name,
                      issued_at=report.closed_at or report.opened_at, timezone=store.timezone, language=lang,
                      rows=tuple(rows), signature_lines=(t(N_("Cashier")),))
    return printing.enqueue_report(db, actor, None, data, store_id=store.id, terminal_id=report.terminal_id,
                                   document_ref=f"{report.kind}-{report.shift_id}")
