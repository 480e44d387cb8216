"""The wallet flow end to end: our service → real HTTP → the sandbox gateway → the database, on SQLite and
PostgreSQL. The sandbox's own books say what was charged, so "nothing lost, nothing doubled" is asserted
on the gateway's side, not on ours."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from cloudpos.context import system_actor
from cloudpos.errors import Conflict
from cloudpos.payments import domain, flow, reconcile, service
from cloudpos.payments.models import Payment
from cloudpos.payments.testing import FAST_ENV, fast_payments, ledger_trade, payment_code, provider_patches, sandbox  # noqa: F401

METHODS = ["wechat", "alipay"]
PAST_DEADLINE = float(FAST_ENV["CLOUDPOS_PAYMENTS_DEADLINE"]) + 0.1


@pytest.fixture
def shop(merchant, app, fast_payments):  # noqa: F811
    """A merchant whose providers point at the sandbox; yields (db bound to the tenant, actor, merchant)."""
    db = app.state.sessionmaker()
    db.info["tenant_id"] = merchant.tenant_id
    actor = system_actor(merchant.tenant_id, "test")
    for name, patch in provider_patches(fast_payments).items():
        service.update_provider(db, actor, name, patch)
    yield db, actor, merchant
    db.close()


def pay(shop, method, scenario, amount=1250, **kw):
    db, actor, m = shop
    return service.start_wallet_payment(db, actor, m.store_id, m.terminal_id, method, amount, payment_code(scenario),
                                        "sale-ref-1", **kw)


def row(shop, pid) -> Payment:
    db = shop[0]
    db.expire_all()
    p = db.get(Payment, (shop[2].tenant_id, pid))
    db.commit()
    return p


def trade(sb, shop, pid):
    return ledger_trade(sb, row(shop, pid).out_trade_no)


@pytest.mark.parametrize("method", METHODS)
def test_success_charges_once_and_keeps_only_last4(shop, fast_payments, method):  # noqa: F811
    db, _, _ = shop
    code = payment_code("1300")
    r = service.start_wallet_payment(db, shop[1], shop[2].store_id, shop[2].terminal_id, method, 1250, code, "s1")
    assert r.ok and r.provider_trade_no
    p = row(shop, r.payment_id)
    assert p.status == "succeeded" and p.auth_code_last4 == code[-4:] and p.out_trade_no == r.payment_id.hex
    assert code not in repr({c.name: getattr(p, c.key) for c in Payment.__table__.columns})
    t = ledger_trade(fast_payments, p.out_trade_no)
    assert t["charges"] == 1 and not t["reversed"] and t["amount_fen"] == 1250


@pytest.mark.parametrize("method", METHODS)
def test_userpaying_then_success_by_polling(shop, fast_payments, method):  # noqa: F811
    r = pay(shop, method, "1301")
    assert r.ok
    t = trade(fast_payments, shop, r.payment_id)
    assert t["charges"] == 1 and t["queries"] >= 3
    assert row(shop, r.payment_id).attempts >= 4  # pay + 3 queries


@pytest.mark.parametrize("method", METHODS)
def test_insufficient_funds_fails_with_a_clear_message(shop, fast_payments, method):  # noqa: F811
    r = pay(shop, method, "1302")
    assert r.status == "failed" and not r.ok
    assert "余额不足" in r.message  # zh_CN by default: the cashier reads it
    assert r.code in ("NOTENOUGH", "ACQ.BUYER_BALANCE_NOT_ENOUGH")
    assert trade(fast_payments, shop, r.payment_id)["charges"] == 0


@pytest.mark.parametrize("method", METHODS)
def test_timeout_then_query_then_reverse(shop, fast_payments, method):  # noqa: F811
    r = pay(shop, method, "1303")
    assert r.status == "reversed" and not r.ok
    t = trade(fast_payments, shop, r.payment_id)
    assert t["reversed"] and t["charges"] == 0 and t["queries"] >= 1


@pytest.mark.parametrize("method", METHODS)
def test_customer_never_confirms_is_reversed_at_the_deadline(shop, fast_payments, method):  # noqa: F811
    r = pay(shop, method, "1306")
    assert r.status == "reversed" and r.code == "USERPAYING_TIMEOUT"
    assert "未及时确认" in r.message
    assert trade(fast_payments, shop, r.payment_id)["reversed"]


@pytest.mark.parametrize("method", METHODS)
def test_lost_response_is_found_by_query_and_charged_once(shop, fast_payments, method):  # noqa: F811
    r = pay(shop, method, "1304")
    assert r.ok
    t = trade(fast_payments, shop, r.payment_id)
    assert t["charges"] == 1 and not t["reversed"]


@pytest.mark.parametrize("method", METHODS)
def test_tampered_answer_is_not_believed(shop, fast_payments, method):  # noqa: F811
    r = pay(shop, method, "1307")
    assert r.ok  # the (untampered) query confirmed it
    assert row(shop, r.payment_id).attempts >= 2  # the tampered pay answer was not taken
    assert trade(fast_payments, shop, r.payment_id)["charges"] == 1


@pytest.mark.parametrize("method", METHODS)
def test_crash_after_charge_is_reversed_by_reconcile(shop, fast_payments, app, method):  # noqa: F811
    def die(payment_id: str) -> None:
        raise flow.SimulatedCrash(payment_id)

    flow.after_gateway_success.register(die)
    with pytest.raises(flow.SimulatedCrash) as crashed:
        pay(shop, method, "1300")
    flow.after_gateway_success.clear()
    pid = uuid.UUID(str(crashed.value))
    assert row(shop, pid).status == "paying"  # the process "died" before recording the charge
    import time

    time.sleep(PAST_DEADLINE)  # past the payment's deadline
    report = reconcile.reconcile(app.state.sessionmaker, tenant_id=shop[2].tenant_id)
    assert not report.errors
    p = row(shop, pid)
    assert p.status == "reversed" and p.error_code == "NO_SALE"
    t = ledger_trade(fast_payments, p.out_trade_no)
    assert t["charges"] == 1 and t["reversed"]  # charged once, given back
    with pytest.raises(Conflict):
        service.attach_to_sale(shop[0], shop[1], pid, uuid.uuid4())
    shop[0].rollback()


def test_succeeded_but_unattached_is_reversed_and_attached_is_kept(shop, fast_payments, app):  # noqa: F811
    db, actor, _ = shop
    kept = pay(shop, "wechat", "1300")
    orphan = pay(shop, "alipay", "1300")
    sale_id = uuid.uuid4()
    service.attach_to_sale(db, actor, kept.payment_id, sale_id, expected_amount_fen=1250)
    db.commit()
    service.attach_to_sale(db, actor, kept.payment_id, sale_id)  # idempotent for the same sale
    db.commit()
    with pytest.raises(Conflict):
        service.attach_to_sale(db, actor, kept.payment_id, uuid.uuid4())  # never two sales
    db.rollback()
    import time

    time.sleep(PAST_DEADLINE)
    reconcile.reconcile(app.state.sessionmaker, tenant_id=shop[2].tenant_id)
    assert row(shop, kept.payment_id).status == "succeeded"
    assert not trade(fast_payments, shop, kept.payment_id)["reversed"]
    assert row(shop, orphan.payment_id).status == "reversed"
    assert trade(fast_payments, shop, orphan.payment_id)["reversed"]


def test_a_registered_sale_completer_keeps_the_payment(shop, fast_payments, app):  # noqa: F811
    completed = uuid.uuid4()
    seen = []

    def complete(db, p):
        seen.append(p.id)
        return completed

    reconcile.register_sale_completer(complete)
    r = pay(shop, "wechat", "1300")
    import time

    time.sleep(PAST_DEADLINE)
    report = reconcile.reconcile(app.state.sessionmaker, tenant_id=shop[2].tenant_id)
    assert r.payment_id in seen and report.attached_by_completer >= 1
    p = row(shop, r.payment_id)
    assert p.status == "succeeded" and p.sale_id == completed
    assert not trade(fast_payments, shop, r.payment_id)["reversed"]


def test_idempotency_key_never_charges_twice(shop, fast_payments):  # noqa: F811
    first = pay(shop, "wechat", "1300", idempotency_key="sale-42/0")
    again = pay(shop, "wechat", "1300", idempotency_key="sale-42/0")
    assert again.payment_id == first.payment_id and again.ok
    db = shop[0]
    n = db.scalars(select(Payment).where(Payment.tenant_id == shop[2].tenant_id,
                                         Payment.idempotency_key == "sale-42/0")).all()
    db.commit()
    assert len(n) == 1
    with pytest.raises(Conflict):
        pay(shop, "wechat", "1300", amount=999, idempotency_key="sale-42/0")
    db.rollback()


@pytest.mark.parametrize("method", METHODS)
def test_refunds_partial_then_full_never_more(shop, fast_payments, method):  # noqa: F811
    db, actor, _ = shop
    r = pay(shop, method, "1300", amount=1000)
    rid = uuid.uuid4()
    one = service.refund_wallet(db, actor, r.payment_id, 400, refund_id=rid, reason="return")
    assert one.ok
    again = service.refund_wallet(db, actor, r.payment_id, 400, refund_id=rid)  # a retry: the same refund
    assert again.refund_id == rid and again.ok
    with pytest.raises(Conflict):
        service.refund_wallet(db, actor, r.payment_id, 700)
    db.rollback()
    assert service.refund_wallet(db, actor, r.payment_id, 600).ok
    p = row(shop, r.payment_id)
    assert p.status == domain.REFUNDED and p.refunded_fen == 1000
    assert trade(fast_payments, shop, r.payment_id)["refunded_fen"] == 1000


def test_a_flow_that_outlives_its_deadline_loses_to_reconcile(shop, fast_payments, app):  # noqa: F811
    """The job took the payment over while the flow was still running: the flow's late success is not
    recorded, the caller is told it is not paid, and the charge is given back — never a sale on money
    the job is reversing."""
    import time

    def slow_process(payment_id: str) -> None:
        time.sleep(PAST_DEADLINE)
        reconcile.reconcile(app.state.sessionmaker, tenant_id=shop[2].tenant_id)

    flow.after_gateway_success.register(slow_process)
    r = pay(shop, "wechat", "1300")
    flow.after_gateway_success.clear()
    assert not r.ok and r.status == "reversed"
    t = trade(fast_payments, shop, r.payment_id)
    assert t["charges"] == 1 and t["reversed"]


def test_reserved_refunds_in_the_documents_transaction(shop, fast_payments, app):  # noqa: F811
    """reserve_wallet_refund runs in the refund document's transaction (rolled back with it); after the commit
    send_reserved_refund sends it; one that is never sent (crash) is sent by the reconciliation job."""
    db, actor, m = shop
    r = pay(shop, "alipay", "1300", amount=2000)
    service.attach_to_sale(db, actor, r.payment_id, uuid.uuid4())  # the sale was completed
    db.commit()
    service.reserve_wallet_refund(db, actor, r.payment_id, 500, reason="rolled back")
    db.rollback()  # the document's transaction failed: nothing reserved
    assert row(shop, r.payment_id).refunded_fen == 0
    rid = service.reserve_wallet_refund(db, actor, r.payment_id, 500, reason="return")
    db.commit()
    assert service.send_reserved_refund(db, actor, rid).ok
    assert service.send_reserved_refund(db, actor, rid).ok  # again: nothing more happens
    crashed = service.reserve_wallet_refund(db, actor, r.payment_id, 700, reason="return")
    db.commit()  # ... and the process dies before sending
    report = reconcile.reconcile(app.state.sessionmaker, tenant_id=m.tenant_id)
    assert report.refunds_retried == 1
    from cloudpos.payments.models import PaymentRefund

    db.expire_all()
    assert db.get(PaymentRefund, (m.tenant_id, crashed)).status == "succeeded"
    db.commit()
    assert row(shop, r.payment_id).refunded_fen == 1200
    assert trade(fast_payments, shop, r.payment_id)["refunded_fen"] == 1200
