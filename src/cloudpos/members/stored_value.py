"""Stored value (储值): top-ups with bonus rules, payments at checkout (PIN above a threshold), refunds back to
the balance, manual adjustments. Principal and bonus are tracked apart for liability reporting."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.auth.passwords import verify_password
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound
from cloudpos.i18n import N_
from cloudpos.members import domain, program
from cloudpos.members.models import Member, StoredValueEntry, TopUpRule
from cloudpos.members.schemas import (
    StoredValueEntryOut,
    StoredValuePayOut,
    TopUpOut,
    TopUpRuleIn,
    TopUpRuleOut,
)

PIN_MAX_FAILURES = 5
PIN_LOCK_MINUTES = 15


class WrongPin(Invalid):
    """The member PIN was wrong: the caller records the failure after its rollback (`note_pin_failure`)."""

    def __init__(self, member_id: uuid.UUID) -> None:
        super().__init__(errors=[FieldError("pin", N_("The member PIN is wrong."), {}, "pin_wrong")])
        self.member_id = member_id


def entry_out(e: StoredValueEntry) -> StoredValueEntryOut:
    return StoredValueEntryOut(id=e.id, kind=e.kind, delta=e.delta, balance_after=e.balance_after, sale_id=e.sale_id,
                               reason=e.reason, actor_name=e.actor_name, occurred_at=e.occurred_at,
                               principal_delta=e.principal_delta, bonus_delta=e.bonus_delta,
                               payment_method=e.payment_method, reference=e.reference)


def append(db: Session, actor: Actor, member_id: uuid.UUID, kind: str, principal: int, bonus: int, *,
           sale_id: uuid.UUID | None = None, method: str = "", reference: str = "", reason: str = "",
           store_id: uuid.UUID | None = None) -> StoredValueEntry:
    """Ledger row + the same relative change to the cached balances; debits never go below zero."""
    guard = None
    if principal < 0 or bonus < 0:
        guard = and_(Member.sv_principal_fen + principal >= 0, Member.sv_bonus_fen + bonus >= 0)
    new = program.bump(db, actor.tenant_id, member_id, guard=guard, stored_value_balance=principal + bonus,
                       sv_principal_fen=principal, sv_bonus_fen=bonus)
    if new is None:
        program.get_member(db, actor, member_id)
        raise Conflict(N_("The stored-value balance is not enough."), code="insufficient_balance")
    e = StoredValueEntry(tenant_id=actor.tenant_id, member_id=member_id, kind=kind, principal_delta=principal,
                         bonus_delta=bonus, delta=principal + bonus, balance_after=new["stored_value_balance"],
                         payment_method=method, reference=reference[:100], sale_id=sale_id, store_id=store_id,
                         reason=reason[:200], actor_name=(actor.display_name or actor.username)[:60],
                         occurred_at=clock.now())
    db.add(e)
    db.flush()
    return e


def ledger(db: Session, actor: Actor, member_id: uuid.UUID, page: int = 1, page_size: int = 50
           ) -> tuple[list[StoredValueEntryOut], int]:
    program.get_member(db, actor, member_id)
    cond = and_(StoredValueEntry.tenant_id == actor.tenant_id, StoredValueEntry.member_id == member_id)
    total = db.scalar(select(func.count()).where(cond)) or 0
    rows = db.scalars(select(StoredValueEntry).where(cond)
                      .order_by(StoredValueEntry.id.desc())
                      .offset((page - 1) * page_size).limit(page_size))
    return [entry_out(e) for e in rows], total


def _rules(db: Session, tenant_id: uuid.UUID) -> list[domain.BonusRule]:
    return [domain.BonusRule(r.threshold_fen, r.bonus_fen) for r in db.scalars(
        select(TopUpRule).where(TopUpRule.tenant_id == tenant_id, TopUpRule.active.is_(True)))]


def bonus_for(db: Session, actor: Actor, amount_fen: int) -> int:
    return domain.top_up_bonus(amount_fen, _rules(db, actor.tenant_id))


@use_case
def top_up(db: Session, actor: Actor, member_id: uuid.UUID, amount_fen: int, payment_method: str,
           reference: str = "", store_id: uuid.UUID | None = None) -> TopUpOut:
    """充值: the principal paid by `payment_method` plus the bonus of the best rule reached."""
    actor.require("member.edit")
    if amount_fen <= 0:
        raise Invalid(errors=[FieldError("amount_fen", N_("Must be more than %(gt)s."), {"gt": 0}, "positive")])
    if store_id is not None:
        actor.check_store(store_id)
    m = program.get_member(db, actor, member_id)
    program.require_active(m)
    bonus = bonus_for(db, actor, amount_fen)
    e = append(db, actor, m.id, "top_up", amount_fen, bonus, method=payment_method, reference=reference,
               store_id=store_id)
    audit.record(db, actor, "member.stored_value.top_up", target_type="member", target_id=m.id,
                 target_label=m.card_no, store_id=store_id,
                 details={"amount_fen": amount_fen, "bonus_fen": bonus, "payment_method": payment_method,
                          "reference": reference, "balance_after": e.balance_after})
    return TopUpOut(member_id=m.id, amount_fen=amount_fen, bonus_fen=bonus, stored_value_balance=e.balance_after,
                    entry_id=e.id)


def check_pin(db: Session, m: Member, pin: str | None) -> None:
    now = clock.now()
    if m.pin_locked_until and m.pin_locked_until > now:
        raise Conflict(N_("Too many wrong PINs: the member's PIN is locked for a while."), code="pin_locked")
    if m.pin_hash is None:
        raise Conflict(N_("This member has no PIN yet; set one before paying with stored value."), code="pin_not_set")
    if not pin:
        raise Invalid(errors=[FieldError("pin", N_("The member PIN is required for this amount."), {},
                                         "pin_required")])
    if not verify_password(m.pin_hash, pin):
        raise WrongPin(m.id)
    if m.pin_failed:
        m.pin_failed = 0


@use_case
def note_pin_failure(db: Session, actor: Actor, member_id: uuid.UUID) -> None:
    """Count a wrong PIN (after the caller rolled back); locks the PIN after repeated failures."""
    m = program.get_member(db, actor, member_id)
    m.pin_failed += 1
    if m.pin_failed >= PIN_MAX_FAILURES:
        m.pin_locked_until = clock.now() + timedelta(minutes=PIN_LOCK_MINUTES)
        m.pin_failed = 0
    audit.record(db, actor, "member.pin.failed", target_type="member", target_id=m.id, target_label=m.card_no,
                 result="denied", details={"locked": m.pin_locked_until is not None and m.pin_failed == 0})


def pay_with_stored_value(db: Session, actor: Actor, member_id: uuid.UUID, amount_fen: int, sale_id: uuid.UUID,
                          pin: str | None = None, store_id: uuid.UUID | None = None) -> StoredValuePayOut:
    """Checkout: pay `amount_fen` of `sale_id` from the balance, INSIDE the caller's transaction.
    Needs the member PIN above the merchant's threshold (WrongPin → call `note_pin_failure` after rollback);
    an insufficient balance is a 409 `insufficient_balance`."""
    actor.require("sale.create")
    if amount_fen <= 0:
        raise Invalid(errors=[FieldError("amount_fen", N_("Must be more than %(gt)s."), {"gt": 0}, "positive")])
    m = program.get_member(db, actor, member_id, lock=True)
    program.require_active(m)
    if amount_fen > program.settings(db, actor.tenant_id).sv_pin_threshold_fen:
        check_pin(db, m, pin)
    if m.stored_value_balance < amount_fen:
        raise Conflict(N_("The stored-value balance (%(balance)s fen) is less than %(amount)s fen."),
                       params={"balance": m.stored_value_balance, "amount": amount_fen}, code="insufficient_balance",
                       extra={"balance_fen": m.stored_value_balance})
    principal, bonus = domain.split_spend(amount_fen, m.sv_principal_fen, m.sv_bonus_fen)
    e = append(db, actor, m.id, "payment", -principal, -bonus, sale_id=sale_id, store_id=store_id)
    audit.record(db, actor, "member.stored_value.pay", target_type="member", target_id=m.id, target_label=m.card_no,
                 store_id=store_id, details={"amount_fen": amount_fen, "sale_id": str(sale_id),
                                             "principal_fen": principal, "bonus_fen": bonus})
    return StoredValuePayOut(member_id=m.id, amount_fen=amount_fen, principal_fen=principal, bonus_fen=bonus,
                             stored_value_balance=e.balance_after)


def refund_stored_value(db: Session, actor: Actor, member_id: uuid.UUID, amount_fen: int, sale_id: uuid.UUID,
                        refund_id: uuid.UUID | None = None) -> StoredValuePayOut:
    """Refunds return to the balance (inside the caller's transaction), split back into principal and bonus
    as the sale's payments were; never more than was paid from the balance on that sale."""
    actor.require("sale.refund")
    m = program.get_member(db, actor, member_id, lock=True)
    rows = db.execute(select(StoredValueEntry.kind, func.sum(StoredValueEntry.principal_delta),
                             func.sum(StoredValueEntry.bonus_delta))
                      .where(StoredValueEntry.tenant_id == actor.tenant_id, StoredValueEntry.member_id == m.id,
                             StoredValueEntry.sale_id == sale_id, StoredValueEntry.kind.in_(("payment", "refund")))
                      .group_by(StoredValueEntry.kind)).all()
    sums = {k: (-int(p or 0), -int(b or 0)) if k == "payment" else (int(p or 0), int(b or 0)) for k, p, b in rows}
    paid_p, paid_b = sums.get("payment", (0, 0))
    ref_p, ref_b = sums.get("refund", (0, 0))
    paid, refunded = paid_p + paid_b, ref_p + ref_b
    if amount_fen <= 0 or refunded + amount_fen > paid:
        raise Conflict(N_("At most %(fen)s fen of this sale can go back to the stored value."),
                       params={"fen": max(0, paid - refunded)}, code="refund_exceeds_payment")
    cum = refunded + amount_fen
    principal = domain.cumulative_share(paid_p, cum, paid) - ref_p
    bonus = amount_fen - principal
    e = append(db, actor, m.id, "refund", principal, bonus, sale_id=sale_id, reason=str(refund_id or ""))
    audit.record(db, actor, "member.stored_value.refund", target_type="member", target_id=m.id,
                 target_label=m.card_no, details={"amount_fen": amount_fen, "sale_id": str(sale_id)})
    return StoredValuePayOut(member_id=m.id, amount_fen=amount_fen, principal_fen=principal, bonus_fen=bonus,
                             stored_value_balance=e.balance_after)


@use_case
def adjust(db: Session, actor: Actor, member_id: uuid.UUID, principal_delta: int, bonus_delta: int,
           reason: str) -> StoredValueEntryOut:
    actor.require("member.points.adjust")
    if principal_delta == 0 and bonus_delta == 0:
        raise Invalid(errors=[FieldError("principal_delta", N_("Give an amount other than 0."), {}, "zero")])
    m = program.get_member(db, actor, member_id)
    e = append(db, actor, m.id, "adjust", principal_delta, bonus_delta, reason=reason)
    audit.record(db, actor, "member.stored_value.adjust", target_type="member", target_id=m.id,
                 target_label=m.card_no, details={"principal_delta": principal_delta, "bonus_delta": bonus_delta,
                                                  "reason": reason, "balance_after": e.balance_after})
    return entry_out(e)


def liability(db: Session, actor: Actor) -> dict[str, int]:
    """Outstanding stored value: principal (prepaid money) and bonus (given away), in fen."""
    p, b = db.execute(select(func.coalesce(func.sum(Member.sv_principal_fen), 0),
                             func.coalesce(func.sum(Member.sv_bonus_fen), 0))
                      .where(Member.tenant_id == actor.tenant_id)).one()
    return {"principal_fen": int(p), "bonus_fen": int(b), "total_fen": int(p) + int(b)}


def verify_balances(db: Session, tenant_id: uuid.UUID) -> list[tuple[uuid.UUID, int, int]]:
    sums = (select(StoredValueEntry.member_id, func.coalesce(func.sum(StoredValueEntry.delta), 0).label("s"),
                   func.coalesce(func.sum(StoredValueEntry.principal_delta), 0).label("p"))
            .where(StoredValueEntry.tenant_id == tenant_id).group_by(StoredValueEntry.member_id).subquery())
    rows = db.execute(select(Member.id, Member.stored_value_balance, func.coalesce(sums.c.s, 0))
                      .outerjoin(sums, sums.c.member_id == Member.id)
                      .where(Member.tenant_id == tenant_id,
                             (Member.stored_value_balance != func.coalesce(sums.c.s, 0))
                             | (Member.sv_principal_fen != func.coalesce(sums.c.p, 0))
                             | (Member.stored_value_balance != Member.sv_principal_fen + Member.sv_bonus_fen))
                      .execution_options(all_tenants=True)).all()
    return [(r[0], int(r[1]), int(r[2])) for r in rows]


# --- bonus rules (充值送) --------------------------------------------------------------------------

def rule_out(r: TopUpRule) -> TopUpRuleOut:
    return TopUpRuleOut(id=r.id, threshold_fen=r.threshold_fen, bonus_fen=r.bonus_fen, active=r.active)


def list_rules(db: Session, actor: Actor) -> list[TopUpRuleOut]:
    return [rule_out(r) for r in db.scalars(select(TopUpRule).where(TopUpRule.tenant_id == actor.tenant_id)
                                            .order_by(TopUpRule.threshold_fen))]


@use_case
def save_rule(db: Session, actor: Actor, data: TopUpRuleIn, rule_id: uuid.UUID | None = None) -> TopUpRuleOut:
    actor.require("settings.manage")
    if data.bonus_fen > data.threshold_fen:
        raise Invalid(errors=[FieldError("bonus_fen", N_("The bonus cannot be more than the top-up."), {},
                                         "too_large")])
    if rule_id is None:
        r = TopUpRule(tenant_id=actor.tenant_id, **data.model_dump())
        db.add(r)
        db.flush()
        before = None
    else:
        r = db.get(TopUpRule, (actor.tenant_id, rule_id))
        if r is None:
            raise NotFound(N_("Bonus rule not found."))
        before = rule_out(r).model_dump(mode="json")
        for k, v in data.model_dump().items():
            setattr(r, k, v)
    audit.record(db, actor, "member.topup_rule.save", target_type="topup_rule", target_id=r.id,
                 target_label=f"{r.threshold_fen}/{r.bonus_fen}", before=before,
                 after=rule_out(r).model_dump(mode="json"))
    return rule_out(r)


@use_case
def delete_rule(db: Session, actor: Actor, rule_id: uuid.UUID) -> None:
    actor.require("settings.manage")
    r = db.get(TopUpRule, (actor.tenant_id, rule_id))
    if r is None:
        raise NotFound(N_("Bonus rule not found."))
    audit.record(db, actor, "member.topup_rule.delete", target_type="topup_rule", target_id=r.id,
                 target_label=f"{r.threshold_fen}/{r.bonus_fen}", before=rule_out(r).model_dump(mode="json"))
    db.delete(r)
