"""Payments: the public interface other modules (sales) use, and the back-office use cases.

For the sales module
--------------------
* ``start_wallet_payment(db, actor, store_id, terminal_id, method, amount_fen, auth_code, sale_ref)``
  → ``PaymentResult``. Call it BEFORE opening the sale's transaction: it commits a ``pending`` row in
  its own transaction first, then talks to the gateway (no transaction is held meanwhile), then
  records the outcome. ``result.ok`` is True only on a confirmed charge. Pass ``idempotency_key`` (e.g.
  the sale's Idempotency-Key + the tender's index) so a retried request never charges twice: the same
  key returns the first payment's result.
* ``attach_to_sale(db, actor, payment_id, sale_id, expected_amount_fen=None)`` — inside the sale's
  transaction (no commit). 409 if the payment is not a succeeded, unattached payment of that amount
  (e.g. the reconciliation job already reversed it): the sale must then fail.
* ``record_offline_payment(db, actor, store_id, method, amount_fen, ...)`` — cash, card, stored value,
  points, coupon; inside the sale's transaction. Card: approval code, brand and last 4 only; any field
  holding 13+ digits in a row (a card number) is refused with 422.
* Wallet refunds as part of a refund document: ``reserve_wallet_refund(db, actor, payment_id, amount_fen,
  reason=..., sale_ref=...)`` → refund id, inside the document's transaction (never more than is left);
  then, after the commit, ``send_reserved_refund(db, actor, refund_id)`` → ``RefundResult`` (an unknown
  outcome stays pending and the reconciliation job sends it again, deduplicated by out_refund_no).
  ``refund_wallet(db, actor, payment_id, amount_fen, refund_id=..., reason=...)`` does both, standalone
  (own transactions; the same ``refund_id`` on a retry resumes that refund, never a second one).
  ``record_offline_refund`` for the other methods (caller's transaction).
* ``methods_for_store(db, actor, store_id)`` → the effective methods (store override, else merchant-wide,
  else the defaults).
* ``payment(db, actor, payment_id)`` → ``PaymentOut``; ``payment_by_key(db, actor, idempotency_key)`` finds
  the payment a till is waiting for while its request is still running (the till knows the key it sent).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound
from cloudpos.fastread import Read, Statement
from cloudpos.i18n import N_, _
from cloudpos.ids import uuid7
from cloudpos.payments import domain, flow, gateways, secrets
from cloudpos.payments.config import payment_settings
from cloudpos.payments.models import TENANT_SCOPE, Payment, PaymentMethod, PaymentRefund, ProviderConfig
from cloudpos.payments.providers.base import SUCCESS, UNKNOWN
from cloudpos.payments.schemas import (
    ConnectionTestOut,
    MethodOut,
    MethodPatch,
    PaymentOut,
    ProviderOut,
    ProviderPatch,
    RefundOut,
    SettlementOut,
    SettlementRowOut,
    SettlementTotals,
)
from cloudpos.tenancy import service as tenancy

log = structlog.get_logger("cloudpos.payments")

# What the cashier is told, by provider result code (English source strings; zh_CN in the catalog).
_INVALID_CODE = N_("The payment code is not valid. Ask the customer to refresh it and scan again.")
MESSAGES: dict[str, str] = {
    "NOTENOUGH": N_("The customer's balance is not enough. Ask for another payment method."),
    "ACQ.BUYER_BALANCE_NOT_ENOUGH": N_("The customer's balance is not enough. Ask for another payment method."),
    "AUTHCODEEXPIRE": N_("The payment code has expired. Ask the customer to refresh it and scan again."),
    "AUTH_CODE_INVALID": _INVALID_CODE,
    "ACQ.PAYMENT_AUTH_CODE_INVALID": _INVALID_CODE,
    "USERPAYING_TIMEOUT": N_("The customer did not confirm in time. The payment was cancelled; nothing was charged."),
    "TIMEOUT": N_("The payment gateway did not answer in time. The payment was cancelled; nothing was charged."),
}
DEFAULT_FAILED = N_("The payment failed: %(reason)s")
UNRESOLVED = N_("The payment could not be confirmed yet. Do not charge again: it will be settled automatically.")
# While the flow is still polling and the gateway said the customer is confirming on the phone.
WAITING_FOR_CUSTOMER = N_("Waiting for the customer to enter the payment password on their phone…")
WAITING_CODES = frozenset({"USERPAYING", "WAIT_BUYER_PAY"})
SUCCEEDED_MSG = N_("Paid.")
NOT_CHARGED = N_("The payment was not completed and has been cancelled; nothing was charged.")
NO_SALE = N_("No sale was recorded for this payment, so it was given back to the customer.")
REFUNDED_MSG = N_("Refunded.")
REFUND_PENDING = N_("The refund is being confirmed with the provider; it will be completed automatically.")
KNOWN_MESSAGES = frozenset({*MESSAGES.values(), UNRESOLVED, SUCCEEDED_MSG, NOT_CHARGED, NO_SALE})


@dataclass(frozen=True)
class PaymentResult:
    status: str
    payment_id: uuid.UUID
    provider_trade_no: str
    message: str
    code: str = ""
    amount_fen: int = 0

    @property
    def ok(self) -> bool:
        return self.status == domain.SUCCEEDED


@dataclass(frozen=True)
class RefundResult:
    status: str  # succeeded | failed | pending (unknown: retried by the reconciliation job)
    refund_id: uuid.UUID
    payment_id: uuid.UUID
    amount_fen: int
    provider_refund_no: str
    message: str

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


# --- reading ----------------------------------------------------------------------------------------

def payment_out(p: Payment | SimpleNamespace) -> PaymentOut:
    return PaymentOut(id=p.id, out_trade_no=p.out_trade_no, store_id=p.store_id, terminal_id=p.terminal_id,
                      method=p.method, provider=p.provider, amount=p.amount_fen, currency=p.currency, status=p.status,
                      provider_trade_no=p.provider_trade_no, auth_code_last4=p.auth_code_last4,
                      card_brand=p.card_brand, card_last4=p.card_last4, approval_code=p.approval_code,
                      reference=p.reference, sale_ref=p.sale_ref, sale_id=p.sale_id, refunded=p.refunded_fen,
                      attempts=p.attempts, code=p.error_code, message=describe(p), deadline=p.deadline,
                      paid_at=p.paid_at, created_at=p.created_at)


def _get(db: Session, actor: Actor, payment_id: uuid.UUID) -> Payment:
    p = db.get(Payment, (actor.tenant_id, payment_id))
    if p is None or not actor.sees_store(p.store_id):
        raise NotFound(N_("Payment not found."))
    return p


def payment(db: Session, actor: Actor, payment_id: uuid.UUID) -> PaymentOut:
    return payment_out(_get(db, actor, payment_id))


def payment_by_key(db: Session, actor: Actor, idempotency_key: str) -> PaymentOut:
    p = db.scalar(select(Payment).where(Payment.tenant_id == actor.tenant_id,
                                        Payment.idempotency_key == idempotency_key))
    if p is None or not actor.sees_store(p.store_id):
        raise NotFound(N_("Payment not found."))
    return payment_out(p)


def _result(p: Payment) -> PaymentResult:
    return PaymentResult(p.status, p.id, p.provider_trade_no, describe(p), p.error_code, p.amount_fen)


def describe(p: Payment | SimpleNamespace) -> str:
    """What to tell people about a payment, in the current locale. `p.message` holds either one of our
    (English source) messages or the provider's own text (e.g. 余额不足), shown as the reason."""
    if p.status == domain.SUCCEEDED:
        return _(SUCCEEDED_MSG)
    if p.status in domain.OPEN_STATUSES:
        return _(WAITING_FOR_CUSTOMER) if p.error_code in WAITING_CODES else _(UNRESOLVED)
    if p.message in KNOWN_MESSAGES:
        return _(p.message)
    return _(DEFAULT_FAILED, reason=p.message or p.error_code or "-")


# --- payment methods --------------------------------------------------------------------------------

def _method_rows(db: Session, tenant_id: uuid.UUID, store_id: uuid.UUID | None) -> dict[tuple[str, str], PaymentMethod]:
    scopes = [TENANT_SCOPE] + ([str(store_id)] if store_id else [])
    rows = db.scalars(select(PaymentMethod).where(PaymentMethod.tenant_id == tenant_id,
                                                  PaymentMethod.scope.in_(scopes))).all()
    return {(r.scope, r.code): r for r in rows}


def _effective(rows: dict[tuple[str, str], PaymentMethod], code: str, store_id: uuid.UUID | None) -> MethodOut:
    own = rows.get((str(store_id), code)) if store_id else None
    base = rows.get((TENANT_SCOPE, code))
    d = domain.DEFAULTS[code]
    src = own or base
    if src is None:
        return MethodOut(code=code, enabled=d.enabled, fee_rate_bp=d.fee_rate_bp,
                         settlement_cycle_days=d.settlement_cycle_days, provider=d.provider, store_id=None,
                         inherited=store_id is not None)
    return MethodOut(code=code, enabled=src.enabled, fee_rate_bp=src.fee_rate_bp,
                     settlement_cycle_days=src.settlement_cycle_days, provider=src.provider or d.provider,
                     store_id=src.store_id, inherited=store_id is not None and own is None)


def methods_for_store(db: Session, actor: Actor, store_id: uuid.UUID | None = None) -> list[MethodOut]:
    """The effective methods for a store (its own overrides, else the merchant-wide settings, else the
    defaults); for the merchant-wide settings when store_id is None. Cashiers may read this."""
    if store_id is not None:
        tenancy.get_store(db, actor, store_id)
    rows = _method_rows(db, actor.tenant_id, store_id)
    return [_effective(rows, code, store_id) for code in domain.METHODS]


_METHODS = PaymentMethod.__table__
_PAYMENTS = Payment.__table__
_INSERT_PAYMENT = Statement(insert(_PAYMENTS), [c.key for c in _PAYMENTS.columns])  # cloudpos.fastread
# the two scopes as two parameters: an expanding IN would rewrite the SQL string on every payment
_METHOD = select(_METHODS).where(_METHODS.c.tenant_id == bindparam("m_tenant"), _METHODS.c.code == bindparam("m_code"),
                                 _METHODS.c.scope.in_([bindparam("m_merchant"), bindparam("m_store")]))
_METHOD_READ = Read(_METHOD)  # cloudpos.fastread


def _method(db: Session, actor: Actor, store_id: uuid.UUID, code: str) -> MethodOut:
    """One method's effective settings for a store (every payment asks): one prebuilt read-only query."""
    db.flush()
    rows = _METHOD_READ.all(db.connection(), {"m_tenant": actor.tenant_id, "m_code": code,
                                              "m_merchant": TENANT_SCOPE, "m_store": str(store_id)})
    return _effective({(r.scope, r.code): r for r in rows}, code, store_id)


@use_case
def update_method(db: Session, actor: Actor, code: str, data: MethodPatch,
                  store_id: uuid.UUID | None = None) -> MethodOut:
    """Change a method merchant-wide, or for one store (which then stops following the merchant-wide row)."""
    actor.require("payment.manage")
    if code not in domain.METHODS:
        raise NotFound(N_("Unknown payment method."))
    if store_id is not None:
        tenancy.get_store(db, actor, store_id)
    elif not actor.all_stores:
        raise NotFound(N_("Store not found."))
    rows = _method_rows(db, actor.tenant_id, store_id)
    before = _effective(rows, code, store_id)
    scope = str(store_id) if store_id else TENANT_SCOPE
    row = rows.get((scope, code))
    if row is None:
        row = PaymentMethod(tenant_id=actor.tenant_id, store_id=store_id, scope=scope, code=code,
                            enabled=before.enabled, fee_rate_bp=before.fee_rate_bp,
                            settlement_cycle_days=before.settlement_cycle_days, provider=before.provider)
        db.add(row)
    if data.enabled is not None:
        row.enabled = data.enabled
    if data.fee_rate_bp is not None:
        row.fee_rate_bp = data.fee_rate_bp
    if data.settlement_cycle_days is not None:
        row.settlement_cycle_days = data.settlement_cycle_days
    db.flush()
    after = _effective(_method_rows(db, actor.tenant_id, store_id), code, store_id)
    fields = ("enabled", "fee_rate_bp", "settlement_cycle_days")
    b, a = audit.diff({k: getattr(before, k) for k in fields}, {k: getattr(after, k) for k in fields})
    audit.record(db, actor, "payment.method.update", target_type="payment_method", target_id=row.id,
                 target_label=code, before=b, after=a, details={"store_id": str(store_id) if store_id else "*"},
                 store_id=store_id)
    return after


# --- provider settings ------------------------------------------------------------------------------

def provider_settings(db: Session, actor: Actor, provider: str) -> ProviderOut:
    actor.require("payment.manage")
    if provider not in domain.PROVIDERS:
        raise NotFound(N_("Unknown payment provider."))
    row = gateways.config_row(db, actor.tenant_id, provider)
    r = gateways.resolve(db, actor.tenant_id, provider, with_sandbox_keys=False)
    return ProviderOut(provider=provider, configured=row is not None, source=r.source,  # type: ignore[arg-type]
                       gateway_url=r.gateway_url, app_id=r.app_id, mch_id=r.mch_id, sign_type=r.sign_type,
                       public_key_set=bool(r.public_key),
                       secret_hint=(row.secret_hint if row and row.secret_enc else secrets.hint(r.secret)),
                       cert_path=r.cert_path, key_path=r.key_path, updated_at=row.updated_at if row else None)


def _check_provider_patch(provider: str, data: ProviderPatch) -> None:
    errors: list[FieldError] = []
    if data.gateway_url and not data.gateway_url.startswith(("https://", "http://")):
        errors.append(FieldError("gateway_url", N_("Enter an http:// or https:// address."), {}, "invalid"))
    if provider == "alipay":
        from Cryptodome.PublicKey import RSA

        from cloudpos.payments.providers.alipay import pem

        for name, kind, value in (("public_key", "PUBLIC", data.public_key), ("secret", "PRIVATE", data.secret)):
            if value:
                try:
                    RSA.importKey(pem(value, kind))
                except (ValueError, IndexError, TypeError):
                    errors.append(FieldError(name, N_("This is not an RSA key (PEM or base64)."), {}, "invalid_key"))
    for name in ("cert_path", "key_path"):
        value = getattr(data, name)
        if value and not Path(value).is_file():
            errors.append(FieldError(name, N_("No such file on the server."), {}, "not_found"))
    if provider == "wechat" and data.secret is not None and data.secret and len(data.secret.strip()) != 32:
        errors.append(FieldError("secret", N_("The WeChat Pay API key has 32 characters."), {}, "invalid_key"))
    if errors:
        raise Invalid(errors=errors)


@use_case
def update_provider(db: Session, actor: Actor, provider: str, data: ProviderPatch) -> ProviderOut:
    """Save credentials. The secret is encrypted at rest and never returned; the audit log records that it
    changed (and its hint), never its value."""
    actor.require("payment.manage")
    if provider not in domain.PROVIDERS:
        raise NotFound(N_("Unknown payment provider."))
    _check_provider_patch(provider, data)
    row = gateways.config_row(db, actor.tenant_id, provider)
    if row is None:
        row = ProviderConfig(tenant_id=actor.tenant_id, provider=provider)
        db.add(row)
    fields = ("gateway_url", "app_id", "mch_id", "sign_type", "cert_path", "key_path")
    before: dict[str, Any] = {k: getattr(row, k) or "" for k in fields}
    before["secret"] = row.secret_hint or ""
    before["public_key"] = "set" if row.public_key else ""
    for k in fields:
        value = getattr(data, k)
        if value is not None:
            setattr(row, k, value.strip())
    if data.public_key is not None:
        row.public_key = data.public_key.strip()
    if data.secret is not None:
        secret = data.secret.strip()
        row.secret_enc = secrets.seal(secret)
        row.secret_hint = secrets.hint(secret)
    after: dict[str, Any] = {k: getattr(row, k) or "" for k in fields}
    after["secret"] = row.secret_hint or ""
    after["public_key"] = "set" if row.public_key else ""
    db.flush()
    b, a = audit.diff(before, after)
    audit.record(db, actor, "payment.provider.update", target_type="payment_provider", target_id=row.id,
                 target_label=provider, before=b, after=a)
    return provider_settings(db, actor, provider)


def test_connection(db: Session, actor: Actor, provider: str) -> ConnectionTestOut:
    """Query a trade that cannot exist: a signed "no such trade" proves the address, the ids and both
    signatures (ours accepted, theirs verified)."""
    actor.require("payment.manage")
    if provider not in domain.PROVIDERS:
        raise NotFound(N_("Unknown payment provider."))
    r = gateways.resolve(db, actor.tenant_id, provider)
    db.commit()
    client = gateways.build(r)
    result = client.query("cloudposping" + uuid.uuid4().hex[:20])
    ok = result.outcome in ("not_found", "closed", "paying", "success", "failed")
    msg = N_("Connected: the gateway answered and its signature is valid.") if ok else \
        N_("No valid answer from the gateway (%(code)s). Check the address and the keys.")
    return ConnectionTestOut(ok=ok, gateway_url=r.gateway_url, code=result.code, message=msg)


# --- the wallet flow --------------------------------------------------------------------------------

def _invalid(field: str, message: str, code: str = "invalid", **params: Any) -> Invalid:
    return Invalid(errors=[FieldError(field, message, params, code)])


def _check_place(db: Session, actor: Actor, store_id: uuid.UUID, terminal_id: uuid.UUID | None) -> None:
    tenancy.get_store(db, actor, store_id)
    if terminal_id is not None:
        t = tenancy.terminal(db, actor, terminal_id)
        if t is None or t.store_id != store_id:
            raise _invalid("terminal_id", N_("This terminal does not belong to the store."), "unknown_terminal")


def start_wallet_payment(db: Session, actor: Actor, store_id: uuid.UUID, terminal_id: uuid.UUID | None,
                         method: str, amount_fen: int, auth_code: str, sale_ref: str = "", *,
                         idempotency_key: str | None = None, subject: str = "", client_ip: str = "") -> PaymentResult:
    """Charge the customer's payment code (see the module docstring). Commits on `db` several times:
    call it outside any transaction of the caller."""
    actor.require("sale.create")
    if method not in domain.WALLET_METHODS:
        raise _invalid("method", N_("Choose WeChat Pay or Alipay."))
    problem = domain.amount_problem(amount_fen)
    if problem:
        raise _invalid("amount", problem)
    auth_code = domain.PaymentCode((auth_code or "").strip())
    if not domain.valid_auth_code(auth_code):
        raise _invalid("auth_code", N_("Scan the customer's payment code (16–24 digits)."), "invalid_auth_code")
    if len(sale_ref) > 100 or (idempotency_key is not None and not 0 < len(idempotency_key) <= 100):
        raise _invalid("sale_ref", N_("Too long."))
    try:
        if idempotency_key:
            existing = db.scalar(select(Payment).where(Payment.tenant_id == actor.tenant_id,
                                                       Payment.idempotency_key == idempotency_key))
            if existing is not None:
                if (existing.amount_fen, existing.method) != (amount_fen, method):
                    raise Conflict(N_("This idempotency key was used for another payment."),
                                   code="idempotency_conflict")
                db.commit()
                return _result(existing)
        _check_place(db, actor, store_id, terminal_id)
        m = _method(db, actor, store_id, method)
        if not m.enabled:
            raise _invalid("method", N_("This payment method is switched off for the store."), "method_disabled")
        client = gateways.build(gateways.resolve(db, actor.tenant_id, m.provider or method))
        timing = flow.Timing.from_settings()
        pid = uuid7()  # out_trade_no = its 32 hex digits (WeChat allows 32 characters)
        now = clock.now()
        p = Payment(tenant_id=actor.tenant_id, id=pid, store_id=store_id, terminal_id=terminal_id,
                    employee_id=actor.employee_id, method=method, provider=m.provider or method,
                    amount_fen=amount_fen, status=domain.PENDING, out_trade_no=pid.hex,
                    auth_code_last4=domain.last4(auth_code), sale_ref=sale_ref, idempotency_key=idempotency_key,
                    deadline=now + timedelta(seconds=timing.deadline_s), fee_rate_bp=m.fee_rate_bp,
                    settlement_cycle_days=m.settlement_cycle_days, created_at=now, updated_at=now)
        db.add(p)
        db.commit()  # 1. the pending row exists before any money can move
        p.status, p.attempts = domain.PAYING, 1
        db.commit()
    except BaseException:
        db.rollback()
        raise
    outcome = flow.run(client, out_trade_no=p.out_trade_no, amount_fen=amount_fen, auth_code=auth_code,
                       subject=subject or "POS", timing=timing, device=str(terminal_id or "")[:32],
                       client_ip=client_ip, on_wait=_progress_recorder(db, p))
    if outcome.status == domain.SUCCEEDED:
        flow.after_gateway_success.fire(str(p.id))  # tests: a raise here = the process died now
    try:
        _apply_outcome(db, p, outcome)
        db.commit()  # 3. the outcome
    except BaseException:
        db.rollback()
        raise
    log.info("wallet payment", payment_id=str(p.id), method=method, amount=amount_fen, status=p.status,
             code=p.error_code, calls=outcome.calls)
    return _result(p)


def _progress_recorder(db: Session, p: Payment):
    """Keep the gateway's latest "not yet" code on the paying row (e.g. USERPAYING: the customer is typing
    a password), so the till polling `payment_by_key` can say so. Written only when the code changes; a
    failure to write is logged and ignored — it is information, the money flow does not depend on it."""
    seen = {"code": ""}

    def record(result) -> None:
        code = (result.code or "")[:64]
        if code == seen["code"]:
            return
        seen["code"] = code
        try:
            db.execute(update(Payment).where(
                Payment.tenant_id == p.tenant_id, Payment.id == p.id, Payment.status == domain.PAYING,
                Payment.reconcile_claim_at.is_(None),
            ).values(error_code=code, updated_at=clock.now()).execution_options(synchronize_session=False))
            db.commit()
        except Exception:  # noqa: BLE001 - see the docstring
            db.rollback()
            log.warning("could not record wallet payment progress", payment_id=str(p.id), code=code)

    return record


def _apply_outcome(db: Session, p: Payment, outcome: flow.FlowOutcome) -> None:
    """Record the flow's outcome — unless the reconciliation job has taken the payment over meanwhile
    (a flow that outlived its deadline): then the job's view wins and the caller sees it (not a success
    unless the job confirmed one), so a sale never completes on a payment the job is reversing."""
    now = clock.now()
    values: dict[str, Any] = {"attempts": outcome.calls, "error_code": outcome.code[:64], "updated_at": now}
    if outcome.status == domain.SUCCEEDED:
        values.update(status=domain.SUCCEEDED, provider_trade_no=outcome.trade_no[:64], paid_at=now,
                      message=SUCCEEDED_MSG)
    elif outcome.status == domain.PAYING:
        values.update(status=domain.PAYING, message=UNRESOLVED)
    else:
        values.update(status=outcome.status, message=MESSAGES.get(outcome.code, outcome.message)[:200])
    db.execute(update(Payment).where(
        Payment.tenant_id == p.tenant_id, Payment.id == p.id, Payment.status.in_(domain.OPEN_STATUSES),
        Payment.reconcile_claim_at.is_(None),
    ).values(**values).execution_options(synchronize_session=False))
    db.flush()
    db.refresh(p)


def attach_to_sale(db: Session, actor: Actor, payment_id: uuid.UUID, sale_id: uuid.UUID,
                   expected_amount_fen: int | None = None) -> PaymentOut:
    """Inside the sale's transaction: bind a succeeded payment to the sale, atomically. Once attached,
    the reconciliation job leaves it alone; once the job has claimed it, attaching is refused."""
    p = _get(db, actor, payment_id)
    if p.sale_id == sale_id:
        return payment_out(p)
    if expected_amount_fen is not None and p.amount_fen != expected_amount_fen:
        raise Conflict(N_("The payment's amount does not match."), code="payment_amount_mismatch")
    res = db.execute(update(Payment).where(
        Payment.tenant_id == actor.tenant_id, Payment.id == payment_id, Payment.status == domain.SUCCEEDED,
        Payment.sale_id.is_(None), Payment.reconcile_claim_at.is_(None),
    ).values(sale_id=sale_id, updated_at=clock.now()).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise Conflict(N_("This payment cannot be used for a sale (it is not a confirmed, unused payment)."),
                       code="payment_not_attachable")
    db.refresh(p)
    return payment_out(p)


# --- offline tenders ---------------------------------------------------------------------------------

def record_offline_payment(db: Session, actor: Actor, store_id: uuid.UUID, method: str, amount_fen: int, *,
                           terminal_id: uuid.UUID | None = None, sale_id: uuid.UUID | None = None,
                           sale_ref: str | None = "", card_brand: str | None = "", card_last4: str | None = "",
                           approval_code: str | None = "", reference: str | None = "",
                           place_checked: bool = False) -> PaymentOut:
    """Cash, card (paid on the external card terminal), stored value, points, coupon — in the caller's
    transaction. Never accepts a card number: any field with 13+ digits in a row is refused (422).
    `place_checked`: the caller has already proved the store is the employee's and the terminal the
    store's (checkout does, through the terminal's open shift), so they are not read again."""
    actor.require("sale.create")
    card_brand, card_last4, approval_code, reference, sale_ref = (
        (v or "").strip() for v in (card_brand, card_last4, approval_code, reference, sale_ref))
    texts = {"card_brand": card_brand, "card_last4": card_last4, "approval_code": approval_code,
             "reference": reference, "sale_ref": sale_ref}
    pan = [FieldError(k, N_("Never enter a card number: only the last 4 digits and the approval code."), {},
                      "card_number_refused") for k, v in texts.items() if domain.looks_like_pan(v)]
    if pan:
        raise Invalid(errors=pan)
    if method not in domain.OFFLINE_METHODS:
        raise _invalid("method", N_("Wallet payments go through the payment flow."))
    problem = domain.amount_problem(amount_fen)
    if problem:
        raise _invalid("amount", problem)
    errors: list[FieldError] = []
    if card_last4 and not (len(card_last4) == 4 and card_last4.isdigit()):
        errors.append(FieldError("card_last4", N_("Enter the last 4 digits of the card."), {}, "invalid"))
    for k, limit in (("card_brand", 20), ("approval_code", 20), ("reference", 64), ("sale_ref", 100)):
        if len(texts[k]) > limit:
            errors.append(FieldError(k, N_("Too long."), {}, "too_long"))
    if errors:
        raise Invalid(errors=errors)
    if not place_checked:
        _check_place(db, actor, store_id, terminal_id)
    m = _method(db, actor, store_id, method)
    if not m.enabled:
        raise _invalid("method", N_("This payment method is switched off for the store."), "method_disabled")
    now = clock.now()
    pid = uuid7()
    row = dict(tenant_id=actor.tenant_id, id=pid, store_id=store_id, terminal_id=terminal_id,
               employee_id=actor.employee_id, method=method, provider="", amount_fen=amount_fen, currency="CNY",
               status=domain.SUCCEEDED, out_trade_no=pid.hex, provider_trade_no="", auth_code_last4="",
               card_brand=card_brand, card_last4=card_last4, approval_code=approval_code, reference=reference,
               sale_ref=sale_ref, sale_id=sale_id, idempotency_key=None, attempts=0, deadline=None,
               fee_rate_bp=m.fee_rate_bp, settlement_cycle_days=m.settlement_cycle_days, refunded_fen=0,
               error_code="", message=SUCCEEDED_MSG, reconcile_claim_at=None, paid_at=now, created_at=now,
               updated_at=now)
    # Written as it is, once (a recorded tender never changes until a refund): one prebuilt INSERT with
    # every column given, not a unit-of-work flush; the row is not kept in the session (nor made an ORM object).
    _INSERT_PAYMENT.run(db.connection(), row)
    return payment_out(SimpleNamespace(**row))


def record_offline_refund(db: Session, actor: Actor, payment_id: uuid.UUID, amount_fen: int,
                          reason: str = "", sale_ref: str = "") -> RefundOut:
    """Money given back outside any gateway (cash, card terminal, stored value…), in the caller's transaction."""
    actor.require("sale.refund")
    p = _get(db, actor, payment_id)
    if p.method in domain.WALLET_METHODS:
        raise Conflict(N_("Wallet payments are refunded through the provider."), code="use_refund_wallet")
    ref = _reserve_refund(db, actor, p, amount_fen, None, reason, sale_ref)
    ref.status = "succeeded"
    _settle_refund_total(p)
    db.flush()
    return refund_out(ref)


# --- wallet refunds ----------------------------------------------------------------------------------

def refund_out(r: PaymentRefund) -> RefundOut:
    return RefundOut(id=r.id, payment_id=r.payment_id, amount=r.amount_fen, status=r.status,
                     provider_refund_no=r.provider_refund_no, code=r.error_code,
                     message=_(r.message) if r.message else "", created_at=r.created_at)


def _reserve_refund(db: Session, actor: Actor, p: Payment, amount_fen: int, refund_id: uuid.UUID | None,
                    reason: str, sale_ref: str) -> PaymentRefund:
    problem = domain.amount_problem(amount_fen)
    if problem:
        raise _invalid("amount", problem)
    if p.status not in (domain.SUCCEEDED, domain.REFUNDED):
        raise Conflict(N_("Only a succeeded payment can be refunded."), code="payment_not_refundable")
    res = db.execute(update(Payment).where(
        Payment.tenant_id == p.tenant_id, Payment.id == p.id,
        Payment.refunded_fen + amount_fen <= Payment.amount_fen,
    ).values(refunded_fen=Payment.refunded_fen + amount_fen, updated_at=clock.now())
        .execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise Conflict(N_("The refund is more than what is left of the payment."), code="refund_exceeds_payment")
    db.refresh(p)
    rid = refund_id or uuid7()
    ref = PaymentRefund(tenant_id=p.tenant_id, id=rid, payment_id=p.id, store_id=p.store_id, amount_fen=amount_fen,
                        status="pending", out_refund_no=rid.hex, reason=reason[:200], sale_ref=sale_ref[:100])
    db.add(ref)
    db.flush()
    audit.record(db, actor, "payment.refund", target_type="payment", target_id=p.id, target_label=p.method,
                 details={"amount": amount_fen, "refund_id": str(rid)}, store_id=p.store_id)
    return ref


def _settle_refund_total(p: Payment) -> None:
    if p.refunded_fen >= p.amount_fen and p.status == domain.SUCCEEDED:
        p.status = domain.REFUNDED


def reserve_wallet_refund(db: Session, actor: Actor, payment_id: uuid.UUID, amount_fen: int, *,
                          reason: str = "", sale_ref: str = "", refund_id: uuid.UUID | None = None) -> uuid.UUID:
    """Inside the refund document's transaction: reserve `amount_fen` of a wallet payment (never more than
    is left) and write a pending refund. Returns the refund id; after the commit, call
    `send_reserved_refund`. If the process dies in between, the reconciliation job sends it."""
    actor.require("sale.refund")
    p = _get(db, actor, payment_id)
    if p.method not in domain.WALLET_METHODS:
        raise Conflict(N_("Only wallet payments are refunded through a provider."), code="not_a_wallet_payment")
    return _reserve_refund(db, actor, p, amount_fen, refund_id, reason, sale_ref).id


def send_reserved_refund(db: Session, actor: Actor, refund_id: uuid.UUID) -> RefundResult:
    """After the commit: send a reserved refund to the gateway and record the outcome. Never raises for
    gateway trouble: an unknown outcome stays pending and the reconciliation job sends it again (the
    gateway deduplicates by out_refund_no). Safe to call again."""
    ref = db.get(PaymentRefund, (actor.tenant_id, refund_id))
    if ref is None:
        raise NotFound(N_("Refund not found."))
    if ref.status != "pending":
        return _refund_result(ref)
    p = db.get(Payment, (actor.tenant_id, ref.payment_id))
    try:
        client = gateways.build(gateways.resolve(db, actor.tenant_id, p.provider or p.method))
        db.commit()
    except Conflict:
        db.rollback()
        log.warning("refund left pending: provider not configured", refund_id=str(refund_id))
        return _refund_result(ref)
    return _run_refund(db, client, p, ref)


def refund_wallet(db: Session, actor: Actor, payment_id: uuid.UUID, amount_fen: int, *,
                  refund_id: uuid.UUID | None = None, reason: str = "", sale_ref: str = "") -> RefundResult:
    """Refund (part of) a wallet payment through its provider, standalone: commits a pending refund
    (reserving the amount) first, then calls the gateway, then records the outcome. A retry with the
    same `refund_id` resumes that refund (the gateway deduplicates by out_refund_no), never a second one."""
    actor.require("sale.refund")
    try:
        p = _get(db, actor, payment_id)
        ref = db.get(PaymentRefund, (actor.tenant_id, refund_id)) if refund_id else None
        if ref is not None:
            if ref.payment_id != p.id or ref.amount_fen != amount_fen:
                raise Conflict(N_("This refund id was used for another refund."), code="idempotency_conflict")
            rid = ref.id
        else:
            rid = reserve_wallet_refund(db, actor, payment_id, amount_fen, reason=reason, sale_ref=sale_ref,
                                        refund_id=refund_id)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return send_reserved_refund(db, actor, rid)


def _run_refund(db: Session, client: Any, p: Payment, ref: PaymentRefund) -> RefundResult:
    result = client.refund(out_trade_no=p.out_trade_no, out_refund_no=ref.out_refund_no, total_fen=p.amount_fen,
                           refund_fen=ref.amount_fen, reason=ref.reason)
    try:
        ref.error_code, ref.updated_at = result.code[:64], clock.now()
        if result.outcome == SUCCESS:
            ref.status, ref.provider_refund_no, ref.message = "succeeded", result.trade_no[:64], REFUNDED_MSG
            _settle_refund_total(p)
        elif result.outcome == UNKNOWN:
            ref.message = REFUND_PENDING
        else:
            ref.status = "failed"
            ref.message = MESSAGES.get(result.code, result.message or result.code)[:200]
            db.execute(update(Payment).where(Payment.tenant_id == p.tenant_id, Payment.id == p.id)
                       .values(refunded_fen=Payment.refunded_fen - ref.amount_fen)
                       .execution_options(synchronize_session=False))
        db.commit()
        db.refresh(p)
    except BaseException:
        db.rollback()
        raise
    return _refund_result(ref)


def _refund_result(ref: PaymentRefund) -> RefundResult:
    return RefundResult(ref.status, ref.id, ref.payment_id, ref.amount_fen, ref.provider_refund_no,
                        _(ref.message) if ref.message else "")


# --- notifications -----------------------------------------------------------------------------------

def handle_notification(db: Session, provider: str, body: bytes) -> tuple[bool, str, str]:
    """A provider's asynchronous notification: (accepted, answer body, media type). Only a notification
    whose signature verifies with the merchant's keys is believed; it can only confirm a charge the
    gateway reports for our payment and amount (the flow and reconciliation query anyway)."""
    from urllib.parse import parse_qsl

    from cloudpos.payments.providers.base import InvalidNotification
    from cloudpos.payments.providers.wechat import from_xml

    try:
        fields = from_xml(body) if provider == "wechat" else dict(parse_qsl(body.decode("utf-8")))
    except Exception:  # noqa: BLE001 - unreadable: refused below
        fields = {}
    out_trade_no = str(fields.get("out_trade_no", ""))[:32]
    p = db.scalar(select(Payment).where(Payment.out_trade_no == out_trade_no).execution_options(all_tenants=True)) \
        if out_trade_no else None
    client = None
    if p is not None and p.provider == provider:
        try:
            client = gateways.build(gateways.resolve(db, p.tenant_id, provider))
        except Conflict:
            client = None
    if client is None:
        refuse = ("failure", "text/plain") if provider == "alipay" else \
            ("<xml><return_code><![CDATA[FAIL]]></return_code></xml>", "application/xml")
        return False, *refuse
    try:
        note = client.verify_notification(body)
    except InvalidNotification:
        log.warning("payment notification refused", provider=provider, out_trade_no=out_trade_no)
        return False, *client.ack(False)
    if note.outcome == SUCCESS and note.amount_fen == p.amount_fen and p.status in domain.OPEN_STATUSES:
        p.status, p.provider_trade_no, p.paid_at = domain.SUCCEEDED, note.trade_no[:64], clock.now()
        p.message, p.error_code = SUCCEEDED_MSG, ""
        db.commit()
    else:
        db.rollback()
    return True, *client.ack(True)


# --- the settlement report ---------------------------------------------------------------------------

MAX_REPORT_DAYS = 366


def settlement(db: Session, actor: Actor, date_from: date, date_to: date,
               store_id: uuid.UUID | None = None) -> SettlementOut:
    """Fees, net amount and expected settlement date per method and business day (store time zone)."""
    actor.require("report.view")
    if not (date(2000, 1, 1) <= date_from <= date(2100, 12, 31) and date(2000, 1, 1) <= date_to <= date(2100, 12, 31)):
        raise _invalid("from", N_("Choose dates between 2000 and 2100."))
    if date_to < date_from:
        raise _invalid("to", N_("The end date is before the start date."))
    if (date_to - date_from).days >= MAX_REPORT_DAYS:
        raise _invalid("to", N_("Choose at most %(n)s days."), n=MAX_REPORT_DAYS)
    stores = [tenancy.get_store(db, actor, store_id)] if store_id else \
        [tenancy.get_store(db, actor, s.id) for s in tenancy.list_stores(db, actor)]
    items: list[domain.SettlementItem] = []
    tz_names = set()
    for store in stores:
        tz = ZoneInfo(store.timezone or "Asia/Shanghai")
        tz_names.add(store.timezone)
        start = datetime.combine(date_from, time.min, tzinfo=tz)
        end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz)
        pays = db.execute(select(Payment.paid_at, Payment.method, Payment.amount_fen, Payment.fee_rate_bp,
                                 Payment.settlement_cycle_days).where(
            Payment.tenant_id == actor.tenant_id, Payment.store_id == store.id,
            Payment.status.in_((domain.SUCCEEDED, domain.REFUNDED)), Payment.paid_at >= start, Payment.paid_at < end,
        )).all()
        for paid_at, method, amount, bp, cycle in pays:
            items.append(domain.SettlementItem(paid_at.astimezone(tz).date(), method, amount, bp, cycle))
        refunds = db.execute(select(PaymentRefund.created_at, Payment.method, PaymentRefund.amount_fen,
                                    Payment.fee_rate_bp, Payment.settlement_cycle_days).join(
            Payment, (Payment.tenant_id == PaymentRefund.tenant_id) & (Payment.id == PaymentRefund.payment_id)).where(
            PaymentRefund.tenant_id == actor.tenant_id, PaymentRefund.store_id == store.id,
            PaymentRefund.status == "succeeded", PaymentRefund.created_at >= start, PaymentRefund.created_at < end,
        )).all()
        for created_at, method, amount, bp, cycle in refunds:
            items.append(domain.SettlementItem(created_at.astimezone(tz).date(), method, -amount, bp, cycle))
    rows = domain.settle(items)
    out_rows = [SettlementRowOut(business_day=r.business_day, method=r.method, count=r.count, gross=r.gross_fen,
                                 refunds=r.refunds_fen, fees=r.fee_fen, net=r.net_fen,
                                 settlement_date=r.settlement_date) for r in rows]
    totals = SettlementTotals(count=sum(r.count for r in rows), gross=sum(r.gross_fen for r in rows),
                              refunds=sum(r.refunds_fen for r in rows), fees=sum(r.fee_fen for r in rows),
                              net=sum(r.net_fen for r in rows))
    tz_label = tz_names.pop() if len(tz_names) == 1 else "store"
    return SettlementOut(store_id=store_id, date_from=date_from, date_to=date_to, timezone=tz_label,
                         rows=out_rows, totals=totals)


def settings_snapshot() -> dict[str, float]:
    s = payment_settings()
    return {"poll_interval_s": s.poll_interval_s, "deadline_s": s.deadline_s, "http_timeout_s": s.http_timeout_s}
