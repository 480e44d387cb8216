"""The ``explanation`` list of a priced cart: why every discount is there (zh + en)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from cloudpos.money import format_yuan
from cloudpos.pricing.engine.context import Applicable, PricingContext
from cloudpos.pricing.engine.evaluate import State
from cloudpos.pricing.engine.model import Bundle, BuyXGetY, Promotion
from cloudpos.pricing.engine.result import CouponUse, Message, SourceKind
from cloudpos.pricing.engine.search import Choice, Combo
from cloudpos.pricing.engine.text import compact_rule, gift_message, name_list

_MAX_ALTERNATIVES = 3
_MAX_SKIPPED = 6  # messages about promotions held back; the rest are counted in one line


class Skipped(NamedTuple):
    """A promotion that would touch the cart now but is held back, and why (a reason code of
    ``PricingContext.customer_problem`` or ``"store"``)."""

    promo: Promotion
    reason: str


def explain(
    ctx: PricingContext,
    choice: Choice,
    skipped: Sequence[Skipped],
    coupons: Sequence[CouponUse],
    cash_rounding_fen: int,
    names: Mapping[str, str] | None = None,
) -> tuple[Message, ...]:
    state = choice.best.state
    messages: list[Message] = []
    messages += _member_messages(ctx, state)
    messages += _promotion_messages(ctx, choice.best.combo, state)
    messages += _choice_messages(choice)
    messages += [use.message for use in coupons]
    messages += _manual_messages(ctx, state)
    messages += [a.message for a in state.approvals]
    messages += _skipped_messages(ctx, skipped, {} if names is None else names)
    if cash_rounding_fen:
        sign = "-" if cash_rounding_fen < 0 else "+"
        amount = format_yuan(abs(cash_rounding_fen))
        messages.append(Message(f"现金舍入 {sign}{amount} 元", f"Cash rounding: {sign}¥{amount}"))
    return tuple(messages)


def _money(amount: int) -> tuple[str, str]:
    value = format_yuan(amount)
    return f"已减{value}元", f"-¥{value}"


def _member_messages(ctx: PricingContext, state: State) -> list[Message]:
    totals: dict[tuple[str, str], int] = {}
    for benefit, active in zip(ctx.benefits, state.member_active, strict=True):
        if benefit is not None and active:
            key = (benefit.name_zh, benefit.name_en)
            totals[key] = totals.get(key, 0) + benefit.amount_fen
    out = []
    for (zh, en), amount in sorted(totals.items()):
        saved_zh, saved_en = _money(amount)
        out.append(Message(f"{zh},{saved_zh}", f"{en}: {saved_en}"))
    return out


def _promotion_messages(ctx: PricingContext, combo: Combo, state: State) -> list[Message]:
    out = []
    products: dict[str, str] | None = None  # the cart's product names, for rules that name products
    for applicable in sorted(combo, key=lambda a: a.sort_key):
        promo = applicable.promo
        amount = state.promo_amounts.get(promo.id)
        if amount:
            if isinstance(promo.rule, BuyXGetY | Bundle):  # names products: the cart's names
                if products is None:
                    products = {line.product_id: line.name for line in ctx.lines}
                rule = compact_rule(promo, products)
            else:
                rule = _cached_rule(promo)
            saved_zh, saved_en = _money(amount)
            if promo.name in ("", rule.zh, rule.en):  # the name is just the rule: do not repeat it
                out.append(Message(f"{rule.zh},{saved_zh}", f"{rule.en}: {saved_en}"))
            else:
                out.append(Message(f"【{promo.name}】{rule.zh},{saved_zh}", f"[{promo.name}] {rule.en}: {saved_en}"))
        lost = state.member_preferred.get(promo.id)
        if lost:
            out.append(
                Message(
                    f"「{promo.name}」不与会员优惠同享,{lost} 个商品行的会员价更优惠,已保留会员价",
                    f"'{promo.name}' does not combine with member prices; kept the cheaper member price "
                    f"on {lost} line(s)",
                )
            )
    out += [gift_message(promo, qty) for promo, qty in state.gifts]
    return out


_MAX_NAMES = 6
_RULE_CACHE_SIZE = 4096
_rule_cache: dict[int, tuple[Promotion, Message]] = {}


def _cached_rule(promo: Promotion) -> Message:
    """``compact_rule`` of a rule that names no product, remembered per promotion object (the
    service reuses its promotions until they change; the entry keeps the object, so its id is not reused)."""
    hit = _rule_cache.get(id(promo))
    if hit is not None and hit[0] is promo:
        return hit[1]
    rule = compact_rule(promo)
    if len(_rule_cache) >= _RULE_CACHE_SIZE:
        _rule_cache.clear()
    _rule_cache[id(promo)] = (promo, rule)
    return rule


def _combo_label(combo: Combo) -> tuple[str, str]:
    if not combo:
        return "不使用促销活动", "no promotion"
    names = [_name(a) for a in sorted(combo, key=lambda a: a.sort_key)]
    return _names_zh(names, " + "), _names_en(names, " + ")


def _names_zh(names: list[str], sep: str = "、") -> str:
    shown = sep.join(f"「{n}」" for n in names[:_MAX_NAMES])
    return shown if len(names) <= _MAX_NAMES else f"{shown} 等 {len(names)} 个活动"


def _names_en(names: list[str], sep: str = ", ") -> str:
    shown = sep.join(f"'{n}'" for n in names[:_MAX_NAMES])
    return shown if len(names) <= _MAX_NAMES else f"{shown} and {len(names) - _MAX_NAMES} more"


def _choice_messages(choice: Choice) -> list[Message]:
    best = choice.best
    label_zh, label_en = _combo_label(best.combo)
    total = format_yuan(best.state.total)
    if choice.given:
        return [
            Message(f"按指定的活动组合计价:{label_zh},应付 {total} 元", f"Priced as requested: {label_en}, ¥{total}")
        ]
    if len(choice.evaluated) <= 1 and not best.combo:
        return [Message("没有适用的促销活动", "No promotion applies to this cart")]
    n = len(choice.evaluated)
    if choice.exhaustive:
        how_zh, how_en = f"已比较全部 {n} 种可行的活动组合", f"Compared all {n} valid promotion combinations"
    else:
        k = choice.ruled_out
        how_zh = (
            f"可叠加活动每组取最优后,与不使用促销、各独享活动单独使用相比较(共 {n + k} 种方案,"
            f"其中 {k} 种的最大可能优惠已不及最优方案,直接排除)"
        )
        how_en = (
            f"Compared the best stackable set (one per group) with no promotion and each exclusive promotion"
            f" alone ({n + k} options, {k} ruled out because even their maximum saving could not win)"
        )
    out = [
        Message(
            f"{how_zh},选择 {label_zh},应付 {total} 元,对顾客最优惠",
            f"{how_en}; chose {label_en}: pay ¥{total}, the best price for the customer",
        )
    ]
    out += _alternative_messages(choice)
    out += _exclusive_messages(choice)
    out += _group_messages(choice)
    return out


def _alternative_messages(choice: Choice) -> list[Message]:
    others = sorted((e for e in choice.evaluated if e is not choice.best), key=lambda e: e.key)
    out = []
    for other in others[:_MAX_ALTERNATIVES]:
        zh, en = _combo_label(other.combo)
        total = format_yuan(other.state.total)
        tie_zh, tie_en = _tie_reason(choice.best.key, other.key)
        out.append(Message(f"未选方案 {zh}:应付 {total} 元{tie_zh}", f"Not chosen {en}: pay ¥{total}{tie_en}"))
    return out


def _tie_reason(best: tuple, other: tuple) -> tuple[str, str]:
    if best[0] != other[0]:
        return "", ""
    if best[1] != other[1]:
        return "(同价,所选方案赠品更多)", " (same price; the chosen one has more gifts)"
    return "(同价,按优先级、再按编号取舍)", " (same price: decided by priority, then id)"


def _exclusive_messages(choice: Choice) -> list[Message]:
    chosen = choice.best.combo
    out = []
    if len(chosen) == 1 and chosen[0].promo.exclusive:
        name = chosen[0].promo.name
        out.append(
            Message(
                f"「{name}」为独享活动,不与其他活动同享;单独使用比叠加其他活动更优惠",
                f"'{name}' is exclusive (combines with no other promotion) and alone gives the better price",
            )
        )
    exclusive = [
        e for e in choice.evaluated if len(e.combo) == 1 and e.combo[0].promo.exclusive and e is not choice.best
    ]
    pruned = [
        Message(
            f"独享活动「{a.promo.name}」最多优惠 {format_yuan(saving)} 元,不及所选方案,未采用",
            f"Exclusive '{a.promo.name}' saves at most ¥{format_yuan(saving)}, less than the chosen option: not used",
        )
        for a, saving in choice.pruned[:_MAX_ALTERNATIVES]
    ]
    return (
        out
        + pruned
        + [
            Message(
                f"独享活动「{e.combo[0].promo.name}」不与其他活动同享,单独使用应付 {format_yuan(e.state.total)} 元,"
                "不如所选方案,未采用",
                f"Exclusive '{e.combo[0].promo.name}' alone would cost ¥{format_yuan(e.state.total)}: not used",
            )
            for e in exclusive[:_MAX_ALTERNATIVES]
        ]
    )


def _group_messages(choice: Choice) -> list[Message]:
    out = []
    for group in choice.groups:
        others = [_name(o) for o in group.others]
        other_zh, other_en = _names_zh(others), _names_en(others)
        name = _name(group.chosen)
        out.append(
            Message(
                f"同组({group.group})活动不叠加:选用「{name}」(优惠最大),未用 {other_zh}",
                f"Stack group '{group.group}' allows one promotion: chose '{name}' (biggest saving) over {other_en}",
            )
        )
    return out


def _name(applicable: Applicable) -> str:
    return applicable.promo.name or applicable.promo.id


def _manual_messages(ctx: PricingContext, state: State) -> list[Message]:
    if not ctx.cart.manual_discounts:
        return []
    totals: dict[str, tuple[str, int]] = {}
    for entries in state.entries:
        for kind, source_id, name, amount, _level in entries:
            if kind is SourceKind.MANUAL:
                label, so_far = totals.get(source_id, (name, 0))
                totals[source_id] = (label, so_far + amount)
    out = []
    for _source, (name, amount) in sorted(totals.items()):
        saved_zh, saved_en = _money(amount)
        out.append(Message(f"手工折扣({name}),{saved_zh}", f"Manual discount ({name}): {saved_en}"))
    return out


_SKIP_ORDER = {"member_limit_reached": 0, "member_limit": 1, "member_only": 2, "tier": 3, "birthday": 4, "store": 5}


def _skipped_messages(ctx: PricingContext, skipped: Sequence[Skipped], names: Mapping[str, str]) -> list[Message]:
    ordered = sorted(skipped, key=lambda k: (_SKIP_ORDER.get(k.reason, 9), k.promo.id))
    out = [_skipped_message(ctx, k.promo, k.reason, names) for k in ordered[:_MAX_SKIPPED]]
    rest = len(ordered) - _MAX_SKIPPED
    if rest > 0:
        out.append(
            Message(
                f"另有 {rest} 个活动因门店或会员条件不适用本单",
                f"{rest} more promotion(s) do not apply here (store or member conditions)",
            )
        )
    return out


def _skipped_message(ctx: PricingContext, promo: Promotion, reason: str, names: Mapping[str, str]) -> Message:
    name = promo.name or promo.id
    limit = promo.max_uses_per_member
    if reason == "member_limit_reached":
        used = ctx.customer.promotion_uses.get(promo.id, 0)
        return Message(
            f"「{name}」每位会员限用 {limit} 次,该会员已用 {used} 次,本单不再享受",
            f"'{name}' is limited to {limit} use(s) per member and this member has used it {used} time(s):"
            " not applied",
        )
    if reason == "member_limit":
        return Message(
            f"「{name}」每位会员限用 {limit} 次,需登记会员后享受",
            f"'{name}' is limited to {limit} use(s) per member: identify the member to get it",
        )
    if reason == "member_only":
        return Message(f"「{name}」仅限会员,本单顾客不是会员", f"'{name}' is for members only: not applied")
    if reason == "tier":
        zh, en = name_list(names, promo.tier_ids, "个会员等级", "member tier(s)")
        return Message(
            f"「{name}」仅限会员等级 {zh},本单顾客不满足", f"'{name}' is for member tiers {en} only: not applied"
        )
    if reason == "birthday":
        return Message(f"「{name}」仅限会员生日当天,本单不适用", f"'{name}' is for the member's birthday only")
    stores = promo.store_ids or frozenset()
    zh, en = name_list(names, stores, "家门店", "store(s)")
    return Message(f"「{name}」仅限 {zh} 使用,本店不参与", f"'{name}' runs only at {en}: not at this store")
