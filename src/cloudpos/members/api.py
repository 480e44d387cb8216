"""Members JSON API (/api/v1): members, points, stored value, coupons, tiers, segments, campaigns, analytics."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cloudpos.context import Actor
from cloudpos.members import (
    analytics,
    campaigns,
    channels,
    coupons,
    points,
    program,
    registration,
    segments,
    service,
    stored_value,
    tiers,
)
from cloudpos.members.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignSendOut,
    CatalogItemIn,
    CatalogItemOut,
    CatalogRedeemIn,
    CountOut,
    CouponIssueIn,
    CouponOut,
    LedgerEntryOut,
    MemberDetail,
    MemberIn,
    MemberOut,
    MemberPatch,
    PointsAdjustIn,
    PointsQuoteOut,
    ProgramPatch,
    ProgramSettings,
    RedeemOut,
    RunOut,
    SegmentFilters,
    SegmentIn,
    SegmentOut,
    SmsOut,
    StoredValueAdjustIn,
    StoredValueEntryOut,
    StoredValuePayIn,
    StoredValuePayOut,
    TierIn,
    TierOut,
    TierPatch,
    TopUpIn,
    TopUpOut,
    TopUpRuleIn,
    TopUpRuleOut,
)
from cloudpos.schemas import Page, PageNo, PageSize, StrictModel, Text
from cloudpos.web.deps import get_db, requires
from cloudpos.web.routing import APIRouter

router = APIRouter()
T_MEMBERS, T_LOYALTY, T_MARKETING = ["members"], ["members: loyalty"], ["members: marketing"]


# --- members -------------------------------------------------------------------------------------

@router.get("/members", response_model=Page[MemberOut], tags=T_MEMBERS)
def list_members(request: Request, phone: str = Query("", max_length=32), card_no: str = Query("", max_length=16),
                 q: str = Query("", max_length=60), qr: str = Query("", max_length=300),
                 tier_id: uuid.UUID | None = None, active_days: int | None = Query(None, ge=1, le=3650),
                 dormant_days: int | None = Query(None, ge=1, le=3650), page: PageNo = 1, page_size: PageSize = 50,
                 actor: Actor = Depends(requires("member.view")), db: Session = Depends(get_db)) -> Page[MemberOut]:
    """Search by phone, card number, name prefix (`q`), or a member's QR token (`qr`, valid ~60 s).
    Phones are masked (138****1234) unless the caller holds member.pii.view; such views are audited."""
    if qr:
        member_id = registration.resolve_qr(request.app.state.secret, actor, qr)
        d = registration.view(db, actor, member_id)
        return Page(items=[MemberOut(**d.model_dump(include=set(MemberOut.model_fields)))], total=1, page=1,
                    page_size=page_size)
    items, total = registration.list_members(db, actor, phone=phone, card_no=card_no, q=q, tier_id=tier_id,
                                             active_days=active_days, dormant_days=dormant_days, page=page,
                                             page_size=page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.post("/members", status_code=201, response_model=MemberDetail, tags=T_MEMBERS)
def create_member(data: MemberIn, actor: Actor = Depends(requires("member.edit")),
                  db: Session = Depends(get_db)) -> MemberDetail:
    return registration.register(db, actor, data)


@router.get("/members/{member_id}", response_model=MemberDetail, tags=T_MEMBERS)
def get_member(member_id: uuid.UUID, actor: Actor = Depends(requires("member.view")),
               db: Session = Depends(get_db)) -> MemberDetail:
    return registration.view(db, actor, member_id)


@router.patch("/members/{member_id}", response_model=MemberDetail, tags=T_MEMBERS)
def patch_member(member_id: uuid.UUID, data: MemberPatch, actor: Actor = Depends(requires("member.edit")),
                 db: Session = Depends(get_db)) -> MemberDetail:
    return registration.update(db, actor, member_id, data)


@router.get("/members/{member_id}/export", tags=T_MEMBERS,
            responses={200: {"content": {"application/json": {}, "application/vnd.openxmlformats-officedocument"
                                         ".spreadsheetml.sheet": {}}}})
def export_member(member_id: uuid.UUID, format: Literal["json", "xlsx"] = "json",
                  actor: Actor = Depends(requires("member.pii.view")), db: Session = Depends(get_db)) -> Response:
    """All personal data of the member (PIPL request), JSON or xlsx. Audited."""
    body, media = registration.export(db, actor, member_id, format)
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="member-{member_id}.{format}"'})


@router.post("/members/{member_id}/erase", response_model=MemberDetail, tags=T_MEMBERS)
def erase_member(member_id: uuid.UUID, actor: Actor = Depends(requires("member.pii.view")),
                 db: Session = Depends(get_db)) -> MemberDetail:
    """Anonymize (name → 已注销会员, contact data cleared); ledgers and sales history stay. Audited."""
    return registration.erase(db, actor, member_id)


@router.get("/members/{member_id}/stats", tags=T_MEMBERS)
def member_stats(member_id: uuid.UUID, actor: Actor = Depends(requires("member.view")),
                 db: Session = Depends(get_db)) -> dict:
    return analytics.member_stats(db, actor, member_id)


# --- points ----------------------------------------------------------------------------------------

@router.get("/members/{member_id}/points", response_model=Page[LedgerEntryOut], tags=T_LOYALTY)
def points_ledger(member_id: uuid.UUID, page: PageNo = 1, page_size: PageSize = 50,
                  actor: Actor = Depends(requires("member.view")),
                  db: Session = Depends(get_db)) -> Page[LedgerEntryOut]:
    items, total = points.ledger(db, actor, member_id, page, page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.post("/members/{member_id}/points", status_code=201, response_model=LedgerEntryOut, tags=T_LOYALTY)
def adjust_points(member_id: uuid.UUID, data: PointsAdjustIn, actor: Actor = Depends(requires("member.points.adjust")),
                  db: Session = Depends(get_db)) -> LedgerEntryOut:
    """A manual adjustment (positive or negative) with a reason; audited."""
    return points.adjust(db, actor, member_id, data.delta, data.reason)


@router.get("/members/{member_id}/points/quote", response_model=PointsQuoteOut, tags=T_LOYALTY)
def points_quote(member_id: uuid.UUID, order_fen: int = Query(ge=0, le=100_000_000),
                 actor: Actor = Depends(requires("sale.create")), db: Session = Depends(get_db)) -> PointsQuoteOut:
    return points.points_quote(db, actor, member_id, order_fen)


class RedeemIn(StrictModel):
    points: int = Field(gt=0, le=100_000_000)
    sale_id: uuid.UUID
    order_fen: int | None = Field(default=None, ge=0, le=100_000_000)


@router.post("/members/{member_id}/points/redemptions", response_model=RedeemOut, tags=T_LOYALTY)
def redeem(member_id: uuid.UUID, data: RedeemIn, actor: Actor = Depends(requires("sale.create")),
           db: Session = Depends(get_db)) -> RedeemOut:
    return service.redeem_points_now(db, actor, member_id, data.points, data.sale_id, data.order_fen)


@router.post("/members/{member_id}/points/catalog-redemptions", status_code=201, response_model=LedgerEntryOut,
             tags=T_LOYALTY)
def redeem_catalog(member_id: uuid.UUID, data: CatalogRedeemIn, actor: Actor = Depends(requires("member.edit")),
                   db: Session = Depends(get_db)) -> LedgerEntryOut:
    return points.redeem_catalog_item(db, actor, member_id, data.item_id, data.quantity)


# --- stored value ---------------------------------------------------------------------------------

@router.get("/members/{member_id}/stored-value", response_model=Page[StoredValueEntryOut], tags=T_LOYALTY)
def stored_value_ledger(member_id: uuid.UUID, page: PageNo = 1, page_size: PageSize = 50,
                        actor: Actor = Depends(requires("member.view")),
                        db: Session = Depends(get_db)) -> Page[StoredValueEntryOut]:
    items, total = stored_value.ledger(db, actor, member_id, page, page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.post("/members/{member_id}/stored-value/top-ups", status_code=201, response_model=TopUpOut, tags=T_LOYALTY)
def top_up(member_id: uuid.UUID, data: TopUpIn, actor: Actor = Depends(requires("member.edit")),
           db: Session = Depends(get_db)) -> TopUpOut:
    """充值: the amount paid by `payment_method` plus the bonus of the best bonus rule reached."""
    return stored_value.top_up(db, actor, member_id, data.amount_fen, data.payment_method, data.reference,
                               data.store_id)


@router.post("/members/{member_id}/stored-value/payments", response_model=StoredValuePayOut, tags=T_LOYALTY)
def pay(member_id: uuid.UUID, data: StoredValuePayIn, actor: Actor = Depends(requires("sale.create")),
        db: Session = Depends(get_db)) -> StoredValuePayOut:
    """Pay from the balance (the member PIN above the merchant's threshold); 409 when the balance is short."""
    return service.pay_with_stored_value_checked(db, actor, member_id, data.amount_fen, data.sale_id, data.pin)


@router.post("/members/{member_id}/stored-value/adjustments", status_code=201, response_model=StoredValueEntryOut,
             tags=T_LOYALTY)
def adjust_stored_value(member_id: uuid.UUID, data: StoredValueAdjustIn,
                        actor: Actor = Depends(requires("member.points.adjust")),
                        db: Session = Depends(get_db)) -> StoredValueEntryOut:
    return stored_value.adjust(db, actor, member_id, data.principal_delta, data.bonus_delta, data.reason)


# --- coupons -----------------------------------------------------------------------------------------

@router.get("/members/{member_id}/coupons", response_model=list[CouponOut], tags=T_MARKETING)
def member_coupons(member_id: uuid.UUID, actor: Actor = Depends(requires("member.view")),
                   db: Session = Depends(get_db)) -> list[CouponOut]:
    return coupons.list_coupons(db, actor, member_id)


@router.post("/members/{member_id}/coupons", status_code=201, response_model=CouponOut, tags=T_MARKETING)
def issue_coupon(member_id: uuid.UUID, data: CouponIssueIn, actor: Actor = Depends(requires("promotion.edit")),
                 db: Session = Depends(get_db)) -> CouponOut:
    """Issue one coupon of a pricing coupon template (`/api/v1/coupon-templates`) to the member; the code
    works at the till for this member only. Validity: `valid_days`, else the template's."""
    return coupons.issue(db, actor, member_id, data.template_id, data.reason, data.valid_days)


class CouponVoidIn(StrictModel):
    reason: Text(200) = ""


@router.post("/members/{member_id}/coupons/{coupon_id}/void", response_model=CouponOut, tags=T_MARKETING)
def void_coupon(member_id: uuid.UUID, coupon_id: uuid.UUID, data: CouponVoidIn | None = None,
                actor: Actor = Depends(requires("promotion.edit")), db: Session = Depends(get_db)) -> CouponOut:
    return coupons.void_coupon(db, actor, member_id, coupon_id, data.reason if data else "")


# --- tiers and programme settings ------------------------------------------------------------------

@router.get("/member-tiers", response_model=list[TierOut], tags=T_LOYALTY)
def list_tiers(actor: Actor = Depends(requires("member.view")), db: Session = Depends(get_db)) -> list[TierOut]:
    return tiers.list_tiers(db, actor)


@router.post("/member-tiers", status_code=201, response_model=TierOut, tags=T_LOYALTY)
def create_tier(data: TierIn, actor: Actor = Depends(requires("settings.manage")),
                db: Session = Depends(get_db)) -> TierOut:
    return tiers.create_tier(db, actor, data)


@router.patch("/member-tiers/{tier_id}", response_model=TierOut, tags=T_LOYALTY)
def patch_tier(tier_id: uuid.UUID, data: TierPatch, actor: Actor = Depends(requires("settings.manage")),
               db: Session = Depends(get_db)) -> TierOut:
    return tiers.update_tier(db, actor, tier_id, data)


@router.delete("/member-tiers/{tier_id}", status_code=204, tags=T_LOYALTY)
def delete_tier(tier_id: uuid.UUID, actor: Actor = Depends(requires("settings.manage")),
                db: Session = Depends(get_db)) -> Response:
    tiers.delete_tier(db, actor, tier_id)
    return Response(status_code=204)


class ProgramOut(ProgramSettings):
    pass


def _program_out(s: ProgramSettings) -> ProgramOut:
    data = s.model_dump()
    data["smtp_password"] = "********" if s.smtp_password else ""
    return ProgramOut(**data)


@router.get("/member-program", response_model=ProgramOut, tags=T_LOYALTY)
def get_program(actor: Actor = Depends(requires("settings.manage")), db: Session = Depends(get_db)) -> ProgramOut:
    """Points earn/redeem rules, stored-value PIN threshold, coupons on registration/visits, messaging."""
    return _program_out(program.settings(db, actor.tenant_id))


@router.patch("/member-program", response_model=ProgramOut, tags=T_LOYALTY)
def patch_program(data: ProgramPatch, actor: Actor = Depends(requires("settings.manage")),
                  db: Session = Depends(get_db)) -> ProgramOut:
    return _program_out(program.update_settings(db, actor, data))


@router.get("/member-topup-rules", response_model=list[TopUpRuleOut], tags=T_LOYALTY)
def list_topup_rules(actor: Actor = Depends(requires("member.view")),
                     db: Session = Depends(get_db)) -> list[TopUpRuleOut]:
    return stored_value.list_rules(db, actor)


@router.post("/member-topup-rules", status_code=201, response_model=TopUpRuleOut, tags=T_LOYALTY)
def create_topup_rule(data: TopUpRuleIn, actor: Actor = Depends(requires("settings.manage")),
                      db: Session = Depends(get_db)) -> TopUpRuleOut:
    return stored_value.save_rule(db, actor, data)


@router.put("/member-topup-rules/{rule_id}", response_model=TopUpRuleOut, tags=T_LOYALTY)
def update_topup_rule(rule_id: uuid.UUID, data: TopUpRuleIn, actor: Actor = Depends(requires("settings.manage")),
                      db: Session = Depends(get_db)) -> TopUpRuleOut:
    return stored_value.save_rule(db, actor, data, rule_id)


@router.delete("/member-topup-rules/{rule_id}", status_code=204, tags=T_LOYALTY)
def delete_topup_rule(rule_id: uuid.UUID, actor: Actor = Depends(requires("settings.manage")),
                      db: Session = Depends(get_db)) -> Response:
    stored_value.delete_rule(db, actor, rule_id)
    return Response(status_code=204)


@router.get("/member-points-catalog", response_model=list[CatalogItemOut], tags=T_LOYALTY)
def list_catalog(actor: Actor = Depends(requires("member.view")),
                 db: Session = Depends(get_db)) -> list[CatalogItemOut]:
    return points.list_catalog(db, actor)


@router.post("/member-points-catalog", status_code=201, response_model=CatalogItemOut, tags=T_LOYALTY)
def create_catalog_item(data: CatalogItemIn, actor: Actor = Depends(requires("settings.manage")),
                        db: Session = Depends(get_db)) -> CatalogItemOut:
    return points.save_catalog_item(db, actor, data)


@router.put("/member-points-catalog/{item_id}", response_model=CatalogItemOut, tags=T_LOYALTY)
def update_catalog_item(item_id: uuid.UUID, data: CatalogItemIn, actor: Actor = Depends(requires("settings.manage")),
                        db: Session = Depends(get_db)) -> CatalogItemOut:
    return points.save_catalog_item(db, actor, data, item_id)


# --- segments and campaigns ------------------------------------------------------------------------

@router.get("/segments", response_model=list[SegmentOut], tags=T_MARKETING)
def list_segments(actor: Actor = Depends(requires("member.view")), db: Session = Depends(get_db)) -> list[SegmentOut]:
    return segments.list_segments(db, actor)


@router.post("/segments", status_code=201, response_model=SegmentOut, tags=T_MARKETING)
def create_segment(data: SegmentIn, actor: Actor = Depends(requires("member.campaign")),
                   db: Session = Depends(get_db)) -> SegmentOut:
    return segments.save(db, actor, data)


@router.post("/segments/count", response_model=CountOut, tags=T_MARKETING)
def count_segment(filters: SegmentFilters, actor: Actor = Depends(requires("member.view")),
                  db: Session = Depends(get_db)) -> CountOut:
    """The live count of members matching the filters (for the segment builder)."""
    return CountOut(count=segments.count(db, actor, filters))


@router.get("/segments/{segment_id}", response_model=SegmentOut, tags=T_MARKETING)
def get_segment(segment_id: uuid.UUID, actor: Actor = Depends(requires("member.view")),
                db: Session = Depends(get_db)) -> SegmentOut:
    return segments.segment_out(db, segments.get(db, actor, segment_id))


@router.put("/segments/{segment_id}", response_model=SegmentOut, tags=T_MARKETING)
def update_segment(segment_id: uuid.UUID, data: SegmentIn, actor: Actor = Depends(requires("member.campaign")),
                   db: Session = Depends(get_db)) -> SegmentOut:
    return segments.save(db, actor, data, segment_id)


@router.delete("/segments/{segment_id}", status_code=204, tags=T_MARKETING)
def delete_segment(segment_id: uuid.UUID, actor: Actor = Depends(requires("member.campaign")),
                   db: Session = Depends(get_db)) -> Response:
    segments.delete(db, actor, segment_id)
    return Response(status_code=204)


@router.get("/campaigns", response_model=list[CampaignOut], tags=T_MARKETING)
def list_campaigns(actor: Actor = Depends(requires("member.view")),
                   db: Session = Depends(get_db)) -> list[CampaignOut]:
    return campaigns.list_campaigns(db, actor)


@router.post("/campaigns", status_code=201, response_model=CampaignOut, tags=T_MARKETING)
def create_campaign(data: CampaignIn, actor: Actor = Depends(requires("member.campaign")),
                    db: Session = Depends(get_db)) -> CampaignOut:
    return campaigns.save(db, actor, data)


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut, tags=T_MARKETING)
def get_campaign(campaign_id: uuid.UUID, actor: Actor = Depends(requires("member.view")),
                 db: Session = Depends(get_db)) -> CampaignOut:
    return campaigns.campaign_out(db, campaigns.get(db, actor, campaign_id))


@router.put("/campaigns/{campaign_id}", response_model=CampaignOut, tags=T_MARKETING)
def update_campaign(campaign_id: uuid.UUID, data: CampaignIn, actor: Actor = Depends(requires("member.campaign")),
                    db: Session = Depends(get_db)) -> CampaignOut:
    return campaigns.save(db, actor, data, campaign_id)


@router.delete("/campaigns/{campaign_id}", status_code=204, tags=T_MARKETING)
def delete_campaign(campaign_id: uuid.UUID, actor: Actor = Depends(requires("member.campaign")),
                    db: Session = Depends(get_db)) -> Response:
    campaigns.delete(db, actor, campaign_id)
    return Response(status_code=204)


@router.post("/campaigns/{campaign_id}/run", response_model=RunOut, tags=T_MARKETING)
def run_campaign(campaign_id: uuid.UUID, actor: Actor = Depends(requires("member.campaign")),
                 db: Session = Depends(get_db)) -> RunOut:
    """Run now. Members already reached are skipped; failed sends are retried."""
    return campaigns.run(db, actor, campaign_id)


@router.get("/campaigns/{campaign_id}/sends", response_model=list[CampaignSendOut], tags=T_MARKETING)
def campaign_sends(campaign_id: uuid.UUID, status: str = Query("", max_length=12),
                   actor: Actor = Depends(requires("member.view")),
                   db: Session = Depends(get_db)) -> list[CampaignSendOut]:
    campaigns.get(db, actor, campaign_id)
    return campaigns.sends(db, actor, campaign_id, status)


@router.get("/member-sms-outbox", response_model=Page[SmsOut], tags=T_MARKETING)
def sms_outbox(page: PageNo = 1, page_size: PageSize = 50, actor: Actor = Depends(requires("member.campaign")),
               db: Session = Depends(get_db)) -> Page[SmsOut]:
    items, total = channels.outbox(db, actor, page, page_size)
    return Page(items=items, total=total, page=page, page_size=page_size)


# --- analytics ---------------------------------------------------------------------------------------

class Liability(BaseModel):
    principal_fen: int
    bonus_fen: int
    total_fen: int


@router.get("/member-analytics", tags=T_MEMBERS)
def member_analytics(days: int = Query(30, ge=1, le=366), actor: Actor = Depends(requires("report.view")),
                     db: Session = Depends(get_db)) -> dict:
    """New members per day/month, active vs dormant, RFM classes, spend by tier, repeat rate, top members."""
    return analytics.overview(db, actor, days)


@router.get("/member-analytics/export", tags=T_MEMBERS)
def member_analytics_export(days: int = Query(30, ge=1, le=366), actor: Actor = Depends(requires("report.view")),
                            db: Session = Depends(get_db)) -> Response:
    return Response(analytics.export_xlsx(db, actor, days),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="member-analytics.xlsx"'})


@router.get("/member-analytics/stored-value-liability", response_model=Liability, tags=T_MEMBERS)
def liability(actor: Actor = Depends(requires("report.view")), db: Session = Depends(get_db)) -> Liability:
    return Liability(**stored_value.liability(db, actor))
