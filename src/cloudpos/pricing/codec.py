"""Stored promotion rows ⇄ the engine's frozen dataclasses (pricing.domain)."""

from __future__ import annotations

from datetime import time
from typing import Any

from cloudpos.money import qty_to_milli
from cloudpos.pricing import domain as d
from cloudpos.pricing import models as m


def scope_to_domain(s: dict[str, Any]) -> d.Scope:
    return d.Scope(
        scope_all=bool(s.get("all")),
        product_ids=frozenset(s.get("product_ids", ())),
        category_ids=frozenset(s.get("category_ids", ())),
        brand_ids=frozenset(s.get("brands", ())),
        exclude_product_ids=frozenset(s.get("exclude_product_ids", ())),
        exclude_category_ids=frozenset(s.get("exclude_category_ids", ())),
        exclude_brand_ids=frozenset(s.get("exclude_brands", ())),
    )


def rule_to_domain(r: dict[str, Any]) -> d.Rule:
    kind = r["kind"]
    if kind == "percent_off":
        return d.PercentOff(r["percent_off_bp"], d.ApplyTo(r.get("apply_to", "item")), r.get("min_spend", 0))
    if kind == "amount_off":
        return d.AmountOff(r["amount"], d.ApplyTo(r.get("apply_to", "item")), r.get("min_spend", 0))
    if kind == "special_price":
        return d.SpecialPrice(r["unit_price"])
    if kind == "spend_save":
        return d.SpendSave(tiers=tuple(d.SpendTier(t["threshold"], t["save"]) for t in r.get("tiers", ())),
                           every_fen=r.get("every"), save_fen=r.get("save"), cap_fen=r.get("cap"))
    if kind == "buy_x_get_y":
        return d.BuyXGetY(r["buy_qty"], r["get_qty"], r.get("get_percent_off_bp", 10000),
                          frozenset(r.get("get_product_ids", ())), r.get("discount_most_expensive", False),
                          r.get("mix_and_match", False))
    if kind == "gift":
        return d.Gift(r["gift_product_id"], r.get("gift_name", ""), qty_to_milli(r.get("gift_qty", "1")),
                      r.get("min_spend"), qty_to_milli(r["min_qty"]) if r.get("min_qty") else None,
                      r.get("repeat", False))
    if kind == "bundle":
        return d.Bundle(tuple(d.BundleItem(i["product_id"], i["qty"]) for i in r.get("items", ())), r["price"])
    raise ValueError(f"unknown promotion kind {kind!r}")


def _time(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


def to_domain(p: m.Promotion) -> d.Promotion:
    return d.Promotion(
        id=str(p.id), name=p.name, rule=rule_to_domain(p.rule), scope=scope_to_domain(p.scope),
        validity=d.Validity(p.start_date, p.end_date, frozenset(p.weekdays or ()), _time(p.time_from),
                            _time(p.time_to)),
        store_ids=frozenset(p.store_ids) if p.store_ids is not None else None,
        member_only=p.member_only, tier_ids=frozenset(p.tier_ids or ()), birthday_only=p.birthday_only,
        priority=p.priority, stacking=d.Stacking(p.stacking), stack_group=p.stack_group,
        stacks_with_member=p.stacks_with_member, max_uses_per_order=p.max_uses_per_order,
        max_uses_per_member=p.max_uses_per_member,
    )


def coupon_to_domain(c: m.Coupon, t: m.CouponTemplate, status: str) -> d.Coupon:
    return d.Coupon(code=c.code, kind=d.CouponKind(t.kind), value=t.value, threshold_fen=t.threshold,
                    scope=scope_to_domain(t.scope), valid_from=c.valid_from, valid_until=c.valid_until,
                    status=d.CouponStatus(status), name=t.name, template_id=str(t.id),
                    max_discount_fen=t.max_discount)
