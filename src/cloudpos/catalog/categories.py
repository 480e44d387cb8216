"""Categories: a tree per tenant (食品 > 饮料 > 碳酸饮料), kept with a materialized id path so
"this category and everything under it" is one indexed prefix match."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloudpos.audit import service as audit
from cloudpos.catalog.models import Category, Product
from cloudpos.catalog.schemas import CategoryIn, CategoryOut, CategoryPatch
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound
from cloudpos.i18n import N_
from cloudpos.ids import uuid7

MAX_DEPTH = 6
SEP = " > "


def _all(db: Session, tenant_id: uuid.UUID) -> list[Category]:
    return list(db.scalars(select(Category).where(Category.tenant_id == tenant_id)).all())


def tree_order(rows: list[Category]) -> list[tuple[Category, int, str]]:
    """Depth-first (category, depth, full name), siblings by sort order then name."""
    children: dict[uuid.UUID | None, list[Category]] = {}
    for c in rows:
        children.setdefault(c.parent_id, []).append(c)
    out: list[tuple[Category, int, str]] = []

    def walk(parent: uuid.UUID | None, depth: int, prefix: str) -> None:
        for c in sorted(children.get(parent, []), key=lambda c: (c.sort_order, c.name)):
            full = f"{prefix}{SEP}{c.name}" if prefix else c.name
            out.append((c, depth, full))
            walk(c.id, depth + 1, full)

    walk(None, 0, "")
    return out


def full_names(db: Session, tenant_id: uuid.UUID) -> dict[uuid.UUID, str]:
    return {c.id: full for c, _, full in tree_order(_all(db, tenant_id))}


def list_categories(db: Session, actor: Actor) -> list[CategoryOut]:
    actor.require("catalog.view")
    counts = dict(db.execute(select(Product.category_id, func.count()).where(
        Product.tenant_id == actor.tenant_id, Product.category_id.is_not(None)).group_by(Product.category_id)).all())
    ordered = tree_order(_all(db, actor.tenant_id))
    totals: dict[uuid.UUID, int] = {}
    for c, _, _ in ordered:  # a category counts the products of everything under it
        for ancestor in c.path.strip("/").split("/"):
            aid = uuid.UUID(ancestor)
            totals[aid] = totals.get(aid, 0) + counts.get(c.id, 0)
    return [CategoryOut(id=c.id, name=c.name, parent_id=c.parent_id, full_name=full, depth=depth,
                        sort_order=c.sort_order, product_count=totals.get(c.id, 0))
            for c, depth, full in ordered]


def get(db: Session, actor: Actor, category_id: uuid.UUID) -> Category:
    c = db.get(Category, (actor.tenant_id, category_id))
    if c is None:
        raise NotFound(N_("Category not found."))
    return c


def descendant_ids(db: Session, tenant_id: uuid.UUID, category_id: uuid.UUID) -> list[uuid.UUID]:
    """The category and every category under it (empty if it does not exist)."""
    c = db.get(Category, (tenant_id, category_id))
    if c is None:
        return []
    return list(db.scalars(select(Category.id).where(Category.tenant_id == tenant_id,
                                                     Category.path.startswith(c.path))).all())


def _out(db: Session, actor: Actor, c: Category) -> CategoryOut:
    names = full_names(db, actor.tenant_id)
    return CategoryOut(id=c.id, name=c.name, parent_id=c.parent_id, full_name=names.get(c.id, c.name),
                       depth=c.path.count("/") - 2, sort_order=c.sort_order)


def _check_sibling(db: Session, tenant_id: uuid.UUID, parent_id: uuid.UUID | None, name: str,
                   exclude: uuid.UUID | None = None) -> None:
    stmt = select(Category.id).where(Category.tenant_id == tenant_id, Category.name == name,
                                     Category.parent_id.is_(None) if parent_id is None
                                     else Category.parent_id == parent_id)
    if exclude is not None:
        stmt = stmt.where(Category.id != exclude)
    if db.scalar(stmt) is not None:
        raise Conflict(N_("A category with this name already exists here."), code="duplicate_category",
                       errors=[FieldError("name", N_("Already exists."), {}, "duplicate")])


def new_category(db: Session, tenant_id: uuid.UUID, name: str, parent: Category | None,
                 sort_order: int = 0) -> Category:
    if parent is not None and parent.path.count("/") - 1 >= MAX_DEPTH:
        raise Invalid(errors=[FieldError("parent_id", N_("Categories can be at most %(n)s levels deep."),
                                         {"n": MAX_DEPTH}, "too_deep")])
    cid = uuid7()
    path = f"{parent.path if parent else '/'}{cid}/"
    c = Category(tenant_id=tenant_id, id=cid, name=name, parent_id=parent.id if parent else None, path=path,
                 sort_order=sort_order)
    db.add(c)
    db.flush()
    return c


@use_case
def create(db: Session, actor: Actor, data: CategoryIn) -> CategoryOut:
    actor.require("catalog.edit")
    parent = None
    if data.parent_id is not None:
        parent = db.get(Category, (actor.tenant_id, data.parent_id))
        if parent is None:
            raise Invalid(errors=[FieldError("parent_id", N_("Unknown category."), {}, "unknown_category")])
    _check_sibling(db, actor.tenant_id, data.parent_id, data.name)
    c = new_category(db, actor.tenant_id, data.name, parent, data.sort_order)
    out = _out(db, actor, c)
    audit.record(db, actor, "catalog.category.create", target_type="category", target_id=c.id,
                 target_label=out.full_name, after={"name": c.name, "parent_id": c.parent_id})
    return out


@use_case
def update_category(db: Session, actor: Actor, category_id: uuid.UUID, data: CategoryPatch) -> CategoryOut:
    actor.require("catalog.edit")
    c = get(db, actor, category_id)
    before = {"name": c.name, "parent_id": str(c.parent_id) if c.parent_id else None, "sort_order": c.sort_order}
    new_parent_id = c.parent_id
    if data.move_to_root:
        new_parent_id = None
    elif data.parent_id is not None:
        new_parent_id = data.parent_id
    name = data.name if data.name is not None else c.name
    if new_parent_id != c.parent_id or name != c.name:
        _check_sibling(db, actor.tenant_id, new_parent_id, name, exclude=c.id)
    if new_parent_id != c.parent_id:
        parent = None
        if new_parent_id is not None:
            parent = db.get(Category, (actor.tenant_id, new_parent_id))
            if parent is None:
                raise Invalid(errors=[FieldError("parent_id", N_("Unknown category."), {}, "unknown_category")])
            if parent.path.startswith(c.path):
                raise Invalid(errors=[FieldError("parent_id", N_("A category cannot move under itself."), {},
                                                 "cycle")])
        old_path = c.path
        new_path = f"{parent.path if parent else '/'}{c.id}/"
        for d in db.scalars(select(Category).where(Category.tenant_id == actor.tenant_id,
                                                   Category.path.startswith(old_path))).all():
            d.path = new_path + d.path[len(old_path):]
            if d.path.count("/") - 1 > MAX_DEPTH:
                raise Invalid(errors=[FieldError("parent_id", N_("Categories can be at most %(n)s levels deep."),
                                                 {"n": MAX_DEPTH}, "too_deep")])
        c.parent_id = new_parent_id
    c.name = name
    if data.sort_order is not None:
        c.sort_order = data.sort_order
    db.flush()
    after = {"name": c.name, "parent_id": str(c.parent_id) if c.parent_id else None, "sort_order": c.sort_order}
    b, a = audit.diff(before, after)
    out = _out(db, actor, c)
    audit.record(db, actor, "catalog.category.update", target_type="category", target_id=c.id,
                 target_label=out.full_name, before=b, after=a)
    return out


@use_case
def delete_category(db: Session, actor: Actor, category_id: uuid.UUID) -> None:
    actor.require("catalog.edit")
    c = get(db, actor, category_id)
    if db.scalar(select(func.count()).where(Category.tenant_id == actor.tenant_id, Category.parent_id == c.id)):
        raise Conflict(N_("This category has sub-categories; move or delete them first."),
                       code="category_has_children")
    if db.scalar(select(func.count()).where(Product.tenant_id == actor.tenant_id, Product.category_id == c.id)):
        raise Conflict(N_("This category still has products; move them to another category first."),
                       code="category_has_products")
    label = full_names(db, actor.tenant_id).get(c.id, c.name)
    db.delete(c)
    audit.record(db, actor, "catalog.category.delete", target_type="category", target_id=category_id,
                 target_label=label, before={"name": c.name})


def path_index(db: Session, tenant_id: uuid.UUID) -> dict[tuple[str, ...], uuid.UUID]:
    """('食品', '饮料') → id, for the importer (names compared case-insensitively)."""
    out: dict[tuple[str, ...], uuid.UUID] = {}
    for c, _, full in tree_order(_all(db, tenant_id)):
        out[tuple(p.lower() for p in full.split(SEP))] = c.id
    return out


def ensure_path(db: Session, tenant_id: uuid.UUID, names: list[str],
                index: dict[tuple[str, ...], uuid.UUID]) -> tuple[uuid.UUID, int]:
    """The category at this path, creating the missing levels (returns id, number created)."""
    parent: Category | None = None
    created = 0
    for depth in range(1, len(names) + 1):
        key = tuple(n.lower() for n in names[:depth])
        cid = index.get(key)
        if cid is None:
            c = new_category(db, tenant_id, names[depth - 1], parent)
            index[key] = c.id
            created += 1
            parent = c
        else:
            parent = db.get(Category, (tenant_id, cid))
    assert parent is not None
    return parent.id, created
