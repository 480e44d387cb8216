"""Shelf labels (价签) on A4 label sheets: name, price, member price, unit/spec, barcode, QR code."""

from __future__ import annotations

import io

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import createBarcodeDrawing
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from cloudpos.printing.domain import fmt
from cloudpos.printing.domain.labels import SHEETS, barcode_kind
from cloudpos.printing.domain.receipt import LabelData
from cloudpos.printing.renderers.pdf import FONT, register_fonts, wrap


def _barcode(c: Canvas, code: str, kind: str, x: float, y: float, max_w: float, h: float) -> None:
    name = "EAN13" if kind == "EAN13" else "Code128"
    kw = {"barHeight": h, "humanReadable": True, "fontSize": 6}
    if name == "Code128":
        kw["barWidth"] = 0.8
    d = createBarcodeDrawing(name, value=code, **kw)
    scale = min(1.0, max_w / d.width)
    d.scale(scale, 1)
    renderPDF.draw(d, c, x, y)


def _qr(c: Canvas, payload: str, x: float, y: float, size: float) -> None:
    widget = QrCodeWidget(payload, barLevel="M")
    b = widget.getBounds()
    d = Drawing(size, size, transform=[size / (b[2] - b[0]), 0, 0, size / (b[3] - b[1]), 0, 0])
    d.add(widget)
    renderPDF.draw(d, c, x, y)


def _label(c: Canvas, label: LabelData, x: float, y: float, w: float, h: float, barcode: str,
           member_label: str, big: bool) -> None:
    pad = 2.5 * mm
    c.setLineWidth(0.3)
    c.setStrokeGray(0.75)
    c.rect(x + 0.8 * mm, y + 0.8 * mm, w - 1.6 * mm, h - 1.6 * mm)
    c.setStrokeGray(0)
    name_size = 11 if big else 8.5
    top = y + h - pad
    inner_w = w - 2 * pad
    qr_size = (h * 0.36) if label.qr_payload else 0
    for i, part in enumerate(wrap(label.name, name_size, inner_w)[:2]):
        c.setFont(FONT, name_size)
        c.drawString(x + pad, top - name_size * (i + 1) * 1.15, part)
    sub = " / ".join(s for s in (label.spec, label.origin) if s)
    lines_used = min(2, len(wrap(label.name, name_size, inner_w)))
    cursor = top - name_size * lines_used * 1.15
    if sub:
        c.setFont(FONT, 7)
        c.setFillGray(0.35)
        c.drawString(x + pad, cursor - 9, sub)
        c.setFillGray(0)
        cursor -= 9
    price = fmt.money(label.price)
    price_size = 20 if big else 15
    c.setFont(FONT, 8)
    c.drawString(x + pad, cursor - price_size - 1, "¥")
    c.setFont("Helvetica-Bold", price_size)
    c.drawString(x + pad + 7, cursor - price_size - 1, price)
    if label.unit:
        c.setFont(FONT, 7)
        c.drawString(x + pad + 9 + c.stringWidth(price, "Helvetica-Bold", price_size), cursor - price_size - 1,
                     f"/{label.unit}")
    if label.member_price is not None:
        c.setFont(FONT, 7.5)
        c.setFillColorRGB(0.75, 0.1, 0.1)
        text = f"{member_label} ¥{fmt.money(label.member_price)}"
        c.drawRightString(x + w - pad, cursor - price_size - 1, text)
        c.setFillColorRGB(0, 0, 0)
    kind = barcode_kind(label.barcode, barcode)
    bar_h = h * (0.2 if big else 0.17)
    if kind:
        _barcode(c, label.barcode, kind, x + pad - 1 * mm, y + pad, inner_w - qr_size - 2 * mm, bar_h)
    if qr_size:
        _qr(c, label.qr_payload, x + w - pad - qr_size, y + pad - 1, qr_size)
    if label.sku and not kind:
        c.setFont(FONT, 6.5)
        c.drawString(x + pad, y + pad, label.sku)


def render(labels: list[LabelData], layout: str = "a4-3x8", barcode: str = "ean13",
           member_label: str = "会员价", title: str = "Labels") -> bytes:
    register_fonts()
    sheet = SHEETS[layout]
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, pageCompression=1)
    c.setTitle(title)
    lw, lh = sheet.label_w_mm * mm, sheet.label_h_mm * mm
    per_page = sheet.columns * sheet.rows
    x0 = (A4[0] - sheet.columns * lw) / 2
    y_top = A4[1] - sheet.margin_top_mm * mm
    for i, label in enumerate(labels):
        if i and i % per_page == 0:
            c.showPage()
        slot = i % per_page
        col, row = slot % sheet.columns, slot // sheet.columns
        _label(c, label, x0 + col * lw, y_top - (row + 1) * lh, lw, lh, barcode, member_label, sheet.rows <= 5)
    if not labels:
        c.setFont(FONT, 12)
        c.drawString(20 * mm, A4[1] - 30 * mm, "-")
    c.showPage()
    c.save()
    return buf.getvalue()

