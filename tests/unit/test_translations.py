"""Every English source string of the package has a Chinese translation (zh_CN).

Strings are extracted with Babel from all Python files and Jinja2 templates under src/cloudpos, the
way a translator's tool would (calls of `_`, `N_` and `gettext`). String literals handed straight to
the error classes (`NotFound("...")`, `FieldError(field, "...")`) are shown to people too: they are
found by walking the Python syntax tree. A few catalogs hold plain strings translated at display time
(error titles, validation messages, the permission catalog); they are checked from the objects.

A failure lists `file:line  msgid` for each missing entry: add the Chinese to that module's
`locale/zh_CN.po` (top-level files such as errors.py and app.py go to `web/locale/zh_CN.po`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from cloudpos.i18n import PACKAGE_DIR, catalog

SRC = PACKAGE_DIR
REPO = SRC.parents[1]

METHOD_MAP = [
    ("**/templates/**.html", "jinja2.ext.babel_extract"),
    ("**.py", "python"),
]
OPTIONS_MAP = {
    # silent=false: a template that does not parse fails here rather than being skipped quietly.
    "**/templates/**.html": {"silent": "false", "trim_blocks": "true", "lstrip_blocks": "true"},
}
KEYWORDS: dict[str, object] = {"_": None, "N_": None, "gettext": None}
# Error classes whose first positional argument (FieldError: second) is a message for people.
ERROR_CALLS = {name: 0 for name in ("Problem", "Invalid", "Unauthorized", "Forbidden", "NotFound", "Conflict",
                                    "Locked", "TooLarge", "ApprovalRequired")} | {"FieldError": 1}

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")


def _skip_dirs(path: str) -> bool:
    name = Path(path).name
    return name not in ("static", "__pycache__", "locale") and not name.startswith(".")


def extracted() -> Iterator[tuple[str, int, str]]:
    """(file relative to the repository, line, msgid) for every translatable string."""
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(SRC), method_map=METHOD_MAP, options_map=OPTIONS_MAP, keywords=KEYWORDS,
            directory_filter=_skip_dirs):
        msgids = message if isinstance(message, tuple) else (message,)
        for msgid in msgids:
            if msgid:
                yield f"src/cloudpos/{filename}", lineno, msgid


def error_literals() -> Iterator[tuple[str, int, str]]:
    """Plain string literals passed as the message of an error class (not wrapped in N_)."""
    for path in sorted(SRC.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError:
            continue  # a file being edited: Babel reports the strings it can read
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            pos = ERROR_CALLS.get(name)
            if pos is None or len(node.args) <= pos:
                continue
            arg = node.args[pos]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value:
                yield f"src/cloudpos/{path.relative_to(SRC)}", node.lineno, arg.value


def runtime_strings() -> Iterator[tuple[str, int, str]]:
    """Plain strings translated when displayed: error titles, validation messages, permissions."""
    from cloudpos import errors
    from cloudpos.auth import permissions
    from cloudpos.web import problems

    for name in dir(errors):
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, errors.Problem):
            yield f"src/cloudpos/errors.py ({name}.title)", 0, cls.title
    for key, msg in problems._PYDANTIC_MESSAGES.items():
        yield f"src/cloudpos/web/problems.py (_PYDANTIC_MESSAGES[{key!r}])", 0, msg
    for perm in permissions.CATALOG.values():
        yield f"src/cloudpos/auth/permissions.py ({perm.code})", 0, perm.description
    for key, label in permissions.GROUPS.items():
        yield f"src/cloudpos/auth/permissions.py (GROUPS[{key!r}])", 0, label


def _where(file: str, line: int) -> str:
    return f"{file}:{line}" if line else file


def test_every_string_has_a_chinese_translation() -> None:
    zh = catalog("zh_CN")
    missing: dict[str, str] = {}
    seen = 0
    for file, line, msgid in [*extracted(), *error_literals(), *runtime_strings()]:
        seen += 1
        if not zh.get(msgid):
            missing.setdefault(msgid, _where(file, line))
    assert seen > 100, f"only {seen} strings extracted: is the extraction broken?"
    if missing:
        pytest.fail(
            f"{len(missing)} string(s) have no Chinese translation. Add each to the module's locale/zh_CN.po "
            "(msgid = the English text exactly, msgstr = 中文):\n"
            + "\n".join(f"  {where}  msgid {msgid!r}" for msgid, where in sorted(missing.items(), key=lambda x: x[1])),
            pytrace=False)


def test_translations_keep_the_placeholders() -> None:
    """`%(name)s` in the English must appear in the Chinese too, or formatting falls back to English."""
    zh = catalog("zh_CN")
    wrong = []
    for msgid, msgstr in zh.items():
        if set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(msgstr)):
            wrong.append(f"  msgid {msgid!r}\n  msgstr {msgstr!r}")
    if wrong:
        pytest.fail("Placeholders differ between English and Chinese:\n" + "\n".join(wrong), pytrace=False)


def test_every_po_file_parses() -> None:
    from babel.messages.pofile import read_po

    for po in sorted(SRC.glob("*/locale/zh_CN.po")):
        with po.open("rb") as fh:
            read_po(fh, locale="zh_CN", abort_invalid=True)
