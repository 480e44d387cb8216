"""Display width of text on a receipt: East Asian Wide/Fullwidth characters take two columns.

Thermal printers in Chinese (GB18030) mode print a CJK ideograph in the space of two Latin
characters; combining marks and zero-width characters take none. East Asian *Ambiguous*
characters (×, ·, —, “”, é…) are wide in this legacy context (UAX #11): the printer prints
every character GB18030 encodes in two bytes full-width, so those count two columns; other
ambiguous ones count one. Receipts use ASCII for their own punctuation (x, -, =, *).

Lines never start with closing punctuation (，。、）》！？…): the character before it moves down.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

_ZERO = {"Mn", "Me", "Cf"}
# Characters a line must not start with (line-breaking rules for Chinese text, 禁则).
NO_LINE_START = set("，。、；：！？）》」』】〉〕…—～,.;:!?)]}%％")


@lru_cache(maxsize=4096)
def char_width(ch: str) -> int:
    if ch in ("\u200b", "\u200d", "\ufeff"):
        return 0
    if unicodedata.category(ch) in _ZERO:
        return 0
    eaw = unicodedata.east_asian_width(ch)
    if eaw in ("W", "F"):
        return 2
    if eaw == "A":
        try:
            return 2 if len(ch.encode("gb18030")) == 2 else 1
        except UnicodeEncodeError:
            return 1
    return 1


def width(text: str) -> int:
    return sum(char_width(c) for c in text)


def clean(text: str) -> str:
    """One line of printable text: control characters (tabs, newlines…) become spaces."""
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)


def truncate(text: str, cols: int) -> str:
    out, used = [], 0
    for c in text:
        w = char_width(c)
        if used + w > cols:
            break
        out.append(c)
        used += w
    return "".join(out)


def _tokens(text: str) -> list[str]:
    """Break points: a run of non-space narrow characters is one token (a Latin word or a number);
    every wide character and every space is a token of its own."""
    tokens: list[str] = []
    word = ""
    for c in text:
        if c == " " or char_width(c) == 2:
            if word:
                tokens.append(word)
                word = ""
            tokens.append(c)
        else:
            word += c
    if word:
        tokens.append(word)
    return tokens


def wrap(text: str, cols: int) -> list[str]:
    """Greedy wrap to `cols` display columns; CJK may break between any two characters, Latin words
    only at spaces (a word longer than a line is split). Never returns an empty list."""
    if cols < 2:
        raise ValueError("cols must be >= 2")
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0
        for tok in _tokens(clean(paragraph)):
            w = width(tok)
            if tok == " " and used == 0 and lines:
                continue  # no leading space on a continuation line
            if used + w <= cols:
                line, used = line + tok, used + w
                continue
            if tok == " ":
                lines.append(line.rstrip())
                line, used = "", 0
                continue
            if w > cols:  # a very long word: split it by characters
                for c in tok:
                    cw = char_width(c)
                    if used + cw > cols:
                        lines.append(line.rstrip())
                        line, used = "", 0
                    line, used = line + c, used + cw
                continue
            if tok[0] in NO_LINE_START and len(line) > 1 and line[-1] != " ":
                carried, line = line[-1], line[:-1]
                lines.append(line.rstrip())
                line, used = carried + tok, width(carried) + w
                continue
            lines.append(line.rstrip())
            line, used = tok, w
        lines.append(line.rstrip())
    return lines or [""]


def ljust(text: str, cols: int) -> str:
    return text + " " * max(0, cols - width(text))


def rjust(text: str, cols: int) -> str:
    return " " * max(0, cols - width(text)) + text


def center(text: str, cols: int) -> str:
    gap = max(0, cols - width(text))
    return " " * (gap // 2) + text + " " * (gap - gap // 2)


def spread(left: str, right: str, cols: int, keep_left: bool = False) -> list[str]:
    """`left` at the left edge and `right` right-aligned on the same line; when both don't fit,
    the left part wraps and the right part sits on its last line (or a line of its own).
    With `keep_left` a left part that fits a line is not broken: the right part goes below it."""
    rw = width(right)
    if width(left) + 1 + rw <= cols:
        return [left + " " * (cols - width(left) - rw) + right]
    if keep_left and width(left) <= cols:
        return [left, *(rjust(part, cols) for part in wrap(right, cols))]
    avail = cols - rw - 1
    if avail >= 4:
        parts = wrap(left, avail)
        return [*parts[:-1], ljust(parts[-1], avail) + " " + right]
    return [*wrap(left, cols), rjust(right, cols)]
