"""Shifts (交接班): open with a float, cash in/out, X report any time, close with counts → Z report."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, NotFound
from cloudpos.fastread import Read
from cloudpos.i18n import N_
from cloudpos.sales import domain
from cloudpos.sales.models import CashMovement, Sale, SalePayment, Shift
from cloudpos.sales.schemas import CashMoveIn, MethodTotal, ShiftCloseIn, ShiftOpenIn, ShiftOut, ShiftReport
from cloudpos.tenancy import service as tenancy


def to_out(s: Shift) -> ShiftOut:
    return ShiftOut(id=s.id, store_id=s.store_id, terminal_id=s.terminal_id, opened_by_name=s.opened_by_name,
                    opened_at=s.opened_at, opening_float=s.opening_float, status=s.status, closed_at=s.closed_at,
                    expected_cash=s.expected_cash, counted_cash=s.counted_cash,
                    overdue=s.status == "open" and domain.shift_overdue(s.opened_at, clock.now()))


def open_shift_for(db: Session, actor: Actor, terminal_id: uuid.UUID) -> Shift | None:
    return db.scalar(select(Shift).where(Shift.tenant_id == actor.tenant_id, Shift.terminal_id == terminal_id,
                                         Shift.status == "open"))


_SHIFTS = Shift.__table__
_OPEN_AT = select(_SHIFTS.c.id, _SHIFTS.c.store_id).where(
    _SHIFTS.c.tenant_id == bindparam("s_tenant"), _SHIFTS.c.terminal_id == bindparam("s_terminal"),
    _SHIFTS.c.status == "open")
_OPEN_AT_READ = Read(_OPEN_AT)  # cloudpos.fastread


def open_shift_ref(db: Session, actor: Actor, terminal_id: uuid.UUID):
    """(id, store_id) of the terminal's open shift, or None: what every sale checks, as one prebuilt query."""
    db.flush()
    return _OPEN_AT_READ.first(db.connection(), {"s_tenant": actor.tenant_id, "s_terminal": terminal_id})


def get(db: Session, actor: Actor, shift_id: uuid.UUID) -> Shift:
    s = db.get(Shift, (actor.tenant_id, shift_id))
    if s is None or not actor.sees_store(s.store_id):
        raise NotFound(N_("Shift not found."))
    return s


def require_open(db: Session, actor: Actor, terminal_id: uuid.UUID) -> Shift:
    s = open_shift_for(db, actor, terminal_id)
    if s is None:
        raise Conflict(N_("No shift is open at this terminal. Open a shift before selling."), code="no_open_shift")
    return s


@use_case
def open_shift(db: Session, actor: Actor, data: ShiftOpenIn) -> ShiftOut:
    actor.require("shift.manage")
    terminal = next((t for t in tenancy.list_terminals(db, actor) if t.id == data.terminal_id), None)
    if terminal is None:
        raise NotFound(N_("Terminal not found."))
    if open_shift_for(db, actor, terminal.id) is not None:
        raise Conflict(N_("A shift is already open at this terminal."), code="shift_already_open")
    s = Shift(tenant_id=actor.tenant_id, store_id=terminal.store_id, terminal_id=terminal.id,
              opened_by=actor.employee_id or uuid.UUID(int=0), opened_by_name=actor.display_name,
              opening_float=data.opening_float)
    db.add(s)
    db.flush()
    audit.record(db, actor, "shift.open", target_type="shift", target_id=s.id, target_label=terminal.name,
                 after={"opening_float": s.opening_float}, store_id=s.store_id)
    return to_out(s)


@use_case
def move_cash(db: Session, actor: Actor, shift_id: uuid.UUID, data: CashMoveIn) -> ShiftOut:
    actor.require("shift.manage")
    s = get(db, actor, shift_id)
    if s.status != "open":
        raise Conflict(N_("This shift is closed."), code="shift_closed")
    db.add(CashMovement(tenant_id=actor.tenant_id, shift_id=s.id, direction=data.direction, amount=data.amount,
                        reason=data.reason, employee_id=actor.employee_id or uuid.UUID(int=0)))
    audit.record(db, actor, f"shift.cash_{data.direction}", target_type="shift", target_id=s.id,
                 details={"amount": data.amount, "reason": data.reason}, store_id=s.store_id)
    return to_out(s)


def report(db: Session, actor: Actor, shift_id: uuid.UUID) -> ShiftReport:
    s = get(db, actor, shift_id)
    return _report(db, s, "Z" if s.status == "closed" else "X")


def _report(db: Session, s: Shift, kind: str) -> ShiftReport:
    sales = db.execute(select(Sale.kind, func.count(), func.coalesce(func.sum(Sale.total), 0),
                              func.coalesce(func.sum(Sale.discount_total), 0))
                       .where(Sale.tenant_id == s.tenant_id, Sale.shift_id == s.id).group_by(Sale.kind)).all()
    by_kind = {k: (n, int(total), int(disc)) for k, n, total, disc in sales}  # PG sums are numeric
    pays = db.execute(select(SalePayment.method, Sale.kind, func.count(),
                             func.coalesce(func.sum(SalePayment.amount), 0))
                      .join(Sale, (Sale.tenant_id == SalePayment.tenant_id) & (Sale.id == SalePayment.sale_id))
                      .where(Sale.tenant_id == s.tenant_id, Sale.shift_id == s.id)
                      .group_by(SalePayment.method, Sale.kind)).all()
    methods: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for method, _kind, n, amount in pays:
        amount = int(amount)
        row = methods[method]
        if amount >= 0:
            row[0] += amount
        else:
            row[1] += -amount
        row[2] += n
    moves = dict(db.execute(select(CashMovement.direction, func.coalesce(func.sum(CashMovement.amount), 0))
                            .where(CashMovement.tenant_id == s.tenant_id, CashMovement.shift_id == s.id)
                            .group_by(CashMovement.direction)).all())
    moves = {k: int(v) for k, v in moves.items()}
    cash = methods.get(domain.CASH, [0, 0, 0])
    expected = domain.ShiftCash(s.opening_float, cash[0], cash[1], moves.get("in", 0), moves.get("out", 0)).expected
    gross = by_kind.get("sale", (0, 0, 0))[1]
    refunds = -(by_kind.get("refund", (0, 0, 0))[1] + by_kind.get("void", (0, 0, 0))[1])
    return ShiftReport(
        kind=kind, shift_id=s.id, store_id=s.store_id, terminal_id=s.terminal_id, opened_by_name=s.opened_by_name,
        opened_at=s.opened_at, closed_at=s.closed_at, opening_float=s.opening_float,
        sales_count=by_kind.get("sale", (0, 0, 0))[0],
        refunds_count=by_kind.get("refund", (0, 0, 0))[0] + by_kind.get("void", (0, 0, 0))[0],
        gross_sales=gross, refunds_total=refunds, discount_total=by_kind.get("sale", (0, 0, 0))[2],
        net_sales=gross - refunds,
        by_method=[MethodTotal(method=m, sales=v[0], refunds=v[1], net=v[0] - v[1], count=v[2])
                   for m, v in sorted(methods.items())],
        cash_in=moves.get("in", 0), cash_out=moves.get("out", 0), expected_cash=expected,
        counted_cash=s.counted_cash, difference=None if s.counted_cash is None else s.counted_cash - expected,
        counts=s.counts or {}, overdue=s.status == "open" and domain.shift_overdue(s.opened_at, clock.now()),
    )


@use_case
def close_shift(db: Session, actor: Actor, shift_id: uuid.UUID, data: ShiftCloseIn) -> ShiftReport:
    actor.require("shift.manage")
    s = get(db, actor, shift_id)
    if s.status != "open":
        raise Conflict(N_("This shift is already closed."), code="shift_closed")
    s.status, s.closed_at, s.closed_by = "closed", clock.now(), actor.employee_id
    s.counted_cash, s.counts, s.notes = data.counted_cash, dict(data.counts), data.notes
    rep = _report(db, s, "Z")
    s.expected_cash = rep.expected_cash
    s.z_report = rep.model_dump(mode="json")
    from cloudpos.sales.receipts import print_shift_report

    print_shift_report(db, actor, rep)  # printed after commit by the print queue, like receipts
    audit.record(db, actor, "shift.close", target_type="shift", target_id=s.id,
                 details={"expected_cash": rep.expected_cash, "counted_cash": data.counted_cash,
                          "difference": rep.difference}, store_id=s.store_id)
    return rep


def list_shifts(db: Session, actor: Actor, store_id: uuid.UUID | None, status: str | None,
                page: int, page_size: int) -> tuple[list[ShiftOut], int]:
    stmt = select(Shift).where(Shift.tenant_id == actor.tenant_id)
    if store_id:
        actor.check_store(store_id)
        stmt = stmt.where(Shift.store_id == store_id)
    elif not actor.all_stores:
        stmt = stmt.where(Shift.store_id.in_(actor.store_ids or [uuid.UUID(int=0)]))
    if status:
        stmt = stmt.where(Shift.status == status)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(Shift.opened_at.desc()).offset((page - 1) * page_size).limit(page_size)).all()
    return [to_out(s) for s in rows], total
