"""Kind-specific discount computations. Pure functions over integer amounts.

Item rules get the canonical indices of the lines they may touch and the
*basis* amount of each (what the line costs before this rule) and return the
discount per line (same order, each ``0 <= d <= basis``).

Order rules get the threshold base (scope amount after item promotions) and
return one discount for the whole scope, which the caller allocates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import lcm

from cloudpos.money import BP_SCALE, MILLI, allocate, apply_bp, line_amount, round_half_up
from cloudpos.pricing.engine.context import PricingContext
from cloudpos.pricing.engine.model import (
    AmountOff,
    Bundle,
    BuyXGetY,
    Gift,
    PercentOff,
    Promotion,
    SpecialPrice,
    SpendSave,
)

ItemRule = Callable[[PricingContext, Promotion, Sequence[int], Sequence[int]], list[int]]

# Units of a line a rule may use: (canonical index, position in idxs, whole units, basis, qty_milli)
_Pool = list[tuple[int, int, int, int, int]]


def _clamp_bp(bp: int) -> int:
    return min(max(bp, 0), BP_SCALE)


def _uses_left(promo: Promotion) -> int | None:
    return None if promo.max_uses_per_order is None else max(promo.max_uses_per_order, 0)


def whole_units(ctx: PricingContext, index: int) -> int:
    line = ctx.lines[index]
    return 0 if line.sold_by_weight else line.qty_milli // MILLI


def _used_qty(ctx: PricingContext, promo: Promotion, idxs: Sequence[int], bases: Sequence[int]) -> list[int]:
    """Milli-quantity of each line a per-item rule applies to, honouring the per-order use limit.

    One use = one whole unit (or one weighed line). Limited uses go to the
    most expensive units first (ties: canonical order), so line order never matters.
    """
    qtys = [ctx.lines[i].qty_milli for i in idxs]
    remaining = _uses_left(promo)
    if remaining is None:
        return qtys
    used = [0] * len(idxs)
    order: Sequence[int] = range(len(idxs))
    if len(idxs) > 1:
        prices = unit_price_keys(bases, qtys)
        order = sorted(order, key=lambda k: (-prices[k], idxs[k]))
    for k in order:
        if remaining <= 0:
            break
        units = whole_units(ctx, idxs[k]) or 1
        if units <= remaining:
            used[k] = qtys[k]
            remaining -= units
        else:
            used[k] = remaining * MILLI
            remaining = 0
    return used


def _share(basis: int, used_milli: int, qty_milli: int) -> int:
    return basis if used_milli == qty_milli else round_half_up(basis * used_milli, qty_milli)


def special_price(ctx: PricingContext, promo: Promotion, idxs: Sequence[int], bases: Sequence[int]) -> list[int]:
    rule = promo.rule
    assert isinstance(rule, SpecialPrice)
    unit_price = max(rule.unit_price_fen, 0)
    lines = ctx.lines
    if promo.max_uses_per_order is None:
        targets = [line_amount(unit_price, lines[i].qty_milli) for i in idxs]
        return [max(0, basis - target) for basis, target in zip(bases, targets, strict=True)]
    out = []
    for k, used in enumerate(_used_qty(ctx, promo, idxs, bases)):
        share = _share(bases[k], used, lines[idxs[k]].qty_milli)
        out.append(max(0, share - line_amount(unit_price, used)))
    return out


def item_percent_off(ctx: PricingContext, promo: Promotion, idxs: Sequence[int], bases: Sequence[int]) -> list[int]:
    rule = promo.rule
    assert isinstance(rule, PercentOff)
    bp = _clamp_bp(rule.percent_off_bp)
    if promo.max_uses_per_order is None:
        return [apply_bp(basis, bp) for basis in bases]
    out = []
    for k, used in enumerate(_used_qty(ctx, promo, idxs, bases)):
        qty = ctx.lines[idxs[k]].qty_milli
        out.append(round_half_up(bases[k] * used * bp, qty * BP_SCALE))
    return out


def item_amount_off(ctx: PricingContext, promo: Promotion, idxs: Sequence[int], bases: Sequence[int]) -> list[int]:
    rule = promo.rule
    assert isinstance(rule, AmountOff)
    per_unit = max(rule.amount_fen, 0)
    lines = ctx.lines
    if promo.max_uses_per_order is None:
        return [min(basis, line_amount(per_unit, lines[i].qty_milli)) for basis, i in zip(bases, idxs, strict=True)]
    out = []
    for k, used in enumerate(_used_qty(ctx, promo, idxs, bases)):
        share = _share(bases[k], used, lines[idxs[k]].qty_milli)
        out.append(min(share, line_amount(per_unit, used)))
    return out


# --------------------------------------------------------------------------- multi-line item rules


def _pool(ctx: PricingContext, idxs: Sequence[int], bases: Sequence[int], positions: Sequence[int]) -> _Pool:
    pool = []
    for k in positions:
        units = whole_units(ctx, idxs[k])
        if units:
            pool.append((idxs[k], k, units, bases[k], ctx.lines[idxs[k]].qty_milli))
    return pool


def unit_price_keys(amounts: Sequence[int], qtys: Sequence[int]) -> list[int]:
    """Integers ordered exactly like the unit prices ``amount / qty`` (scaled by their lcm)."""
    common = lcm(*qtys)
    return [amount * (common // qty) for amount, qty in zip(amounts, qtys, strict=True)]


def _take_units(pool: _Pool, count: int, most_expensive: bool) -> dict[int, int]:
    """``count`` units from the cheapest (or most expensive) end of ``pool`` -> {position: units}.

    Ties in unit price go to the canonical line order, so the pick never depends on scan order.
    """
    if count <= 0:
        return {}
    ordered = pool
    if len(pool) > 1:
        prices = unit_price_keys([u[3] for u in pool], [u[4] for u in pool])
        sign = -1 if most_expensive else 1
        order = sorted(range(len(pool)), key=lambda k: (sign * prices[k], pool[k][0]))
        ordered = [pool[k] for k in order]
    taken: dict[int, int] = {}
    for _index, position, units, _basis, _qty in ordered:
        if count <= 0:
            break
        use = min(units, count)
        taken[position] = use
        count -= use
    return taken


def _unit_discounts(
    ctx: PricingContext, idxs: Sequence[int], bases: Sequence[int], taken: dict[int, int], bp: int, out: list[int]
) -> None:
    for position, units in taken.items():
        qty = ctx.lines[idxs[position]].qty_milli
        out[position] += round_half_up(bases[position] * units * MILLI * bp, qty * BP_SCALE)


def buy_x_get_y(ctx: PricingContext, promo: Promotion, idxs: Sequence[int], bases: Sequence[int]) -> list[int]:
    rule = promo.rule
    assert isinstance(rule, BuyXGetY)
    out = [0] * len(idxs)
    if rule.buy_qty < 1 or rule.get_qty < 1:
        return out
    bp = _clamp_bp(rule.get_percent_off_bp)
    remaining = _uses_left(promo)
    if rule.get_product_ids:
        get_pos = [k for k, i in enumerate(idxs) if ctx.lines[i].product_id in rule.get_product_ids]
        buy_pos = [k for k, i in enumerate(idxs) if ctx.lines[i].product_id not in rule.get_product_ids]
        get_pool = _pool(ctx, idxs, bases, get_pos)
        buy_units = sum(u[2] for u in _pool(ctx, idxs, bases, buy_pos))
        groups = min(buy_units // rule.buy_qty, sum(u[2] for u in get_pool) // rule.get_qty)
        if remaining is not None:
            groups = min(groups, remaining)
        taken = _take_units(get_pool, groups * rule.get_qty, rule.discount_most_expensive)
        _unit_discounts(ctx, idxs, bases, taken, bp, out)
        return out
    for positions in _same_product_pools(ctx, idxs, rule.mix_and_match):
        pool = _pool(ctx, idxs, bases, positions)
        groups = sum(u[2] for u in pool) // (rule.buy_qty + rule.get_qty)
        if remaining is not None:
            groups = min(groups, remaining)
            remaining -= groups
        taken = _take_units(pool, groups * rule.get_qty, rule.discount_most_expensive)
        _unit_discounts(ctx, idxs, bases, taken, bp, out)
    return out


def _same_product_pools(ctx: PricingContext, idxs: Sequence[int], mix: bool) -> list[list[int]]:
    if mix:
        return [list(range(len(idxs)))]
    pools: dict[str, list[int]] = {}
    for k, i in enumerate(idxs):
        pools.setdefault(ctx.lines[i].product_id, []).append(k)
    return [pools[product_id] for product_id in sorted(pools)]


def bundle(ctx: PricingContext, promo: Promotion, idxs: Sequence[int], bases: Sequence[int]) -> list[int]:
    rule = promo.rule
    assert isinstance(rule, Bundle)
    out = [0] * len(idxs)
    needs: dict[str, int] = {}
    for item in rule.items:
        needs[item.product_id] = needs.get(item.product_id, 0) + max(item.qty, 1)
    if not needs:
        return out
    pools: dict[str, list[int]] = {product_id: [] for product_id in needs}
    for k, i in enumerate(idxs):
        if ctx.lines[i].product_id in pools:
            pools[ctx.lines[i].product_id].append(k)
    count = min(sum(whole_units(ctx, idxs[k]) for k in pools[p]) // q for p, q in needs.items())
    limit = _uses_left(promo)
    if limit is not None:
        count = min(count, limit)
    if count <= 0:
        return out
    contributed = [0] * len(idxs)
    for product_id, qty_per_bundle in needs.items():
        taken = _take_units(_pool(ctx, idxs, bases, pools[product_id]), count * qty_per_bundle, True)
        for position, units in taken.items():
            contributed[position] += _share(bases[position], units * MILLI, ctx.lines[idxs[position]].qty_milli)
    discount = sum(contributed) - count * max(rule.price_fen, 0)
    return allocate(discount, contributed) if discount > 0 else out


# --------------------------------------------------------------------------- order rules


def order_discount(promo: Promotion, threshold_base: int, current: int) -> int:
    """The one discount an order-level promotion grants (0 if not reached), capped at ``current``."""
    rule = promo.rule
    if isinstance(rule, PercentOff):
        if threshold_base < rule.min_spend_fen:
            return 0
        return min(current, apply_bp(current, _clamp_bp(rule.percent_off_bp)))
    if isinstance(rule, AmountOff):
        if threshold_base < rule.min_spend_fen:
            return 0
        return min(current, max(rule.amount_fen, 0))
    if isinstance(rule, SpendSave):
        return min(current, max(spend_save_amount(promo, rule, threshold_base), 0))
    return 0


def spend_save_amount(promo: Promotion, rule: SpendSave, base: int) -> int:
    if not rule.repeating:
        reached = [t.save_fen for t in rule.tiers if base >= t.threshold_fen]
        return max(reached, default=0)
    if not rule.every_fen or rule.every_fen <= 0 or not rule.save_fen:
        return 0
    times = base // rule.every_fen
    limit = _uses_left(promo)
    if limit is not None:
        times = min(times, limit)
    saved = times * rule.save_fen
    return saved if rule.cap_fen is None else min(saved, rule.cap_fen)


def gift_multiples(promo: Promotion, spend_base: int, qty_base: int) -> int:
    """How many gift sets the scope earns (0 = none)."""
    rule = promo.rule
    assert isinstance(rule, Gift)
    counts = []
    if rule.min_spend_fen is not None:
        counts.append(spend_base // rule.min_spend_fen if rule.min_spend_fen > 0 else 1)
    if rule.min_qty_milli is not None:
        counts.append(qty_base // rule.min_qty_milli if rule.min_qty_milli > 0 else 1)
    if not counts:
        return 0
    times = min(counts)
    if not rule.repeat:
        times = min(times, 1)
    limit = _uses_left(promo)
    return times if limit is None else min(times, limit)


ITEM_RULES: dict[type, ItemRule] = {
    SpecialPrice: special_price,
    PercentOff: item_percent_off,
    AmountOff: item_amount_off,
    BuyXGetY: buy_x_get_y,
    Bundle: bundle,
}

# Rules whose discount on one line does not depend on other lines: compared with
# member pricing line by line. The others are compared as a whole.
PER_LINE_RULES: frozenset[type] = frozenset({SpecialPrice, PercentOff, AmountOff})


# --------------------------------------------------------------------------- feasibility


def could_apply(ctx: PricingContext, promo: Promotion, idxs: Sequence[int]) -> bool:
    """Cheap necessary condition for ``promo`` to give anything on these lines in ANY combination.

    Amounts never rise above list price and quantities never change, so a
    promotion failing this (特价 not below any price, 满减 threshold above the
    list total, too few units for 买赠 / 组合价 ...) is left out of the search.
    """
    return _FEASIBLE[type(promo.rule)](ctx, promo, idxs)


def _special_feasible(ctx: PricingContext, promo: Promotion, idxs: Sequence[int]) -> bool:
    price = promo.rule.unit_price_fen  # type: ignore[union-attr]
    lines = ctx.lines
    return any(price < lines[i].unit_price_fen for i in idxs)


def _bundle_feasible(ctx: PricingContext, promo: Promotion, idxs: Sequence[int]) -> bool:
    rule = promo.rule
    assert isinstance(rule, Bundle)
    lines = ctx.lines
    units: dict[str, int] = {}
    for i in idxs:
        units[lines[i].product_id] = units.get(lines[i].product_id, 0) + whole_units(ctx, i)
    return all(units.get(item.product_id, 0) >= max(item.qty, 1) for item in rule.items) and bool(rule.items)


def _gift_feasible(ctx: PricingContext, promo: Promotion, idxs: Sequence[int]) -> bool:
    rule = promo.rule
    assert isinstance(rule, Gift)
    if rule.min_spend_fen is None and rule.min_qty_milli is None:
        return False
    if rule.min_spend_fen is not None:
        list_amounts = ctx.list_amounts
        if sum([list_amounts[i] for i in idxs]) < rule.min_spend_fen:
            return False
    if rule.min_qty_milli is not None:
        lines = ctx.lines
        if sum([lines[i].qty_milli for i in idxs]) < rule.min_qty_milli:
            return False
    return True


def _spend_save_feasible(ctx: PricingContext, promo: Promotion, idxs: Sequence[int]) -> bool:
    list_amounts = ctx.list_amounts
    return spend_save_amount(promo, promo.rule, sum([list_amounts[i] for i in idxs])) > 0  # type: ignore[arg-type]


def _off_feasible(ctx: PricingContext, promo: Promotion, idxs: Sequence[int]) -> bool:
    rule = promo.rule
    value = rule.percent_off_bp if isinstance(rule, PercentOff) else rule.amount_fen  # type: ignore[union-attr]
    if value <= 0:
        return False
    list_amounts = ctx.list_amounts
    list_total = sum([list_amounts[i] for i in idxs])
    return list_total > 0 and list_total >= rule.min_spend_fen  # type: ignore[union-attr]


def _bxgy_check(ctx: PricingContext, promo: Promotion, idxs: Sequence[int]) -> bool:
    return _bxgy_feasible(ctx, promo.rule, idxs)  # type: ignore[arg-type]


def _bxgy_feasible(ctx: PricingContext, rule: BuyXGetY, idxs: Sequence[int]) -> bool:
    if rule.buy_qty < 1 or rule.get_qty < 1 or rule.get_percent_off_bp <= 0:
        return False
    units: dict[str, int] = {}
    for i in idxs:
        units[ctx.lines[i].product_id] = units.get(ctx.lines[i].product_id, 0) + whole_units(ctx, i)
    if rule.get_product_ids:
        get_units = sum(n for product, n in units.items() if product in rule.get_product_ids)
        buy_units = sum(n for product, n in units.items() if product not in rule.get_product_ids)
        return get_units >= rule.get_qty and buy_units >= rule.buy_qty
    group = rule.buy_qty + rule.get_qty
    return sum(units.values()) >= group if rule.mix_and_match else any(n >= group for n in units.values())


_FEASIBLE: dict[type, Callable[[PricingContext, Promotion, Sequence[int]], bool]] = {
    SpecialPrice: _special_feasible,
    BuyXGetY: _bxgy_check,
    Bundle: _bundle_feasible,
    Gift: _gift_feasible,
    SpendSave: _spend_save_feasible,
    PercentOff: _off_feasible,
    AmountOff: _off_feasible,
}
