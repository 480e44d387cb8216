"""Every action the code records in the audit log has a label for people (the log page, its filter).

The codes are read from the source: the third argument of every `audit.record(...)` call. A code built at run
time is listed in DYNAMIC with the codes it can take; a new dynamic code fails here until it is listed."""

from __future__ import annotations

import ast

from cloudpos.app import MODULES, optional_module
from cloudpos.i18n import PACKAGE_DIR, gettext

DYNAMIC = {
    "f'sale.{kind}'": ["sale.refund", "sale.void"],
    "f'shift.cash_{data.direction}'": ["shift.cash_in", "shift.cash_out"],
}


def _constants(node: ast.expr) -> list[str] | None:
    """The codes an expression can be: a literal, either branch of `a if c else b`, an f-string whose one
    hole is such a choice; None when it cannot be read statically."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        a, b = _constants(node.body), _constants(node.orelse)
        return None if a is None or b is None else a + b
    if isinstance(node, ast.JoinedStr):
        out = [""]
        for part in node.values:
            options = _constants(part.value) if isinstance(part, ast.FormattedValue) else _constants(part)
            if options is None:
                return None
            out = [o + p for o in out for p in options]
        return out
    return None


def recorded_codes() -> dict[str, str]:
    """Action code → where it is recorded."""
    codes: dict[str, str] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "audit"
                    and len(node.args) >= 3):
                continue
            arg = node.args[2]
            options = _constants(arg)
            if options is None:
                source = ast.unparse(arg)
                assert source in DYNAMIC, f"{path}:{node.lineno}: list the codes {source} can take in DYNAMIC"
                options = DYNAMIC[source]
            for code in options:
                codes.setdefault(code, f"{path.relative_to(PACKAGE_DIR)}:{node.lineno}")
    return codes


def _labels() -> dict[str, str]:
    for name in MODULES:  # as the app does: each module's views register their actions
        optional_module(f"cloudpos.{name}.views")
    from cloudpos.audit.views import ACTION_LABELS

    return ACTION_LABELS


def test_every_recorded_action_has_a_label_in_english_and_chinese():
    codes, labels = recorded_codes(), _labels()
    assert len(codes) > 90  # the scan found the calls (about a hundred codes)
    missing = [f"{where}  {code}" for code, where in sorted(codes.items()) if code not in labels]
    assert not missing, "no label in audit.views.ACTION_LABELS (register_actions in the module's views):\n" + \
        "\n".join(missing)
    untranslated = [code for code in codes if gettext(labels[code], "zh_CN") == labels[code]]
    assert not untranslated, untranslated


def test_the_filter_groups_cover_every_module_prefix():
    from cloudpos.audit.views import ACTION_GROUPS

    _labels()
    prefixes = [p for p, _ in ACTION_GROUPS]
    assert all(p.endswith(".") for p in prefixes)
    for code in ("stock.adjust", "stocktake.post", "sale.refund", "shift.close", "member.create",
                 "promotion.create", "catalog.price.change", "payment.refund", "printer.test"):
        assert any(code.startswith(p) for p in prefixes), code
