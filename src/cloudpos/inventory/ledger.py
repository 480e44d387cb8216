"""The stock ledger: every change of stock is one appended movement plus an atomic update of
the cached on-hand row, in the caller's transaction.

Rows are touched in primary-key order (lines sorted by product id), so two documents touching
the same products cannot deadlock; the balance is changed by one statement
(`on_hand = on_hand + :delta … RETURNING on_hand`), never read-modify-write, so parallel
movements never lose an update on SQLite or PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import chains
from cloudpos.composed import Tail
from cloudpos.context import Actor
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound
from cloudpos.i18n import N_

from . import domain
from .models import StockAlertEvent, StockLevel, StockMovement
from .products import ProductInfo, catalog
from .schemas import ProductRef

Line = tuple[uuid.UUID, int, int | None]  # (product_id, signed delta in milli, unit cost in fen or None)


@dataclass(frozen=True)
class Applied:
    product_id: uuid.UUID
    quantity: int
    on_hand: int
    movement_id: uuid.UUID


def negative_policy(db: Session, tenant_id: uuid.UUID) -> str:
    from cloudpos.tenancy import service as tenancy

    return tenancy.tenant_settings(db, tenant_id).negative_stock


def check_store(db: Session, actor: Actor, store_id: uuid.UUID, field: str = "store_id") -> str:
    """The store must belong to the tenant and be in the employee's scope; returns its name."""
    from cloudpos.tenancy import service as tenancy

    try:
        return tenancy.get_store(db, actor, store_id).name
    except NotFound:
        raise NotFound(N_("Store not found."), errors=[FieldError(field, N_("Store not found."), {}, "not_found")])


def store_names(db: Session, actor: Actor) -> dict[uuid.UUID, str]:
    from cloudpos.tenancy import service as tenancy

    return {s.id: s.name for s in tenancy.list_stores(db, actor)}


def ensure_level_rows(db: Session, tenant_id: uuid.UUID, store_id: uuid.UUID, product_ids: Iterable[uuid.UUID]) -> None:
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    for pid in sorted(set(product_ids)):
        db.execute(insert(StockLevel).values(tenant_id=tenant_id, store_id=store_id, product_id=pid, on_hand=0,
                                             updated_at=clock.now())
                   .on_conflict_do_nothing(index_elements=["tenant_id", "store_id", "product_id"]))


def load_products(db: Session, actor: Actor, product_ids: Sequence[uuid.UUID],
                  field: str = "lines") -> dict[uuid.UUID, ProductInfo]:
    """The products of a document; an unknown id is a field error naming the line."""
    products = catalog.get_products(db, actor, product_ids)
    errors = [FieldError(f"{field}[{i}].product_id", N_("Unknown product: %(id)s"), {"id": str(pid)},
                         "unknown_product") for i, pid in enumerate(product_ids) if pid not in products]
    if errors:
        raise Invalid(errors=errors[:20])
    return products


def product_label(p: ProductInfo | None, product_id: uuid.UUID) -> str:
    return f"{p.name} ({p.sku})" if p else str(product_id)


_LEVELS = StockLevel.__table__
_MOVEMENTS = StockMovement.__table__
# Built once with bound parameters (this runs for every line of every sale): one statement moves the
# balance and returns it; the "block" variant refuses to go below zero (no row comes back).
_MOVE = (update(_LEVELS)
         .where(_LEVELS.c.tenant_id == bindparam("l_tenant"), _LEVELS.c.store_id == bindparam("l_store"),
                _LEVELS.c.product_id == bindparam("l_product"))
         .values(on_hand=_LEVELS.c.on_hand + bindparam("l_delta", type_=_LEVELS.c.on_hand.type),
                 updated_at=bindparam("l_now", type_=_LEVELS.c.updated_at.type))
         .returning(_LEVELS.c.on_hand, _LEVELS.c.low_stock_threshold))
_MOVE_BLOCK = _MOVE.where(_LEVELS.c.on_hand + bindparam("l_delta", type_=_LEVELS.c.on_hand.type) >= 0)
_INSERT_MOVEMENTS = insert(_MOVEMENTS)
# PostgreSQL, a document's lines in one statement (a sale's three lines: one round trip, not four): the
# balance rows are locked first, in product order (`stock_locked`, evaluated once before any row changes, keeps
# the no-deadlock rule), then moved, and each movement is written with the balance its line left. A
# product without a balance row yet is not in the result; the caller moves it line by line. The UPDATE
# names the lines' products itself so that it reads their rows by key (joined to `stock_v` alone, the plan
# read every balance row of the store).
_MOVE_ALL_CTES = """stock_v AS (
    SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:deltas AS bigint[]), CAST(:mv_ids AS uuid[]),
                         CAST(:costs AS bigint[])) AS v(product_id, delta, mv_id, unit_cost)),
stock_locked AS MATERIALIZED (
    SELECT l.product_id FROM stock_levels l
    WHERE l.tenant_id = CAST(:tenant AS uuid) AND l.store_id = CAST(:store AS uuid)
      AND l.product_id = ANY(CAST(:ids AS uuid[])) AND {guard}
    ORDER BY l.product_id FOR UPDATE),
stock_moved AS (
    UPDATE stock_levels l SET on_hand = l.on_hand + v.delta, updated_at = CAST(:now AS timestamptz) FROM stock_v v
    WHERE l.tenant_id = CAST(:tenant AS uuid) AND l.store_id = CAST(:store AS uuid) AND l.product_id = v.product_id
      AND l.product_id = ANY(CAST(:ids AS uuid[]))
      AND (SELECT count(*) FROM stock_locked) >= 0 AND {guard}
    RETURNING l.product_id, l.on_hand, l.low_stock_threshold),
stock_added AS (
    INSERT INTO stock_movements (tenant_id, id, store_id, product_id, kind, quantity, unit_cost, balance_after,
                                 ref_type, ref_id, reason, note, actor_id, actor_name, occurred_at)
    SELECT CAST(:tenant AS uuid), v.mv_id, CAST(:store AS uuid), v.product_id, CAST(:kind AS varchar), v.delta,
           v.unit_cost, m.on_hand, CAST(:ref_type AS varchar), CAST(:ref_id AS uuid), CAST(:reason AS varchar),
           {note}, CAST(:actor_id AS uuid), CAST(:actor_name AS varchar), CAST(:now AS timestamptz)
    FROM stock_v v JOIN stock_moved m ON m.product_id = v.product_id)"""
_MOVE_ALL_PG = text("WITH " + _MOVE_ALL_CTES.format(guard="true", note="CAST(:note AS varchar)")
                    + "\nSELECT product_id, on_hand, low_stock_threshold FROM stock_moved")
# The same as a tail of a sales document's numbering statement (cloudpos.composed): it waits for the
# receipt number (the store's chain head is locked first, then the balances, as when run after it), and
# notes that number on each movement.
_MOVE_ALL_TAIL = ", " + _MOVE_ALL_CTES.format(guard="EXISTS (SELECT 1 FROM link)",  # noqa: S608 - our own SQL
                                              note="(SELECT rno FROM link)")
_MOVED_JSON = "(SELECT json_agg(json_build_array(product_id, on_hand, low_stock_threshold)) FROM stock_moved)"


@dataclass(frozen=True)
class _Plan:
    """What a call moves, checked and ordered, before anything is written."""

    ordered: list[Line]
    products: dict[uuid.UUID, ProductInfo]
    policy: str
    refusable: bool
    now: Any
    actor_name: str

    def one_statement(self, dialect: str) -> bool:
        """PostgreSQL moves every line in one statement, unless a line may be refused (a savepoint undoes
        the call then) or a product comes twice."""
        return (dialect == "postgresql" and not self.refusable
                and len({ln[0] for ln in self.ordered}) == len(self.ordered))


def _plan(db: Session, actor: Actor, lines: Sequence[Line], kind: str, check_negative: bool,
          products: dict[uuid.UUID, ProductInfo] | None) -> _Plan | None:
    if kind not in domain.KINDS:
        raise ValueError(f"unknown movement kind {kind!r}")
    lines = [ln for ln in lines if ln[1] != 0]
    if not lines:
        return None
    if products is None:
        products = load_products(db, actor, [ln[0] for ln in lines])
    policy = negative_policy(db, actor.tenant_id) if check_negative else "allow"
    ordered = sorted(lines, key=lambda ln: ln[0].bytes)  # primary-key order: no deadlocks
    # Only a refusal (Conflict) needs undoing; without one nothing can be refused, and the savepoint's
    # two round trips are saved.
    refusable = policy == "block" and any(ln[1] < 0 for ln in ordered)
    return _Plan(ordered, products, policy, refusable, clock.now(), (actor.display_name or actor.username)[:60])


def apply_movements(db: Session, actor: Actor, store_id: uuid.UUID, lines: Sequence[Line], kind: str,
                    ref_type: str, ref_id: uuid.UUID | None, *, reason: str = "", note: str = "",
                    check_negative: bool = True,
                    products: dict[uuid.UUID, ProductInfo] | None = None) -> list[Applied]:
    """Append one movement per line and update the cached balances, inside the caller's transaction.

    Public: other modules (checkout, refunds) call this within their own use case. It does not
    check permissions (the caller's use case does) and does not commit. Under the tenant's
    `negative_stock = "block"` policy a decrease below zero raises Conflict naming the product and
    nothing of this call is written (a savepoint is rolled back), so the caller may roll back too.
    A balance row is created on the first movement of a product in a store.
    """
    plan = _plan(db, actor, lines, kind, check_negative, products)
    return _apply(db, actor, store_id, plan, kind, ref_type, ref_id, reason, note) if plan else []


def _apply(db: Session, actor: Actor, store_id: uuid.UUID, plan: _Plan, kind: str, ref_type: str,
           ref_id: uuid.UUID | None, reason: str, note: str) -> list[Applied]:
    db.flush()
    conn = db.connection()
    moved: dict[uuid.UUID, tuple[int, int | None, uuid.UUID]] = {}
    if plan.one_statement(conn.dialect.name):
        mv_ids = {ln[0]: _uuid7() for ln in plan.ordered}
        rows = conn.execute(_MOVE_ALL_PG, _move_params(actor, store_id, plan, mv_ids, kind, ref_type, ref_id,
                                                       reason, note))
        moved = _moved(rows, mv_ids)
    return _move_rest(db, actor, store_id, plan, moved, kind, ref_type, ref_id, reason, note)


def _moved(rows: Iterable[Sequence[Any]],
           mv_ids: dict[uuid.UUID, uuid.UUID]) -> dict[uuid.UUID, tuple[int, int | None, uuid.UUID]]:
    """What the one statement moved: product id → (on hand, store threshold, movement id)."""
    return {uuid.UUID(str(pid)): (on_hand, threshold, mv_ids[uuid.UUID(str(pid))]) for pid, on_hand, threshold in rows}


def movements_tail(db: Session, actor: Actor, store_id: uuid.UUID, lines: Sequence[Line], kind: str,
                   ref_type: str, ref_id: uuid.UUID, *, reason: str = "", check_negative: bool = True,
                   products: dict[uuid.UUID, ProductInfo] | None = None) -> Tail | None:
    """`apply_movements` for a sales document whose receipt number is not taken yet, noted on each
    movement: on PostgreSQL it rides in the numbering statement (cloudpos.composed). The checks (unknown
    products, the tenant's policy) are made now, before the number is taken. None: nothing to move."""
    plan = _plan(db, actor, lines, kind, check_negative, products)
    if plan is None:
        return None

    def alone(receipt_no: str) -> None:
        _apply(db, actor, store_id, plan, kind, ref_type, ref_id, reason, receipt_no)

    if not plan.one_statement(db.get_bind().dialect.name):
        return Tail("stock", alone)
    mv_ids = {ln[0]: _uuid7() for ln in plan.ordered}

    def done(rows: list[list[Any]] | None, receipt_no: str) -> None:
        _move_rest(db, actor, store_id, plan, _moved(rows or [], mv_ids), kind, ref_type, ref_id, reason, receipt_no)

    return Tail("stock", alone, _MOVE_ALL_TAIL, _MOVED_JSON,
                _move_params(actor, store_id, plan, mv_ids, kind, ref_type, ref_id, reason, ""), done,
                barrier="(SELECT count(*) FROM stock_moved) >= 0")


def _move_params(actor: Actor, store_id: uuid.UUID, plan: _Plan, mv_ids: dict[uuid.UUID, uuid.UUID], kind: str,
                 ref_type: str, ref_id: uuid.UUID | None, reason: str, note: str) -> dict[str, Any]:
    return {"ids": list(mv_ids), "deltas": [ln[1] for ln in plan.ordered], "mv_ids": list(mv_ids.values()),
            "costs": [ln[2] for ln in plan.ordered], "tenant": actor.tenant_id, "store": store_id, "now": plan.now,
            "kind": kind, "ref_type": ref_type, "ref_id": ref_id, "reason": reason, "note": note[:300],
            "actor_id": actor.employee_id, "actor_name": plan.actor_name}


def _move_rest(db: Session, actor: Actor, store_id: uuid.UUID, plan: _Plan,
               moved: dict[uuid.UUID, tuple[int, int | None, uuid.UUID]], kind: str, ref_type: str,
               ref_id: uuid.UUID | None, reason: str, note: str) -> list[Applied]:
    """Alerts for the lines the one statement moved; every other line moved here, one by one."""
    tenant_id, now, conn = actor.tenant_id, plan.now, db.connection()
    applied: list[Applied] = []
    movements: list[dict] = []
    with db.begin_nested() if plan.refusable else nullcontext():
        for product_id, delta, unit_cost in plan.ordered:
            p = plan.products.get(product_id)
            if product_id in moved:  # moved (and its movement written) by the one statement
                on_hand, store_threshold, mv_id = moved[product_id]
                _alert_if_crossed(db, tenant_id, store_id, product_id, p, delta, on_hand, store_threshold, kind, now)
                applied.append(Applied(product_id, delta, on_hand, mv_id))
                continue
            block = plan.policy == "block" and delta < 0
            params = {"l_tenant": tenant_id, "l_store": store_id, "l_product": product_id, "l_delta": delta,
                      "l_now": now}
            row = conn.execute(_MOVE_BLOCK if block else _MOVE, params).one_or_none()
            if row is None and not block:  # first movement of this product here: create its balance row
                ensure_level_rows(db, tenant_id, store_id, [product_id])
                row = conn.execute(_MOVE, params).one_or_none()
            if row is None:
                have = db.scalar(select(StockLevel.on_hand).where(
                    StockLevel.tenant_id == tenant_id, StockLevel.store_id == store_id,
                    StockLevel.product_id == product_id)) or 0
                raise Conflict(N_("Not enough stock of %(product)s: %(on_hand)s on hand, %(needed)s needed."),
                               code="insufficient_stock",
                               params={"product": product_label(p, product_id),
                                       "on_hand": _qty(have), "needed": _qty(-delta)},
                               extra={"product_id": str(product_id), "on_hand": _qty(have)})
            on_hand, store_threshold = row
            mv_id = _uuid7()
            movements.append({"tenant_id": tenant_id, "id": mv_id, "store_id": store_id, "product_id": product_id,
                              "kind": kind, "quantity": delta, "unit_cost": unit_cost, "balance_after": on_hand,
                              "ref_type": ref_type, "ref_id": ref_id, "reason": reason, "note": note[:300],
                              "actor_id": actor.employee_id, "actor_name": plan.actor_name, "occurred_at": now})
            _alert_if_crossed(db, tenant_id, store_id, product_id, p, delta, on_hand, store_threshold, kind, now)
            applied.append(Applied(product_id, delta, on_hand, mv_id))
        if movements:
            conn.execute(_INSERT_MOVEMENTS, movements)  # one statement for all the lines
        db.flush()
    return applied


def _alert_if_crossed(db: Session, tenant_id: uuid.UUID, store_id: uuid.UUID, product_id: uuid.UUID,
                      p: ProductInfo | None, delta: int, on_hand: int, store_threshold: int | None, kind: str,
                      now) -> None:
    threshold = domain.effective_threshold(store_threshold, p.low_stock_threshold if p else None)
    if domain.crossed_below(on_hand - delta, on_hand, threshold):
        db.add(StockAlertEvent(tenant_id=tenant_id, store_id=store_id, product_id=product_id,
                               on_hand=on_hand, threshold=threshold, movement_kind=kind, occurred_at=now))


def _uuid7() -> uuid.UUID:
    from cloudpos.ids import uuid7

    return uuid7()


def _qty(milli: int) -> str:
    from cloudpos.money import milli_to_str

    return milli_to_str(milli)


def on_hand(db: Session, tenant_id: uuid.UUID, store_id: uuid.UUID,
            product_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    ids = list(set(product_ids))
    out: dict[uuid.UUID, int] = {}
    for i in range(0, len(ids), 900):
        chunk = ids[i:i + 900]
        out.update(db.execute(select(StockLevel.product_id, StockLevel.on_hand).where(
            StockLevel.tenant_id == tenant_id, StockLevel.store_id == store_id,
            StockLevel.product_id.in_(chunk))).all())
    return out


def total_on_hand(db: Session, tenant_id: uuid.UUID, product_id: uuid.UUID, *, lock: bool = False) -> int:
    """On-hand of a product over all the merchant's stores (the base of its moving-average cost).

    With `lock`, the product's balance rows are locked (PostgreSQL; SQLite writers are serialized
    anyway) in primary-key order until the transaction ends, so two receipts of the same product
    cannot both average against the same old stock."""
    stmt = select(StockLevel.on_hand).where(StockLevel.tenant_id == tenant_id, StockLevel.product_id == product_id)
    if lock:
        stmt = stmt.order_by(StockLevel.store_id).with_for_update()
    return sum(db.scalars(stmt).all())


def next_number(db: Session, tenant_id: uuid.UUID, prefix: str) -> str:
    """A gap-free per-tenant document number (RK000001…), reserved in the caller's transaction."""
    chain = f"doc:{prefix}"
    seq, prev = chains.advance(db, tenant_id, chain)
    chains.commit_link(db, tenant_id, chain, seq, prev)
    return domain.doc_number(prefix, seq)


def product_ref(p: ProductInfo | None) -> ProductRef | None:
    if p is None:
        return None
    return ProductRef(id=p.id, sku=p.sku, name=p.name, barcodes=list(p.barcodes), unit=p.unit,
                      category_id=p.category_id)


def refs(db: Session, actor: Actor, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ProductRef | None]:
    products = catalog.get_products(db, actor, ids)
    return {pid: product_ref(p) for pid, p in products.items()}
