"""The payment settings page (支付方式配置): methods (enabled, fee %, settlement cycle) merchant-wide or
per store, provider credentials (secrets write-only) and a connection test."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cloudpos.audit.views import register_actions
from cloudpos.context import Actor
from cloudpos.errors import FieldError, Invalid, NotFound, Problem
from cloudpos.i18n import N_
from cloudpos.payments import domain, service
from cloudpos.payments.schemas import MethodPatch, ProviderPatch
from cloudpos.tenancy import service as tenancy
from cloudpos.web import nav
from cloudpos.web.deps import get_db, requires
from cloudpos.web.forms import build, checked, form_data, parse_uuid, problem_errors, redirect, text
from cloudpos.web.routing import APIRouter
from cloudpos.web.templating import render

router = APIRouter()
register_actions({
    "payment.method.update": N_("Payment method changed"),
    "payment.provider.update": N_("Payment provider settings changed"),
    "payment.refund": N_("Payment refunded"),
    "payment.reverse": N_("Payment reversed by reconciliation"),
}, groups=(("payment.", N_("Payments")),))
nav.register(nav.NavItem("settings", N_("Payments"), "/settings/payments", "payment.manage", "credit-card"))

METHOD_LABELS = {
    "cash": N_("Cash"), "card": N_("Bank card"), "wechat": N_("WeChat Pay"), "alipay": N_("Alipay"),
    "stored_value": N_("Stored value"), "points": N_("Points"), "coupon": N_("Coupon"),
}
CYCLES = [(0, N_("T+0 (same day)")), (1, N_("T+1 (next day)")), (7, N_("T+7 (a week later)"))]
PAGE = "/settings/payments"


def percent(bp: int) -> str:
    """38 → "0.38" (the page shows fee rates in percent)."""
    return f"{Decimal(bp) / 100:.2f}"


def parse_percent(value: str) -> int:
    """"0.38" → 38 bp, exactly; more than two decimals, or outside 0–10 %, is refused."""
    try:
        bp = Decimal(value.strip().rstrip("%").strip() or "0") * 100
    except InvalidOperation:
        bp = Decimal("NaN")
    if not bp.is_finite() or bp != bp.to_integral_value() or domain.fee_rate_problem(int(bp)):
        raise Invalid(errors=[FieldError("fee_rate_bp", N_("Enter a percentage between 0 and 10, e.g. 0.38."),
                                         {}, "invalid")])
    return int(bp)


def _int(value: str) -> int | str | None:
    if not value.strip():
        return None  # not sent: keep the current cycle
    return int(value) if value.strip().isdigit() and len(value) < 4 else value


def _store(db: Session, actor: Actor, value: str | None) -> uuid.UUID | None:
    store_id = parse_uuid(value) if value else None
    if value and store_id is None:
        raise NotFound(N_("Store not found."))
    return store_id


def _page(request: Request, db: Session, actor: Actor, store_id: uuid.UUID | None, status_code: int = 200,
          **extra: Any) -> HTMLResponse:
    methods = service.methods_for_store(db, actor, store_id)
    providers = {name: service.provider_settings(db, actor, name) for name in domain.PROVIDERS}
    ctx: dict[str, Any] = {"methods": methods, "providers": providers, "store_id": store_id,
                           "stores": tenancy.list_stores(db, actor), "method_labels": METHOD_LABELS,
                           "cycles": CYCLES, "percent": percent, "method_errors": {}, "provider_errors": {},
                           "test_result": None, "failed_code": "", "failed_provider": ""}
    ctx.update(extra)
    return render(request, "payments/settings.html", status_code=status_code, db=db, **ctx)


@router.get(PAGE, response_class=HTMLResponse)
def settings_page(request: Request, actor: Actor = Depends(requires("payment.manage")),
                  db: Session = Depends(get_db)):
    store_id = _store(db, actor, request.query_params.get("store_id"))
    return _page(request, db, actor, store_id)


def _locale(request: Request) -> str:
    return getattr(request.state, "locale", "zh_CN")


@router.post(PAGE + "/methods/{code}", response_class=HTMLResponse)
def save_method(code: str, request: Request, form: FormData = Depends(form_data),
                actor: Actor = Depends(requires("payment.manage")), db: Session = Depends(get_db)):
    store_id = _store(db, actor, text(form, "store_id"))
    try:
        if code not in domain.METHODS:
            raise NotFound(N_("Unknown payment method."))
        data = build(MethodPatch, {"enabled": checked(form, "enabled"),
                                   "fee_rate_bp": parse_percent(text(form, "fee_percent")),
                                   "settlement_cycle_days": _int(text(form, "settlement_cycle_days"))})
        service.update_method(db, actor, code, data, store_id)
    except Invalid as p:
        errors, general = problem_errors(p, _locale(request))
        return _page(request, db, actor, store_id, 422, method_errors={code: errors}, form_error=general,
                     failed_code=code)
    return redirect(PAGE + (f"?store_id={store_id}" if store_id else ""), "saved")


@router.post(PAGE + "/providers/{provider}", response_class=HTMLResponse)
def save_provider(provider: str, request: Request, form: FormData = Depends(form_data),
                  actor: Actor = Depends(requires("payment.manage")), db: Session = Depends(get_db)):
    if provider not in domain.PROVIDERS:
        raise NotFound(N_("Unknown payment provider."))
    fields = ("gateway_url", "app_id", "mch_id", "cert_path", "key_path")
    data: dict[str, Any] = {k: text(form, k) for k in fields if k in form}
    if text(form, "sign_type"):
        data["sign_type"] = text(form, "sign_type")
    if text(form, "public_key").strip():
        data["public_key"] = text(form, "public_key")
    if text(form, "secret").strip():  # empty: keep the saved secret (it is never shown)
        data["secret"] = text(form, "secret")
    try:
        service.update_provider(db, actor, provider, build(ProviderPatch, data))
    except Invalid as p:
        errors, general = problem_errors(p, _locale(request))
        return _page(request, db, actor, None, 422, provider_errors={provider: errors}, form_error=general,
                     failed_provider=provider)
    return redirect(PAGE, "saved")


@router.post(PAGE + "/providers/{provider}/test", response_class=HTMLResponse)
def test_provider(provider: str, request: Request, actor: Actor = Depends(requires("payment.manage")),
                  db: Session = Depends(get_db)):
    if provider not in domain.PROVIDERS:
        raise NotFound(N_("Unknown payment provider."))
    try:
        result = service.test_connection(db, actor, provider)
        outcome = {"provider": provider, "ok": result.ok, "message": result.message, "code": result.code}
    except Problem as p:
        _errors, general = problem_errors(p, _locale(request))
        outcome = {"provider": provider, "ok": False, "message": general, "code": p.code}
    return _page(request, db, actor, None, test_result=outcome)
