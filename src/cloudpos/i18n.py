"""Translations: zh_CN (default) and en. Source strings are English; each module keeps its
Chinese catalog in `<module>/locale/zh_CN.po`, merged here at start-up.

`_("text %(name)s", name=...)` translates into the request's locale (a context variable set
by the web middleware); `N_("text")` only marks a string for extraction, to translate later
(error details are translated when the response is rendered).
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
PACKAGE_DIR = Path(__file__).resolve().parent

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@lru_cache
def catalog(locale: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    if locale == "en":
        return merged
    for po_path in sorted(PACKAGE_DIR.glob(f"*/locale/{locale}.po")):
        with po_path.open("rb") as fh:
            for message in read_po(fh, locale=locale):
                if message.id and message.string and not message.fuzzy:
                    merged[str(message.id)] = str(message.string)
    return merged


def gettext(msgid: str, locale: str | None = None, /, **params: Any) -> str:
    text = catalog(locale or current_locale.get()).get(msgid, msgid)
    if params:
        try:
            return text % params
        except (KeyError, ValueError, TypeError):
            return msgid % params
    return text


def _(msgid: str, /, **params: Any) -> str:
    return gettext(msgid, None, **params)


def N_(msgid: str) -> str:  # noqa: N802 - the conventional name for "mark, don't translate"
    return msgid


def negotiate(accept_language: str | None) -> str | None:
    """Pick zh_CN or en from an Accept-Language header."""
    if not accept_language:
        return None
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower().replace("-", "_")
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return None


def normalize_locale(value: str | None) -> str | None:
    if not value:
        return None
    value = value.replace("-", "_")
    for loc in LOCALES:
        if value.lower() == loc.lower() or value.lower() == loc.split("_")[0]:
            return loc
    return None
