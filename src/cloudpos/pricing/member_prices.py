"""会员价: per-product prices for members (the engine applies them when the customer is a member)."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cloudpos.audit import service as audit
from cloudpos.catalog import service as catalog
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import FieldError, Invalid
from cloudpos.i18n import N_
from cloudpos.pricing.models import MemberPrice
from cloudpos.pricing.schemas import MemberPriceIn, MemberPriceOut


def list_member_prices(db: Session, actor: Actor, page: int = 1,
                       page_size: int = 100) -> tuple[list[MemberPriceOut], int]:
    actor.require("promotion.view")
    total = db.scalar(select(func.count()).where(MemberPrice.tenant_id == actor.tenant_id)) or 0
    rows = db.scalars(select(MemberPrice).where(MemberPrice.tenant_id == actor.tenant_id)
                      .order_by(MemberPrice.updated_at.desc()).offset((page - 1) * page_size).limit(page_size)).all()
    facts = catalog.sale_facts(db, actor.tenant_id, None, [r.product_id for r in rows])
    return [MemberPriceOut(product_id=r.product_id, sku=facts[r.product_id].sku, name=facts[r.product_id].name,
                           price=facts[r.product_id].price, member_price=r.price)
            for r in rows if r.product_id in facts], total


@use_case
def set_member_prices(db: Session, actor: Actor, items: list[MemberPriceIn]) -> int:
    actor.require("promotion.edit")
    facts = catalog.sale_facts(db, actor.tenant_id, None, [i.product_id for i in items])
    errors = [FieldError(f"items.{k}.product_id", N_("Unknown product."), {}, "unknown_product")
              for k, i in enumerate(items) if i.product_id not in facts]
    errors += [FieldError(f"items.{k}.price", N_("A member price cannot be above the sale price."), {}, "range")
               for k, i in enumerate(items) if i.product_id in facts and i.price is not None
               and i.price > facts[i.product_id].price]
    if errors:
        raise Invalid(errors=errors)
    changes = []
    for i in items:
        row = db.get(MemberPrice, (actor.tenant_id, i.product_id))
        before = row.price if row else None
        if i.price is None:
            db.execute(delete(MemberPrice).where(MemberPrice.tenant_id == actor.tenant_id,
                                                 MemberPrice.product_id == i.product_id))
        elif row is None:
            db.add(MemberPrice(tenant_id=actor.tenant_id, product_id=i.product_id, price=i.price))
        else:
            row.price = i.price
        if before != i.price:
            changes.append({"product_id": str(i.product_id), "sku": facts[i.product_id].sku, "before": before,
                            "after": i.price})
    if changes:
        audit.record(db, actor, "member_price.update", target_type="member_price",
                     target_label=f"{len(changes)}", details={"changes": changes[:200]})
    return len(changes)


def member_price_of(db: Session, tenant_id: uuid.UUID, product_id: uuid.UUID) -> int | None:
    row = db.get(MemberPrice, (tenant_id, product_id))
    return row.price if row else None
