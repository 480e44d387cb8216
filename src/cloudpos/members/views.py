"""Members pages: the back office (list, register, detail, tiers, points rules and catalog, top-up bonuses,
segments, campaigns, SMS outbox, analytics, QR posters) and the phone-first member pages (/m/join, /m/card).

Lists and the register form are rendered on the server; actions on a page (top-up, adjust, segment count,
campaign run…) call the same /api/v1 routes with the session cookie and show problem+json inline."""

from __future__ import annotations

import io
import uuid
from typing import Any

import segno
from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cloudpos.audit.views import register_actions
from cloudpos.context import Actor
from cloudpos.errors import Problem
from cloudpos.i18n import N_
from cloudpos.members import (
    analytics,
    campaigns,
    channels,
    coupons,
    domain,
    points,
    program,
    registration,
    segments,
    stored_value,
    tiers,
)
from cloudpos.members.schemas import JoinIn, MemberIn
from cloudpos.tenancy import service as tenancy
from cloudpos.web.deps import client_ip, get_db, public, requires
from cloudpos.web.forms import build, checked, form_data, problem_errors, redirect, text
from cloudpos.web.nav import NavItem, register
from cloudpos.web.routing import APIRouter
from cloudpos.web.templating import render

router = APIRouter()
register_actions({
    "member.create": N_("Member registered"),
    "member.update": N_("Member details changed"),
    "member.erase": N_("Member's personal data erased"),
    "member.export": N_("Members exported"),
    "member.pii.view": N_("Member's personal data viewed"),
    "member.login.failed": N_("Member login failed (wrong PIN)"),
    "member.pin.failed": N_("Wrong member payment PIN"),
    "member.purchase": N_("Member purchase (points earned)"),
    "member.refund": N_("Member refund (points returned)"),
    "member.points.adjust": N_("Points adjusted"),
    "member.points.redeem": N_("Points redeemed"),
    "member.points.catalog": N_("Points exchanged for a gift"),
    "member.points.expire": N_("Points expired"),
    "member.catalog.save": N_("Points gift catalog changed"),
    "member.stored_value.top_up": N_("Stored value topped up"),
    "member.stored_value.pay": N_("Paid with stored value"),
    "member.stored_value.refund": N_("Stored value refunded"),
    "member.stored_value.adjust": N_("Stored value adjusted"),
    "member.topup_rule.save": N_("Top-up bonus rule saved"),
    "member.topup_rule.delete": N_("Top-up bonus rule deleted"),
    "member.tier.create": N_("Member tier created"),
    "member.tier.update": N_("Member tier edited"),
    "member.tier.delete": N_("Member tier deleted"),
    "member.tier.change": N_("Member moved to another tier"),
    "member.settings.update": N_("Member programme settings changed"),
    "member.segment.save": N_("Member segment saved"),
    "member.segment.delete": N_("Member segment deleted"),
    "member.campaign.save": N_("Campaign saved"),
    "member.campaign.delete": N_("Campaign deleted"),
    "member.campaign.run": N_("Campaign sent"),
    "member.birthday.run": N_("Birthday benefits given"),
    "member.stats.rebuild": N_("Member statistics rebuilt"),
}, groups=(("member.", N_("Members")),))
PAGE_SIZE = 30

for _item in (
    NavItem("members", N_("Members"), "/members", "member.view", "person-vcard"),
    NavItem("members", N_("Member tiers"), "/member-tiers", "member.view", "award"),
    NavItem("members", N_("Points rules & catalog"), "/member-points", "settings.manage", "coin"),
    NavItem("members", N_("Top-up bonuses"), "/member-topup", "settings.manage", "wallet2"),
    NavItem("members", N_("Registration QR posters"), "/member-posters", "member.view", "qr-code"),
    NavItem("marketing", N_("Member segments"), "/member-segments", "member.campaign", "funnel"),
    NavItem("marketing", N_("Campaigns"), "/member-campaigns", "member.campaign", "megaphone"),
    NavItem("marketing", N_("SMS outbox"), "/member-sms", "member.campaign", "chat-dots"),
    NavItem("reports", N_("Member analytics"), "/member-analytics", "report.view", "graph-up"),
):
    register(_item)

KINDS = {"earn": N_("Earned"), "redeem": N_("Redeemed at checkout"), "expire": N_("Expired"),
         "refund_reversal": N_("Taken back (refund)"), "refund_return": N_("Returned (refund)"),
         "adjust": N_("Adjustment"), "catalog": N_("Points catalog"), "top_up": N_("Top-up"),
         "payment": N_("Payment"), "refund": N_("Refund")}
COUPON_STATUS = {"issued": N_("Issued"), "used": N_("Used"), "void": N_("Void"), "expired": N_("Expired")}
GENDERS = [("", N_("Not given")), ("female", N_("Female")), ("male", N_("Male")), ("other", N_("Other"))]


def _locale(request: Request) -> str:
    return getattr(request.state, "locale", "zh_CN")


def _coupon_templates(db: Session, actor: Actor) -> list[Any]:
    """Pricing's switched-on coupon templates, for the issue-a-coupon and campaign forms."""
    if not actor.can("promotion.view"):
        return []
    from cloudpos.pricing import coupons as pricing_coupons

    return [t for t in pricing_coupons.list_templates(db, actor) if t.active]


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


# --- members -----------------------------------------------------------------------------------------

@router.get("/members", response_class=HTMLResponse)
def member_list(request: Request, q: str = Query("", max_length=60), tier: str = Query("", max_length=40),
                activity: str = Query("", max_length=10), page: int = Query(1, ge=1, le=100_000),
                actor: Actor = Depends(requires("member.view")), db: Session = Depends(get_db)):
    s = program.settings(db, actor.tenant_id)
    kwargs: dict[str, Any] = {"tier_id": _uuid(tier)}
    if activity == "active":
        kwargs["active_days"] = s.active_days
    elif activity == "dormant":
        kwargs["dormant_days"] = s.active_days
    error = ""
    try:
        items, total = registration.list_members(db, actor, q=q, page=page, page_size=PAGE_SIZE, reveal=False,
                                                 **kwargs)
    except Problem as exc:
        items, total, error = [], 0, problem_errors(exc, _locale(request))[1]
    return render(request, "members/list.html", db=db, items=items, total=total, page=page, page_size=PAGE_SIZE,
                  q=q, tier=tier, activity=activity, tiers=tiers.list_tiers(db, actor), form_error=error)


MEMBER_FIELDS = {"phone", "name", "email", "birthday", "gender", "pin", "marketing_consent", "store_id"}


def _member_form(request: Request, db: Session, actor: Actor, values: dict[str, Any], status: int = 200,
                 problem: Problem | None = None) -> HTMLResponse:
    errors, general = problem_errors(problem, _locale(request), MEMBER_FIELDS) if problem else ({}, "")
    return render(request, "members/form.html", status_code=status, db=db, v=values, errors=errors,
                  form_error=general, genders=GENDERS, stores=tenancy.list_stores(db, actor))


@router.get("/members/new", response_class=HTMLResponse)
def member_new(request: Request, actor: Actor = Depends(requires("member.edit")), db: Session = Depends(get_db)):
    return _member_form(request, db, actor, {"marketing_consent": False})


@router.post("/members/new", response_class=HTMLResponse)
def member_create(request: Request, form: FormData = Depends(form_data),
                  actor: Actor = Depends(requires("member.edit")), db: Session = Depends(get_db)):
    v = {k: text(form, k) for k in MEMBER_FIELDS if k != "marketing_consent"}
    v["marketing_consent"] = checked(form, "marketing_consent")
    try:
        data = {k: val for k, val in v.items() if val not in ("", None) or k in ("phone", "name")}
        data["marketing_consent"] = v["marketing_consent"]
        m = registration.register(db, actor, build(MemberIn, data))
    except Problem as exc:
        return _member_form(request, db, actor, v, exc.status, exc)
    return redirect(f"/members/{m.id}", "created")


@router.get("/members/{member_id}", response_class=HTMLResponse)
def member_detail(member_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("member.view")),
                  db: Session = Depends(get_db)):
    m = registration.masked(db, actor, member_id)
    pts, pts_total = points.ledger(db, actor, member_id, 1, 20)
    sv, sv_total = stored_value.ledger(db, actor, member_id, 1, 20)
    return render(request, "members/detail.html", db=db, m=m, pts=pts, pts_total=pts_total, sv=sv, sv_total=sv_total,
                  coupons=coupons.list_coupons(db, actor, member_id),
                  coupon_templates=_coupon_templates(db, actor) if actor.can("promotion.edit") else [],
                  stats=analytics.member_stats(db, actor, member_id),
                  rfm_labels=domain.RFM_CLASSES, tiers=tiers.list_tiers(db, actor),
                  catalog=points.list_catalog(db, actor, active_only=True),
                  pin_threshold=program.settings(db, actor.tenant_id).sv_pin_threshold_fen, kinds=KINDS,
                  coupon_status=COUPON_STATUS)


@router.post("/members/{member_id}/reveal")
def member_reveal(member_id: uuid.UUID, actor: Actor = Depends(requires("member.pii.view")),
                  db: Session = Depends(get_db)) -> JSONResponse:
    """The audited "show" button: the full phone, e-mail and birthday."""
    d = registration.view(db, actor, member_id)
    return JSONResponse({"phone": d.phone, "email": d.email, "birthday": d.birthday.isoformat() if d.birthday else ""})


# --- settings pages ------------------------------------------------------------------------------------

@router.get("/member-tiers", response_class=HTMLResponse)
def tiers_page(request: Request, actor: Actor = Depends(requires("member.view")), db: Session = Depends(get_db)):
    return render(request, "members/tiers.html", db=db, tiers=tiers.list_tiers(db, actor),
                  coupon_templates=_coupon_templates(db, actor) if actor.can("settings.manage") else [])


@router.get("/member-points", response_class=HTMLResponse)
def points_page(request: Request, actor: Actor = Depends(requires("settings.manage")), db: Session = Depends(get_db)):
    return render(request, "members/points_rules.html", db=db, s=program.settings(db, actor.tenant_id),
                  catalog=points.list_catalog(db, actor))


@router.get("/member-topup", response_class=HTMLResponse)
def topup_page(request: Request, actor: Actor = Depends(requires("settings.manage")), db: Session = Depends(get_db)):
    return render(request, "members/topup_rules.html", db=db, rules=stored_value.list_rules(db, actor),
                  liability=stored_value.liability(db, actor), s=program.settings(db, actor.tenant_id))


# --- marketing -----------------------------------------------------------------------------------------

@router.get("/member-segments", response_class=HTMLResponse)
def segments_page(request: Request, actor: Actor = Depends(requires("member.campaign")),
                  db: Session = Depends(get_db)):
    return render(request, "members/segments.html", db=db, segments=segments.list_segments(db, actor),
                  tiers=tiers.list_tiers(db, actor), rfm_labels=domain.RFM_CLASSES)


@router.get("/member-campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request, actor: Actor = Depends(requires("member.campaign")),
                   db: Session = Depends(get_db)):
    segs = segments.list_segments(db, actor)
    return render(request, "members/campaigns.html", db=db, campaigns=campaigns.list_campaigns(db, actor),
                  segments=segs, segment_names={s.id: s.name for s in segs},
                  coupon_templates=_coupon_templates(db, actor))


@router.get("/member-campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(campaign_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("member.campaign")),
                  db: Session = Depends(get_db)):
    c = campaigns.campaign_out(db, campaigns.get(db, actor, campaign_id))
    seg = segments.segment_out(db, segments.get(db, actor, c.segment_id))
    return render(request, "members/campaign.html", db=db, c=c, seg=seg,
                  sends=campaigns.sends(db, actor, campaign_id))


@router.get("/member-sms", response_class=HTMLResponse)
def sms_page(request: Request, page: int = Query(1, ge=1, le=100_000),
             actor: Actor = Depends(requires("member.campaign")), db: Session = Depends(get_db)):
    items, total = channels.outbox(db, actor, page, PAGE_SIZE)
    return render(request, "members/sms.html", db=db, items=items, total=total, page=page, page_size=PAGE_SIZE)


@router.get("/member-analytics", response_class=HTMLResponse)
def analytics_page(request: Request, days: int = Query(30, ge=7, le=366),
                   actor: Actor = Depends(requires("report.view")), db: Session = Depends(get_db)):
    data = analytics.overview(db, actor, days)
    return render(request, "members/analytics.html", db=db, data=data, days=days, rfm_labels=domain.RFM_CLASSES,
                  liability=stored_value.liability(db, actor))


# --- QR posters ----------------------------------------------------------------------------------------

def _join_url(request: Request, actor: Actor, db: Session, store_id: uuid.UUID) -> tuple[str, Any]:
    store = tenancy.get_store(db, actor, store_id)
    merchant = tenancy.merchant(db, actor)
    token = registration.join_token(request.app.state.secret, merchant.merchant_code, store.code)
    return f"{str(request.base_url).rstrip('/')}/m/join/{token}", store


@router.get("/member-posters", response_class=HTMLResponse)
def posters_page(request: Request, actor: Actor = Depends(requires("member.view")), db: Session = Depends(get_db)):
    stores = [(s, _join_url(request, actor, db, s.id)[0]) for s in tenancy.list_stores(db, actor)]
    return render(request, "members/posters.html", db=db, stores=stores)


@router.get("/member-posters/{store_id}.png")
def poster_png(store_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("member.view")),
               db: Session = Depends(get_db)) -> Response:
    url, store = _join_url(request, actor, db, store_id)
    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=10, border=2)
    return Response(buf.getvalue(), media_type="image/png",
                    headers={"Content-Disposition": f'inline; filename="member-qr-{store.code}.png"'})


@router.get("/member-posters/{store_id}/print", response_class=HTMLResponse)
def poster_print(store_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("member.view")),
                 db: Session = Depends(get_db)):
    url, store = _join_url(request, actor, db, store_id)
    svg = segno.make(url, error="m").svg_inline(scale=8, border=2, omitsize=True)
    return render(request, "members/poster_print.html", db=db, store=store, url=url, svg=svg,
                  merchant=tenancy.merchant(db, actor))


# --- the member's own pages (phone-first, public) -----------------------------------------------------

JOIN_FIELDS = {"phone", "name", "birthday", "pin", "privacy", "marketing"}


def _join_page(request: Request, token: str, tenant: Any, store: Any, values: dict[str, Any], status: int = 200,
               problem: Problem | None = None) -> HTMLResponse:
    errors, general = problem_errors(problem, _locale(request), JOIN_FIELDS) if problem else ({}, "")
    code = problem.code if problem else ""
    return render(request, "members/m_join.html", status_code=status, token=token, tenant=tenant, store=store,
                  v=values, errors=errors, form_error=general, already=code == "already_member")


@router.get("/m/join/{token}", response_class=HTMLResponse, dependencies=[Depends(public())])
def join_form(token: str, request: Request, db: Session = Depends(get_db)):
    tenant, store = registration.resolve_join_token(db, request.app.state.secret, token)
    return _join_page(request, token, tenant, store, {})


@router.post("/m/join/{token}", response_class=HTMLResponse, dependencies=[Depends(public())])
def join_submit(token: str, request: Request, form: FormData = Depends(form_data), db: Session = Depends(get_db)):
    tenant, store = registration.resolve_join_token(db, request.app.state.secret, token)
    v: dict[str, Any] = {k: text(form, k) for k in ("phone", "name", "birthday", "pin")}
    v["privacy"], v["marketing"] = checked(form, "privacy"), checked(form, "marketing")
    try:
        data = build(JoinIn, {**v, "birthday": v["birthday"] or None})
        registration.join(db, tenant.id, store.id, data, ip=client_ip(request))
    except Problem as exc:
        return _join_page(request, token, tenant, store, v, exc.status, exc)
    m = registration.member_login(db, tenant.id, data.phone, data.pin, client_ip(request))
    response = redirect("/m/card", "welcome_member")
    _set_member_cookie(request, response, m)
    return response


def _set_member_cookie(request: Request, response: Response, m: Any) -> None:
    response.set_cookie(registration.MEMBER_COOKIE, registration.session_cookie(request.app.state.secret, m),
                        max_age=registration.SESSION_MAX_AGE, httponly=True, samesite="lax", path="/m",
                        secure=request.app.state.settings.cookie_secure)


@router.get("/m/login/{merchant_code}", response_class=HTMLResponse, dependencies=[Depends(public())])
def member_login_form(merchant_code: str, request: Request, db: Session = Depends(get_db)):
    tenant = tenancy.merchant_by_code(db, merchant_code)
    if tenant is None:
        from cloudpos.errors import NotFound

        raise NotFound(N_("Merchant not found."))
    return render(request, "members/m_login.html", tenant=tenant, v={}, errors={}, form_error="")


@router.post("/m/login/{merchant_code}", response_class=HTMLResponse, dependencies=[Depends(public())])
def member_login_submit(merchant_code: str, request: Request, form: FormData = Depends(form_data),
                        db: Session = Depends(get_db)):
    tenant = tenancy.merchant_by_code(db, merchant_code)
    if tenant is None:
        from cloudpos.errors import NotFound

        raise NotFound(N_("Merchant not found."))
    v = {"phone": text(form, "phone")}
    try:
        m = registration.member_login(db, tenant.id, v["phone"], text(form, "pin"), client_ip(request))
    except Problem as exc:
        return render(request, "members/m_login.html", status_code=exc.status, tenant=tenant, v=v, errors={},
                      form_error=problem_errors(exc, _locale(request))[1])
    response = redirect("/m/card")
    _set_member_cookie(request, response, m)
    return response


@router.post("/m/logout", dependencies=[Depends(public())])
def member_logout(request: Request, db: Session = Depends(get_db)) -> Response:
    code = ""
    try:
        m = _card_member(request, db)
        from cloudpos.tenancy.models import Tenant

        code = db.get(Tenant, m.tenant_id).code
    except Problem:
        pass
    response = redirect(f"/m/login/{code}" if code else "/", "logged_out")
    response.delete_cookie(registration.MEMBER_COOKIE, path="/m")
    return response


def _card_member(request: Request, db: Session) -> Any:
    return registration.member_from_cookie(db, request.app.state.secret,
                                           request.cookies.get(registration.MEMBER_COOKIE))


@router.get("/m/card", response_class=HTMLResponse, dependencies=[Depends(public())])
def member_card(request: Request, db: Session = Depends(get_db)):
    try:
        m = _card_member(request, db)
    except Problem:
        return render(request, "members/m_nocard.html", status_code=401)
    from cloudpos.tenancy.models import Tenant

    tenant = db.get(Tenant, m.tenant_id)
    tier = db.get(tiers.MemberTier, (m.tenant_id, m.tier_id)) if m.tier_id else None
    db.info["tenant_id"] = m.tenant_id
    member_coupons = coupons.unused(db, _member_actor(m), m.id)
    return render(request, "members/m_card.html", m=m, tenant=tenant, tier=tier, coupons=member_coupons,
                  masked_phone=domain.mask_phone(m.phone), max_age=registration.QR_MAX_AGE)


def _member_actor(m: Any) -> Actor:
    from cloudpos.context import system_actor

    return system_actor(m.tenant_id, "member")


@router.get("/m/card/token", dependencies=[Depends(public())])
def member_card_token(request: Request, db: Session = Depends(get_db)) -> JSONResponse:
    """A fresh QR token (~60 s) and its QR code as inline SVG; the card page refreshes it."""
    m = _card_member(request, db)
    token = registration.qr_token(request.app.state.secret, m.tenant_id, m.id)
    svg = segno.make(token, error="m").svg_inline(scale=6, border=2, omitsize=True)
    return JSONResponse({"token": token, "svg": svg, "expires_in": registration.QR_MAX_AGE,
                         "points_balance": m.points_balance, "stored_value_balance": m.stored_value_balance},
                        headers={"Cache-Control": "no-store"})
