"""The back-office navigation, grouped by the brief's chapters. Each entry names the permission it
needs; the menu shows only what the employee may use. Modules add their own entries here."""

from __future__ import annotations

from dataclasses import dataclass

from cloudpos.context import Actor
from cloudpos.i18n import N_


@dataclass(frozen=True)
class NavItem:
    group: str
    label: str
    url: str
    permission: str
    icon: str


GROUP_LABELS = {
    "home": N_("Home"),
    "catalog": N_("Products"),
    "inventory": N_("Inventory"),
    "sales": N_("Sales"),
    "members": N_("Members"),
    "marketing": N_("Marketing"),
    "reports": N_("Reports"),
    "staff": N_("Staff"),
    "settings": N_("Settings"),
}

ITEMS: list[NavItem] = [
    NavItem("home", N_("Dashboard"), "/", "authenticated", "speedometer2"),
    NavItem("staff", N_("Employees"), "/staff/employees", "staff.view", "people"),
    NavItem("staff", N_("Roles & permissions"), "/staff/roles", "role.manage", "shield-lock"),
    NavItem("staff", N_("Approvals"), "/approvals", "approval.decide", "check2-square"),
    NavItem("staff", N_("Audit log"), "/audit", "audit.view", "journal-text"),
    NavItem("settings", N_("Merchant settings"), "/settings", "settings.manage", "gear"),
    NavItem("settings", N_("Stores & terminals"), "/settings/stores", "store.manage", "shop"),
]


def register(item: NavItem) -> None:
    if item not in ITEMS:
        ITEMS.append(item)


def visible(actor: Actor) -> list[tuple[str, list[NavItem]]]:
    groups: dict[str, list[NavItem]] = {}
    for item in ITEMS:
        if item.permission == "authenticated" or actor.can(item.permission):
            groups.setdefault(item.group, []).append(item)
    return [(g, groups[g]) for g in GROUP_LABELS if g in groups]
