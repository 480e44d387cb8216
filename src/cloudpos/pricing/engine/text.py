"""Bilingual (zh-CN / en) wording of rules, coupons and approvals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cloudpos.money import format_yuan, format_yuan_compact, milli_to_str
from cloudpos.pricing.engine.model import (
    AmountOff,
    ApplyTo,
    Bundle,
    BuyXGetY,
    Coupon,
    CouponKind,
    Gift,
    ManualDiscount,
    PercentOff,
    Promotion,
    Scope,
    SpecialPrice,
    SpendSave,
    Validity,
)
from cloudpos.pricing.engine.result import Message

Names = Mapping[str, str]
_NO_NAMES: Names = {}
_WEEKDAYS_ZH = {1: "一", 2: "二", 3: "三", 4: "四", 5: "五", 6: "六", 7: "日"}
_WEEKDAYS_EN = {1: "Mon", 2: "Tue", 3: "Wed", 4: "Thu", 5: "Fri", 6: "Sat", 7: "Sun"}


def _strip(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def zhe(percent_off_bp: int) -> str:
    """Discount in bp -> Chinese 折 number: 1200 -> "8.8", 1000 -> "9", 1150 -> "8.85"."""
    pay = 10_000 - percent_off_bp
    return _strip(f"{pay // 1000}.{pay % 1000:03d}")


def percent(bp: int) -> str:
    """bp -> percent number: 1200 -> "12", 1250 -> "12.5"."""
    return _strip(f"{bp // 100}.{bp % 100:02d}")


def yuan(amount_fen: int) -> str:
    return format_yuan_compact(amount_fen)


def qty(qty_milli: int) -> str:
    return _strip(milli_to_str(qty_milli))


def _name(names: Names, key: str) -> str:
    return names.get(key, key)


def _join(names: Names, keys: Iterable[str], sep: str) -> str:
    return sep.join(_name(names, k) for k in sorted(keys))


def name_list(names: Names, keys: Iterable[str], unit_zh: str, unit_en: str) -> tuple[str, str]:
    """Display names of ``keys`` (zh, en), never raw ids: ids without a name are counted,
    e.g. ("南山店、福田店及其他 1 家门店", "Futian, Nanshan and 1 other store(s)")."""
    known: list[str] = []
    unknown = 0
    for key in keys:
        found = names.get(key)
        if found:
            known.append(found)
        else:
            unknown += 1
    known.sort()
    zh, en = "、".join(known), ", ".join(known)
    if unknown:
        zh += f"{'及' if known else ''}其他 {unknown} {unit_zh}"
        en += f"{' and ' if known else ''}{unknown} other {unit_en}"
    return zh, en


# --------------------------------------------------------------------------- rules


def rule_text(promo: Promotion, lang: str, names: Names = _NO_NAMES) -> str:
    """The rule alone, e.g. "满 100 减 10" / "Spend ¥100, save ¥10"."""
    zh, en = _rule_pair(promo, names)
    return en if _is_en(lang) else zh


def compact_rule(promo: Promotion, names: Names = _NO_NAMES) -> Message:
    """Short form used in explanations: "满100减10" / "Spend ¥100 save ¥10"."""
    zh, en = _rule_pair(promo, names)
    return Message(zh.replace(" ", ""), en.replace(", ", " "))


def _rule_pair(promo: Promotion, names: Names) -> tuple[str, str]:
    rule = promo.rule
    if isinstance(rule, PercentOff):
        return _percent_text(rule)
    if isinstance(rule, AmountOff):
        return _amount_text(rule)
    if isinstance(rule, SpecialPrice):
        return f"特价 {yuan(rule.unit_price_fen)} 元", f"Special price ¥{yuan(rule.unit_price_fen)}"
    if isinstance(rule, SpendSave):
        return _spend_save_text(rule)
    if isinstance(rule, BuyXGetY):
        return _bxgy_text(rule, names)
    if isinstance(rule, Gift):
        return _gift_text(rule)
    return _bundle_text(rule, names)


def _percent_text(rule: PercentOff) -> tuple[str, str]:
    z, p = zhe(rule.percent_off_bp), percent(rule.percent_off_bp)
    if rule.apply_to is ApplyTo.ITEM:
        return f"单品 {z} 折", f"{p}% off each item"
    if rule.min_spend_fen > 0:
        t = yuan(rule.min_spend_fen)
        return f"满 {t} 打 {z} 折", f"Spend ¥{t}, get {p}% off"
    return f"整单 {z} 折", f"{p}% off the order"


def _amount_text(rule: AmountOff) -> tuple[str, str]:
    a = yuan(rule.amount_fen)
    if rule.apply_to is ApplyTo.ITEM:
        return f"每件立减 {a} 元", f"¥{a} off each item"
    if rule.min_spend_fen > 0:
        t = yuan(rule.min_spend_fen)
        return f"满 {t} 减 {a}", f"Spend ¥{t}, save ¥{a}"
    return f"整单立减 {a} 元", f"¥{a} off the order"


def _spend_save_text(rule: SpendSave) -> tuple[str, str]:
    if rule.tiers:
        zh = "、".join(f"满 {yuan(t.threshold_fen)} 减 {yuan(t.save_fen)}" for t in rule.tiers)
        en = " / ".join(f"Spend ¥{yuan(t.threshold_fen)}, save ¥{yuan(t.save_fen)}" for t in rule.tiers)
        return zh, en
    every, save = yuan(rule.every_fen or 0), yuan(rule.save_fen or 0)
    zh, en = f"每满 {every} 减 {save}", f"Save ¥{save} for every ¥{every} spent"
    if rule.cap_fen is not None:
        zh += f"(最多减 {yuan(rule.cap_fen)})"
        en += f" (up to ¥{yuan(rule.cap_fen)})"
    return zh, en


def _bxgy_text(rule: BuyXGetY, names: Names) -> tuple[str, str]:
    x, y, bp = rule.buy_qty, rule.get_qty, rule.get_percent_off_bp
    free = bp >= 10_000
    if rule.get_product_ids:
        target, target_en = name_list(names, rule.get_product_ids, "种商品", "product(s)")
        deal_zh = "" if free else f" {zhe(bp)} 折"
        deal_en = "free" if free else f"at {percent(bp)}% off"
        zh, en = f"买 {x} 件送 {target} {y} 件{deal_zh}", f"Buy {x}, get {y} × {target_en} {deal_en}"
    elif free:
        zh, en = f"买 {x} 送 {y}", f"Buy {x} get {y} free"
    elif x == 1 and y == 1:
        deal_zh = "半价" if bp == 5000 else f" {zhe(bp)} 折"
        deal_en = "half price" if bp == 5000 else f"{percent(bp)}% off"
        zh, en = f"第 2 件{deal_zh}", f"2nd item {deal_en}"
    else:
        zh, en = f"买 {x} 件另 {y} 件 {zhe(bp)} 折", f"Buy {x}, get {y} at {percent(bp)}% off"
    if rule.mix_and_match:
        zh, en = "任选" + zh, en + " (mix and match)"
    if rule.discount_most_expensive:
        zh, en = zh + "(优惠最贵的商品)", en + " (most expensive item discounted)"
    return zh, en


def _gift_text(rule: Gift) -> tuple[str, str]:
    gift = f"{rule.gift_name} ×{qty(rule.gift_qty_milli)}"
    conditions_zh, conditions_en = [], []
    if rule.min_spend_fen is not None:
        conditions_zh.append(f"满 {yuan(rule.min_spend_fen)} 元")
        conditions_en.append(f"¥{yuan(rule.min_spend_fen)} spent")
    if rule.min_qty_milli is not None:
        conditions_zh.append(f"买满 {qty(rule.min_qty_milli)} 件")
        conditions_en.append(f"{qty(rule.min_qty_milli)} bought")
    condition_en = " and ".join(conditions_en)
    if rule.repeat:
        return "每" + "且".join(conditions_zh) + f"送 {gift}", f"For every {condition_en}, get {gift} free"
    return "".join(conditions_zh[:1]) + "".join("且" + c for c in conditions_zh[1:]) + f"送 {gift}", (
        f"With {condition_en}, get {gift} free"
    )


def _bundle_text(rule: Bundle, names: Names) -> tuple[str, str]:
    items = " + ".join(f"{_name(names, i.product_id)} ×{i.qty}" for i in rule.items)
    return f"{items} 组合价 {yuan(rule.price_fen)} 元", f"Bundle {items} for ¥{yuan(rule.price_fen)}"


# --------------------------------------------------------------------------- describe


def describe_promotion(promo: Promotion, lang: str = "zh", names: Names | None = None) -> str:
    """Explain a promotion in words.

    ``names`` maps category / brand / product / tier / store ids to display
    names (pass names in the wanted language). Example:
    "满 100 减 10,可叠加会员折扣,仅限饮料类" / "Spend ¥100, save ¥10; stacks with
    member discount; beverages only".
    """
    names = names or _NO_NAMES
    en = _is_en(lang)
    parts = [rule_text(promo, lang, names)]
    parts += _condition_parts(promo, en, names)
    parts += _scope_parts(promo, en, names)
    parts += _validity_parts(promo.validity, en)
    return ("; " if en else ",").join(p for p in parts if p)


def _condition_parts(promo: Promotion, en: bool, names: Names) -> list[str]:
    parts = []
    if promo.max_uses_per_order is not None:
        n = promo.max_uses_per_order
        parts.append(f"max {n} per order" if en else f"每单限 {n} 次")
    if promo.max_uses_per_member is not None:
        n = promo.max_uses_per_member
        parts.append(f"each member up to {n} time(s)" if en else f"每位会员限 {n} 次")
    if promo.exclusive:
        parts.append("cannot be combined with other promotions" if en else "不与其他活动同享")
    elif promo.stack_group:
        g = promo.stack_group
        parts.append(f"does not stack with other '{g}' promotions" if en else f"不与同组({g})活动叠加")
    if promo.stacks_with_member:
        parts.append("stacks with member discount" if en else "可叠加会员折扣")
    else:
        parts.append("not combined with member price/discount" if en else "不与会员优惠同享")
    if promo.member_only:
        parts.append("members only" if en else "仅限会员")
    if promo.tier_ids:
        tiers_zh, tiers_en = name_list(names, promo.tier_ids, "个会员等级", "tier(s)")
        tiers = tiers_en if en else tiers_zh
        parts.append(f"member tiers {tiers} only" if en else f"仅限会员等级 {tiers}")
    if promo.birthday_only:
        parts.append("on the member's birthday" if en else "会员生日当天")
    return parts


def _scope_parts(promo: Promotion, en: bool, names: Names) -> list[str]:
    if isinstance(promo.rule, Bundle):
        return []
    scope = promo.scope
    parts = [_scope_text(scope, en, names)]
    excluded = sorted(scope.exclude_category_ids | scope.exclude_brand_ids | scope.exclude_product_ids)
    if excluded:
        listed = _join(names, excluded, ", " if en else "、")
        parts.append(f"excluding {listed}" if en else f"不含 {listed}")
    if promo.store_ids is not None:
        stores_zh, stores_en = name_list(names, promo.store_ids, "家门店", "store(s)")
        parts.append(f"stores: {stores_en}" if en else f"适用门店:{stores_zh}")
    return parts


def _scope_text(scope: Scope, en: bool, names: Names) -> str:
    if scope.scope_all:
        return "all products" if en else "全场通用"
    if en:
        listed = [_name(names, k) for k in sorted(scope.category_ids | scope.brand_ids | scope.product_ids)]
        return ", ".join(listed) + " only"
    listed = [f"{_name(names, k)}类" for k in sorted(scope.category_ids)]
    listed += [f"{_name(names, k)}品牌" for k in sorted(scope.brand_ids)]
    listed += [_name(names, k) for k in sorted(scope.product_ids)]
    return "仅限" + "、".join(listed)


def _validity_parts(validity: Validity, en: bool) -> list[str]:
    parts = []
    if validity.start_date or validity.end_date:
        start = validity.start_date.isoformat() if validity.start_date else "…"
        end = validity.end_date.isoformat() if validity.end_date else "…"
        parts.append(f"{start} to {end}" if en else f"{start} 至 {end}")
    if validity.weekdays:
        days = sorted(validity.weekdays)
        if en:
            parts.append("on " + ", ".join(_WEEKDAYS_EN.get(d, str(d)) for d in days))
        else:
            parts.append("每周" + "、".join(_WEEKDAYS_ZH.get(d, str(d)) for d in days))
    if validity.time_from or validity.time_to:
        start = validity.time_from.strftime("%H:%M") if validity.time_from else "00:00"
        end = validity.time_to.strftime("%H:%M") if validity.time_to else "24:00"
        parts.append(f"{start}–{end}")
    return parts


def _is_en(lang: str) -> bool:
    return lang.lower().startswith("en")


# --------------------------------------------------------------------------- coupons & manual


def coupon_rule(coupon: Coupon) -> Message:
    threshold = yuan(coupon.threshold_fen)
    if coupon.kind is CouponKind.PERCENT_OFF:
        z, p = zhe(coupon.value), percent(coupon.value)
        if coupon.threshold_fen > 0:
            return Message(f"满{threshold}打{z}折", f"Spend ¥{threshold}, get {p}% off")
        return Message(f"{z}折", f"{p}% off")
    amount = yuan(coupon.value)
    if coupon.threshold_fen > 0:
        return Message(f"满{threshold}减{amount}", f"Spend ¥{threshold} save ¥{amount}")
    return Message(f"减{amount}元", f"¥{amount} off")


_COUPON_REASONS: dict[str, tuple[str, str]] = {
    "status": ("{status_zh}", "status is {status}"),
    "not_started": ("尚未到使用时间", "not valid yet"),
    "expired": ("已过期", "expired"),
    "duplicate": ("同一张券每单只能使用一次", "already used in this order (single use)"),
    "invalid_value": ("券面值无效", "invalid coupon value"),
    "no_eligible_items": ("购物车中没有适用商品", "no eligible items in the cart"),
}


_STATUS_ZH = {"used": "已使用", "expired": "已过期", "void": "已作废", "active": "可用"}


def coupon_messages(coupon: Coupon, reason: str, amount: int, missing: int = 0) -> Message:
    rule = coupon_rule(coupon)
    code = coupon.code
    if reason == "applied":
        return Message(
            f"优惠券 {code}({rule.zh}),已减{format_yuan(amount)}元",
            f"Coupon {code} ({rule.en}): -¥{format_yuan(amount)}",
        )
    if reason == "below_threshold":
        t = format_yuan(coupon.threshold_fen)
        return Message(
            f"优惠券 {code} 不可用:适用商品未满{t}元,还差{format_yuan(missing)}元",
            f"Coupon {code} unusable: needs ¥{t} of eligible items, ¥{format_yuan(missing)} short",
        )
    zh, en = _COUPON_REASONS[reason]
    status = str(coupon.status)
    status_zh = _STATUS_ZH.get(status, f"状态为 {status}")
    return Message(
        f"优惠券 {code} 不可用:" + zh.format(status_zh=status_zh),
        f"Coupon {code} unusable: " + en.format(status=status),
    )


def manual_approval_message(discount: ManualDiscount, requested_bp: int) -> Message:
    target_zh = "整单" if discount.line_id is None else f"商品行 {discount.line_id} "
    target_en = "order" if discount.line_id is None else f"line {discount.line_id}"
    req, allowed = percent(requested_bp), percent(discount.max_allowed_bp)
    return Message(
        f"{target_zh}手工折扣 {req}% 超出权限(最多 {allowed}%),需主管授权后生效",
        f"Manual {target_en} discount of {req}% exceeds the cashier limit of {allowed}%: needs approval",
    )


def gift_message(promo: Promotion, qty_milli: int) -> Message:
    assert isinstance(promo.rule, Gift)
    gift = promo.rule.gift_name
    amount = qty(qty_milli)
    return Message(f"【{promo.name}】赠送 {gift} ×{amount}", f"[{promo.name}] free gift: {gift} ×{amount}")
