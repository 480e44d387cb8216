"""Stocktakes (库存盘点): snapshot, count (several counters at once), variance, post.

不停业盘点 — the store keeps selling while counting: each line records the on-hand at the moment
the product was first counted (`expected_at_count`), read in the same statement that records the
count. Variance = counted − expected_at_count, so a sale between the snapshot and the count is
not mistaken for a loss; posting adds `counted − expected_at_count` to the current on-hand, which
keeps every movement made after the count as well.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound
from cloudpos.i18n import N_
from cloudpos.ids import uuid7
from cloudpos.money import line_amount, milli_to_str

from . import domain, ledger
from .models import StockLevel, Stocktake, StocktakeLine
from .products import ProductInfo, catalog
from .schemas import (
    CountIn,
    CountResult,
    CountsOut,
    PostIn,
    ReasonsIn,
    StocktakeIn,
    StocktakeOut,
    VarianceLineOut,
    VarianceOut,
)


def _counted(db: Session, st: Stocktake) -> int:
    return db.scalar(select(func.count()).where(StocktakeLine.tenant_id == st.tenant_id,
                                                StocktakeLine.stocktake_id == st.id,
                                                StocktakeLine.counted.is_not(None))) or 0


def to_out(db: Session, st: Stocktake) -> StocktakeOut:
    return StocktakeOut(id=st.id, number=st.number, store_id=st.store_id, scope=st.scope, category_id=st.category_id,
                        blind=st.blind, status=st.status, note=st.note, line_count=st.line_count,
                        counted_lines=_counted(db, st), created_by_name=st.created_by_name, created_at=st.created_at,
                        posted_by_name=st.posted_by_name, posted_at=st.posted_at)


def load(db: Session, actor: Actor, stocktake_id: uuid.UUID, *, lock: bool = False, shared: bool = False) -> Stocktake:
    stmt = select(Stocktake).where(Stocktake.tenant_id == actor.tenant_id, Stocktake.id == stocktake_id)
    if lock or shared:
        stmt = stmt.with_for_update(read=shared and not lock)
    st = db.scalar(stmt)
    if st is None or not actor.sees_store(st.store_id):
        raise NotFound(N_("Stocktake not found."))
    return st


def _require_open(st: Stocktake) -> None:
    if st.status != "open":
        raise Conflict(N_("This stocktake is %(status)s and can no longer be changed."), code="stocktake_closed",
                       params={"status": st.status})


def get_stocktake(db: Session, actor: Actor, stocktake_id: uuid.UUID) -> StocktakeOut:
    actor.require("inventory.view")
    return to_out(db, load(db, actor, stocktake_id))


def list_stocktakes(db: Session, actor: Actor, *, store_id: uuid.UUID | None = None, status: str = "",
                    page: int = 1, page_size: int = 50) -> tuple[list[StocktakeOut], int]:
    actor.require("inventory.view")
    stmt = select(Stocktake).where(Stocktake.tenant_id == actor.tenant_id)
    if store_id is not None:
        ledger.check_store(db, actor, store_id)
        stmt = stmt.where(Stocktake.store_id == store_id)
    elif not actor.all_stores:
        stmt = stmt.where(Stocktake.store_id.in_(actor.store_ids or [uuid.UUID(int=0)]))
    if status:
        stmt = stmt.where(Stocktake.status == status)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(Stocktake.created_at.desc(), Stocktake.id.desc())
                      .offset((page - 1) * page_size).limit(page_size)).all()
    return [to_out(db, st) for st in rows], total


@use_case
def create_stocktake(db: Session, actor: Actor, data: StocktakeIn) -> StocktakeOut:
    actor.require("stocktake.manage")
    store_name = ledger.check_store(db, actor, data.store_id)
    if data.scope == "category":
        if data.category_id is None:
            raise Invalid(errors=[FieldError("category_id", N_("Choose a category."), {}, "required")])
        if data.category_id not in catalog.category_names(db, actor):
            raise Invalid(errors=[FieldError("category_id", N_("Unknown category."), {}, "unknown_category")])
        ids = catalog.product_ids(db, actor, category_id=data.category_id)
    elif data.scope == "products":
        if not data.product_ids:
            raise Invalid(errors=[FieldError("product_ids", N_("Choose at least one product."), {}, "required")])
        ids = list(dict.fromkeys(data.product_ids))
        ledger.load_products(db, actor, ids, field="product_ids")
    else:
        ids = catalog.product_ids(db, actor)
    if not ids:
        raise Invalid(errors=[FieldError("scope", N_("There are no products to count."), {}, "empty")])
    products = catalog.get_products(db, actor, ids)
    levels = ledger.on_hand(db, actor.tenant_id, data.store_id, ids)
    st = Stocktake(tenant_id=actor.tenant_id, id=uuid7(), number=ledger.next_number(db, actor.tenant_id, "PD"),
                   store_id=data.store_id, scope=data.scope,
                   category_id=data.category_id if data.scope == "category" else None, blind=data.blind,
                   note=data.note, line_count=len(ids), created_by_name=actor.display_name or actor.username)
    db.add(st)
    db.flush()
    rows = [{"tenant_id": actor.tenant_id, "stocktake_id": st.id, "product_id": pid,
             "expected_snapshot": levels.get(pid, 0), "unit_cost": products[pid].cost if pid in products else 0,
             "reason": "", "note": ""} for pid in sorted(ids, key=lambda p: p.bytes)]
    for i in range(0, len(rows), 1000):
        db.execute(insert(StocktakeLine), rows[i:i + 1000])
    audit.record(db, actor, "stocktake.create", target_type="stocktake", target_id=st.id, target_label=st.number,
                 store_id=data.store_id, after={"store": store_name, "scope": data.scope, "lines": len(ids),
                                                "blind": data.blind})
    return to_out(db, st)


def _resolve(db: Session, actor: Actor, entries: list[CountIn]) -> list[tuple[int, ProductInfo, CountIn]]:
    errors: list[FieldError] = []
    by_id = catalog.get_products(db, actor, [e.product_id for e in entries if e.product_id is not None])
    out = []
    for i, e in enumerate(entries):
        p: ProductInfo | None = None
        if e.product_id is not None:
            p = by_id.get(e.product_id)
            if p is None:
                errors.append(FieldError(f"[{i}].product_id", N_("Unknown product: %(id)s"),
                                         {"id": str(e.product_id)}, "unknown_product"))
                continue
        elif e.barcode:
            p = catalog.find_by_code(db, actor, e.barcode)
            if p is None:
                errors.append(FieldError(f"[{i}].barcode", N_("No product has the code %(code)s."),
                                         {"code": e.barcode}, "unknown_barcode"))
                continue
        else:
            errors.append(FieldError(f"[{i}]", N_("Give a product_id or a barcode."), {}, "required"))
            continue
        if e.mode == "set" and e.quantity < 0:
            errors.append(FieldError(f"[{i}].quantity", N_("A count cannot be negative."), {}, "negative"))
            continue
        out.append((i, p, e))
    if errors:
        raise Invalid(errors=errors[:50])
    return out


@use_case
def record_counts(db: Session, actor: Actor, stocktake_id: uuid.UUID, entries: list[CountIn]) -> CountsOut:
    """Enter counts: `add` increments atomically (several counters scanning at once), `set` replaces."""
    actor.require("stocktake.manage")
    if not entries:
        raise Invalid(errors=[FieldError("body", N_("Send at least one count."), {}, "required")])
    st = load(db, actor, stocktake_id, shared=True)
    _require_open(st)
    resolved = _resolve(db, actor, entries)
    have = set(db.scalars(select(StocktakeLine.product_id).where(
        StocktakeLine.tenant_id == st.tenant_id, StocktakeLine.stocktake_id == st.id,
        StocktakeLine.product_id.in_({p.id for _, p, _ in resolved}))).all())
    missing = [(i, p) for i, p, _ in resolved if p.id not in have]
    if missing and st.scope != "all":
        raise Invalid(errors=[FieldError(f"[{i}]", N_("%(product)s is not part of this stocktake."),
                                         {"product": ledger.product_label(p, p.id)}, "not_in_stocktake")
                              for i, p in missing[:50]])
    if missing:  # a product added to the catalog after the task was created: count it too
        levels = ledger.on_hand(db, st.tenant_id, st.store_id, [p.id for _, p in missing])
        for pid, p in {p.id: p for _, p in missing}.items():
            db.add(StocktakeLine(tenant_id=st.tenant_id, stocktake_id=st.id, product_id=pid,
                                 expected_snapshot=levels.get(pid, 0), unit_cost=p.cost, reason="", note=""))
            st.line_count += 1
        db.flush()
    now = clock.now()
    results: dict[uuid.UUID, CountResult] = {}
    hide = st.blind
    for i, p, e in sorted(resolved, key=lambda r: (r[1].id.bytes, r[0])):  # primary-key order
        on_hand_now = (select(StockLevel.on_hand).where(StockLevel.tenant_id == st.tenant_id,
                                                        StockLevel.store_id == st.store_id,
                                                        StockLevel.product_id == p.id).scalar_subquery())
        counted = e.quantity if e.mode == "set" else func.coalesce(StocktakeLine.counted, 0) + e.quantity
        row = db.execute(
            update(StocktakeLine)
            .where(StocktakeLine.tenant_id == st.tenant_id, StocktakeLine.stocktake_id == st.id,
                   StocktakeLine.product_id == p.id)
            .values(counted=counted,
                    expected_at_count=func.coalesce(StocktakeLine.expected_at_count, func.coalesce(on_hand_now, 0)),
                    first_counted_at=func.coalesce(StocktakeLine.first_counted_at, now),
                    last_counted_at=now)
            .returning(StocktakeLine.counted, StocktakeLine.expected_at_count)
            .execution_options(synchronize_session=False)).one()
        if row.counted < 0:
            raise Invalid(errors=[FieldError(f"[{i}].quantity", N_("The count of %(product)s would be negative."),
                                             {"product": ledger.product_label(p, p.id)}, "negative")])
        results[p.id] = CountResult(product_id=p.id, sku=p.sku, name=p.name, counted=row.counted,
                                    expected=None if hide else row.expected_at_count)
    audit.record(db, actor, "stocktake.count", target_type="stocktake", target_id=st.id, target_label=st.number,
                 store_id=st.store_id,
                 details={"entries": [{"sku": p.sku, "quantity": milli_to_str(e.quantity), "mode": e.mode}
                                      for _, p, e in resolved[:200]], "count": len(resolved)})
    db.flush()
    return CountsOut(stocktake_id=st.id, counted_lines=_counted(db, st), line_count=st.line_count,
                     results=[results[p.id] for _, p, _ in resolved if p.id in results])


@use_case
def set_reasons(db: Session, actor: Actor, stocktake_id: uuid.UUID, data: ReasonsIn) -> VarianceOut:
    actor.require("stocktake.manage")
    st = load(db, actor, stocktake_id, shared=True)
    _require_open(st)
    lines = {ln.product_id: ln for ln in db.scalars(select(StocktakeLine).where(
        StocktakeLine.tenant_id == st.tenant_id, StocktakeLine.stocktake_id == st.id,
        StocktakeLine.product_id.in_({x.product_id for x in data.lines}))).all()}
    errors = [FieldError(f"lines[{i}].product_id", N_("This product is not part of this stocktake."), {},
                         "not_in_stocktake") for i, x in enumerate(data.lines) if x.product_id not in lines]
    if errors:
        raise Invalid(errors=errors[:50])
    for x in data.lines:
        lines[x.product_id].reason, lines[x.product_id].note = x.reason, x.note
    audit.record(db, actor, "stocktake.reason", target_type="stocktake", target_id=st.id, target_label=st.number,
                 store_id=st.store_id, details={"lines": [{"product_id": str(x.product_id), "reason": x.reason}
                                                          for x in data.lines[:200]]})
    db.flush()
    return variance_report(db, actor, st.id)


def variance_report(db: Session, actor: Actor, stocktake_id: uuid.UUID) -> VarianceOut:
    """Expected (at count time), counted, difference in units and at cost, reason — per line."""
    actor.require("inventory.view")
    st = load(db, actor, stocktake_id)
    rows = list(db.scalars(select(StocktakeLine).where(StocktakeLine.tenant_id == st.tenant_id,
                                                       StocktakeLine.stocktake_id == st.id)).all())
    products = catalog.get_products(db, actor, [r.product_id for r in rows])
    cats = catalog.category_names(db, actor)
    hide = st.blind and st.status == "open" and not actor.can("stocktake.post")
    lines: list[VarianceLineOut] = []
    gain = loss = counted_n = diff_n = 0
    for r in rows:
        p = products.get(r.product_id)
        diff = cost = None
        if r.counted is not None:
            counted_n += 1
            v = domain.variance(r.expected_at_count or 0, r.counted, r.unit_cost)
            diff, cost = v.difference, v.difference_cost
            if diff:
                diff_n += 1
            gain += max(cost, 0)
            loss += min(cost, 0)
        if hide:
            diff = cost = None
        lines.append(VarianceLineOut(
            product_id=r.product_id, product=ledger.product_ref(p),
            category=cats.get(p.category_id, "") if p and p.category_id else "",
            expected_snapshot=0 if hide else r.expected_snapshot,
            expected=None if hide else r.expected_at_count, counted=r.counted, difference=diff,
            unit_cost=r.unit_cost, difference_cost=cost, first_counted_at=r.first_counted_at, reason=r.reason,
            note=r.note, posted_delta=r.posted_delta))
    lines.sort(key=lambda x: (x.category, x.product.sku if x.product else ""))
    return VarianceOut(stocktake=to_out(db, st), lines=lines, counted_lines=counted_n,
                       uncounted_lines=len(rows) - counted_n, lines_with_difference=diff_n,
                       total_difference_cost=0 if hide else gain + loss, gain_cost=0 if hide else gain,
                       loss_cost=0 if hide else loss)


@use_case
def post_stocktake(db: Session, actor: Actor, stocktake_id: uuid.UUID, data: PostIn) -> VarianceOut:
    """Adjust stock by each line's variance (stocktake movements) and close the task (read-only after)."""
    actor.require("stocktake.post")
    st = load(db, actor, stocktake_id, lock=True)
    _require_open(st)
    rows = list(db.scalars(select(StocktakeLine).where(StocktakeLine.tenant_id == st.tenant_id,
                                                       StocktakeLine.stocktake_id == st.id)
                           .order_by(StocktakeLine.product_id)).all())
    if data.zero_uncounted:
        uncounted = [r for r in rows if r.counted is None]
        levels = ledger.on_hand(db, st.tenant_id, st.store_id, [r.product_id for r in uncounted])
        now = clock.now()
        for r in uncounted:
            r.counted, r.expected_at_count, r.first_counted_at = 0, levels.get(r.product_id, 0), now
    moves = []
    for r in rows:
        if r.counted is None:
            continue
        r.posted_delta = r.counted - (r.expected_at_count or 0)
        if r.posted_delta:
            moves.append((r.product_id, r.posted_delta, r.unit_cost))
    ledger.apply_movements(db, actor, st.store_id, moves, "stocktake", "stocktake", st.id, note=st.number,
                           check_negative=False)
    st.status, st.posted_at, st.posted_by_name = "posted", clock.now(), actor.display_name or actor.username
    total = sum(line_amount(r.unit_cost, r.posted_delta or 0) for r in rows)
    audit.record(db, actor, "stocktake.post", target_type="stocktake", target_id=st.id, target_label=st.number,
                 store_id=st.store_id, before={"status": "open"}, after={"status": "posted"},
                 details={"adjusted_lines": len(moves), "difference_cost": total,
                          "zero_uncounted": data.zero_uncounted})
    db.flush()
    return variance_report(db, actor, st.id)


@use_case
def cancel_stocktake(db: Session, actor: Actor, stocktake_id: uuid.UUID) -> StocktakeOut:
    actor.require("stocktake.manage")
    st = load(db, actor, stocktake_id, lock=True)
    _require_open(st)
    st.status = "cancelled"
    audit.record(db, actor, "stocktake.cancel", target_type="stocktake", target_id=st.id, target_label=st.number,
                 store_id=st.store_id, before={"status": "open"}, after={"status": "cancelled"})
    db.flush()
    return to_out(db, st)
