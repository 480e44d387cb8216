"""ESC/POS bytes built with python-escpos' Dummy printer.

Chinese text: python-escpos' own text path (MagicEncode) picks single-byte code pages, which
cannot print Chinese. Chinese thermal printers print GB18030 in "Chinese character mode"
(FS &), so we switch that mode on once after ESC @ and write every text line as raw GB18030
bytes. QR codes use the printer's native QR command (GS ( k); the drawer kick is ESC p.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from functools import lru_cache

from escpos.printer import Dummy

from cloudpos.printing.domain import layout
from cloudpos.printing.domain.compose import Line, LogoLine, Printed, QrLine, compose
from cloudpos.printing.domain.receipt import LabelData, ReceiptData, ReceiptTemplate, ReportData, columns_for

ESC_INIT = b"\x1b@"
FS_CHINESE_ON = b"\x1c&"  # FS &: select Chinese (GB18030 double-byte) character mode
DEFAULT_PROFILE = "default"
LOGO_PIXELS = {58: 384, 80: 512}


@dataclass(frozen=True)
class EscposOptions:
    profile: str = DEFAULT_PROFILE
    paper_mm: int = 80
    cut: bool = True
    open_drawer: bool = False
    drawer_pin: int = 2
    copies: int = 1


@lru_cache
def profiles() -> list[tuple[str, str]]:
    """(key, "Vendor Name") for every printer profile in python-escpos' capabilities database."""
    from escpos.capabilities import CAPABILITIES

    out = []
    for key, data in CAPABILITIES["profiles"].items():
        vendor = data.get("vendor") or ""
        name = data.get("name") or key
        out.append((key, f"{vendor} {name}".strip()))
    return sorted(out, key=lambda kv: (kv[0] != "default", kv[1].lower()))


def known_profile(key: str) -> bool:
    return any(k == key for k, _ in profiles())


def _printer(profile: str) -> Dummy:
    return Dummy(profile=profile if known_profile(profile) else DEFAULT_PROFILE)


def _text(p: Dummy, text: str) -> None:
    p._raw(text.encode("gb18030", errors="replace"))


def _lines(p: Dummy, lines: list[Printed], opts: EscposOptions) -> None:
    for line in lines:
        if isinstance(line, QrLine):
            p.set(align="center")
            p.qr(line.payload, native=True, size=6 if opts.paper_mm >= 80 else 4)
            p._raw(b"\n")
            p.set(align="left")
        elif isinstance(line, LogoLine):
            _logo(p, line.png, opts.paper_mm)
        else:
            _line(p, line)


# Character size for every character: GS ! (Latin and, on most printers, Chinese) plus FS ! (Chinese mode).
SIZE_BYTES = {
    "normal": b"\x1d!\x00\x1c!\x00",
    "tall": b"\x1d!\x01\x1c!\x08",
    "big": b"\x1d!\x11\x1c!\x0c",
}


def _line(p: Dummy, line: Line) -> None:
    styled = line.bold or line.size != "normal" or line.align != "left"
    if styled:
        p.set(align=line.align, bold=line.bold)
        if line.size != "normal":
            p._raw(SIZE_BYTES[line.size])
    _text(p, line.text.rstrip() + "\n")
    if styled:
        p.set(align="left", bold=False)
        if line.size != "normal":
            p._raw(SIZE_BYTES["normal"])


def _logo(p: Dummy, png: bytes, paper_mm: int) -> None:
    from PIL import Image

    try:
        img = Image.open(io.BytesIO(png))
        img.load()
    except Exception:  # noqa: BLE001 - a broken logo never stops a receipt
        return
    limit = LOGO_PIXELS.get(paper_mm, 384)
    if img.width > limit:
        img = img.resize((limit, max(1, img.height * limit // img.width)))
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGBA")
        bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, img)
    p.set(align="center")
    p.image(img.convert("RGB"), impl="bitImageRaster")
    p.set(align="left")


def document(lines: list[Printed], opts: EscposOptions) -> bytes:
    """Printer-ready bytes: ESC @, Chinese mode, the lines, a cut per copy; the drawer kick once."""
    out = bytearray()
    for copy in range(max(1, opts.copies)):
        p = _printer(opts.profile)
        p._raw(ESC_INIT + FS_CHINESE_ON)
        if copy == 0 and opts.open_drawer:
            p.cashdraw(opts.drawer_pin)
        _lines(p, lines, opts)
        if opts.cut:
            p.cut(mode="PART")
        else:
            p.print_and_feed(4)
        out += p.output
    return bytes(out)


def receipt_bytes(data: ReceiptData, tpl: ReceiptTemplate, opts: EscposOptions, language: str | None = None) -> bytes:
    return document(compose(layout.receipt(data, tpl, language), tpl.columns), opts)


def report_bytes(data: ReportData, opts: EscposOptions, language: str | None = None) -> bytes:
    return document(compose(layout.report(data, language), columns_for(opts.paper_mm)), opts)


def label_bytes(labels: list[LabelData], opts: EscposOptions, barcode: str = "code128",
                currency_sign: str = "") -> bytes:
    """Shelf labels on a receipt/label printer: one block per label, a partial cut between them."""
    from cloudpos.printing.domain import fmt
    from cloudpos.printing.domain.labels import barcode_kind
    from cloudpos.printing.domain.width import wrap

    cols = columns_for(opts.paper_mm)
    p = _printer(opts.profile)
    p._raw(ESC_INIT + FS_CHINESE_ON)
    for label in labels:
        p.set(align="center", bold=True)
        for part in wrap(label.name, cols):
            _text(p, part + "\n")
        p.set(bold=False)
        if label.spec or label.unit:
            _text(p, " / ".join(x for x in (label.spec, label.unit) if x) + "\n")
        p.set(align="center", bold=True)
        p._raw(SIZE_BYTES["big"])
        _text(p, currency_sign + fmt.money(label.price) + "\n")
        p._raw(SIZE_BYTES["normal"])
        p.set(bold=False)
        if label.member_price is not None:
            _text(p, f"会员价 Member {fmt.money(label.member_price)}\n")
        kind = barcode_kind(label.barcode, barcode)
        if kind:
            with contextlib.redirect_stdout(io.StringIO()):  # python-escpos prints a notice here
                p.barcode(label.barcode if kind == "EAN13" else "{B" + label.barcode, kind, height=60, width=2,
                          pos="BELOW", function_type="B", check=False)
        p.set(align="left")
        p.cut(mode="PART")
    return p.output
