"""Printable/exportable stocktake documents: the count sheet (xlsx, PDF) and the variance report (xlsx).

Barcodes are written as text (never numbers, so Excel cannot turn them into 6.9E+12); rows are
grouped by category; a blind count omits the expected quantities. CJK text in the PDF uses
ReportLab's built-in CID font STSong-Light (no font file needed).
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudpos.context import Actor
from cloudpos.i18n import _
from cloudpos.money import milli_to_str

from . import domain
from .models import StocktakeLine
from .products import catalog
from .schemas import VarianceOut
from .stocktakes import load

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class SheetRow:
    sku: str
    name: str
    barcodes: str
    unit: str
    expected: str  # "" in a blind count


@dataclass
class CountSheet:
    number: str
    store: str
    created_at: datetime
    blind: bool
    status: str
    groups: list[tuple[str, list[SheetRow]]] = field(default_factory=list)

    @property
    def line_count(self) -> int:
        return sum(len(rows) for _, rows in self.groups)


def count_sheet(db: Session, actor: Actor, stocktake_id: uuid.UUID) -> CountSheet:
    actor.require("stocktake.manage")
    from cloudpos.tenancy import service as tenancy

    st = load(db, actor, stocktake_id)
    store = tenancy.get_store(db, actor, st.store_id)
    rows = db.scalars(select(StocktakeLine).where(StocktakeLine.tenant_id == st.tenant_id,
                                                  StocktakeLine.stocktake_id == st.id)).all()
    products = catalog.get_products(db, actor, [r.product_id for r in rows])
    cats = catalog.category_names(db, actor)
    groups: dict[str, list[SheetRow]] = {}
    for r in rows:
        p = products.get(r.product_id)
        if p is None:
            continue
        cat = cats.get(p.category_id, "") if p.category_id else ""
        groups.setdefault(cat, []).append(SheetRow(
            sku=p.sku, name=p.name, barcodes=" ".join(p.barcodes), unit=p.unit,
            expected="" if st.blind else milli_to_str(r.expected_snapshot)))
    local = st.created_at.astimezone(ZoneInfo(store.timezone or "Asia/Shanghai"))
    sheet = CountSheet(number=st.number, store=store.name, created_at=local, blind=st.blind, status=st.status)
    for cat in sorted(groups, key=lambda c: (c == "", c)):  # uncategorized last
        sheet.groups.append((cat or _("Uncategorized"), sorted(groups[cat], key=lambda x: x.sku)))
    return sheet


def _headers(blind: bool) -> list[str]:
    cols = [_("SKU"), _("Barcodes"), _("Name"), _("Unit")]
    if not blind:
        cols.append(_("Expected"))
    return cols + [_("Counted")]


def count_sheet_xlsx(sheet: CountSheet) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Border, Font, PatternFill, Side

    wb = Workbook()
    ws = wb.active
    ws.title = sheet.number
    ws.append([_("Stocktake %(number)s", number=sheet.number), sheet.store,
               sheet.created_at.strftime("%Y-%m-%d %H:%M"),
               _("Blind count") if sheet.blind else ""])
    ws["A1"].font = Font(bold=True, size=14)
    headers = _headers(sheet.blind)
    ws.append(headers)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    thin = Side(style="thin", color="999999")
    fill = PatternFill("solid", fgColor="E9ECEF")
    for cat, rows in sheet.groups:
        ws.append([cat])
        ws.cell(ws.max_row, 1).font = Font(bold=True)
        for c in range(1, len(headers) + 1):
            ws.cell(ws.max_row, c).fill = fill
        for r in rows:
            values = [r.sku, r.barcodes, r.name, r.unit] + ([] if sheet.blind else [r.expected]) + [""]
            ws.append(values)
            row = ws.max_row
            for c in range(1, len(values) + 1):
                cell = ws.cell(row, c)
                cell.number_format = "@"  # text: barcodes must not become numbers
                cell.border = Border(bottom=thin)
            ws.cell(row, len(values)).border = Border(top=thin, bottom=thin, left=thin, right=thin)
    widths = [16, 30, 36, 8] + ([12] if not sheet.blind else []) + [14]
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[chr(64 + i)].width = w
    ws.freeze_panes = "A3"
    ws.print_title_rows = "2:2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def count_sheet_pdf(sheet: CountSheet) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    title = ParagraphStyle("t", fontName=font, fontSize=15, leading=20)
    small = ParagraphStyle("s", fontName=font, fontSize=9, leading=12)
    cell = ParagraphStyle("c", fontName=font, fontSize=9, leading=11)
    head = ParagraphStyle("h", fontName=font, fontSize=11, leading=15, spaceBefore=6)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                            bottomMargin=12 * mm, title=_("Stocktake %(number)s", number=sheet.number))
    story: list = [Paragraph(_("Count sheet — stocktake %(number)s", number=sheet.number), title),
                   Paragraph(f"{_escape(sheet.store)} | {sheet.created_at:%Y-%m-%d %H:%M} | "
                             + _("%(n)s products", n=sheet.line_count)
                             + (" | " + _("Blind count") if sheet.blind else ""), small),
                   Spacer(1, 4 * mm)]
    headers = _headers(sheet.blind)
    widths = [28 * mm, 40 * mm, 62 * mm, 12 * mm] + ([18 * mm] if not sheet.blind else []) + [26 * mm]
    for cat, rows in sheet.groups:
        story.append(Paragraph(cat, head))
        data = [[Paragraph(h, cell) for h in headers]]
        for r in rows:
            values = [r.sku, r.barcodes, r.name, r.unit] + ([] if sheet.blind else [r.expected]) + [""]
            data.append([Paragraph(_escape(v), cell) for v in values])
        t = Table(data, colWidths=widths, repeatRows=1)
        t.setStyle(TableStyle([
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E9ECEF")),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F8F9FA")]),
        ]))
        story.append(t)
    story.append(Spacer(1, 8 * mm))
    story.append(Paragraph(_("Counted by: ____________    Checked by: ____________    Date: ____________"), small))
    doc.build(story)
    return buf.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _qty(milli: int | None) -> Decimal | None:
    return None if milli is None else Decimal(milli) / 1000


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else Decimal(fen) / 100


def variance_xlsx(db: Session, actor: Actor, report: VarianceOut) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = report.stocktake.number
    ws.append([_("Variance report — stocktake %(number)s", number=report.stocktake.number)])
    ws["A1"].font = Font(bold=True, size=14)
    headers = [_("Category"), _("SKU"), _("Name"), _("Expected"), _("Counted"), _("Difference"), _("Unit cost"),
               _("Difference at cost"), _("Reason"), _("Note")]
    ws.append(headers)
    for c in ws[2]:
        c.font = Font(bold=True)
    for ln in report.lines:
        ws.append([ln.category, ln.product.sku if ln.product else "", ln.product.name if ln.product else "",
                   _qty(ln.expected), _qty(ln.counted), _qty(ln.difference), _yuan(ln.unit_cost),
                   _yuan(ln.difference_cost), _(domain.REASON_LABELS[ln.reason]) if ln.reason else "", ln.note])
        row = ws.max_row
        ws.cell(row, 2).number_format = "@"
        for c in (4, 5, 6):
            ws.cell(row, c).number_format = "0.000"
        for c in (7, 8):
            ws.cell(row, c).number_format = "0.00"
    ws.append([])
    ws.append([_("Total difference at cost"), None, None, None, None, None, None,
               _yuan(report.total_difference_cost)])
    ws.cell(ws.max_row, 8).number_format = "0.00"
    for col, w in zip("ABCDEFGHIJ", [20, 16, 34, 12, 12, 12, 12, 16, 14, 30], strict=True):
        ws.column_dimensions[col].width = w
    ws.freeze_panes = "A3"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _disposition(name: str, ext: str) -> str:
    return f"attachment; filename={name}.{ext}; filename*=UTF-8''{quote(name)}.{ext}"


def xlsx_response(data: bytes, name: str) -> Response:
    return Response(data, media_type=XLSX, headers={"Content-Disposition": _disposition(name, "xlsx")})


def pdf_response(data: bytes, name: str) -> Response:
    return Response(data, media_type="application/pdf", headers={"Content-Disposition": _disposition(name, "pdf")})
