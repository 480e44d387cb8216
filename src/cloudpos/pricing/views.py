"""Marketing pages: promotions (list with a 14-day view, a form for every kind with a live preview
against a sample cart), coupon templates and coupons, member prices (会员价).

Forms post to these routes, which call the same services as the JSON API. Money is typed in yuan
and converted to fen with Decimal; discounts are typed as 折 (8.8 → 1200 bp of discount). A Problem
re-renders the form with inline errors (422), success redirects with ?flash=code.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cloudpos import clock, money
from cloudpos.audit.views import register_actions
from cloudpos.catalog import service as catalog
from cloudpos.context import Actor
from cloudpos.errors import FieldError, Invalid, Problem
from cloudpos.i18n import N_
from cloudpos.pricing import domain as d
from cloudpos.pricing import promotions, service
from cloudpos.pricing.schemas import CouponIssueIn, CouponTemplateIn, MemberPriceIn, PromotionIn, PromotionOut
from cloudpos.tenancy import service as tenancy
from cloudpos.web import nav
from cloudpos.web.deps import get_db, requires
from cloudpos.web.forms import build, checked, form_data, parse_uuid, problem_errors, redirect, text, texts
from cloudpos.web.nav import NavItem
from cloudpos.web.routing import APIRouter
from cloudpos.web.templating import render

router = APIRouter()
register_actions({
    "promotion.create": N_("Promotion created"),
    "promotion.update": N_("Promotion changed"),
    "promotion.activate": N_("Promotion switched on"),
    "promotion.deactivate": N_("Promotion switched off"),
    "promotion.end": N_("Promotion ended"),
    "coupon_template.create": N_("Coupon type created"),
    "coupon_template.update": N_("Coupon type changed"),
    "coupon.issue": N_("Coupons issued"),
    "coupon.void": N_("Coupon voided"),
    "member_price.update": N_("Member prices changed"),
}, groups=(("promotion.", N_("Promotions")), ("coupon.", N_("Coupons"))))
PAGE_SIZE = 20
TZ = "Asia/Shanghai"

nav.register(NavItem("marketing", N_("Promotions"), "/marketing/promotions", "promotion.view", "megaphone"))
nav.register(NavItem("marketing", N_("Coupons"), "/marketing/coupons", "promotion.view", "ticket-perforated"))
nav.register(NavItem("marketing", N_("Member prices"), "/marketing/member-prices", "promotion.view", "tag"))

STATES = (("running", N_("Running now")), ("scheduled", N_("Not started")), ("expired", N_("Expired")),
          ("inactive", N_("Inactive")))
KINDS = (("spend_save", N_("Spend & save (满减)")), ("percent_off", N_("Percentage off (折扣)")),
         ("amount_off", N_("Amount off (立减)")), ("special_price", N_("Special price (特价)")),
         ("buy_x_get_y", N_("Buy X get Y (买赠 / 第二件半价)")), ("gift", N_("Free gift (赠品)")),
         ("bundle", N_("Bundle price (组合价)")))
KIND_LABELS = dict(KINDS)
WEEKDAYS = ((1, N_("Mon")), (2, N_("Tue")), (3, N_("Wed")), (4, N_("Thu")), (5, N_("Fri")), (6, N_("Sat")),
            (7, N_("Sun")))
COUPON_STATES = (("active", N_("Unused")), ("used", N_("Used")), ("void", N_("Void")), ("expired", N_("Expired")))


def _locale(request: Request) -> str:
    return getattr(request.state, "locale", "zh_CN")


def _today() -> date:
    return clock.now().astimezone(ZoneInfo(TZ)).date()


# --- typed values → integers, exactly -----------------------------------------------------------

class _Bad(ValueError):
    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message, self.params = message, params


def _decimal(raw: str) -> Decimal:
    text_ = raw.strip().replace(",", "").replace("¥", "").replace("￥", "").replace("元", "")
    text_ = text_.translate(str.maketrans("０１２３４５６７８９．", "0123456789."))
    try:
        value = Decimal(text_)
    except InvalidOperation:
        raise _Bad(N_("Not a number: %(value)s"), value=raw[:40]) from None
    if not value.is_finite():
        raise _Bad(N_("Not a number: %(value)s"), value=raw[:40])
    return value


_AMOUNT_ERRORS = {"format": N_("Not a number: %(value)s"), "negative": N_("Must not be negative."),
                  "decimals": N_("At most 2 decimal places: %(value)s"), "too_large": N_("Too large: %(value)s")}


def yuan_to_fen(raw: str) -> int:
    """"100" → 10000, "9.90" → 990; more than 2 decimals, negative or absurd amounts are refused."""
    try:
        return money.parse_yuan(raw)
    except money.AmountError as e:
        raise _Bad(_AMOUNT_ERRORS[e.reason], value=raw[:40]) from None


def zhe_to_bp(raw: str) -> int:
    """折 → basis points of discount: "8.8" (or "8.8折") → 1200, "5" → 5000, "9.95" → 50."""
    value = _decimal(raw.replace("折", ""))
    pay = value * 1000
    if not Decimal(0) < value < Decimal(10) or pay != pay.to_integral_value():
        raise _Bad(N_("Type the discount as 折 between 0.01 and 9.99, e.g. 8.8 (= 12% off) or 5 (half price)."))
    return 10000 - int(pay)


def bp_to_zhe(bp: int) -> str:
    pay = 10000 - bp
    return f"{pay // 1000}.{pay % 1000:03d}".rstrip("0").rstrip(".")


def fen_to_yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    return str(fen // 100) if fen % 100 == 0 else f"{fen // 100}.{fen % 100:02d}"


def _int(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise _Bad(N_("Enter a whole number.")) from None


class _Parser:
    """Collects field errors while converting the posted text."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def conv(self, key: str, fn: Any, raw: str, *, required: bool = False) -> Any:
        if not raw.strip():
            if required:
                self.errors.append(FieldError(key, N_("This field is required."), {}, "missing"))
            return None
        try:
            return fn(raw)
        except _Bad as e:
            self.errors.append(FieldError(key, e.message, dict(e.params), "invalid"))
            return None

    def check(self) -> None:
        if self.errors:
            raise Invalid(errors=self.errors)


# --- promotion form values -------------------------------------------------------------------------

def _empty_values() -> dict[str, Any]:
    return {"name": "", "kind": "spend_save", "apply_to": "order", "zhe": "", "amount": "", "min_spend": "",
            "unit_price": "", "ss_mode": "tiers", "tiers": [{"threshold": "", "save": ""}], "every": "", "save": "",
            "cap": "", "buy_qty": "1", "get_qty": "1", "get_zhe": "", "get_products": [],
            "discount_most_expensive": False, "mix_and_match": False, "gift_product": [], "gift_qty": "1",
            "gift_min_spend": "", "gift_min_qty": "", "gift_repeat": False, "bundle_items": [], "bundle_price": "",
            "scope_mode": "all", "category_ids": [], "products": [], "brands": [], "exclude_category_ids": [],
            "exclude_products": [], "exclude_brands": [], "start_date": "", "end_date": "", "weekdays": [],
            "time_from": "", "time_to": "", "store_mode": "all", "store_ids": [], "member_only": False,
            "tier_ids": [], "birthday_only": False, "priority": "0", "stacking": "stackable", "stack_group": "",
            "stacks_with_member": True, "max_uses_per_order": "", "max_uses_per_member": "", "active": True,
            "sample": []}


def _picked(db: Session, tenant_id: uuid.UUID, ids: list[str], qtys: list[str] | None = None) -> list[dict[str, str]]:
    """Picked product ids → [{id, name, sku, qty}] for re-rendering a picker (unknown ids dropped)."""
    wanted = [u for u in (parse_uuid(i) for i in ids) if u]
    briefs = catalog.product_briefs(db, tenant_id, wanted) if wanted else {}
    out = []
    for k, i in enumerate(ids):
        u = parse_uuid(i)
        if u in briefs:
            q = (qtys[k] if qtys and k < len(qtys) else "1") or "1"
            out.append({"id": str(u), "name": briefs[u].name, "sku": briefs[u].sku, "qty": q})
    return out


def _values_from(db: Session, tenant_id: uuid.UUID, p: PromotionOut) -> dict[str, Any]:
    v = _empty_values()
    r, s = p.rule, p.scope
    v.update(name=p.name, kind=p.kind, start_date=p.start_date.isoformat() if p.start_date else "",
             end_date=p.end_date.isoformat() if p.end_date else "", weekdays=[str(w) for w in p.weekdays],
             time_from=p.time_from or "", time_to=p.time_to or "",
             store_mode="all" if p.store_ids is None else "some", store_ids=[str(x) for x in p.store_ids or []],
             member_only=p.member_only, tier_ids=[str(t) for t in p.tier_ids], birthday_only=p.birthday_only,
             priority=str(p.priority), stacking=p.stacking, stack_group=p.stack_group or "",
             stacks_with_member=p.stacks_with_member,
             max_uses_per_order=str(p.max_uses_per_order) if p.max_uses_per_order else "",
             max_uses_per_member=str(p.max_uses_per_member) if p.max_uses_per_member else "",
             active=p.status == "active")
    kind = p.kind
    if kind in ("percent_off", "amount_off"):
        v["apply_to"] = r.get("apply_to", "item")
        v["min_spend"] = fen_to_yuan(r.get("min_spend")) if r.get("min_spend") else ""
        if kind == "percent_off":
            v["zhe"] = bp_to_zhe(r["percent_off_bp"])
        else:
            v["amount"] = fen_to_yuan(r["amount"])
    elif kind == "special_price":
        v["unit_price"] = fen_to_yuan(r["unit_price"])
    elif kind == "spend_save":
        if r.get("tiers"):
            v["tiers"] = [{"threshold": fen_to_yuan(t["threshold"]), "save": fen_to_yuan(t["save"])}
                          for t in r["tiers"]]
        else:
            v.update(ss_mode="every", every=fen_to_yuan(r.get("every")), save=fen_to_yuan(r.get("save")),
                     cap=fen_to_yuan(r.get("cap")))
    elif kind == "buy_x_get_y":
        bp = r.get("get_percent_off_bp", 10000)
        v.update(buy_qty=str(r["buy_qty"]), get_qty=str(r["get_qty"]), get_zhe="" if bp >= 10000 else bp_to_zhe(bp),
                 get_products=_picked(db, tenant_id, r.get("get_product_ids", [])),
                 discount_most_expensive=r.get("discount_most_expensive", False),
                 mix_and_match=r.get("mix_and_match", False))
    elif kind == "gift":
        v.update(gift_product=_picked(db, tenant_id, [r["gift_product_id"]]), gift_qty=r.get("gift_qty", "1"),
                 gift_min_spend=fen_to_yuan(r.get("min_spend")), gift_min_qty=r.get("min_qty") or "",
                 gift_repeat=r.get("repeat", False))
    elif kind == "bundle":
        items = r.get("items", [])
        v.update(bundle_items=_picked(db, tenant_id, [i["product_id"] for i in items], [str(i["qty"]) for i in items]),
                 bundle_price=fen_to_yuan(r["price"]))
    if s.get("all"):
        v["scope_mode"] = "all"
    elif s.get("product_ids"):
        v["scope_mode"] = "products"
    elif s.get("brands"):
        v["scope_mode"] = "brands"
    elif s.get("category_ids"):
        v["scope_mode"] = "categories"
    v.update(category_ids=list(s.get("category_ids", [])), products=_picked(db, tenant_id, s.get("product_ids", [])),
             brands=list(s.get("brands", [])), exclude_category_ids=list(s.get("exclude_category_ids", [])),
             exclude_products=_picked(db, tenant_id, s.get("exclude_product_ids", [])),
             exclude_brands=list(s.get("exclude_brands", [])))
    return v


def _posted(db: Session, tenant_id: uuid.UUID, form: FormData) -> dict[str, Any]:
    thresholds, saves = texts(form, "tier_threshold"), texts(form, "tier_save")
    tiers = [{"threshold": t, "save": s} for t, s in zip(thresholds, saves, strict=False)] or [
        {"threshold": "", "save": ""}]
    v = _empty_values()
    for key in ("name", "kind", "apply_to", "zhe", "amount", "min_spend", "unit_price", "ss_mode", "every", "save",
                "cap", "buy_qty", "get_qty", "get_zhe", "gift_qty", "gift_min_spend", "gift_min_qty", "bundle_price",
                "scope_mode", "start_date", "end_date", "time_from", "time_to", "store_mode", "priority",
                "stacking", "stack_group", "max_uses_per_order", "max_uses_per_member"):
        v[key] = text(form, key)[:200]
    for key in ("discount_most_expensive", "mix_and_match", "gift_repeat", "member_only", "birthday_only",
                "stacks_with_member", "active"):
        v[key] = checked(form, key)
    for key in ("category_ids", "brands", "exclude_category_ids", "exclude_brands", "weekdays", "store_ids",
                "tier_ids"):
        v[key] = texts(form, key)[:2000]
    v["tiers"] = tiers[:20]
    v["get_products"] = _picked(db, tenant_id, texts(form, "get_product_ids")[:200])
    v["gift_product"] = _picked(db, tenant_id, texts(form, "gift_product_id")[:1])
    v["bundle_items"] = _picked(db, tenant_id, texts(form, "bundle_product_id")[:20], texts(form, "bundle_qty"))
    v["products"] = _picked(db, tenant_id, texts(form, "product_ids")[:2000])
    v["exclude_products"] = _picked(db, tenant_id, texts(form, "exclude_product_ids")[:2000])
    v["sample"] = _picked(db, tenant_id, texts(form, "sample_product_id")[:50], texts(form, "sample_qty"))
    v["bad_kind"] = v["kind"] not in KIND_LABELS
    if v["bad_kind"]:
        v["kind"] = "spend_save"
    return v


def _parse(v: dict[str, Any]) -> dict[str, Any]:
    """Form values → the API's PromotionIn fields; conversion errors are reported per input."""
    p = _Parser()
    kind = v["kind"]
    if v.get("bad_kind"):
        p.errors.append(FieldError("kind", N_("Choose a kind of promotion."), {}, "invalid"))
    rule: dict[str, Any] = {"kind": kind}
    if kind in ("percent_off", "amount_off"):
        rule["apply_to"] = "order" if v["apply_to"] == "order" else "item"
        if kind == "percent_off":
            rule["percent_off_bp"] = p.conv("zhe", zhe_to_bp, v["zhe"], required=True)
        else:
            rule["amount"] = p.conv("amount", yuan_to_fen, v["amount"], required=True)
        if rule["apply_to"] == "order":
            rule["min_spend"] = p.conv("min_spend", yuan_to_fen, v["min_spend"]) or 0
    elif kind == "special_price":
        rule["unit_price"] = p.conv("unit_price", yuan_to_fen, v["unit_price"], required=True)
    elif kind == "spend_save":
        if v["ss_mode"] == "every":
            rule["every"] = p.conv("every", yuan_to_fen, v["every"], required=True)
            rule["save"] = p.conv("save", yuan_to_fen, v["save"], required=True)
            rule["cap"] = p.conv("cap", yuan_to_fen, v["cap"])
        else:
            tiers = []
            for t in v["tiers"]:
                if not (t["threshold"].strip() or t["save"].strip()):
                    continue
                n = len(tiers)
                tiers.append({"threshold": p.conv(f"tiers.{n}.threshold", yuan_to_fen, t["threshold"], required=True),
                              "save": p.conv(f"tiers.{n}.save", yuan_to_fen, t["save"], required=True)})
            if not tiers:
                p.errors.append(FieldError("tiers", N_("Set the thresholds and discounts, e.g. spend 100 save 10."),
                                           {}, "missing"))
            rule["tiers"] = tiers
    elif kind == "buy_x_get_y":
        rule["buy_qty"] = p.conv("buy_qty", _int, v["buy_qty"], required=True)
        rule["get_qty"] = p.conv("get_qty", _int, v["get_qty"], required=True)
        rule["get_percent_off_bp"] = p.conv("get_zhe", zhe_to_bp, v["get_zhe"]) or 10000
        rule["get_product_ids"] = [i["id"] for i in v["get_products"]]
        rule["discount_most_expensive"] = v["discount_most_expensive"]
        rule["mix_and_match"] = v["mix_and_match"]
    elif kind == "gift":
        if not v["gift_product"]:
            p.errors.append(FieldError("gift_product_id", N_("Pick the gift product."), {}, "missing"))
        else:
            rule["gift_product_id"] = v["gift_product"][0]["id"]
        rule["gift_qty"] = v["gift_qty"].strip() or "1"
        rule["min_spend"] = p.conv("gift_min_spend", yuan_to_fen, v["gift_min_spend"])
        rule["min_qty"] = v["gift_min_qty"].strip() or None
        rule["repeat"] = v["gift_repeat"]
    elif kind == "bundle":
        items = []
        for it in v["bundle_items"]:
            qty = p.conv("bundle_items", _int, it["qty"], required=True)
            items.append({"product_id": it["id"], "qty": qty})
        rule["items"] = items
        rule["price"] = p.conv("bundle_price", yuan_to_fen, v["bundle_price"], required=True)
    mode = v["scope_mode"]
    scope: dict[str, Any] = {"all": mode == "all"}
    if mode == "categories":
        scope["category_ids"] = [c for c in v["category_ids"] if parse_uuid(c)]
    elif mode == "products":
        scope["product_ids"] = [i["id"] for i in v["products"]]
    elif mode == "brands":
        scope["brands"] = [b for b in v["brands"] if b.strip()]
    if kind == "special_price" and mode != "products":
        p.errors.append(FieldError("scope", N_("A special price is set per product: choose the products."), {},
                                   "products_only"))
    scope["exclude_category_ids"] = [c for c in v["exclude_category_ids"] if parse_uuid(c)]
    scope["exclude_product_ids"] = [i["id"] for i in v["exclude_products"]]
    scope["exclude_brands"] = [b for b in v["exclude_brands"] if b.strip()]
    if v["store_mode"] == "some" and not v["store_ids"]:
        p.errors.append(FieldError("store_ids", N_("Choose at least one store, or all stores."), {}, "empty"))
    max_uses = p.conv("max_uses_per_order", _int, v["max_uses_per_order"])
    per_member = p.conv("max_uses_per_member", _int, v["max_uses_per_member"])
    priority = p.conv("priority", _int, v["priority"]) or 0
    p.check()
    return {
        "name": v["name"].strip(), "rule": rule, "scope": scope, "start_date": v["start_date"] or None,
        "end_date": v["end_date"] or None, "weekdays": [w for w in v["weekdays"] if w.isdigit()],
        "time_from": v["time_from"] or None, "time_to": v["time_to"] or None,
        "store_ids": v["store_ids"] if v["store_mode"] == "some" else None, "member_only": v["member_only"],
        "tier_ids": [t for t in v["tier_ids"] if parse_uuid(t)], "birthday_only": v["birthday_only"],
        "priority": priority, "stacking": "exclusive" if v["stacking"] == "exclusive" else "stackable",
        "stack_group": v["stack_group"].strip() or None, "stacks_with_member": v["stacks_with_member"],
        "max_uses_per_order": max_uses, "max_uses_per_member": per_member, "active": v["active"],
    }


# A service / schema error names an API field ("rule.spend_save.tiers.0.save", "validity.end_date",
# "rule.min_spend_fen"): show it at the input that holds it.
_RULE_INPUTS = {"percent_off_bp": "zhe", "amount": "amount", "unit_price": "unit_price", "tiers": "tiers",
                "every": "every", "save": "save", "cap": "cap", "buy_qty": "buy_qty", "get_qty": "get_qty",
                "get_percent_off_bp": "get_zhe", "get_product_ids": "get_product_ids",
                "gift_product_id": "gift_product_id", "gift_qty": "gift_qty", "min_qty": "gift_min_qty",
                "items": "bundle_items", "price": "bundle_price", "kind": "kind"}
FORM_FIELDS = {"name", "kind", "zhe", "amount", "min_spend", "unit_price", "tiers", "every", "save", "cap", "buy_qty",
               "get_qty", "get_zhe", "get_product_ids", "gift_product_id", "gift_qty", "gift_min_spend",
               "gift_min_qty", "bundle_items", "bundle_price", "scope", "start_date", "end_date", "weekdays",
               "time_from", "time_to", "store_ids", "tier_ids", "priority", "stack_group", "max_uses_per_order",
               "max_uses_per_member"}


def form_field(field: str, kind: str) -> str:
    parts = [x for x in re.split(r"[.\[\]]+", field) if x]
    if not parts:
        return ""
    if parts[0] == "validity":
        parts = parts[1:] or ["start_date"]
    if parts[0] != "rule":
        return parts[0]
    rest = [x for x in parts[1:] if x not in dict(KINDS)]
    if not rest:
        return "kind"
    key = re.sub(r"_(fen|milli)$", "", rest[0])
    if key == "min_spend":
        return "gift_min_spend" if kind == "gift" else "min_spend"
    return _RULE_INPUTS.get(key, "kind")


_TIER_CELL = re.compile(r"tiers[.\[](\d+)\]?(?:\.(threshold|save))?")


def bad_tier_cells(problem: Problem | None) -> list[str]:
    """Which tier inputs to mark: "0.threshold", "1.save" (a whole-tier error marks both)."""
    cells: list[str] = []
    for e in problem.errors if problem else []:
        m = _TIER_CELL.search(e.field)
        if m:
            cells += [f"{m.group(1)}.{m.group(2)}"] if m.group(2) else [f"{m.group(1)}.threshold",
                                                                          f"{m.group(1)}.save"]
    return cells


def _promo_errors(problem: Problem, locale: str, kind: str) -> tuple[dict[str, str], str]:
    remapped = [dataclasses.replace(e, field=form_field(e.field, kind)) for e in problem.errors]
    p = Invalid(errors=remapped) if isinstance(problem, Invalid) else problem
    if isinstance(problem, Invalid):
        return problem_errors(p, locale, FORM_FIELDS)
    return problem_errors(problem, locale, set())


def _form_ctx(db: Session, actor: Actor) -> dict[str, Any]:
    from cloudpos.members import service as members

    try:
        tiers = members.tiers.list_tiers(db, actor)
    except Problem:
        tiers = []
    from cloudpos.catalog import search as catalog_search  # the brand list (catalog.service has no wrapper)

    brands = catalog_search.brands(db, actor) if actor.can("catalog.view") else []
    return {"categories": catalog.list_categories(db, actor) if actor.can("catalog.view") else [],
            "brands": brands, "stores": tenancy.list_stores(db, actor), "tiers": tiers, "kinds": KINDS,
            "weekdays": WEEKDAYS}


def _promo_page(request: Request, db: Session, actor: Actor, promo: PromotionOut | None, v: dict[str, Any],
                status: int = 200, problem: Problem | None = None) -> HTMLResponse:
    errors, general = _promo_errors(problem, _locale(request), v["kind"]) if problem else ({}, "")
    return render(request, "pricing/promotion_form.html", status_code=status, db=db, promo=promo, v=v,
                  errors=errors, form_error=general, bad_tiers=bad_tier_cells(problem), **_form_ctx(db, actor))


# --- promotions: list --------------------------------------------------------------------------------

def _days_on(p: PromotionOut, days: list[date]) -> list[bool]:
    if p.status != "active":
        return [False] * len(days)
    return [(p.start_date is None or p.start_date <= day) and (p.end_date is None or day <= p.end_date)
            and (not p.weekdays or day.isoweekday() in p.weekdays) for day in days]


@router.get("/marketing/promotions", response_class=HTMLResponse)
def promotions_page(request: Request, actor: Actor = Depends(requires("promotion.view")),
                    db: Session = Depends(get_db)):
    qp = request.query_params
    try:
        page = max(1, min(int(qp.get("page", "1")), 100000))
    except ValueError:
        page = 1
    state = qp.get("state") if qp.get("state") in dict(STATES) else None
    kind = qp.get("kind") if qp.get("kind") in KIND_LABELS else None
    q = qp.get("q", "")[:60]
    items, total = service.list_promotions(db, actor, state_filter=state, kind=kind, q=q, page=page,
                                           page_size=PAGE_SIZE)
    today = _today()
    days = [today + timedelta(days=k) for k in range(14)]
    running, _ = service.list_promotions(db, actor, state_filter="running", page_size=50)
    scheduled, _ = service.list_promotions(db, actor, state_filter="scheduled", page_size=50)
    upcoming = [p for p in scheduled if p.start_date and p.start_date <= days[-1]]
    calendar = [(p, _days_on(p, days)) for p in running + upcoming]
    counts = {"running": len(running), "scheduled": len(scheduled)}
    return render(request, "pricing/promotions.html", db=db, items=items, total=total, page=page,
                  page_size=PAGE_SIZE, state=state, kind=kind, q=q, states=STATES, kinds=KINDS,
                  kind_labels=KIND_LABELS, days=days, today=today, calendar=calendar, counts=counts,
                  weekday_labels=dict(WEEKDAYS))


def _back(request: Request, form: FormData) -> str:
    back = text(form, "back")
    return back if back.startswith("/marketing/promotions") and "//" not in back else "/marketing/promotions"


@router.post("/marketing/promotions/{promotion_id}/activate")
def promotion_activate(promotion_id: uuid.UUID, request: Request, form: FormData = Depends(form_data),
                       actor: Actor = Depends(requires("promotion.edit")), db: Session = Depends(get_db)) -> Response:
    service.set_promotion_status(db, actor, promotion_id, True)
    return redirect(_back(request, form), "saved")


@router.post("/marketing/promotions/{promotion_id}/deactivate")
def promotion_deactivate(promotion_id: uuid.UUID, request: Request, form: FormData = Depends(form_data),
                         actor: Actor = Depends(requires("promotion.edit")),
                         db: Session = Depends(get_db)) -> Response:
    service.set_promotion_status(db, actor, promotion_id, False)
    return redirect(_back(request, form), "saved")


@router.post("/marketing/promotions/{promotion_id}/end")
def promotion_end(promotion_id: uuid.UUID, request: Request, form: FormData = Depends(form_data),
                  actor: Actor = Depends(requires("promotion.edit")), db: Session = Depends(get_db)) -> Response:
    service.end_promotion(db, actor, promotion_id)
    return redirect(_back(request, form), "saved")


# --- promotions: form --------------------------------------------------------------------------------

@router.get("/marketing/promotions/new", response_class=HTMLResponse)
def promotion_new(request: Request, actor: Actor = Depends(requires("promotion.edit")),
                  db: Session = Depends(get_db)):
    v = _empty_values()
    copy = parse_uuid(request.query_params.get("copy"))
    if copy:
        src = service.promotion_out(db, service.get_promotion(db, actor, copy))
        v = _values_from(db, actor.tenant_id, src)
        v.update(name=src.name + " (2)", start_date="", end_date="", active=True)
    elif request.query_params.get("kind") in KIND_LABELS:
        v["kind"] = request.query_params["kind"]
    return _promo_page(request, db, actor, None, v)


@router.post("/marketing/promotions/new", response_class=HTMLResponse)
def promotion_create(request: Request, form: FormData = Depends(form_data),
                     actor: Actor = Depends(requires("promotion.edit")), db: Session = Depends(get_db)):
    v = _posted(db, actor.tenant_id, form)
    try:
        out = service.create_promotion(db, actor, build(PromotionIn, _parse(v)))
    except Problem as exc:
        return _promo_page(request, db, actor, None, v, exc.status, exc)
    return redirect(f"/marketing/promotions/{out.id}", "created")


@router.post("/marketing/promotions/preview", response_class=HTMLResponse)
def promotion_preview(request: Request, form: FormData = Depends(form_data),
                      actor: Actor = Depends(requires("promotion.edit")), db: Session = Depends(get_db)):
    """The rule in words and, with sample products, the sample cart priced with it (writes nothing).
    Always 200 (htmx swaps only successful responses): problems are shown in the panel."""
    v = _posted(db, actor.tenant_id, form)
    locale = _locale(request)
    ctx: dict[str, Any] = {"description": "", "problems": [], "quote": None, "v": v, "quote_error": ""}
    try:
        values = promotions._row_values(build(PromotionIn, _parse(v)))
        promotions._gift_name(db, actor.tenant_id, values["rule"])
        draft = promotions.validate(db, actor, values)
        own = parse_uuid(text(form, "promotion_id"))
        if own:
            draft = dataclasses.replace(draft, id=str(own))
        row = promotions.Promotion(tenant_id=actor.tenant_id, **values)
        ctx["description"] = d.describe_promotion(draft, "zh" if locale == "zh_CN" else "en",
                                                  promotions._names(db, actor.tenant_id, [row]))
    except Problem as exc:
        errors, general = _promo_errors(exc, locale, v["kind"])
        ctx["problems"] = list(dict.fromkeys([*errors.values(), *([general] if general else [])]))
        draft = None
    stores = tenancy.list_stores(db, actor)
    if draft is not None and v["sample"] and stores:
        wanted = [service.WantedLine(uuid.UUID(s["id"]), None, s["qty"].strip() or "1") for s in v["sample"]]
        store_id = parse_uuid(text(form, "sample_store_id")) or stores[0].id
        # The preview prices "as if now": the date/weekday/time window and the store list are not applied.
        draft = dataclasses.replace(draft, validity=d.ALWAYS, store_ids=None)
        try:
            priced = service.price(db, actor, store_id, wanted, draft=draft)
            ctx["quote"] = service.to_quote(priced)
            ctx["draft_id"] = draft.id
        except Problem as exc:
            _, general = problem_errors(exc, locale, set())
            ctx["quote_error"] = general or ", ".join(
                problem_errors(exc, locale, None)[0].values())
        except ValueError:
            ctx["quote_error"] = N_("This sample cart cannot be priced.")
    db.rollback()
    return render(request, "pricing/_preview.html", **ctx)


@router.get("/marketing/promotions/{promotion_id}", response_class=HTMLResponse)
def promotion_edit(promotion_id: uuid.UUID, request: Request, actor: Actor = Depends(requires("promotion.view")),
                   db: Session = Depends(get_db)):
    p = service.promotion_out(db, service.get_promotion(db, actor, promotion_id))
    return _promo_page(request, db, actor, p, _values_from(db, actor.tenant_id, p))


@router.post("/marketing/promotions/{promotion_id}", response_class=HTMLResponse)
def promotion_update(promotion_id: uuid.UUID, request: Request, form: FormData = Depends(form_data),
                     actor: Actor = Depends(requires("promotion.edit")), db: Session = Depends(get_db)):
    p = service.promotion_out(db, service.get_promotion(db, actor, promotion_id))
    v = _posted(db, actor.tenant_id, form)
    try:
        service.update_promotion(db, actor, promotion_id, build(PromotionIn, _parse(v)))
    except Problem as exc:
        db.rollback()
        return _promo_page(request, db, actor, p, v, exc.status, exc)
    return redirect(f"/marketing/promotions/{promotion_id}", "saved")


@router.get("/marketing/products/search")
def product_search(request: Request, actor: Actor = Depends(requires("promotion.view")),
                   db: Session = Depends(get_db)) -> JSONResponse:
    """Products for the pickers (JSON): name, pinyin initials, SKU or barcode."""
    q = request.query_params.get("q", "")[:60].strip()
    if not q or not actor.can("catalog.view"):
        return JSONResponse([])
    items, _ = catalog.list_products(db, actor, catalog.ListFilter(q=q), 1, 12)
    return JSONResponse([{"id": str(p.id), "name": p.name, "sku": p.sku, "price": fen_to_yuan(p.price)}
                         for p in items])


# --- coupons -------------------------------------------------------------------------------------------

TEMPLATE_FIELDS = {"name", "kind", "value", "threshold", "max_discount", "valid_days", "valid_from", "valid_until",
                   "scope"}


def _template_values() -> dict[str, Any]:
    return {"name": "", "kind": "amount_off", "value": "", "threshold": "", "max_discount": "", "validity": "days",
            "valid_days": "30", "valid_from": "", "valid_until": "", "scope_mode": "all", "category_ids": [],
            "products": []}


def _coupons_page(request: Request, db: Session, actor: Actor, status: int = 200, *,
                  tv: dict[str, Any] | None = None, t_problem: Problem | None = None,
                  iv: dict[str, Any] | None = None, i_problem: Problem | None = None,
                  issued: list[Any] | None = None) -> HTMLResponse:
    qp = request.query_params
    try:
        page = max(1, min(int(qp.get("page", "1")), 100000))
    except ValueError:
        page = 1
    cstatus = qp.get("status") if qp.get("status") in dict(COUPON_STATES) else None
    template_id = parse_uuid(qp.get("template"))
    code = qp.get("code", "")[:40].strip()
    coupons, total = service.list_coupons(db, actor, template_id=template_id, status=cstatus, code=code or None,
                                          page=page, page_size=PAGE_SIZE)
    templates = service.list_coupon_templates(db, actor)
    t_errors, t_general = problem_errors(t_problem, _locale(request), TEMPLATE_FIELDS) if t_problem else ({}, "")
    i_errors, i_general = problem_errors(i_problem, _locale(request),
                                         {"template_id", "count", "member", "member_id"}) if i_problem else ({}, "")
    if "member_id" in i_errors:
        i_errors["member"] = i_errors.pop("member_id")
    names = {t.id: t.name for t in templates}
    return render(request, "pricing/coupons.html", status_code=status, db=db, templates=templates, coupons=coupons,
                  total=total, page=page, page_size=PAGE_SIZE, cstatus=cstatus, template_id=template_id, code=code,
                  coupon_states=COUPON_STATES, tv=tv or _template_values(), t_errors=t_errors, t_general=t_general,
                  iv=iv or {"template_id": "", "mode": "codes", "count": "10", "member": "", "reason": ""},
                  i_errors=i_errors, i_general=i_general, issued=issued or [], template_names=names,
                  categories=catalog.list_categories(db, actor) if actor.can("catalog.view") else [],
                  open_template=t_problem is not None, open_issue=i_problem is not None)


@router.get("/marketing/coupons", response_class=HTMLResponse)
def coupons_page(request: Request, actor: Actor = Depends(requires("promotion.view")), db: Session = Depends(get_db)):
    return _coupons_page(request, db, actor)


@router.post("/marketing/coupons/templates", response_class=HTMLResponse)
def coupon_template_create(request: Request, form: FormData = Depends(form_data),
                           actor: Actor = Depends(requires("promotion.edit")), db: Session = Depends(get_db)):
    tv = {k: text(form, k)[:100] for k in ("name", "kind", "value", "threshold", "max_discount", "validity",
                                           "valid_days", "valid_from", "valid_until", "scope_mode")}
    tv["category_ids"] = [c for c in texts(form, "category_ids") if parse_uuid(c)][:500]
    tv["products"] = _picked(db, actor.tenant_id, texts(form, "product_ids")[:2000])
    try:
        p = _Parser()
        kind = "percent_off" if tv["kind"] == "percent_off" else "amount_off"
        value = p.conv("value", zhe_to_bp if kind == "percent_off" else yuan_to_fen, tv["value"], required=True)
        data: dict[str, Any] = {
            "name": tv["name"].strip(), "kind": kind, "value": value,
            "threshold": p.conv("threshold", yuan_to_fen, tv["threshold"]) or 0,
            "max_discount": p.conv("max_discount", yuan_to_fen, tv["max_discount"])}
        if tv["validity"] == "window":
            data.update(valid_days=None,
                        valid_from=p.conv("valid_from", _start_of_day, tv["valid_from"], required=True),
                        valid_until=p.conv("valid_until", _end_of_day, tv["valid_until"], required=True))
        else:
            data["valid_days"] = p.conv("valid_days", _int, tv["valid_days"], required=True)
        mode = tv["scope_mode"]
        data["scope"] = {"all": mode == "all",
                         "category_ids": tv["category_ids"] if mode == "categories" else [],
                         "product_ids": [i["id"] for i in tv["products"]] if mode == "products" else []}
        p.check()
        service.create_coupon_template(db, actor, build(CouponTemplateIn, data))
    except Problem as exc:
        return _coupons_page(request, db, actor, exc.status, tv=tv, t_problem=exc)
    return redirect("/marketing/coupons", "created")


def _start_of_day(raw: str) -> str:
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise _Bad(N_("Enter a date.")) from None
    return f"{day.isoformat()}T00:00:00+08:00"


def _end_of_day(raw: str) -> str:
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise _Bad(N_("Enter a date.")) from None
    return f"{day.isoformat()}T23:59:59+08:00"


@router.post("/marketing/coupons/templates/{template_id}/toggle")
def coupon_template_toggle(template_id: uuid.UUID, actor: Actor = Depends(requires("promotion.edit")),
                           db: Session = Depends(get_db)) -> Response:
    from cloudpos.pricing.schemas import CouponTemplatePatch

    t = service.get_coupon_template(db, actor, template_id)
    service.update_coupon_template(db, actor, template_id, CouponTemplatePatch(active=not t.active))
    return redirect("/marketing/coupons", "saved")


@router.post("/marketing/coupons/issue", response_class=HTMLResponse)
def coupon_issue(request: Request, form: FormData = Depends(form_data),
                 actor: Actor = Depends(requires("promotion.edit")), db: Session = Depends(get_db)):
    iv = {k: text(form, k)[:100] for k in ("template_id", "mode", "count", "member", "reason")}
    try:
        p = _Parser()
        data: dict[str, Any] = {"template_id": parse_uuid(iv["template_id"]), "reason": iv["reason"].strip()}
        if data["template_id"] is None:
            p.errors.append(FieldError("template_id", N_("Choose a coupon template."), {}, "missing"))
        if iv["mode"] == "member":
            data["member_id"] = _find_member(db, actor, iv["member"], p)
            data["count"] = 1
        else:
            data["count"] = p.conv("count", _int, iv["count"], required=True)
        p.check()
        issued = service.issue_coupons(db, actor, build(CouponIssueIn, data))
    except Problem as exc:
        return _coupons_page(request, db, actor, exc.status, iv=iv, i_problem=exc)
    return _coupons_page(request, db, actor, 201 if request.headers.get("hx-request") else 200, issued=issued)


def _find_member(db: Session, actor: Actor, raw: str, p: _Parser) -> uuid.UUID | None:
    """A member by phone number or card number (must match exactly one)."""
    from cloudpos.members import service as members

    q = raw.strip().replace(" ", "")
    if not q:
        p.errors.append(FieldError("member", N_("Type the member's phone or card number."), {}, "missing"))
        return None
    if not actor.can("member.view"):
        p.errors.append(FieldError("member", N_("You may not look up members."), {}, "forbidden"))
        return None
    found, _ = members.list_members(db, actor, phone=q, page_size=2, reveal=False)
    if not found:
        found, _ = members.list_members(db, actor, card_no=q, page_size=2, reveal=False)
    if len(found) != 1:
        p.errors.append(FieldError("member", N_("No member has this phone or card number."), {}, "not_found"))
        return None
    return found[0].id


@router.post("/marketing/coupons/{coupon_id}/void")
def coupon_void(coupon_id: uuid.UUID, request: Request, form: FormData = Depends(form_data),
                actor: Actor = Depends(requires("promotion.edit")), db: Session = Depends(get_db)) -> Response:
    try:
        service.void_coupon(db, actor, coupon_id, text(form, "reason")[:200])
    except Problem as exc:
        return _coupons_page(request, db, actor, exc.status, i_problem=exc)
    back = text(form, "back")
    return redirect(back if back.startswith("/marketing/coupons") and "//" not in back else "/marketing/coupons",
                    "saved")


# --- member prices ----------------------------------------------------------------------------------

def _member_prices_page(request: Request, db: Session, actor: Actor, status: int = 200,
                        problem: Problem | None = None, posted: dict[str, str] | None = None) -> HTMLResponse:
    qp = request.query_params
    try:
        page = max(1, min(int(qp.get("page", "1")), 100000))
    except ValueError:
        page = 1
    q = qp.get("q", "")[:60].strip()
    items, total = service.list_member_prices(db, actor, page, PAGE_SIZE)
    results = []
    if q and actor.can("catalog.view"):
        found, _ = catalog.list_products(db, actor, catalog.ListFilter(q=q), 1, 20)
        current = dict(service.quoting._member_prices(db, actor.tenant_id, [p.id for p in found]))
        results = [(p, current.get(p.id)) for p in found]
    errors, general = problem_errors(problem, _locale(request), set()) if problem else ({}, "")
    return render(request, "pricing/member_prices.html", status_code=status, db=db, total=total, page=page,
                  page_size=PAGE_SIZE, q=q, form_error=general, posted=posted or {}, yuan=fen_to_yuan, items=items,
                  results_rows=[(p.id, p.sku, p.name, p.price, mp) for p, mp in results],
                  item_rows=[(i.product_id, i.sku, i.name, i.price, i.member_price) for i in items])


@router.get("/marketing/member-prices", response_class=HTMLResponse)
def member_prices_page(request: Request, actor: Actor = Depends(requires("promotion.view")),
                       db: Session = Depends(get_db)):
    return _member_prices_page(request, db, actor)


@router.post("/marketing/member-prices", response_class=HTMLResponse)
def member_prices_set(request: Request, form: FormData = Depends(form_data),
                      actor: Actor = Depends(requires("promotion.edit")), db: Session = Depends(get_db)):
    """Posted pairs product_id / member_price (yuan; empty or the clear button removes it)."""
    ids, prices = texts(form, "product_id")[:200], texts(form, "member_price")
    clear = parse_uuid(text(form, "clear"))
    p = _Parser()
    items = []
    for k, pid in enumerate(ids):
        u = parse_uuid(pid)
        if u is None:
            continue
        raw = prices[k] if k < len(prices) else ""
        if clear is not None:
            if u == clear:
                items.append(MemberPriceIn(product_id=u, price=None))
            continue
        if raw.strip():
            fen = p.conv("member_price", yuan_to_fen, raw)
            if fen is not None:
                items.append(MemberPriceIn(product_id=u, price=fen))
        elif text(form, "clear_empty"):
            items.append(MemberPriceIn(product_id=u, price=None))
    posted = {pid: prices[k] for k, pid in enumerate(ids) if k < len(prices)}
    try:
        p.check()
        if not items:
            raise Invalid(errors=[FieldError("member_price", N_("Type a member price for at least one product."),
                                             {}, "missing")])
        service.set_member_prices(db, actor, items)
    except Problem as exc:
        return _member_prices_page(request, db, actor, exc.status, exc, posted)
    back = text(form, "back")
    return redirect(back if back.startswith("/marketing/member-prices") and "//" not in back
                    else "/marketing/member-prices", "saved")
