"""Receipts and reports as a list of layout elements: what to show, in which order and style.

Every renderer (text, ESC/POS, HTML, PDF) works from these elements, so a refund, a void, a
reprint, a shift report or a stocktake sheet all go through the same machinery.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloudpos.i18n import N_, gettext
from cloudpos.printing.domain import fmt
from cloudpos.printing.domain.receipt import ReceiptData, ReceiptTemplate, ReportData


@dataclass(frozen=True)
class Title:
    text: str
    big: bool = True  # double width and height on the printer


@dataclass(frozen=True)
class Center:
    text: str
    bold: bool = False


@dataclass(frozen=True)
class Banner:
    """A centered, bold marker such as *** 重打印 / REPRINT ***."""

    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class KV:
    label: str
    value: str
    bold: bool = False
    tall: bool = False  # double height on the printer (the total)


@dataclass(frozen=True)
class Rule:
    char: str = "-"


@dataclass(frozen=True)
class ItemHead:
    name: str
    qty: str
    price: str
    amount: str
    show_price: bool = True


@dataclass(frozen=True)
class Item:
    name: str
    qty: str
    price: str
    amount: str
    notes: tuple[tuple[str, str], ...] = ()  # (label, value) under the line: discounts
    show_price: bool = True


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    aligns: tuple[str, ...]


@dataclass(frozen=True)
class Qr:
    payload: str
    caption: str = ""


@dataclass(frozen=True)
class Logo:
    png: bytes


@dataclass(frozen=True)
class Feed:
    lines: int = 1


Element = Title | Center | Banner | Para | KV | Rule | ItemHead | Item | Table | Qr | Logo | Feed

KIND_TITLES = {
    "refund": N_("REFUND"),
    "void": N_("VOID"),
}
REPRINT = N_("REPRINT")


def receipt(data: ReceiptData, tpl: ReceiptTemplate, language: str | None = None) -> list[Element]:
    """The elements of a sale / refund / void receipt (or a reprint of one) under a template."""
    lang = language or tpl.language

    def t(msgid: str, **params: object) -> str:
        return gettext(msgid, lang, **params)

    out: list[Element] = []
    if tpl.show_logo and data.logo_png:
        out.append(Logo(data.logo_png))
    if tpl.show_store_name:
        out.append(Title(data.store_name))
    if tpl.show_address and data.store_address:
        out.append(Center(data.store_address))
    if tpl.show_phone and data.store_phone:
        out.append(Center(t("Tel: %(phone)s", phone=data.store_phone)))
    header = data.header_text or tpl.header_text
    if header:
        out.append(Center(header))
    if data.kind in KIND_TITLES:
        out.append(Banner(t(KIND_TITLES[data.kind])))
    if data.is_reprint:
        out.append(Banner(t(REPRINT)))
    out.append(Rule("="))
    if tpl.show_receipt_no:
        out.append(KV(t("Receipt no."), data.receipt_no))
    if data.original_receipt_no:
        out.append(KV(t("Original receipt"), data.original_receipt_no))
    if tpl.show_datetime:
        out.append(KV(t("Time"), fmt.local_time(data.issued_at, data.timezone)))
    if tpl.show_terminal and data.terminal:
        out.append(KV(t("Terminal"), data.terminal))
    if tpl.show_cashier and data.cashier:
        out.append(KV(t("Cashier"), data.cashier))
    if tpl.show_salesperson and data.salesperson:
        out.append(KV(t("Salesperson"), data.salesperson))
    if data.reason:
        out.append(KV(t("Reason"), data.reason))
    out.append(Rule())
    out.append(ItemHead(t("Item"), t("Qty"), t("Price"), t("Amount"), tpl.show_unit_price))
    count = 0
    for line in data.lines:
        notes: tuple[tuple[str, str], ...] = ()
        if tpl.show_line_discounts and line.discount:
            label = " ".join(line.discount_names) or t("Discount")
            notes = ((label, fmt.money(-line.discount)),)
        q = fmt.qty(line.qty_milli) + (line.unit if line.unit and line.qty_milli % 1000 else "")
        out.append(Item(line.name, q, fmt.money(line.unit_price), fmt.money(line.amount), notes, tpl.show_unit_price))
        count += line.qty_milli if line.qty_milli % 1000 == 0 else 1000
    out.append(Rule())
    out.append(KV(t("Items"), fmt.qty(count)))
    if tpl.show_subtotal:
        out.append(KV(t("Subtotal"), fmt.money(data.effective_subtotal)))
    if tpl.show_discounts:
        for d in data.discounts:
            out.append(KV(d.name, fmt.money(-d.amount)))
    total_label = {"refund": t("Refund total"), "void": t("Voided total")}.get(data.kind, t("Total"))
    out.append(KV(total_label, fmt.money(data.total), bold=True, tall=True))
    if tpl.show_payments and data.payments:
        out.append(Rule())
        for p in data.payments:
            out.append(KV(p.method, fmt.money(p.amount)))
        if tpl.show_change and data.change:
            out.append(KV(t("Change"), fmt.money(data.change)))
    member_rows: list[Element] = []
    if tpl.show_member and data.member_card:
        member_rows.append(KV(t("Member card"), fmt.mask_card(data.member_card)))
    if tpl.show_points and data.points_earned is not None:
        member_rows.append(KV(t("Points earned"), str(data.points_earned)))
    if tpl.show_points and data.points_balance is not None:
        member_rows.append(KV(t("Points balance"), str(data.points_balance)))
    if tpl.show_stored_value and data.stored_value_balance is not None:
        member_rows.append(KV(t("Stored value balance"), fmt.money(data.stored_value_balance)))
    if member_rows:
        out.append(Rule())
        out.extend(member_rows)
    out.append(Rule("="))
    if tpl.show_qr and data.qr_payload:
        out.append(Qr(data.qr_payload, t("Scan for your e-receipt")))
    footer = data.footer_text or tpl.footer_text
    if footer:
        out.append(Center(footer))
    if data.is_reprint:
        out.append(Banner(t(REPRINT)))
    return out


def report(data: ReportData, language: str | None = None) -> list[Element]:
    """A shift X/Z report, closing or stocktake count sheet: title, key/value rows and tables."""
    lang = language or data.language

    def t(msgid: str, **params: object) -> str:
        return gettext(msgid, lang, **params)

    out: list[Element] = [Title(data.store_name, big=False), Title(data.title)]
    if data.subtitle:
        out.append(Center(data.subtitle))
    if data.reprint:
        out.append(Banner(t(REPRINT)))
    out.append(Rule("="))
    out.append(KV(t("Printed at"), fmt.local_time(data.issued_at, data.timezone)))
    for label, value in data.meta:
        out.append(KV(label, value))
    if data.rows:
        out.append(Rule())
        for label, value in data.rows:
            out.append(KV(label, value))
    for table in data.tables:
        out.append(Rule())
        aligns = table.aligns or ("l",) + ("r",) * (len(table.headers) - 1)
        out.append(Table(table.headers, table.rows, aligns))
    out.append(Rule("="))
    for sig in data.signature_lines:
        out.append(Feed(1))
        out.append(Para(f"{sig}: ______________"))
    if data.footer_text:
        out.append(Center(data.footer_text))
    return out
