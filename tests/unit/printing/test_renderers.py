"""ESC/POS bytes, HTML and PDF renderings of the same receipt."""

from __future__ import annotations

import io
from dataclasses import replace

from PIL import Image

from cloudpos.printing.domain import layout
from cloudpos.printing.domain.receipt import ReceiptTemplate
from cloudpos.printing.domain.sample import sample_labels, sample_receipt, sample_report
from cloudpos.printing.renderers import escpos, html, labels_pdf, pdf

OPTS = escpos.EscposOptions()


def test_escpos_receipt_bytes() -> None:
    data = sample_receipt()
    out = escpos.receipt_bytes(data, ReceiptTemplate(), OPTS)
    assert out.startswith(b"\x1b@\x1c&")  # ESC @ then FS & (Chinese mode)
    assert "可口可乐".encode("gb18030") in out and "合计".encode("gb18030") in out
    assert b"\x1d(k" in out and data.qr_payload.encode() in out  # native QR
    assert out.rstrip(b"\x00").endswith(b"\x1dV\x01")  # partial cut at the end
    assert b"\x1bp" not in out
    assert b"\x1d!\x11" in out  # the store name in double size


def test_escpos_drawer_copies_and_profiles() -> None:
    opts = replace(OPTS, open_drawer=True, copies=2, drawer_pin=5)
    out = escpos.receipt_bytes(sample_receipt(), ReceiptTemplate(paper_mm=58), opts)
    assert out.count(b"\x1bp\x01") == 1  # the drawer opens once, on pin 5
    assert out.count(b"\x1b@") == 2 and out.count(b"\x1dV") == 2
    keys = [k for k, _ in escpos.profiles()]
    assert keys[0] == "default" and "TM-T88V" in keys and escpos.known_profile("TM-T88V")
    unknown = escpos.receipt_bytes(sample_receipt(), ReceiptTemplate(), replace(OPTS, profile="nope"))
    assert unknown.startswith(b"\x1b@")


def test_escpos_logo_and_report() -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (800, 200), (0, 0, 0, 255)).save(buf, "PNG")
    out = escpos.receipt_bytes(replace(sample_receipt(), logo_png=buf.getvalue()), ReceiptTemplate(), OPTS)
    assert b"\x1dv0" in out
    broken = escpos.receipt_bytes(replace(sample_receipt(), logo_png=b"not a png"), ReceiptTemplate(), OPTS)
    assert b"\x1dv0" not in broken and "可口可乐".encode("gb18030") in broken
    report = escpos.report_bytes(sample_report(), replace(OPTS, paper_mm=58))
    assert "交班报表".encode("gb18030") in report


def test_escpos_labels() -> None:
    out = escpos.label_bytes(sample_labels(), OPTS, "ean13")
    assert b"\x1dk" in out and "会员价".encode("gb18030") in out and out.count(b"\x1dV") == 3


def test_html_fragment_and_print_page() -> None:
    els = layout.receipt(sample_receipt(), ReceiptTemplate(paper_mm=58))
    frag = str(html.fragment(els, 58))
    assert "receipt-58" in frag and "可口可乐" in frag and "<svg" in frag
    page = html.print_page(els, 58, "S01", "zh_CN")
    assert "size: 58mm auto" in page and "window.print()" in page
    evil = replace(sample_receipt(), store_name="<script>alert(1)</script>")
    assert "<script>alert" not in str(html.fragment(layout.receipt(evil, ReceiptTemplate())))


def test_pdfs() -> None:
    doc = pdf.render(layout.receipt(sample_receipt(), ReceiptTemplate()), "S01")
    assert doc.startswith(b"%PDF") and b"STSong-Light" in doc
    sheet = labels_pdf.render(sample_labels() * 9, "a4-3x8", "ean13")
    assert sheet.startswith(b"%PDF") and sheet.count(b"/Type /Page\n") + sheet.count(b"/Type /Page ") >= 1
