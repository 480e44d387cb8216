"""Pure rules for merchants and stores: merchant codes, store and terminal numbering, time zones."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pypinyin import Style, lazy_pinyin

CODE_RE = re.compile(r"^[a-z][a-z0-9\-]{2,31}$")


def merchant_code_base(name: str) -> str:
    """A readable code from the merchant's name: pinyin initials for Chinese, letters otherwise."""
    letters = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default")).lower()
    letters = re.sub(r"[^a-z0-9]", "", letters)
    if not letters or not letters[0].isalpha():
        letters = "m" + letters
    return letters[:12]


def valid_merchant_code(code: str) -> bool:
    return bool(CODE_RE.match(code))


def store_code(n: int) -> str:
    return f"S{n:02d}"


def terminal_code(n: int) -> str:
    return f"T{n:02d}"


def terminal_name(n: int, locale: str) -> str:
    """A new till's default name, in the store's language (shown next to the store's name on the till)."""
    return f"{n}号收银台" if locale == "zh_CN" else f"Till {n}"


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
