"""Jinja2 for the HTML pages: each module's `templates/` folder is reachable as `<module>/<file>`;
the base layout lives in `web/templates`. `render` adds the translator, the actor and the menu."""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_currency, format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, PrefixLoader, select_autoescape

from cloudpos import __version__
from cloudpos.i18n import LOCALES, N_, PACKAGE_DIR, gettext
from cloudpos.web import nav

# Messages a redirect may ask the next page to show (?flash=code): codes, never free text.
FLASH = {
    "saved": N_("Saved."),
    "created": N_("Created."),
    "deactivated": N_("Deactivated."),
    "password_reset": N_("Password reset. The employee's sessions were ended."),
    "unlocked": N_("Account unlocked."),
    "approval_requested": N_("Sent to a manager for approval."),
    "approved": N_("Approved."),
    "rejected": N_("Rejected."),
    "password_changed": N_("Password changed. Other sessions were ended."),
}


@lru_cache
def env() -> Environment:
    loaders = {p.parent.name: FileSystemLoader(str(p)) for p in PACKAGE_DIR.glob("*/templates") if p.is_dir()}
    e = Environment(loader=PrefixLoader(loaders), autoescape=select_autoescape(["html", "xml"]),
                    trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    e.globals.update(version=__version__, locales=LOCALES)
    return e


def fmt_money(fen: int | None, locale: str, currency: str = "CNY") -> str:
    if fen is None:
        return ""
    from decimal import Decimal

    return format_currency(Decimal(fen) / 100, currency, locale=locale)


def fmt_number(value: Any, locale: str) -> str:
    return format_decimal(value, locale=locale)


def fmt_dt(value: datetime | None, tz: str = "Asia/Shanghai", fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    locale = getattr(request.state, "locale", "zh_CN")
    actor = getattr(request.state, "actor", None)

    def _(msgid: str, **params: Any) -> str:
        return gettext(msgid, locale, **params)

    nonce = secrets.token_urlsafe(12)
    ctx = {
        "request": request, "_": _, "locale": locale, "actor": actor,
        "nav_groups": nav.visible(actor) if actor else [], "nav_labels": nav.GROUP_LABELS,
        "money": lambda fen, currency="CNY": fmt_money(fen, locale, currency),
        "number": lambda v: fmt_number(v, locale), "dt": fmt_dt, "path": request.url.path,
        "tz": getattr(request.state, "timezone", "Asia/Shanghai"), "nonce": nonce,
        "merchant_name": getattr(request.state, "merchant_name", ""),
        "flash": FLASH.get(request.query_params.get("flash", ""), ""),
    }
    ctx.update(context)
    html = env().get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code)
