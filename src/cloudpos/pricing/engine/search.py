"""Choosing the promotion combination: best price for the customer, deterministically.

Valid combinations: one EXCLUSIVE promotion alone, or any set of STACKABLE
promotions with at most one per ``stack_group`` (``None`` = its own group).

* If there are at most ``EXHAUSTIVE_LIMIT`` valid combinations and pricing
  them all stays within ``EXHAUSTIVE_WORK`` (combinations x cart lines), every
  one is priced: exact optimum for small carts / few promotions.
* Otherwise (no exponential search, O(promotions) evaluations at most):
  1. the greedy stacked set - every group contributes its member with the
     biggest standalone saving (on member prices, ties: priority, then id);
  2. a "threshold repair" variant of it: when a 满减 / min-spend promotion of
     the set earned nothing because item discounts pushed its scope below the
     threshold, drop the item promotions on that scope - only tried when the
     promotion could then save more than those item promotions saved;
  3. no promotion at all and each exclusive promotion alone.
  Candidates are priced in full (coupons and manual discounts included) and
  the cheapest wins. Candidates of step 3 are skipped without pricing when
  even their best case (all they can save, plus the largest possible coupon
  and manual discount) cannot beat the best total found: a sound bound, so
  the skipping never changes the answer.

Ties: lower total, then more gift units, then a non-empty combination, then
higher priority, then smaller promotion ids.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from cloudpos.money import apply_bp
from cloudpos.pricing.engine.context import Applicable, PricingContext
from cloudpos.pricing.engine.evaluate import (
    CouponCheck,
    State,
    evaluate,
    extra_discount_bound,
    saving_upper_bound,
    standalone_saving,
)
from cloudpos.pricing.engine.model import AmountOff, PercentOff, SpendSave

EXHAUSTIVE_LIMIT = 32
EXHAUSTIVE_WORK = 400  # combinations x lines: 32 combinations up to 12 lines, 8 up to 50 lines

Combo = tuple[Applicable, ...]


@dataclass(slots=True)
class Evaluated:
    combo: Combo
    state: State
    key: tuple


@dataclass
class GroupChoice:
    group: str
    chosen: Applicable
    others: list[Applicable]


@dataclass
class Choice:
    best: Evaluated
    evaluated: list[Evaluated]
    exhaustive: bool
    groups: list[GroupChoice] = field(default_factory=list)
    pruned: list[tuple[Applicable, int]] = field(default_factory=list)  # (exclusive, most it can save)
    given: bool = False  # priced with a combination named by the caller, no search
    ruled_out: int = 0  # candidates skipped because their best case could not win


def group_key(applicable: Applicable) -> str:
    promo = applicable.promo
    return promo.stack_group if promo.stack_group is not None else "\0" + promo.id


def rank_key(combo: Combo, state: State) -> tuple:
    gift_units = sum(qty for _promo, qty in state.gifts)
    top_priority = max((a.promo.priority for a in combo), default=0)
    ids = tuple(sorted(a.promo.id for a in combo))
    return (state.total, -gift_units, 0 if combo else 1, -top_priority, ids)


class _Pricer:
    """Evaluates combinations once each (memoised by promotion ids)."""

    def __init__(self, ctx: PricingContext, checks: Sequence[CouponCheck]) -> None:
        self.ctx = ctx
        self.checks = checks
        self.seen: dict[tuple[str, ...], Evaluated] = {}
        self.savings: dict[str, int] = {}

    def saving(self, applicable: Applicable) -> int:
        found = self.savings.get(applicable.promo.id)
        if found is None:
            found = self.savings[applicable.promo.id] = standalone_saving(self.ctx, applicable)
        return found

    def price(self, combo: Combo) -> Evaluated:
        ids = tuple(sorted(a.promo.id for a in combo))
        found = self.seen.get(ids)
        if found is None:
            state = evaluate(self.ctx, combo, self.checks)
            found = Evaluated(combo, state, rank_key(combo, state))
            self.seen[ids] = found
        return found


def price_one(ctx: PricingContext, combo: Combo, checks: Sequence[CouponCheck]) -> Evaluated:
    return _Pricer(ctx, checks).price(combo)


def combo_is_valid(combo: Sequence[Applicable]) -> bool:
    """An exclusive promotion only alone; at most one promotion per stack group."""
    if any(a.promo.exclusive for a in combo):
        return len(combo) <= 1
    groups = [group_key(a) for a in combo]
    return len(groups) == len(set(groups))


def split(applicable: Sequence[Applicable]) -> tuple[list[Applicable], dict[str, list[Applicable]]]:
    exclusives = sorted((a for a in applicable if a.promo.exclusive), key=lambda a: a.promo.id)
    groups: dict[str, list[Applicable]] = {}
    for a in sorted(applicable, key=lambda a: (-a.promo.priority, a.promo.id)):
        if not a.promo.exclusive:
            groups.setdefault(group_key(a), []).append(a)
    return exclusives, dict(sorted(groups.items()))


def combination_count(exclusives: Sequence[Applicable], groups: dict[str, list[Applicable]]) -> int:
    count = 1
    for members in groups.values():
        count *= len(members) + 1
        if count > EXHAUSTIVE_LIMIT:
            break
    return count + len(exclusives)


def searches_exhaustively(combinations: int, lines: int) -> bool:
    return combinations <= EXHAUSTIVE_LIMIT and combinations * lines <= EXHAUSTIVE_WORK


def choose(ctx: PricingContext, applicable: Sequence[Applicable], checks: Sequence[CouponCheck]) -> Choice:
    pricer = _Pricer(ctx, checks)
    exclusives, groups = split(applicable)
    if searches_exhaustively(combination_count(exclusives, groups), ctx.size):
        evaluated = [pricer.price(combo) for combo in _all_combinations(exclusives, groups)]
        best = min(evaluated, key=lambda e: e.key)
        return Choice(best, evaluated, True, _describe_groups(best.combo, groups))
    return _heuristic(ctx, pricer, exclusives, groups)


def _heuristic(
    ctx: PricingContext, pricer: _Pricer, exclusives: list[Applicable], groups: dict[str, list[Applicable]]
) -> Choice:
    stacked, group_choices = _greedy(pricer, groups)
    greedy = pricer.price(stacked)
    evaluated = [greedy]
    repaired = _threshold_repair(ctx, greedy)
    if repaired is not None:
        evaluated.append(pricer.price(repaired))
    best = min(evaluated, key=lambda e: e.key)
    member_total = sum(ctx.member_amounts)
    extra = extra_discount_bound(ctx, pricer.checks)
    # the lines' member amounts bound what a promotion can save: prune before computing it
    reachable = [e for e in exclusives if member_total - _line_total(ctx, e) - extra <= best.key[0]]
    pruned = [(e, _line_total(ctx, e)) for e in exclusives if e not in reachable]
    options = [((), 0)] + [((e,), pricer.saving(e)) for e in reachable]
    options.sort(key=lambda o: (-o[1], o[0][0].promo.id if o[0] else ""))
    ruled_out = len(pruned)
    for combo, saving in options:
        if member_total - saving - extra > best.key[0]:
            pruned.extend((a, saving) for a in combo)
            ruled_out += 1
            continue
        candidate = pricer.price(combo)
        evaluated.append(candidate)
        best = min(best, candidate, key=lambda e: e.key)
    return Choice(best, evaluated, False, group_choices, pruned, ruled_out=ruled_out)


def _line_total(ctx: PricingContext, applicable: Applicable) -> int:
    amounts = ctx.member_amounts
    return sum([amounts[i] for i in applicable.lines])


def _all_combinations(exclusives: Sequence[Applicable], groups: dict[str, list[Applicable]]) -> list[Combo]:
    options = [[None, *members] for members in groups.values()]
    combos: list[Combo] = [tuple(a for a in picked if a is not None) for picked in itertools.product(*options)]
    combos.extend((e,) for e in exclusives)
    return combos


def _greedy(pricer: _Pricer, groups: dict[str, list[Applicable]]) -> tuple[Combo, list[GroupChoice]]:
    stacked: list[Applicable] = []
    choices: list[GroupChoice] = []
    for group, members in groups.items():
        if len(members) == 1:
            stacked.append(members[0])
            continue
        best = _best_member(pricer, members)
        stacked.append(best)
        choices.append(GroupChoice(group, best, [m for m in members if m is not best]))
    return tuple(stacked), choices


def _best_member(pricer: _Pricer, members: list[Applicable]) -> Applicable:
    """Member with the biggest standalone saving (ties: priority, then id).

    Members are visited by decreasing upper bound; once a bound falls below the
    best saving found, no later member can win, so its saving is not computed.
    """
    bounds = {a.promo.id: pricer.saving(a) if a.order_level else saving_upper_bound(pricer.ctx, a) for a in members}
    best: Applicable | None = None
    best_key: tuple[int, int, str] | None = None
    for a in sorted(members, key=lambda m: (-bounds[m.promo.id], -m.promo.priority, m.promo.id)):
        if best_key is not None and bounds[a.promo.id] < -best_key[0]:
            break
        key = (-pricer.saving(a), -a.promo.priority, a.promo.id)
        if best_key is None or key < best_key:
            best, best_key = a, key
    assert best is not None
    return best


def _describe_groups(combo: Combo, groups: dict[str, list[Applicable]]) -> list[GroupChoice]:
    chosen = {a.promo.id for a in combo}
    out = []
    for group, members in groups.items():
        picked = [m for m in members if m.promo.id in chosen]
        if len(members) > 1 and picked:
            out.append(GroupChoice(group, picked[0], [m for m in members if m is not picked[0]]))
    return out


def _max_gain(applicable: Applicable, base: int) -> int:
    """Most a threshold promotion could save if its scope reached ``base`` (0 when below threshold)."""
    rule = applicable.promo.rule
    if isinstance(rule, SpendSave):
        if rule.tiers:
            return max((t.save_fen for t in rule.tiers if base >= t.threshold_fen), default=0)
        if not rule.every_fen or not rule.save_fen:
            return 0
        gain = base // rule.every_fen * rule.save_fen
        return gain if rule.cap_fen is None else min(gain, rule.cap_fen)
    if isinstance(rule, PercentOff) and rule.min_spend_fen > 0:
        return apply_bp(base, rule.percent_off_bp) if base >= rule.min_spend_fen else 0
    if isinstance(rule, AmountOff) and rule.min_spend_fen > 0:
        return rule.amount_fen if base >= rule.min_spend_fen else 0
    return 0  # gifts bring no price gain; other order rules have no threshold


def _threshold_repair(ctx: PricingContext, evaluated: Evaluated) -> Combo | None:
    """Greedy set minus the item promotions on lines of threshold promotions that earned nothing.

    Item discounts lower the amount counted towards 满减 / min-spend thresholds;
    giving them up can be worth it. Only tried when, at member prices, the
    missed promotions could save more than the dropped item promotions saved.
    One extra candidate, not a search.
    """
    state = evaluated.state
    lines: set[int] = set()
    gain = 0
    for a in evaluated.combo:
        if not a.order_level or a.promo.id in state.promo_amounts:
            continue
        possible = _max_gain(a, sum([ctx.member_amounts[i] for i in a.lines]))
        if possible > 0:
            gain += possible
            lines.update(a.lines)
    if not lines:
        return None
    dropped = [a for a in evaluated.combo if not a.order_level and not lines.isdisjoint(a.lines)]
    loss = sum(state.promo_amounts.get(a.promo.id, 0) for a in dropped)
    if not dropped or loss >= gain:
        return None
    return tuple(a for a in evaluated.combo if a not in dropped)
