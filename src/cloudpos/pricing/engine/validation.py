"""``validate_promotion``: refuse promotions that cannot be configured sensibly."""

from __future__ import annotations

from dataclasses import dataclass

from cloudpos.money import BP_SCALE
from cloudpos.pricing.engine.model import (
    AmountOff,
    ApplyTo,
    Bundle,
    BuyXGetY,
    Gift,
    PercentOff,
    Promotion,
    SpecialPrice,
    SpendSave,
    Validity,
)


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    zh: str
    en: str


def validate_promotion(promo: Promotion) -> list[FieldError]:
    """All problems of ``promo`` (empty list = valid)."""
    errors: list[FieldError] = []
    errors += _common(promo)
    errors += _validity(promo.validity)
    errors += _RULE_CHECKS[type(promo.rule)](promo)
    return errors


def _err(field: str, code: str, zh: str, en: str) -> FieldError:
    return FieldError(field, code, zh, en)


def _common(promo: Promotion) -> list[FieldError]:
    errors = []
    if not promo.id.strip():
        errors.append(_err("id", "required", "活动编号不能为空", "Promotion id is required"))
    if not promo.name.strip():
        errors.append(_err("name", "required", "活动名称不能为空", "Promotion name is required"))
    if promo.scope.is_empty and not isinstance(promo.rule, Bundle):
        errors.append(
            _err(
                "scope",
                "empty",
                "适用范围不能为空:请选择商品、分类或品牌,或明确选择“全场”",
                "Scope is empty: pick products, categories or brands, or explicitly choose all products",
            )
        )
    if promo.store_ids is not None and not promo.store_ids:
        errors.append(
            _err(
                "store_ids",
                "empty",
                "适用门店不能为空(不限门店请留空)",
                "Store list is empty (use none for all stores)",
            )
        )
    if promo.max_uses_per_order is not None and promo.max_uses_per_order < 1:
        errors.append(
            _err("max_uses_per_order", "min", "每单限用次数至少为 1", "Usage limit per order must be at least 1")
        )
    if promo.max_uses_per_member is not None and promo.max_uses_per_member < 1:
        errors.append(
            _err("max_uses_per_member", "min", "每位会员限用次数至少为 1", "Usage limit per member must be at least 1")
        )
    return errors


def _validity(validity: Validity) -> list[FieldError]:
    errors = []
    if validity.start_date and validity.end_date and validity.end_date < validity.start_date:
        errors.append(
            _err("validity.end_date", "before_start", "结束日期不能早于开始日期", "End date is before the start date")
        )
    if any(day not in range(1, 8) for day in validity.weekdays):
        errors.append(
            _err("validity.weekdays", "invalid", "星期须为 1(周一)到 7(周日)", "Weekdays must be 1 (Mon) to 7 (Sun)")
        )
    if _never_on_a_weekday(validity):
        errors.append(
            _err(
                "validity.weekdays",
                "never_runs",
                "所选星期不在活动日期范围内,活动一天也不会生效",
                "None of the chosen weekdays falls between the start and end dates: the promotion would never run",
            )
        )
    if validity.time_from is not None and validity.time_from == validity.time_to:
        errors.append(
            _err("validity.time_to", "empty_window", "开始时间与结束时间相同", "Start and end time are the same")
        )
    return errors


def _never_on_a_weekday(validity: Validity) -> bool:
    """A short date window (under a week) that contains none of the chosen weekdays."""
    start, end = validity.start_date, validity.end_date
    if not validity.weekdays or start is None or end is None or end < start:
        return False
    days = end.toordinal() - start.toordinal() + 1
    if days >= 7:
        return False
    first = start.isoweekday()
    covered = {(first - 1 + k) % 7 + 1 for k in range(days)}
    return covered.isdisjoint(validity.weekdays)


def _bp(field: str, bp: int) -> list[FieldError]:
    if 1 <= bp <= BP_SCALE:
        return []
    return [
        _err(
            field,
            "range",
            "折扣须在 1 到 10000 基点之间(0.01%–100%)",
            "Discount must be between 1 and 10000 bp (0.01%–100%)",
        )
    ]


def _positive(field: str, value: int | None, zh: str, en: str) -> list[FieldError]:
    if value is not None and value > 0:
        return []
    return [_err(field, "positive", f"{zh}必须大于 0", f"{en} must be greater than 0")]


def _not_negative(field: str, value: int, zh: str, en: str) -> list[FieldError]:
    if value >= 0:
        return []
    return [_err(field, "negative", f"{zh}不能为负数", f"{en} cannot be negative")]


def _threshold_vs_save(field: str, threshold: int, save: int) -> list[FieldError]:
    if threshold >= save:
        return []
    return [
        _err(
            field,
            "threshold_below_discount",
            "满减门槛不能低于优惠金额",
            "The spending threshold cannot be lower than the discount",
        )
    ]


def _check_percent(promo: Promotion) -> list[FieldError]:
    rule = promo.rule
    assert isinstance(rule, PercentOff)
    errors = _bp("rule.percent_off_bp", rule.percent_off_bp)
    errors += _not_negative("rule.min_spend_fen", rule.min_spend_fen, "最低消费", "Minimum spend")
    if rule.apply_to is ApplyTo.ITEM and rule.min_spend_fen:
        errors.append(
            _err(
                "rule.min_spend_fen",
                "item_threshold",
                "单品折扣不支持最低消费,请改为整单折扣",
                "Minimum spend applies to order discounts only",
            )
        )
    return errors


def _check_amount(promo: Promotion) -> list[FieldError]:
    rule = promo.rule
    assert isinstance(rule, AmountOff)
    errors = _positive("rule.amount_fen", rule.amount_fen, "优惠金额", "Discount amount")
    errors += _not_negative("rule.min_spend_fen", rule.min_spend_fen, "最低消费", "Minimum spend")
    if rule.apply_to is ApplyTo.ITEM and rule.min_spend_fen:
        errors.append(
            _err(
                "rule.min_spend_fen",
                "item_threshold",
                "单品立减不支持最低消费,请改为整单立减",
                "Minimum spend applies to order discounts only",
            )
        )
    elif rule.min_spend_fen > 0:
        errors += _threshold_vs_save("rule.min_spend_fen", rule.min_spend_fen, rule.amount_fen)
    return errors


def _check_special(promo: Promotion) -> list[FieldError]:
    rule = promo.rule
    assert isinstance(rule, SpecialPrice)
    errors = _not_negative("rule.unit_price_fen", rule.unit_price_fen, "特价", "Special price")
    scope = promo.scope
    if scope.scope_all or scope.category_ids or scope.brand_ids or not scope.product_ids:
        errors.append(
            _err(
                "scope.product_ids",
                "products_only",
                "特价活动须按商品设置(选择具体商品)",
                "A special price is set per product: pick the products",
            )
        )
    return errors


def _check_spend_save(promo: Promotion) -> list[FieldError]:
    rule = promo.rule
    assert isinstance(rule, SpendSave)
    has_repeat = rule.every_fen is not None or rule.save_fen is not None
    if rule.tiers and has_repeat:
        return [_err("rule", "ambiguous", "满减只能是阶梯或每满其一", "Use either tiers or a repeating rule, not both")]
    if rule.tiers:
        return _check_tiers(rule)
    if not has_repeat:
        return [_err("rule.tiers", "required", "请设置满减门槛和优惠", "Set the thresholds and discounts")]
    errors = _positive("rule.every_fen", rule.every_fen, "每满金额", "Repeat threshold")
    errors += _positive("rule.save_fen", rule.save_fen, "优惠金额", "Discount amount")
    if not errors:
        errors += _threshold_vs_save("rule.every_fen", rule.every_fen or 0, rule.save_fen or 0)
    if rule.cap_fen is not None and rule.cap_fen < (rule.save_fen or 0):
        errors.append(
            _err("rule.cap_fen", "below_save", "封顶金额不能低于单次优惠", "The cap cannot be lower than one discount")
        )
    return errors


def _check_tiers(rule: SpendSave) -> list[FieldError]:
    errors: list[FieldError] = []
    for n, tier in enumerate(rule.tiers):
        field = f"rule.tiers[{n}]"
        errors += _positive(f"{field}.threshold_fen", tier.threshold_fen, "门槛金额", "Threshold")
        errors += _positive(f"{field}.save_fen", tier.save_fen, "优惠金额", "Discount amount")
        errors += _threshold_vs_save(f"{field}.threshold_fen", tier.threshold_fen, tier.save_fen)
    for n, (low, high) in enumerate(zip(rule.tiers, rule.tiers[1:], strict=False), start=1):
        if high.threshold_fen <= low.threshold_fen or high.save_fen < low.save_fen:
            errors.append(
                _err(
                    f"rule.tiers[{n}]",
                    "not_increasing",
                    "阶梯门槛须递增,且更高门槛的优惠不能更少",
                    "Tier thresholds must increase and a higher tier cannot save less",
                )
            )
    return errors


def _check_bxgy(promo: Promotion) -> list[FieldError]:
    rule = promo.rule
    assert isinstance(rule, BuyXGetY)
    errors = []
    if rule.buy_qty < 1:
        errors.append(_err("rule.buy_qty", "min", "“买”的数量至少为 1", "Buy quantity must be at least 1"))
    if rule.get_qty < 1:
        errors.append(_err("rule.get_qty", "min", "“送/优惠”的数量至少为 1", "Get quantity must be at least 1"))
    return errors + _bp("rule.get_percent_off_bp", rule.get_percent_off_bp)


def _check_gift(promo: Promotion) -> list[FieldError]:
    rule = promo.rule
    assert isinstance(rule, Gift)
    errors = []
    if not rule.gift_product_id.strip():
        errors.append(_err("rule.gift_product_id", "required", "请选择赠品", "Pick the gift product"))
    errors += _positive("rule.gift_qty_milli", rule.gift_qty_milli, "赠品数量", "Gift quantity")
    if rule.min_spend_fen is None and rule.min_qty_milli is None:
        errors.append(
            _err("rule", "no_trigger", "请设置赠送条件(满金额或满数量)", "Set a trigger: minimum spend or quantity")
        )
    if rule.min_spend_fen is not None:
        errors += _positive("rule.min_spend_fen", rule.min_spend_fen, "满赠金额", "Minimum spend")
    if rule.min_qty_milli is not None:
        errors += _positive("rule.min_qty_milli", rule.min_qty_milli, "满赠数量", "Minimum quantity")
    return errors


def _check_bundle(promo: Promotion) -> list[FieldError]:
    rule = promo.rule
    assert isinstance(rule, Bundle)
    errors = []
    products = [item.product_id for item in rule.items]
    if len(set(products)) < 2:
        errors.append(
            _err("rule.items", "min_items", "组合至少包含 2 种不同商品", "A bundle needs at least 2 different products")
        )
    if len(set(products)) != len(products):
        errors.append(_err("rule.items", "duplicate", "组合中商品重复", "A product appears twice in the bundle"))
    for n, item in enumerate(rule.items):
        errors += _positive(f"rule.items[{n}].qty", item.qty, "商品数量", "Quantity")
    errors += _positive("rule.price_fen", rule.price_fen, "组合价", "Bundle price")
    return errors


_RULE_CHECKS = {
    PercentOff: _check_percent,
    AmountOff: _check_amount,
    SpecialPrice: _check_special,
    SpendSave: _check_spend_save,
    BuyXGetY: _check_bxgy,
    Gift: _check_gift,
    Bundle: _check_bundle,
}
