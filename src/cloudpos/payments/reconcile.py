"""The reconciliation job: nothing lost, nothing doubled.

1. Every wallet payment still `pending`/`paying` past its deadline (and older than a short age) is
   queried: a confirmed charge becomes `succeeded`; anything else is reversed (a reversal closes the
   order at the gateway, so it can never charge later) and becomes `reversed`/`failed`. A reversal that
   cannot be confirmed leaves the payment open for the next run.
2. Every succeeded wallet payment that no sale has attached `attach_grace_s` after its deadline (the
   process died between the charge and the sale's commit) is claimed — from then on `attach_to_sale`
   refuses it — and either handed to a registered sale completer (the sales module may register one that
   completes the sale and returns its id) or reversed (refunded in full if the gateway no longer
   accepts a reversal).
3. Refunds whose outcome was unknown are sent again with the same out_refund_no (idempotent).

Run by `cloudpos payments reconcile` (cron / the job runner), every minute or so.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.context import system_actor
from cloudpos.db import unit_of_work
from cloudpos.errors import Problem
from cloudpos.ids import uuid7
from cloudpos.payments import domain, flow, gateways
from cloudpos.payments.config import payment_settings
from cloudpos.payments.models import Payment, PaymentRefund
from cloudpos.payments.providers.base import CLOSED, FAILED, NOT_FOUND, SUCCESS, Provider
from cloudpos.payments.schemas import PaymentOut
from cloudpos.payments.service import NO_SALE, NOT_CHARGED

log = structlog.get_logger("cloudpos.payments.reconcile")

# fn(db, payment) -> the sale id it completed for this payment, or None to let the job reverse it.
SaleCompleter = Callable[[Session, PaymentOut], uuid.UUID | None]
_completers: list[SaleCompleter] = []


def register_sale_completer(fn: SaleCompleter) -> SaleCompleter:
    _completers.append(fn)
    return fn


def clear_sale_completers() -> None:
    _completers.clear()


@dataclass
class Report:
    checked: int = 0
    completed: int = 0  # open payments found charged
    reversed: int = 0
    failed: int = 0  # open payments found not charged
    attached_by_completer: int = 0
    refunds_retried: int = 0
    still_open: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"checked {self.checked}: {self.completed} confirmed, {self.reversed} reversed, {self.failed} "
                f"not charged, {self.attached_by_completer} completed by the sales module, "
                f"{self.refunds_retried} refunds retried, {self.still_open} still open")


def reconcile(factory: sessionmaker[Session], *, now: datetime | None = None, limit: int = 500,
              tenant_id: uuid.UUID | None = None) -> Report:
    """One pass over every merchant (or one merchant's payments with `tenant_id`)."""
    s = payment_settings()
    mine = (lambda col: col == tenant_id) if tenant_id else (lambda col: col.is_not(None))
    now = now or clock.now()
    report = Report()
    with unit_of_work(factory) as db:
        open_ids = db.execute(select(Payment.tenant_id, Payment.id).where(
            mine(Payment.tenant_id), Payment.status.in_(domain.OPEN_STATUSES), Payment.provider != "",
            Payment.created_at <= now - timedelta(seconds=s.reconcile_age_s),
            or_(Payment.deadline.is_(None), Payment.deadline <= now),
        ).order_by(Payment.created_at).limit(limit)).all()
        refund_ids = db.execute(select(PaymentRefund.tenant_id, PaymentRefund.id).where(
            mine(PaymentRefund.tenant_id), PaymentRefund.status == "pending",
            PaymentRefund.created_at <= now - timedelta(seconds=s.reconcile_age_s),
        ).limit(limit)).all()
    for tenant_id, pid in open_ids:
        _guard(report, pid, lambda t=tenant_id, p=pid: _settle_open(factory, t, p, report))
    with unit_of_work(factory) as db:  # after step 1, which may have confirmed some
        orphan_ids = db.execute(select(Payment.tenant_id, Payment.id).where(
            mine(Payment.tenant_id), Payment.status == domain.SUCCEEDED, Payment.provider != "",
            Payment.sale_id.is_(None),
            Payment.deadline <= now - timedelta(seconds=s.attach_grace_s),
        ).order_by(Payment.created_at).limit(limit)).all()
    for tenant_id, pid in orphan_ids:
        _guard(report, pid, lambda t=tenant_id, p=pid: _settle_orphan(factory, t, p, report))
    for tenant_id, rid in refund_ids:
        _guard(report, rid, lambda t=tenant_id, r=rid: _retry_refund(factory, t, r, report))
    log.info("payments reconciled", **{k: v for k, v in report.__dict__.items() if k != "errors"})
    return report


def _guard(report: Report, ident: uuid.UUID, fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - one bad payment must not stop the others
        log.exception("reconcile failed for one payment", id=str(ident))
        report.errors.append(f"{ident}: {type(exc).__name__}")


def _client(db: Session, p: Payment) -> Provider:
    return gateways.build(gateways.resolve(db, p.tenant_id, p.provider))


def _settle_open(factory: sessionmaker[Session], tenant_id: uuid.UUID, pid: uuid.UUID, report: Report) -> None:
    report.checked += 1
    with unit_of_work(factory, tenant_id) as db:
        # Claim it: a flow still running for it can no longer record a success (see service._apply_outcome).
        now = clock.now()
        claimed = db.execute(update(Payment).where(
            Payment.tenant_id == tenant_id, Payment.id == pid, Payment.status.in_(domain.OPEN_STATUSES),
        ).values(reconcile_claim_at=now, updated_at=now).execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            return
        p = db.get(Payment, (tenant_id, pid))
        client = _client(db, p)
    q = client.query(p.out_trade_no)
    calls = 1
    if q.outcome == SUCCESS:
        with unit_of_work(factory, tenant_id) as db:
            p = db.get(Payment, (tenant_id, pid))
            if p is not None and p.status in domain.OPEN_STATUSES:
                p.status, p.provider_trade_no, p.paid_at = domain.SUCCEEDED, q.trade_no[:64], clock.now()
                p.reconcile_claim_at = None  # a sale may still attach it (within the attach grace)
                p.attempts += calls
                p.message, p.error_code = "", ""
                report.completed += 1
        return
    rev, n = flow.reverse(client, p.out_trade_no, payment_settings().reverse_attempts, 0.2)
    calls += n
    with unit_of_work(factory, tenant_id) as db:
        p = db.get(Payment, (tenant_id, pid))
        if p is None or p.status not in domain.OPEN_STATUSES:
            return
        p.attempts += calls
        if rev.outcome != SUCCESS:
            p.error_code = (rev.code or "REVERSE_PENDING")[:64]
            report.still_open += 1
            return
        not_charged = q.outcome in (FAILED, CLOSED, NOT_FOUND)
        p.status = domain.FAILED if not_charged else domain.REVERSED
        p.error_code = (q.code or "RECONCILED")[:64]
        p.message = NOT_CHARGED
        audit.record(db, system_actor(tenant_id, "reconcile"), "payment.reverse", target_type="payment",
                     target_id=p.id, target_label=p.method, store_id=p.store_id,
                     details={"amount": p.amount_fen, "reason": "open past deadline", "query": q.outcome})
        if not_charged:
            report.failed += 1
        else:
            report.reversed += 1


def _settle_orphan(factory: sessionmaker[Session], tenant_id: uuid.UUID, pid: uuid.UUID, report: Report) -> None:
    report.checked += 1
    now = clock.now()
    with unit_of_work(factory, tenant_id) as db:
        claimed = db.execute(update(Payment).where(
            Payment.tenant_id == tenant_id, Payment.id == pid, Payment.status == domain.SUCCEEDED,
            Payment.sale_id.is_(None),
        ).values(reconcile_claim_at=now, updated_at=now).execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            return  # a sale attached it meanwhile
        p = db.get(Payment, (tenant_id, pid))
        client = _client(db, p)
    from cloudpos.payments.service import payment_out

    for completer in list(_completers):
        with unit_of_work(factory, tenant_id) as db:
            p = db.get(Payment, (tenant_id, pid))
            sale_id = completer(db, payment_out(p))
            if sale_id is not None:
                p.sale_id, p.reconcile_claim_at = sale_id, None
                report.attached_by_completer += 1
                return
    rev, calls = flow.reverse(client, p.out_trade_no, payment_settings().reverse_attempts, 0.2)
    how = "reverse"
    if rev.outcome == FAILED:  # too late to reverse (e.g. past the provider's window): refund in full
        rid = uuid7()
        rev = client.refund(out_trade_no=p.out_trade_no, out_refund_no=rid.hex, total_fen=p.amount_fen,
                            refund_fen=p.amount_fen - p.refunded_fen, reason="no sale recorded")
        calls += 1
        how = "refund"
    with unit_of_work(factory, tenant_id) as db:
        p = db.get(Payment, (tenant_id, pid))
        p.attempts += calls
        if rev.outcome != SUCCESS:
            p.error_code = (rev.code or "REVERSE_PENDING")[:64]  # stays claimed: retried next run
            report.still_open += 1
            return
        p.status = domain.REVERSED if how == "reverse" else domain.REFUNDED
        if how == "refund":
            p.refunded_fen = p.amount_fen
        p.error_code = "NO_SALE"
        p.message = NO_SALE
        audit.record(db, system_actor(tenant_id, "reconcile"), "payment.reverse", target_type="payment",
                     target_id=p.id, target_label=p.method, store_id=p.store_id,
                     details={"amount": p.amount_fen, "reason": "no sale", "how": how})
        report.reversed += 1


def _retry_refund(factory: sessionmaker[Session], tenant_id: uuid.UUID, rid: uuid.UUID, report: Report) -> None:
    from cloudpos.payments.service import _run_refund

    with unit_of_work(factory, tenant_id) as db:
        ref = db.get(PaymentRefund, (tenant_id, rid))
        if ref is None or ref.status != "pending":
            return
        p = db.get(Payment, (tenant_id, ref.payment_id))
        try:
            client = _client(db, p)
        except Problem:
            return
        report.refunds_retried += 1
        result = _run_refund(db, client, p, ref)
        if result.status == "pending":
            report.still_open += 1

