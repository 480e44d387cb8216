"""Demo payment methods: the fees and settlement cycles a Shanghai convenience store is charged, so the
settlement report shows fees, net amounts and expected settlement dates."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cloudpos.context import Actor
from cloudpos.payments import service
from cloudpos.payments.schemas import MethodPatch

# (method, fee in basis points, settlement cycle in days)
FEES = [("card", 60, 1), ("wechat", 38, 1), ("alipay", 38, 1)]


def seed(db: Session, actor: Actor) -> None:
    for code, fee_bp, days in FEES:
        service.update_method(db, actor, code, MethodPatch(fee_rate_bp=fee_bp, settlement_cycle_days=days))
