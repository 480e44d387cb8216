"""HTML receipts from the same layout elements: a fragment (e-receipt page, live preview) and a
stand-alone page for browser printing, sized for 58/80 mm paper with @media print."""

from __future__ import annotations

import base64
from dataclasses import asdict
from functools import lru_cache
from typing import Any

import segno
from markupsafe import Markup

from cloudpos.printing.domain import layout as L


@lru_cache(maxsize=256)
def qr_svg(payload: str, scale: int = 3) -> str:
    return segno.make(payload, error="m").svg_inline(scale=scale, border=2, dark="#000")


def _element(el: L.Element) -> dict[str, Any]:
    kind = type(el).__name__.lower()
    if isinstance(el, L.Logo):
        return {"type": kind, "src": "data:image/png;base64," + base64.b64encode(el.png).decode()}
    if isinstance(el, L.Qr):
        svg = Markup(qr_svg(el.payload))  # noqa: S704 - an SVG made by segno from the payload
        return {"type": kind, "svg": svg, "payload": el.payload, "caption": el.caption}
    return {"type": kind, **asdict(el)}


def elements(els: list[L.Element]) -> list[dict[str, Any]]:
    return [_element(e) for e in els]


def _env():  # noqa: ANN202 - the shared Jinja environment
    from cloudpos.web.templating import env

    return env()


def fragment(els: list[L.Element], paper_mm: int = 80, stacked: bool = False) -> Markup:
    """`stacked`: item names on a line of their own (phones), as on 58 mm paper."""
    html = _env().get_template("printing/_receipt.html").render(els=elements(els), paper_mm=paper_mm,
                                                                 stacked=stacked)
    return Markup(html)  # noqa: S704 - rendered by an autoescaping template


def print_page(els: list[L.Element], paper_mm: int, title: str, locale: str = "zh_CN", auto_print: bool = True) -> str:
    return _env().get_template("printing/print_page.html").render(
        body=fragment(els, paper_mm), paper_mm=paper_mm, title=title, auto_print=auto_print,
        lang="zh-CN" if locale == "zh_CN" else "en")
