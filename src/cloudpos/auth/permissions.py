"""The permission catalog and the built-in roles (brief section 六). Pure data, no imports.

Every route declares one of these codes; the built-in roles are documented sets of them.
Descriptions are English source strings, translated through the auth catalog.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Permission:
    code: str
    group: str
    description: str


# (code, group, description). Groups follow the back-office navigation.
_CATALOG: list[tuple[str, str, str]] = [
    ("sale.create", "sales", "Sell at the till: scan, take payment, hold and recall"),
    ("sale.view", "sales", "View sales and receipts"),
    ("sale.discount", "sales", "Give manual discounts within the role's limit"),
    ("sale.line.remove", "sales", "Remove a scanned line before payment"),
    ("sale.refund", "sales", "Refund or return goods"),
    ("sale.void", "sales", "Void or correct a completed sale"),
    ("shift.manage", "sales", "Open and close shifts, cash in and out"),
    ("catalog.view", "catalog", "View products and categories"),
    ("catalog.edit", "catalog", "Create and edit products and categories"),
    ("catalog.price.edit", "catalog", "Change sale and cost prices"),
    ("catalog.delete", "catalog", "Delete or delist products"),
    ("catalog.import", "catalog", "Import and export products with Excel"),
    ("inventory.view", "inventory", "View stock and stock movements"),
    ("inventory.receive", "inventory", "Record goods receipts"),
    ("inventory.adjust", "inventory", "Adjust stock (damage, loss, errors)"),
    ("inventory.transfer", "inventory", "Transfer stock between stores"),
    ("stocktake.manage", "inventory", "Create stocktakes and enter counts"),
    ("stocktake.post", "inventory", "Post a stocktake and its adjustments"),
    ("promotion.view", "marketing", "View promotions and coupons"),
    ("promotion.edit", "marketing", "Create and change promotions and coupons"),
    ("member.view", "members", "Look up members"),
    ("member.edit", "members", "Register and edit members"),
    ("member.pii.view", "members", "See members' full phone numbers and personal data"),
    ("member.points.adjust", "members", "Adjust points and stored value by hand"),
    ("member.campaign", "members", "Run member segments and campaigns"),
    ("report.view", "reports", "View reports and the dashboard figures"),
    ("staff.view", "staff", "View employees"),
    ("staff.manage", "staff", "Create, edit and deactivate employees"),
    ("role.manage", "staff", "Create and edit roles and permissions"),
    ("audit.view", "staff", "View the audit log"),
    ("approval.decide", "staff", "Approve or reject requests and authorize overrides"),
    ("settings.manage", "settings", "Change store and merchant settings"),
    ("store.manage", "settings", "Add and edit stores and terminals"),
    ("payment.manage", "settings", "Configure payment methods and providers"),
    ("printer.manage", "settings", "Configure printers and receipt templates"),
    ("backup.manage", "settings", "Back up and restore data"),
    ("integration.manage", "settings", "Manage API keys, webhooks and exports"),
]

CATALOG: dict[str, Permission] = {c: Permission(c, g, d) for c, g, d in _CATALOG}
ALL: frozenset[str] = frozenset(CATALOG)

GROUPS: dict[str, str] = {
    "sales": "Sales",
    "catalog": "Products",
    "inventory": "Inventory",
    "marketing": "Marketing",
    "members": "Members",
    "reports": "Reports",
    "staff": "Staff",
    "settings": "Settings",
}

_CASHIER = {
    "sale.create", "sale.view", "sale.discount", "sale.line.remove", "shift.manage",
    "catalog.view", "inventory.view", "promotion.view", "member.view", "member.edit",
}
_SALESPERSON = {"sale.view", "catalog.view", "inventory.view", "promotion.view", "member.view", "member.edit"}
_STORE_MANAGER = _CASHIER | {
    "sale.refund", "sale.void",
    "catalog.edit", "catalog.price.edit", "catalog.delete", "catalog.import",
    "inventory.receive", "inventory.adjust", "inventory.transfer", "stocktake.manage", "stocktake.post",
    "promotion.edit", "member.pii.view", "member.points.adjust", "member.campaign",
    "report.view", "staff.view", "staff.manage", "audit.view", "approval.decide", "printer.manage",
}


@dataclass(frozen=True)
class BuiltinRole:
    code: str
    name_zh: str
    name_en: str
    permissions: frozenset[str]
    max_discount_bp: int  # the largest manual discount this role may give without a manager
    all_stores: bool  # new employees with this role see every store unless restricted


BUILTIN_ROLES: dict[str, BuiltinRole] = {
    r.code: r
    for r in [
        BuiltinRole("cashier", "收银员", "Cashier", frozenset(_CASHIER), 1000, False),
        BuiltinRole("salesperson", "销售员", "Salesperson", frozenset(_SALESPERSON), 0, False),
        BuiltinRole("store_manager", "店长", "Store manager", frozenset(_STORE_MANAGER), 10000, False),
        BuiltinRole("admin", "管理员", "Administrator", ALL, 10000, True),
    ]
}


def unknown_codes(codes: set[str] | frozenset[str] | list[str]) -> list[str]:
    return sorted(set(codes) - ALL)


def effective(role_codes: set[str] | frozenset[str], grants: set[str], denies: set[str]) -> frozenset[str]:
    """Role permissions plus individual grants, minus individual denies (deny wins)."""
    return frozenset((set(role_codes) | grants) - denies) & ALL
