"""Promotions, member prices, coupon templates, coupons and the price quote."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cloudpos.context import Actor
from cloudpos.db import reads_only
from cloudpos.pricing import service
from cloudpos.pricing.schemas import (
    CouponIssueIn,
    CouponOut,
    CouponTemplateIn,
    CouponTemplateOut,
    CouponTemplatePatch,
    MemberPriceIn,
    MemberPriceOut,
    PromotionIn,
    PromotionOut,
    QuoteIn,
    QuoteOut,
)
from cloudpos.schemas import Page, PageNo, PageSize, StrictModel, Text
from cloudpos.web.deps import get_db, requires
from cloudpos.web.routing import APIRouter

router = APIRouter(tags=["pricing"])


@router.get("/promotions", response_model=Page[PromotionOut])
def list_promotions(state: Literal["running", "scheduled", "expired", "inactive"] | None = None,
                    kind: str | None = Query(None, max_length=20), q: str = Query("", max_length=60),
                    page: PageNo = 1, page_size: PageSize = 50, actor: Actor = Depends(requires("promotion.view")),
                    db: Session = Depends(get_db)) -> Page[PromotionOut]:
    items, total = service.list_promotions(db, actor, state_filter=state, kind=kind, q=q, page=page,
                                           page_size=page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.post("/promotions", status_code=201, response_model=PromotionOut)
def create_promotion(data: PromotionIn, actor: Actor = Depends(requires("promotion.edit")),
                     db: Session = Depends(get_db)) -> PromotionOut:
    return service.create_promotion(db, actor, data)


@router.get("/promotions/{promotion_id}", response_model=PromotionOut)
def get_promotion(promotion_id: uuid.UUID, actor: Actor = Depends(requires("promotion.view")),
                  db: Session = Depends(get_db)) -> PromotionOut:
    return service.promotion_out(db, service.get_promotion(db, actor, promotion_id))


@router.put("/promotions/{promotion_id}", response_model=PromotionOut)
def replace_promotion(promotion_id: uuid.UUID, data: PromotionIn, actor: Actor = Depends(requires("promotion.edit")),
                      db: Session = Depends(get_db)) -> PromotionOut:
    return service.update_promotion(db, actor, promotion_id, data)


@router.post("/promotions/{promotion_id}/activate", response_model=PromotionOut)
def activate(promotion_id: uuid.UUID, actor: Actor = Depends(requires("promotion.edit")),
             db: Session = Depends(get_db)) -> PromotionOut:
    return service.set_promotion_status(db, actor, promotion_id, True)


@router.post("/promotions/{promotion_id}/deactivate", response_model=PromotionOut)
def deactivate(promotion_id: uuid.UUID, actor: Actor = Depends(requires("promotion.edit")),
               db: Session = Depends(get_db)) -> PromotionOut:
    return service.set_promotion_status(db, actor, promotion_id, False)


@router.post("/promotions/{promotion_id}/end", response_model=PromotionOut)
def end_early(promotion_id: uuid.UUID, actor: Actor = Depends(requires("promotion.edit")),
              db: Session = Depends(get_db)) -> PromotionOut:
    return service.end_promotion(db, actor, promotion_id)


@router.get("/member-prices", response_model=Page[MemberPriceOut])
def member_prices(page: PageNo = 1, page_size: PageSize = 100, actor: Actor = Depends(requires("promotion.view")),
                  db: Session = Depends(get_db)) -> Page[MemberPriceOut]:
    items, total = service.list_member_prices(db, actor, page, page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


class MemberPricesIn(StrictModel):
    items: list[MemberPriceIn] = Field(min_length=1, max_length=1000)


class ChangedOut(BaseModel):
    changed: int


@router.put("/member-prices", response_model=ChangedOut)
def set_member_prices(data: MemberPricesIn, actor: Actor = Depends(requires("promotion.edit")),
                      db: Session = Depends(get_db)) -> ChangedOut:
    return ChangedOut(changed=service.set_member_prices(db, actor, data.items))


@router.get("/coupon-templates", response_model=list[CouponTemplateOut])
def coupon_templates(actor: Actor = Depends(requires("promotion.view")),
                     db: Session = Depends(get_db)) -> list[CouponTemplateOut]:
    return service.list_coupon_templates(db, actor)


@router.post("/coupon-templates", status_code=201, response_model=CouponTemplateOut)
def create_coupon_template(data: CouponTemplateIn, actor: Actor = Depends(requires("promotion.edit")),
                           db: Session = Depends(get_db)) -> CouponTemplateOut:
    return service.create_coupon_template(db, actor, data)


@router.get("/coupon-templates/{template_id}", response_model=CouponTemplateOut)
def get_coupon_template(template_id: uuid.UUID, actor: Actor = Depends(requires("promotion.view")),
                        db: Session = Depends(get_db)) -> CouponTemplateOut:
    return service.coupon_template_out(db, service.get_coupon_template(db, actor, template_id))


@router.patch("/coupon-templates/{template_id}", response_model=CouponTemplateOut)
def patch_coupon_template(template_id: uuid.UUID, data: CouponTemplatePatch,
                          actor: Actor = Depends(requires("promotion.edit")),
                          db: Session = Depends(get_db)) -> CouponTemplateOut:
    return service.update_coupon_template(db, actor, template_id, data)


@router.get("/coupons", response_model=Page[CouponOut])
def list_coupons(member_id: uuid.UUID | None = None, template_id: uuid.UUID | None = None,
                 status: Literal["active", "used", "void", "expired"] | None = None,
                 code: str | None = Query(None, max_length=40), page: PageNo = 1, page_size: PageSize = 50,
                 actor: Actor = Depends(requires("promotion.view")), db: Session = Depends(get_db)) -> Page[CouponOut]:
    items, total = service.list_coupons(db, actor, member_id=member_id, template_id=template_id, status=status,
                                        code=code, page=page, page_size=page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.post("/coupons", status_code=201, response_model=list[CouponOut])
def issue_coupons(data: CouponIssueIn, actor: Actor = Depends(requires("promotion.edit")),
                  db: Session = Depends(get_db)) -> list[CouponOut]:
    """Issue to a member (one coupon), or `count` anonymous codes."""
    return service.issue_coupons(db, actor, data)


class VoidIn(StrictModel):
    reason: Text(200) = ""


@router.post("/coupons/{coupon_id}/void", response_model=CouponOut)
def void_coupon(coupon_id: uuid.UUID, data: VoidIn | None = None, actor: Actor = Depends(requires("promotion.edit")),
                db: Session = Depends(get_db)) -> CouponOut:
    return service.void_coupon(db, actor, coupon_id, data.reason if data else "")


@router.post("/pricing/quote", response_model=QuoteOut)
def quote(data: QuoteIn, actor: Actor = Depends(requires("sale.create")), db: Session = Depends(get_db)) -> QuoteOut:
    """Price a cart with its explanation. Writes nothing."""
    reads_only()  # a quote writes nothing: on SQLite it reads on while an import or a sale holds the lock
    return service.quote(db, actor, data)
