"""Jinja2 for the HTML pages: each module's `templates/` folder is reachable as `<module>/<file>`;
the base layout lives in `web/templates`. `render` adds the translator, the actor and the menu.

Views pass `db=` to `render` so the top bar can show the merchant's name and the employee's stores;
pages rendered without a session (error pages) fall back to the last name seen for the tenant.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode
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
    "deleted": N_("Deleted."),
    "deactivated": N_("Deactivated. The employee's sessions were ended."),
    "reactivated": N_("Reactivated. The employee can log in again."),
    "password_reset": N_("Password reset. The employee's sessions were ended."),
    "unlocked": N_("Account unlocked."),
    "approval_requested": N_("Sent to a manager for approval."),
    "approved": N_("Approved."),
    "rejected": N_("Rejected."),
    "password_changed": N_("Password changed. Other sessions were ended."),
    "welcome": N_("Welcome! Your merchant account is ready."),
    "logged_out": N_("You have logged out."),
}
FLASH_LEVEL = {"approval_requested": "info", "logged_out": "secondary", "rejected": "secondary"}

# The merchant name per tenant, for pages rendered without a database session (error pages).
_MERCHANT_NAMES: dict[uuid.UUID, str] = {}


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


def _chrome(request: Request, db: Any, actor: Any) -> dict[str, Any]:
    """The merchant's name and the employee's stores for the top bar."""
    from cloudpos.tenancy import service as tenancy

    cached = getattr(request.state, "chrome", None)
    if cached is not None:
        return cached
    chrome: dict[str, Any] = {"merchant_name": _MERCHANT_NAMES.get(actor.tenant_id, ""), "stores": []}
    if db is not None:
        try:
            m = tenancy.merchant(db, actor)
            chrome = {"merchant_name": m.merchant_name, "merchant_code": m.merchant_code,
                      "stores": tenancy.list_stores(db, actor)}
            if len(_MERCHANT_NAMES) > 10_000:
                _MERCHANT_NAMES.clear()
            _MERCHANT_NAMES[actor.tenant_id] = m.merchant_name
        except Exception:  # noqa: BLE001 - the top bar must never break a page
            db.rollback()
    request.state.chrome = chrome
    return chrome


def url_with(request: Request, **params: Any) -> str:
    """The current URL with some query parameters replaced (None or "" removes one); drops ?flash."""
    query = {k: v for k, v in request.query_params.items() if k not in ("flash", "lang")}
    for key, value in params.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = str(value)
    return request.url.path + (f"?{urlencode(query)}" if query else "")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    locale = getattr(request.state, "locale", "zh_CN")
    actor = getattr(request.state, "actor", None)
    db = context.pop("db", None)

    def _(msgid: str, **params: Any) -> str:
        return gettext(msgid, locale, **params)

    chrome = _chrome(request, db, actor) if actor is not None else {"merchant_name": "", "stores": []}
    nav_groups = nav.visible(actor) if actor else []
    path = request.url.path
    # The menu entry for this page: the longest URL that is the path or a parent of it.
    matching = [i.url for _, items in nav_groups for i in items
                if path == i.url or (i.url != "/" and path.startswith(i.url.rstrip("/") + "/"))]
    nav_active = max(matching, key=len) if matching else ""
    nonce = secrets.token_urlsafe(12)
    flash_code = request.query_params.get("flash", "")
    ctx = {
        "request": request, "_": _, "locale": locale, "actor": actor,
        "nav_groups": nav_groups, "nav_labels": nav.GROUP_LABELS, "nav_active": nav_active,
        "money": lambda fen, currency="CNY": fmt_money(fen, locale, currency),
        "number": lambda v: fmt_number(v, locale), "dt": fmt_dt, "path": path,
        "tz": getattr(request.state, "timezone", "Asia/Shanghai"), "nonce": nonce,
        "merchant_name": getattr(request.state, "merchant_name", "") or chrome.get("merchant_name", ""),
        "merchant_code": chrome.get("merchant_code", ""), "my_stores": chrome.get("stores", []),
        "flash": FLASH.get(flash_code, ""), "flash_level": FLASH_LEVEL.get(flash_code, "success"),
        "url_with": lambda **params: url_with(request, **params),
        "lang_url": lambda loc: url_with(request, lang=loc),
        "errors": {}, "form_error": "",
    }
    ctx.update(context)
    html = env().get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})
