"""PDF for A4 reprints (and reports): the same layout elements, drawn with reportlab in a
receipt-wide column. Chinese uses the built-in CID font STSong-Light (no font file needed)."""

from __future__ import annotations

import io
from functools import lru_cache

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from cloudpos.printing.domain import layout as L

FONT = "STSong-Light"
BOLD = "STSong-Light"  # the CID font has no bold face: bold is drawn with a stroke (see _text)


@lru_cache
def register_fonts() -> None:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def text_width(text: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, FONT, size)


def wrap(text: str, size: float, max_w: float) -> list[str]:
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for ch in para:
            if text_width(line + ch, size) > max_w and line:
                # prefer breaking at the last space of a Latin run
                cut = line.rfind(" ")
                if cut > 0 and ch != " " and all(ord(c) < 0x2E80 for c in line[cut:]):
                    lines.append(line[:cut])
                    line = line[cut + 1:] + ch
                else:
                    lines.append(line)
                    line = ch.lstrip()
            else:
                line += ch
        lines.append(line)
    return lines or [""]


class _Pen:
    def __init__(self, c: Canvas, x0: float, width: float, title: str) -> None:
        self.c, self.x0, self.w, self.title = c, x0, width, title
        self.top = A4[1] - 18 * mm
        self.y = self.top
        self.size = 10.0
        self.leading = 14.0
        self.page = 1

    def need(self, h: float) -> None:
        if self.y - h < 18 * mm:
            self.footer()
            self.c.showPage()
            self.page += 1
            self.y = self.top

    def footer(self) -> None:
        self.c.setFont(FONT, 8)
        self.c.setFillGray(0.45)
        self.c.drawCentredString(A4[0] / 2, 10 * mm, f"{self.title} - {self.page}")
        self.c.setFillGray(0)

    def text(self, s: str, x: float, size: float, bold: bool = False, align: str = "left") -> None:
        c = self.c
        c.setFont(FONT, size)
        t = c.beginText()
        t.setTextRenderMode(2 if bold else 0)  # fill+stroke fakes bold for the CID font
        c.setLineWidth(0.35 if bold else 0)
        w = text_width(s, size)
        if align == "center":
            x = x - w / 2
        elif align == "right":
            x = x - w
        t.setTextOrigin(x, self.y)
        t.textOut(s)
        c.drawText(t)

    def line(self, s: str, size: float | None = None, bold: bool = False, align: str = "left") -> None:
        size = size or self.size
        lead = size * 1.4
        for part in wrap(s, size, self.w):
            self.need(lead)
            self.y -= lead
            x = self.x0 + self.w / 2 if align == "center" else self.x0
            self.text(part, x, size, bold, align)


def _draw(pen: _Pen, el: L.Element) -> None:  # noqa: C901 - one branch per element type
    c, x0, w = pen.c, pen.x0, pen.w
    if isinstance(el, L.Title):
        pen.line(el.text, 16 if el.big else 12, True, "center")
    elif isinstance(el, L.Center):
        pen.line(el.text, pen.size, el.bold, "center")
    elif isinstance(el, L.Banner):
        pen.line(f"*** {el.text} ***", 12, True, "center")
    elif isinstance(el, L.Para):
        pen.line(el.text)
    elif isinstance(el, L.KV):
        size = 13 if el.tall else pen.size
        vw = text_width(el.value, size)
        parts = wrap(el.label, size, max(40.0, w - vw - 12))
        for i, part in enumerate(parts):
            pen.need(size * 1.4)
            pen.y -= size * 1.4
            pen.text(part, x0, size, el.bold)
            if i == len(parts) - 1:
                pen.text(el.value, x0 + w, size, el.bold, "right")
    elif isinstance(el, L.Rule):
        pen.need(8)
        pen.y -= 6
        c.setLineWidth(1.2 if el.char == "=" else 0.5)
        c.setDash([] if el.char == "=" else [2, 2])
        c.line(x0, pen.y, x0 + w, pen.y)
        c.setDash([])
        pen.y -= 2
    elif isinstance(el, (L.ItemHead, L.Item)):
        cols = [w * 0.13, w * 0.15, w * 0.17] if el.show_price else [w * 0.13, w * 0.17]
        name_w = w - sum(cols) - 6
        bold = isinstance(el, L.ItemHead)
        parts = wrap(el.name, pen.size, name_w)
        nums = [el.qty, el.price, el.amount] if el.show_price else [el.qty, el.amount]
        for i, part in enumerate(parts):
            pen.need(pen.size * 1.4)
            pen.y -= pen.size * 1.4
            pen.text(part, x0, pen.size, bold)
            if i == 0:
                right = x0 + name_w + 6
                for cw, val in zip(cols, nums, strict=True):
                    right += cw
                    pen.text(val, right, pen.size, bold, "right")
        if isinstance(el, L.Item):
            for label, value in el.notes:
                _draw(pen, L.KV("    " + label, value))
    elif isinstance(el, L.Table):
        n = len(el.headers)
        widths = [max([text_width(r[i] if i < len(r) else "", pen.size) for r in (el.headers, *el.rows)]) + 10
                  for i in range(n)]
        flex = next((i for i, a in enumerate(el.aligns) if a == "l"), 0)
        widths[flex] = max(40.0, w - (sum(widths) - widths[flex]))
        for r_i, row in enumerate((el.headers, *el.rows)):
            cells = [wrap(row[i] if i < len(row) else "", pen.size, widths[i] - 4) for i in range(n)]
            for k in range(max(len(cl) for cl in cells)):
                pen.need(pen.size * 1.4)
                pen.y -= pen.size * 1.4
                x = x0
                for i in range(n):
                    if k < len(cells[i]):
                        if el.aligns[i] == "l":
                            pen.text(cells[i][k], x, pen.size, r_i == 0)
                        else:
                            pen.text(cells[i][k], x + widths[i], pen.size, r_i == 0, "right")
                    x += widths[i]
    elif isinstance(el, L.Qr):
        size = 32 * mm
        pen.need(size + 20)
        widget = QrCodeWidget(el.payload, barLevel="M")
        b = widget.getBounds()
        d = Drawing(size, size, transform=[size / (b[2] - b[0]), 0, 0, size / (b[3] - b[1]), 0, 0])
        d.add(widget)
        pen.y -= size + 4
        renderPDF.draw(d, c, x0 + (w - size) / 2, pen.y)
        if el.caption:
            pen.line(el.caption, 9, False, "center")
    elif isinstance(el, L.Logo):
        try:
            img = ImageReader(io.BytesIO(el.png))
        except Exception:  # noqa: BLE001 - a broken logo never stops a reprint
            return
        iw, ih = img.getSize()
        h = min(20 * mm, ih * (40 * mm) / max(iw, 1))
        dw = iw * h / max(ih, 1)
        pen.need(h + 4)
        pen.y -= h + 4
        c.drawImage(img, x0 + (w - dw) / 2, pen.y, dw, h, mask="auto")
    elif isinstance(el, L.Feed):
        pen.y -= pen.leading * el.lines


def render(els: list[L.Element], title: str, column_mm: float = 120) -> bytes:
    """An A4 PDF with the elements drawn in a centered column `column_mm` wide."""
    register_fonts()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, pageCompression=1)
    c.setTitle(title)
    c.setCreator("cloudpos")
    width = column_mm * mm
    pen = _Pen(c, (A4[0] - width) / 2, width, title)
    for el in els:
        _draw(pen, el)
    pen.footer()
    c.showPage()
    c.save()
    return buf.getvalue()
