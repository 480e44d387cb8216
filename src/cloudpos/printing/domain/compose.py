"""Layout elements -> printed lines at a fixed number of columns (32 for 58 mm, 48 for 80 mm).

The text and ESC/POS renderers both print these lines, so what the golden files show is what
the printer prints. Widths count CJK characters as two columns (see `width`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cloudpos.printing.domain import layout as L
from cloudpos.printing.domain.width import center, clean, ljust, rjust, spread, width, wrap

Size = Literal["normal", "tall", "big"]  # big = double width and height; tall = double height


@dataclass(frozen=True)
class Line:
    text: str  # for align="left": already padded/laid out; for "center": the bare text
    align: Literal["left", "center"] = "left"
    bold: bool = False
    size: Size = "normal"


@dataclass(frozen=True)
class QrLine:
    payload: str


@dataclass(frozen=True)
class LogoLine:
    png: bytes


Printed = Line | QrLine | LogoLine

QTY_W, PRICE_W, AMOUNT_W = 8, 9, 10


def compose(elements: list[L.Element], cols: int) -> list[Printed]:
    out: list[Printed] = []
    for el in elements:
        out.extend(_element(el, cols))
    return out


def _element(el: L.Element, cols: int) -> list[Printed]:  # noqa: C901 - one branch per element type
    if isinstance(el, L.Title):
        if el.big and width(el.text) * 2 <= cols:
            return [Line(el.text, "center", True, "big")]
        return [Line(part, "center", True, "tall" if el.big else "normal") for part in wrap(el.text, cols)]
    if isinstance(el, L.Center):
        return [Line(part, "center", el.bold) for part in wrap(el.text, cols)]
    if isinstance(el, L.Banner):
        text = f"*** {el.text} ***"
        return [Line(part, "center", True) for part in wrap(text, cols)]
    if isinstance(el, L.Para):
        return [Line(part) for part in wrap(el.text, cols)]
    if isinstance(el, L.KV):
        size: Size = "tall" if el.tall else "normal"
        parts = spread(clean(el.label), clean(el.value), cols, keep_left=True)
        return [Line(part, "left", el.bold, size) for part in parts]
    if isinstance(el, L.Rule):
        return [Line(el.char * cols)]
    if isinstance(el, L.ItemHead):
        return [Line(text, bold=True) for text in _item_head(el, cols)]
    if isinstance(el, L.Item):
        return [Line(text) for text in _item(el, cols)]
    if isinstance(el, L.Table):
        return [Line(text, bold=i == 0) for i, text in enumerate(_table(el, cols))]
    if isinstance(el, L.Qr):
        lines: list[Printed] = [QrLine(el.payload)]
        if el.caption:
            lines.extend(Line(part, "center") for part in wrap(el.caption, cols))
        return lines
    if isinstance(el, L.Logo):
        return [LogoLine(el.png)]
    if isinstance(el, L.Feed):
        return [Line("")] * el.lines
    raise TypeError(f"unknown layout element {el!r}")


def _wide(cols: int) -> bool:
    """80 mm paper has room for a one-line table (name | qty | price | amount); 58 mm does not."""
    return cols >= 40


def _name_width(cols: int, show_price: bool) -> int:
    return cols - QTY_W - AMOUNT_W - (PRICE_W if show_price else 0)


def _item_head(el: L.ItemHead, cols: int) -> list[str]:
    if _wide(cols):
        nw = _name_width(cols, el.show_price)
        text = ljust(el.name, nw) + rjust(el.qty, QTY_W)
        if el.show_price:
            text += rjust(el.price, PRICE_W)
        return [text + rjust(el.amount, AMOUNT_W)]
    left = f"{el.name}/{el.qty}" + (f" x {el.price}" if el.show_price else "")
    return spread(left, el.amount, cols)


def _item(el: L.Item, cols: int) -> list[str]:
    name = clean(el.name)
    fits = (width(el.qty) < QTY_W and width(el.price) < PRICE_W and width(el.amount) < AMOUNT_W)
    lines: list[str] = []
    if _wide(cols) and fits:
        nw = _name_width(cols, el.show_price)
        parts = wrap(name, nw - 1)
        first = ljust(parts[0], nw) + rjust(el.qty, QTY_W)
        if el.show_price:
            first += rjust(el.price, PRICE_W)
        lines.append(first + rjust(el.amount, AMOUNT_W))
        lines.extend(parts[1:])
    else:
        lines.extend(wrap(name, cols))
        left = f"  {el.qty} x {el.price}" if el.show_price else f"  x {el.qty}"
        lines.extend(spread(left, el.amount, cols))
    for label, value in el.notes:
        lines.extend(spread(f"  {clean(label)}", value, cols))
    return lines


def _table(el: L.Table, cols: int) -> list[str]:
    n = len(el.headers)
    rows = [tuple(clean(c) for c in el.headers)] + [tuple(clean(c) for c in r) + ("",) * (n - len(r))
                                                     for r in el.rows]
    aligns = tuple(el.aligns) + ("r",) * (n - len(el.aligns))
    flex = next((i for i, a in enumerate(aligns) if a == "l"), 0)
    widths = [max(width(r[i]) for r in rows) for i in range(n)]
    fixed = sum(w for i, w in enumerate(widths) if i != flex) + (n - 1)
    flex_w = cols - fixed
    if flex_w < 6:  # too many columns for the paper: one block per row
        out: list[str] = []
        for r in rows:
            out.extend(wrap(r[flex], cols))
            rest = "  ".join(r[i] for i in range(n) if i != flex)
            out.append(rjust(rest, cols))
        return out
    widths[flex] = flex_w
    out = []
    for r in rows:
        cells = [wrap(r[i], widths[i]) if i == flex else [r[i]] for i in range(n)]
        height = max(len(c) for c in cells)
        for k in range(height):
            parts = []
            for i in range(n):
                text = cells[i][k] if k < len(cells[i]) else ""
                parts.append(ljust(text, widths[i]) if aligns[i] == "l" else rjust(text, widths[i]))
            out.append(" ".join(parts).rstrip())
    return out


def to_text(lines: list[Printed], cols: int) -> str:
    """Plain text: big/tall lines are printed at normal size, the QR code as a placeholder line."""
    out: list[str] = []
    for line in lines:
        if isinstance(line, QrLine):
            out.append(center("[QR]", cols).rstrip())
        elif isinstance(line, LogoLine):
            out.append(center("[LOGO]", cols).rstrip())
        elif line.align == "center":
            out.append(center(line.text, cols).rstrip())
        else:
            out.append(line.text.rstrip())
    return "\n".join(out) + "\n"
