"""Managing promotions: create, change, activate/deactivate, end early; all audited (promotion.edit)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import FieldError, Invalid, NotFound
from cloudpos.fastread import Read
from cloudpos.i18n import N_, current_locale
from cloudpos.pricing import codec
from cloudpos.pricing import domain as d
from cloudpos.pricing.models import Promotion
from cloudpos.pricing.schemas import PromotionIn, PromotionOut


def _row_values(data: PromotionIn) -> dict[str, Any]:
    rule = data.rule.model_dump(mode="json")
    return {
        "name": data.name, "kind": data.rule.kind, "rule": rule, "scope": data.scope.model_dump(mode="json"),
        "start_date": data.start_date, "end_date": data.end_date, "weekdays": sorted(set(data.weekdays)),
        "time_from": data.time_from, "time_to": data.time_to,
        "store_ids": [str(s) for s in data.store_ids] if data.store_ids is not None else None,
        "member_only": data.member_only, "tier_ids": [str(t) for t in data.tier_ids],
        "birthday_only": data.birthday_only, "priority": data.priority, "stacking": data.stacking,
        "stack_group": data.stack_group or None, "stacks_with_member": data.stacks_with_member,
        "max_uses_per_order": data.max_uses_per_order, "max_uses_per_member": data.max_uses_per_member,
        "status": "active" if data.active else "inactive",
    }


def _names(db: Session, tenant_id: uuid.UUID, rows: list[Any] | None = None) -> dict[str, str]:
    """Ids → names for describing a rule in words (categories, member tiers, stores, and the products
    the given promotions mention — without them a product scope reads as a list of ids)."""
    from cloudpos.catalog import service as catalog
    from cloudpos.members import service as members
    from cloudpos.tenancy import service as tenancy

    names = {str(k): v.split(" > ")[-1] for k, v in catalog.category_full_names(db, tenant_id).items()}
    names.update({str(k): t.name for k, t in members.program.tiers_by_id(db, tenant_id).items()})
    if any(row.store_ids for row in rows or []):
        names.update({str(k): v for k, v in tenancy.store_names(db, tenant_id).items()})
    ids: set[str] = set()
    for row in rows or []:
        scope, rule = row.scope or {}, row.rule or {}
        ids.update(scope.get("product_ids", ()), scope.get("exclude_product_ids", ()),
                   rule.get("get_product_ids", ()), (i.get("product_id") for i in rule.get("items", ())))
    wanted = []
    for i in ids:
        try:
            wanted.append(uuid.UUID(str(i)))
        except ValueError:
            continue
    if wanted:
        names.update({str(k): b.name for k, b in catalog.product_briefs(db, tenant_id, wanted).items()})
    return names


def _gift_name(db: Session, tenant_id: uuid.UUID, rule: dict[str, Any]) -> None:
    if rule.get("kind") == "gift":
        from cloudpos.catalog import service as catalog

        facts = catalog.sale_facts(db, tenant_id, None, [uuid.UUID(rule["gift_product_id"])])
        if not facts:
            raise Invalid(errors=[FieldError("rule.gift_product_id", N_("Unknown product."), {}, "unknown_product")])
        rule["gift_name"] = next(iter(facts.values())).name


def validate(db: Session, actor: Actor, values: dict[str, Any]) -> d.Promotion:
    """The engine's own validation, as field errors in the caller's language."""
    row = Promotion(tenant_id=actor.tenant_id, id=uuid.uuid4(), **values)
    try:
        promo = codec.to_domain(row)
    except (ValueError, KeyError, TypeError) as exc:
        raise Invalid(errors=[FieldError("rule", N_("Invalid rule: %(why)s"), {"why": str(exc)[:200]}, "invalid")])
    problems = d.validate_promotion(promo)
    if problems:
        zh = current_locale.get() == "zh_CN"
        raise Invalid(errors=[FieldError(p.field, p.zh if zh else p.en, {}, p.code) for p in problems])
    return promo


def state(p: Promotion, today: date) -> str:
    if p.status != "active":
        return "inactive"
    if p.end_date is not None and p.end_date < today:
        return "expired"
    if p.start_date is not None and p.start_date > today:
        return "scheduled"
    return "running"


def to_out(db: Session, p: Promotion, names: dict[str, str] | None = None, tz: str = "Asia/Shanghai") -> PromotionOut:
    names = names if names is not None else _names(db, p.tenant_id, [p])
    lang = "zh" if current_locale.get() == "zh_CN" else "en"
    try:
        text = d.describe_promotion(codec.to_domain(p), lang, names)
    except (ValueError, KeyError):
        text = p.name
    today = clock.now().astimezone(ZoneInfo(tz)).date()
    return PromotionOut(
        id=p.id, name=p.name, kind=p.kind, rule=p.rule, scope=p.scope, start_date=p.start_date,
        end_date=p.end_date, weekdays=p.weekdays or [], time_from=p.time_from, time_to=p.time_to,
        store_ids=[uuid.UUID(s) for s in p.store_ids] if p.store_ids is not None else None,
        member_only=p.member_only, tier_ids=[uuid.UUID(t) for t in p.tier_ids or []],
        birthday_only=p.birthday_only, priority=p.priority, stacking=p.stacking, stack_group=p.stack_group,
        stacks_with_member=p.stacks_with_member, max_uses_per_order=p.max_uses_per_order,
        max_uses_per_member=p.max_uses_per_member, status=p.status,
        state=state(p, today), description=text, created_at=p.created_at, updated_at=p.updated_at)


def get(db: Session, actor: Actor, promotion_id: uuid.UUID) -> Promotion:
    p = db.get(Promotion, (actor.tenant_id, promotion_id))
    if p is None:
        raise NotFound(N_("Promotion not found."))
    return p


def list_promotions(db: Session, actor: Actor, *, state_filter: str | None = None, kind: str | None = None,
                    q: str = "", page: int = 1, page_size: int = 50) -> tuple[list[PromotionOut], int]:
    actor.require("promotion.view")
    stmt = select(Promotion).where(Promotion.tenant_id == actor.tenant_id)
    today = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    if kind:
        stmt = stmt.where(Promotion.kind == kind)
    if q:
        stmt = stmt.where(Promotion.name.contains(q.strip(), autoescape=True))
    if state_filter == "inactive":
        stmt = stmt.where(Promotion.status != "active")
    elif state_filter in ("running", "scheduled", "expired"):
        stmt = stmt.where(Promotion.status == "active")
        if state_filter == "running":
            stmt = stmt.where((Promotion.start_date.is_(None)) | (Promotion.start_date <= today),
                              (Promotion.end_date.is_(None)) | (Promotion.end_date >= today))
        elif state_filter == "scheduled":
            stmt = stmt.where(Promotion.start_date > today)
        else:
            stmt = stmt.where(Promotion.end_date < today)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(Promotion.priority.desc(), Promotion.created_at.desc())
                      .offset((page - 1) * page_size).limit(page_size)).all()
    names = _names(db, actor.tenant_id, list(rows))
    return [to_out(db, p, names) for p in rows], total


@use_case
def create(db: Session, actor: Actor, data: PromotionIn) -> PromotionOut:
    actor.require("promotion.edit")
    values = _row_values(data)
    _gift_name(db, actor.tenant_id, values["rule"])
    validate(db, actor, values)
    p = Promotion(tenant_id=actor.tenant_id, **values)
    db.add(p)
    db.flush()
    out = to_out(db, p)
    audit.record(db, actor, "promotion.create", target_type="promotion", target_id=p.id, target_label=p.name,
                 after={**{k: _plain(v) for k, v in values.items()}, "description": out.description})
    return out


@use_case
def update(db: Session, actor: Actor, promotion_id: uuid.UUID, data: PromotionIn) -> PromotionOut:
    actor.require("promotion.edit")
    p = get(db, actor, promotion_id)
    values = _row_values(data)
    _gift_name(db, actor.tenant_id, values["rule"])
    validate(db, actor, values)
    before = {k: _plain(getattr(p, k)) for k in values}
    for k, v in values.items():
        setattr(p, k, v)
    p.updated_at = clock.now()
    b, a = audit.diff(before, {k: _plain(v) for k, v in values.items()})
    audit.record(db, actor, "promotion.update", target_type="promotion", target_id=p.id, target_label=p.name,
                 before=b, after=a)
    return to_out(db, p)


def _plain(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date | datetime) else v


@use_case
def set_status(db: Session, actor: Actor, promotion_id: uuid.UUID, active: bool) -> PromotionOut:
    actor.require("promotion.edit")
    p = get(db, actor, promotion_id)
    before = p.status
    p.status = "active" if active else "inactive"
    p.updated_at = clock.now()
    audit.record(db, actor, "promotion.activate" if active else "promotion.deactivate", target_type="promotion",
                 target_id=p.id, target_label=p.name, before={"status": before}, after={"status": p.status})
    return to_out(db, p)


@use_case
def end_now(db: Session, actor: Actor, promotion_id: uuid.UUID, tz: str = "Asia/Shanghai") -> PromotionOut:
    """End early: the promotion stops today (kept for history; ended promotions can be copied)."""
    actor.require("promotion.edit")
    p = get(db, actor, promotion_id)
    yesterday = date.fromordinal(clock.now().astimezone(ZoneInfo(tz)).date().toordinal() - 1)
    before = {"end_date": _plain(p.end_date), "status": p.status}
    p.end_date = yesterday if p.start_date is None or p.start_date <= yesterday else p.start_date
    p.status = "inactive"
    p.updated_at = clock.now()
    audit.record(db, actor, "promotion.end", target_type="promotion", target_id=p.id, target_label=p.name,
                 before=before, after={"end_date": _plain(p.end_date), "status": p.status})
    return to_out(db, p)


def active_rows(db: Session, tenant_id: uuid.UUID) -> list[Promotion]:
    return list(db.scalars(select(Promotion).where(Promotion.tenant_id == tenant_id,
                                                   Promotion.status == "active")).all())


_PROMOTIONS = Promotion.__table__
_VERSION = select(func.count(), func.max(_PROMOTIONS.c.updated_at)).where(_PROMOTIONS.c.tenant_id == bindparam("tid"))
_VERSION_READ = Read(_VERSION)  # cloudpos.fastread: every quote and sale asks


def version(db: Session, tenant_id: uuid.UUID) -> tuple[int, Any]:
    """Changes whenever any promotion of the tenant changes: the key of the engine's index cache.
    (Asked on every quote and sale: a statement built once, run as plain Core.)"""
    db.flush()  # a promotion changed in this session counts
    return tuple(_VERSION_READ.first(db.connection(), {"tid": tenant_id}))  # type: ignore[arg-type]
