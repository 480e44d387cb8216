"""Payment methods, provider settings, wallet payments, the settlement report, provider notifications."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from fastapi import Depends, Header, Path, Query, Request, Response
from sqlalchemy.orm import Session

from cloudpos.context import Actor
from cloudpos.payments import service
from cloudpos.payments.schemas import (
    ConnectionTestOut,
    MethodCode,
    MethodOut,
    MethodPatch,
    PaymentOut,
    ProviderCode,
    ProviderOut,
    ProviderPatch,
    SettlementOut,
    WalletPayIn,
)
from cloudpos.web.deps import get_db, public, requires
from cloudpos.web.routing import APIRouter

router = APIRouter(tags=["payments"])


@router.get("/payment-methods", response_model=list[MethodOut])
def list_methods(store_id: uuid.UUID | None = None, actor: Actor = Depends(requires("payment.manage")),
                 db: Session = Depends(get_db)) -> list[MethodOut]:
    """The effective methods: a store's own settings, else the merchant-wide ones (no store_id)."""
    return service.methods_for_store(db, actor, store_id)


@router.patch("/payment-methods/{code}", response_model=MethodOut)
def patch_method(code: MethodCode, data: MethodPatch, store_id: uuid.UUID | None = None,
                 actor: Actor = Depends(requires("payment.manage")), db: Session = Depends(get_db)) -> MethodOut:
    """Change a method merchant-wide, or for one store with ?store_id=."""
    return service.update_method(db, actor, code, data, store_id)


@router.get("/payment-providers/{provider}", response_model=ProviderOut)
def get_provider(provider: ProviderCode, actor: Actor = Depends(requires("payment.manage")),
                 db: Session = Depends(get_db)) -> ProviderOut:
    return service.provider_settings(db, actor, provider)


@router.patch("/payment-providers/{provider}", response_model=ProviderOut)
def patch_provider(provider: ProviderCode, data: ProviderPatch, actor: Actor = Depends(requires("payment.manage")),
                   db: Session = Depends(get_db)) -> ProviderOut:
    """Save credentials. The secret is write-only: answers show a hint (last characters or fingerprint)."""
    return service.update_provider(db, actor, provider, data)


@router.post("/payment-providers/{provider}/test", response_model=ConnectionTestOut)
def test_provider(provider: ProviderCode, actor: Actor = Depends(requires("payment.manage")),
                  db: Session = Depends(get_db)) -> ConnectionTestOut:
    """Test the connection: a signed query for a trade that cannot exist."""
    return service.test_connection(db, actor, provider)


@router.post("/payments/wallet", status_code=201, response_model=PaymentOut)
def pay_wallet(data: WalletPayIn, idempotency_key: str | None = Header(default=None, max_length=100),
               actor: Actor = Depends(requires("sale.create")), db: Session = Depends(get_db)) -> PaymentOut:
    """Charge a scanned payment code (WeChat Pay micropay / Alipay bar code). Waits for the outcome
    (USERPAYING is polled up to the deadline). `status` is `succeeded` only on a confirmed charge; the
    payment's id then goes into the sale (`payments[].payment_id`)."""
    result = service.start_wallet_payment(db, actor, data.store_id, data.terminal_id, data.method, data.amount,
                                          data.auth_code, data.sale_ref, idempotency_key=idempotency_key,
                                          client_ip=actor.ip)
    return service.payment(db, actor, result.payment_id)


@router.get("/payments/settlement", response_model=SettlementOut)
def settlement(date_from: date = Query(alias="from"), date_to: date = Query(alias="to"),
               store_id: uuid.UUID | None = None, actor: Actor = Depends(requires("report.view")),
               db: Session = Depends(get_db)) -> SettlementOut:
    """Per method and business day: count, gross, refunds, fees (half-up per payment), net and the
    expected settlement date (T+N calendar days)."""
    return service.settlement(db, actor, date_from, date_to, store_id)


@router.get("/payments/by-key/{idempotency_key}", response_model=PaymentOut)
def get_payment_by_key(idempotency_key: str = Path(max_length=100), actor: Actor = Depends(requires("sale.view")),
                       db: Session = Depends(get_db)) -> PaymentOut:
    """The wallet payment made with this Idempotency-Key (a sale's wallet tender i uses the sale's key +
    `:i`), for a till to show its progress while the request that pays is still waiting: `status` paying
    with `code` USERPAYING / WAIT_BUYER_PAY means the customer is confirming with their password.
    404 until the payment exists."""
    return service.payment_by_key(db, actor, idempotency_key)


@router.get("/payments/{payment_id}", response_model=PaymentOut)
def get_payment(payment_id: uuid.UUID, actor: Actor = Depends(requires("sale.view")),
                db: Session = Depends(get_db)) -> PaymentOut:
    """A payment's status (for polling while a wallet payment is being confirmed)."""
    return service.payment(db, actor, payment_id)


async def _raw_body(request: Request) -> bytes:
    return (await request.body())[:64_000]


def _notify(provider: Literal["wechat", "alipay"]):
    def endpoint(body: bytes = Depends(_raw_body), db: Session = Depends(get_db)) -> Response:
        ok, content, media_type = service.handle_notification(db, provider, body)
        return Response(content, status_code=200 if ok else 400, media_type=media_type)

    return endpoint


router.add_api_route("/payments/notify/wechat", _notify("wechat"), methods=["POST"], include_in_schema=True,
                     dependencies=[Depends(public())], summary="WeChat Pay notification (signed XML)")
router.add_api_route("/payments/notify/alipay", _notify("alipay"), methods=["POST"], include_in_schema=True,
                     dependencies=[Depends(public())], summary="Alipay notification (signed form)")
