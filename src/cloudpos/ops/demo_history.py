"""The demo merchant's last 60 days of trading, replayed through the real services.

Nothing here writes a table: every document is made by the code that makes it at a real till, with
`cloudpos.clock` set to the moment it happens (the mechanism the tests' `frozen_clock` uses). Per day and till a
shift is opened with a float and closed with the counted cash; between, sales priced by the engine (promotions,
member prices, coupons) and paid in cash, by card, WeChat Pay / Alipay (the bundled sandbox gateway, served by
this process on a free port), stored value and points. Members are registered at the till (some buy stored value
when joining) and come back; goods are received every week; a few sales are refunded and one order is corrected
(void, then the replacement sale with `replaces_id`). So business days, receipt numbers, the stock, points and
stored-value ledgers, `member_stats` and the audit chain all come from the real code path, and
`cloudpos members rebuild-stats` has nothing to repair.

No printing: the demo printers are set up after the history (a closed shift and a sale queue print jobs when the
store has a printer). One seeded random generator drives every choice, so the same calls are made on every run
(ids, card numbers and hashes differ).
"""

from __future__ import annotations

import math
import os
import random
import secrets
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from cloudpos import clock
from cloudpos.catalog.service import ProductBrief
from cloudpos.context import Actor
from cloudpos.money import milli_to_str, qty_to_milli
from cloudpos.web.threaded import free_port

DAYS = 60  # trading days replayed, today included
FLOAT = 50_000  # ¥500 in the drawer when a shift opens
SANDBOX_URL_ENV = "CLOUDPOS_PAYMENTS_SANDBOX_URL"


class DemoClock:
    """The frozen clock, only ever moved forwards (the audit chain's times then read in order)."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        clock.freeze(at)

    def set(self, at: datetime) -> None:
        self.at = max(at, self.at + timedelta(milliseconds=1))
        clock.freeze(self.at)

    def tick(self, seconds: float = 1) -> None:
        self.set(self.at + timedelta(seconds=seconds))

    @staticmethod
    def release() -> None:
        clock.freeze(None)


@dataclass(frozen=True)
class Calendar:
    """The replayed days: DAYS business days ending today (up to `now`), in the stores' time zone."""

    now: datetime
    tz: ZoneInfo

    @classmethod
    def ending(cls, now: datetime, tz: str = "Asia/Shanghai") -> Calendar:
        return cls(now, ZoneInfo(tz))

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    @property
    def first_day(self) -> date:
        return self.today - timedelta(days=DAYS - 1)

    def at(self, day: date, minutes: float) -> datetime:
        """`minutes` after local midnight of `day`, as an aware datetime."""
        return datetime.combine(day, time(0), self.tz) + timedelta(minutes=minutes)

    @property
    def setup_at(self) -> datetime:
        """The evening before the first trading day: the merchant signs up and sets up the stores."""
        return self.at(self.first_day - timedelta(days=1), 19 * 60)


@dataclass(frozen=True)
class Cast:
    owner: Actor
    manager: Actor  # store 1: the evening shift, refunds, voids, goods receipts
    cashier: Actor  # store 1: the morning shift
    cashier2: Actor  # store 2
    salesperson_id: uuid.UUID  # store 1's 导购, credited on some sales


@dataclass(frozen=True)
class ShiftPlan:
    store_id: uuid.UUID
    terminal_id: uuid.UUID
    start: int  # minutes after midnight
    end: int
    who: str  # a Cast field
    sales_per_day: float


@dataclass
class Sold:
    id: uuid.UUID
    store_id: uuid.UUID
    day: date
    methods: frozenset[str]
    lines: list[tuple[int, uuid.UUID, int]]  # (line_no, product, qty milli)
    member_id: uuid.UUID | None


@dataclass(frozen=True)
class RefundPlan:
    day: int  # index of the day
    store: int  # index of the store
    mode: str  # one_piece | damaged | all
    reason: str


REFUNDS = [
    RefundPlan(6, 0, "one_piece", "顾客退货：口味不喜欢"),
    RefundPlan(13, 0, "damaged", "包装破损，顾客退货"),
    RefundPlan(19, 0, "all", "顾客买错，整单退货"),
    RefundPlan(26, 1, "one_piece", "顾客退货：重复购买"),
    RefundPlan(33, 0, "one_piece", "临期商品，顾客退货"),
    RefundPlan(41, 0, "damaged", "瓶身漏液，顾客退货"),
    RefundPlan(47, 1, "all", "顾客买错，整单退货"),
    RefundPlan(54, 0, "one_piece", "顾客退货：不想要了"),
]
CORRECTION_DAY = 36  # the morning shift at store 1 corrects an order (修改订单)
COUPONS_DAY = DAYS - 21  # the 满50减5 coupons are handed out (valid 30 days: most are still valid today)
RESTOCK_EVERY = 7
SUPPLIERS = ["上海可口可乐饮料有限公司", "康师傅控股", "农夫山泉股份有限公司", "伊利乳业", "上海光明食品",
             "联合利华（中国）"]
CARD_BRANDS = ["银联", "银联", "银联", "Visa", "Mastercard"]


@contextmanager
def wallet_gateway(db: Session, actor: Actor) -> Iterator[bool]:
    """Whether the history may pay with WeChat Pay / Alipay, and the gateway it pays at.

    Only ever the bundled sandbox: with real credentials configured (environment or merchant) the demo's
    made-up payment codes must not reach a real gateway, and those sales are paid by card instead. The sandbox
    keeps its books in memory, so the history's charges and refunds go to one served by this process on a free
    port (started on first use, like the demo's own, with the same keys) — never to one a running server may hold
    at the default address. With the autostart switched off, whatever sandbox is configured is used."""
    from cloudpos.payments import service as payments
    from cloudpos.payments.config import payment_settings

    sources = {payments.provider_settings(db, actor, p).source for p in ("wechat", "alipay")}
    db.rollback()
    if sources != {"sandbox"}:
        yield False
        return
    if os.environ.get("CLOUDPOS_PAYMENTS_SANDBOX_AUTOSTART", "true").lower() in ("0", "false", "no"):
        yield True
        return
    saved = os.environ.get(SANDBOX_URL_ENV)
    os.environ[SANDBOX_URL_ENV] = f"http://127.0.0.1:{free_port()}"
    payment_settings.cache_clear()
    try:
        yield True
    finally:
        if saved is None:
            os.environ.pop(SANDBOX_URL_ENV, None)
        else:
            os.environ[SANDBOX_URL_ENV] = saved
        payment_settings.cache_clear()


class Replay:
    """Replays the days. `run()` returns counts of what was made."""

    def __init__(self, factory: sessionmaker[Session], tenant_id: uuid.UUID, cal: Calendar, dclock: DemoClock,
                 cast: Cast, stores: list[uuid.UUID], terminals: list[uuid.UUID],
                 products: dict[uuid.UUID, ProductBrief], people: list[Any], *, wallets: bool,
                 rng_seed: int = 20260127) -> None:
        self.factory, self.tenant_id, self.cal, self.clock, self.cast = factory, tenant_id, cal, dclock, cast
        self.stores, self.terminals, self.products, self.people = stores, terminals, products, people
        self.wallets = wallets
        self.rng = random.Random(rng_seed)  # noqa: S311 - reproducible demo data
        self.db: Session | None = None
        self.made: Counter[str] = Counter()
        self.stock: dict[uuid.UUID, dict[uuid.UUID, int]] = {}
        self.members: list[tuple[int, uuid.UUID]] = []  # (index in people, member id) of those who joined
        self.waiting: list[int] = []  # people to join at their store's next sale
        self.open_shifts: dict[uuid.UUID, uuid.UUID] = {}  # terminal -> shift
        self.recent: list[Sold] = []
        self.coupons: list[str] = []
        self.coupon_until: date | None = None
        self.plans = [
            ShiftPlan(stores[0], terminals[0], 7 * 60 + 30, 15 * 60, "cashier", 2.6),
            ShiftPlan(stores[0], terminals[0], 15 * 60, 22 * 60, "manager", 2.8),
            ShiftPlan(stores[1], terminals[1], 9 * 60, 21 * 60, "cashier2", 2.0),
        ]
        # who joins on which day: a dozen in the first days, then about one a day, none in the last week (at the
        # till with their first purchase, or online from the QR poster)
        self.joins: dict[int, list[int]] = {}
        for i in range(len(people)):
            d = i // 4 if i < 12 else 3 + (i - 12) * (DAYS - 10) // max(1, len(people) - 12)
            self.joins.setdefault(d, []).append(i)

    # --- set-up ------------------------------------------------------------------------------------

    def _actor(self, who: str, terminal_id: uuid.UUID | None = None) -> Actor:
        a: Actor = getattr(self.cast, who)
        return replace(a, terminal_id=terminal_id) if terminal_id else a

    def _session(self) -> Session:
        db = self.factory()
        db.info["tenant_id"] = self.tenant_id
        return db

    def _pool(self, store_id: uuid.UUID) -> tuple[list[uuid.UUID], list[float]]:
        """What a store sells (listed products it stocks), cheap everyday goods far more often."""
        ids, weights = [], []
        for pid in sorted(self.products, key=lambda p: self.products[p].sku):
            p = self.products[pid]
            if p.status != "listed" or self.stock[store_id].get(pid, 0) <= 0:
                continue
            if p.sold_by_weight:
                w = 2.0
            elif p.unit == "箱":
                w = 0.15
            else:
                w = 6.0 if p.price <= 1_000 else 3.0 if p.price <= 3_000 else 1.0 if p.price <= 10_000 else 0.3
            ids.append(pid)
            weights.append(w)
        return ids, weights

    def run(self) -> dict[str, int]:
        from cloudpos.inventory import service as inventory

        with self._session() as db:
            for s in self.stores:
                self.stock[s] = dict(inventory.stock_of(db, self.cast.owner, s, list(self.products)))
        self.pools = {s: self._pool(s) for s in self.stores}
        for d in range(DAYS):
            with self._session() as db:
                self.db = db
                self._day(d)
                self.db = None
        return dict(self.made)

    # --- one day -----------------------------------------------------------------------------------

    def _day(self, d: int) -> None:
        rng, day = self.rng, self.cal.first_day + timedelta(days=d)
        events: list[tuple[float, int, Callable[[], None]]] = []
        if d and d % RESTOCK_EVERY == 0:
            for i, s in enumerate(self.stores):
                events.append((7 * 60 + i, 0, lambda s=s: self._restock(s)))
        if d == COUPONS_DAY:
            events.append((7 * 60 + 10, 0, self._hand_out_coupons))
        for i in self.joins.get(d, []):
            if self.people[i].channel == "online":  # from the store's QR poster, whenever they like
                events.append((rng.uniform(10 * 60, 21 * 60), 2, lambda i=i: self._join_online(i)))
            else:
                self.waiting.append(i)
        weekend = day.weekday() >= 5
        growth = 0.85 + 0.3 * d / DAYS
        refunds = [r for r in REFUNDS if r.day == d]
        for plan in self.plans:
            events.append((plan.start, 1, lambda p=plan: self._open(p)))
            events.append((plan.end, 0, lambda p=plan: self._close(p)))  # a handover: closed, then opened
            n = _poisson(rng, plan.sales_per_day * growth * (1.35 if weekend else 1.0))
            times = sorted(rng.uniform(plan.start + 3, plan.end - 3) for _ in range(n))
            correction = d == CORRECTION_DAY and plan.who == "cashier"
            for k, t in enumerate(times):
                if correction and k == 0:
                    events.append((t, 2, lambda p=plan, t=t: self._correction(p, t)))
                else:
                    events.append((t, 2, lambda p=plan: self._sale(p)))
            for r in refunds:
                if plan.store_id == self.stores[r.store] and plan.who != "cashier":
                    t = rng.uniform(plan.start + 30, plan.end - 30)
                    events.append((t, 2, lambda p=plan, r=r: self._refund(p, r)))
        events.sort(key=lambda e: (e[0], e[1]))
        for minutes, _, act in events:
            at = self.cal.at(day, minutes)
            if at >= self.cal.now:
                break  # today: only what has happened so far (a shift still open stays open)
            self.clock.set(at)
            act()

    # --- shifts ------------------------------------------------------------------------------------

    def _open(self, plan: ShiftPlan) -> None:
        from cloudpos.sales import service as sales
        from cloudpos.sales.schemas import ShiftOpenIn

        shift = sales.open_shift(self.db, self._actor(plan.who, plan.terminal_id),
                                 ShiftOpenIn(terminal_id=plan.terminal_id, opening_float=FLOAT))
        self.open_shifts[plan.terminal_id] = shift.id
        self.made["shifts"] += 1

    def _close(self, plan: ShiftPlan) -> None:
        from cloudpos.sales import service as sales
        from cloudpos.sales.schemas import ShiftCloseIn

        who = self._actor(plan.who, plan.terminal_id)
        shift_id = self.open_shifts.pop(plan.terminal_id)
        expected = sales.shift_report(self.db, who, shift_id).expected_cash
        self.db.rollback()
        r = self.rng.random()
        counted, notes = expected, ""
        if r < 0.06:
            counted, notes = max(0, expected - 100), "短款 1 元，已记录"
        elif r < 0.09:
            counted, notes = expected + 50, "长款 0.5 元"
        sales.close_shift(self.db, who, shift_id, ShiftCloseIn(counted_cash=counted, notes=notes))
        self.made["shifts_closed"] += 1

    # --- sales -------------------------------------------------------------------------------------

    def _basket(self, store_id: uuid.UUID) -> list[tuple[uuid.UUID, int]]:
        rng, stock = self.rng, self.stock[store_id]
        ids, weights = self.pools[store_id]
        n = rng.choices([1, 2, 3, 4, 5, 6], weights=[30, 28, 20, 12, 6, 4])[0]
        picks: dict[uuid.UUID, int] = {}
        for _ in range(n * 4):
            if len(picks) >= n:
                break
            pid = rng.choices(ids, weights=weights)[0]
            p = self.products[pid]
            if p.sold_by_weight:
                qty = rng.randrange(250, 1_500, 5)
            elif p.price <= 1_000 and rng.random() < 0.25:
                qty = 1000 * rng.randint(2, 4)
            else:
                qty = 1000
            if pid in picks or stock.get(pid, 0) < qty:
                continue
            picks[pid] = qty
        return list(picks.items())

    def _member_for(self, store_id: uuid.UUID) -> uuid.UUID | None:
        """A member on some sales: regulars often, most now and then, a few never came back."""
        if not self.members or self.rng.random() >= (0.38 if store_id == self.stores[0] else 0.28):
            return None
        loyalty = (8.0, 3.0, 3.0, 1.0, 1.0, 0.1)
        weights = [loyalty[i % 6] * (1.0 if self.people[i].data.store_id == store_id else 0.15)
                   for i, _ in self.members]
        return self.rng.choices(self.members, weights=weights)[0][1]

    def _join(self, store_id: uuid.UUID, who: Actor) -> uuid.UUID | None:
        """The next person waiting to join at this store registers at the till before paying."""
        from cloudpos.members import demo as members_demo

        i = next((i for i in self.waiting if self.people[i].data.store_id == store_id), None)
        if i is None:
            return None
        self.waiting.remove(i)
        member_id = members_demo.join(self.db, who, self.people[i])
        self.members.append((i, member_id))
        self.made["members"] += 1
        self.clock.tick(90)  # registration (and top-up) take a moment at the till
        return member_id

    def _join_online(self, i: int) -> None:
        from cloudpos.members import demo as members_demo

        self.members.append((i, members_demo.join(self.db, self.cast.owner, self.people[i])))
        self.made["members"] += 1

    def _price(self, who: Actor, store_id: uuid.UUID, basket: list[tuple[uuid.UUID, int]],
               member_id: uuid.UUID | None, coupons: list[str]) -> Any:
        from cloudpos.pricing import service as pricing

        try:
            return pricing.price(self.db, who, store_id, [pricing.WantedLine(pid, None, milli_to_str(q))
                                                         for pid, q in basket],
                                 member_id=member_id, coupon_codes=coupons).result
        finally:
            self.db.rollback()

    def _sale(self, plan: ShiftPlan, *, basket: list[tuple[uuid.UUID, int]] | None = None,
              member_id: uuid.UUID | None = None, method: str | None = None,
              replaces_id: uuid.UUID | None = None) -> dict[str, Any] | None:
        from cloudpos.sales import service as sales
        from cloudpos.sales.schemas import LineIn, SaleIn

        rng, store_id = self.rng, plan.store_id
        who = self._actor(plan.who, plan.terminal_id)
        if basket is None:
            basket = self._basket(store_id)
            member_id = self._join(store_id, who) or self._member_for(store_id)
        if not basket:
            return None
        coupons = []
        if self.coupons and self.coupon_until and self.cal.at(self.coupon_until, 0) > self.clock.at \
                and rng.random() < 0.45:
            coupons = [self.coupons[0]]
        priced = self._price(who, store_id, basket, member_id, coupons)
        if coupons and not any(c.code == coupons[0] and c.usable for c in priced.coupons):
            coupons = []
            priced = self._price(who, store_id, basket, member_id, coupons)
        if coupons:
            self.coupons.pop(0)
        payments = self._payments(who, priced.total_fen, member_id, method)
        salesperson = self.cast.salesperson_id if plan.who == "cashier" and rng.random() < 0.2 else None
        _, body = sales.create_sale(self.db, who, SaleIn(
            store_id=store_id, terminal_id=plan.terminal_id, member_id=member_id, coupon_codes=coupons,
            salesperson_id=salesperson, replaces_id=replaces_id, payments=payments,
            lines=[LineIn(product_id=pid, quantity=milli_to_str(q)) for pid, q in basket]))
        for ln in body["lines"]:
            pid = uuid.UUID(ln["product_id"])
            self.stock[store_id][pid] = self.stock[store_id].get(pid, 0) - qty_to_milli(ln["quantity"])
        methods = frozenset(p["method"] for p in body["payments"])
        self.recent.append(Sold(uuid.UUID(body["id"]), store_id, date.fromisoformat(body["business_day"]), methods,
                                [(ln["line_no"], uuid.UUID(ln["product_id"]), qty_to_milli(ln["quantity"]))
                                 for ln in body["lines"] if not ln["is_gift"]], member_id))
        self.recent = self.recent[-200:]
        self.made["sales"] += 1
        self.made["coupons_redeemed"] += len(coupons)
        for m in methods:
            self.made[f"paid_{m}"] += 1
        return body

    def _payments(self, who: Actor, total: int, member_id: uuid.UUID | None, method: str | None) -> list[Any]:
        from cloudpos.members import service as members
        from cloudpos.sales.schemas import PaymentIn

        rng = self.rng
        if method is None and member_id is not None:
            m = members.get_member(self.db, who, member_id)
            balance, pin = m.stored_value_balance, m.pin_hash is not None
            quote = members.points_quote(self.db, who, member_id, total) if m.points_balance else None
            self.db.rollback()
            if balance >= total > 0 and rng.random() < 0.6 and (total < 20_000 or pin):
                person = next(self.people[i] for i, mid in self.members if mid == member_id)
                return [PaymentIn(method="stored_value", amount=total,
                                  member_pin=person.pin if total >= 20_000 else None)]
            if quote is not None and quote.max_value_fen >= 300 and rng.random() < 0.3:
                value = quote.max_value_fen - quote.max_value_fen % 100
                return [PaymentIn(method="points", amount=value), *self._tender(total - value, "wechat")]
        if method is None:
            r = rng.random()
            if total > 5_000 and r < 0.04:
                return [PaymentIn(method="cash", amount=2_000, tendered=2_000), *self._tender(total - 2_000, "wechat")]
            method = ("card" if total >= 20_000 and r < 0.35 else
                      "wechat" if r < 0.46 else "alipay" if r < 0.58 else "cash" if r < 0.9 else "card")
        return self._tender(total, method)

    def _tender(self, amount: int, method: str) -> list[Any]:
        from cloudpos.sales.schemas import PaymentIn

        rng = self.rng
        if method in ("wechat", "alipay") and not self.wallets:
            method = "card"
        if method == "cash":
            step = rng.choice([100, 1_000, 1_000, 5_000, 10_000])
            tendered = max(step, -(-amount // step) * step)
            return [PaymentIn(method="cash", amount=tendered, tendered=tendered)]
        if method == "card":
            return [PaymentIn(method="card", amount=amount, card_brand=rng.choice(CARD_BRANDS),
                              card_last4=f"{rng.randrange(10_000):04d}", approval_code=f"{rng.randrange(10**6):06d}")]
        # the customer's payment code (付款码, single use): WeChat's start 10–15, Alipay's 25–30; the sandbox reads
        # its first four digits as the scenario (1300: paid at once; 28xx: not a scenario, paid at once)
        # (drawn from the system's randomness, not the replay's: the sandbox keeps its books in var/ across
        # databases, and a code it has seen before is refused as used)
        prefix = "1300" if method == "wechat" else "28"
        digits = 18 - len(prefix)
        code = prefix + f"{secrets.randbelow(10 ** digits):0{digits}d}"
        return [PaymentIn(method=method, amount=amount, auth_code=code)]

    def _correction(self, plan: ShiftPlan, t: float) -> None:
        """修改订单: a piece scanned twice; the manager voids the sale, the cashier sells it again corrected."""
        from cloudpos.sales import service as sales
        from cloudpos.sales.schemas import VoidIn

        basket = self._basket(plan.store_id)
        if not basket:
            return
        wrong = [(basket[0][0], basket[0][1] + 1000 if not self.products[basket[0][0]].sold_by_weight
                  else basket[0][1]), *basket[1:]]
        if wrong == basket:
            wrong = [*basket, basket[0]] if len(basket) > 1 else basket
        member_id = self._member_for(plan.store_id)
        first = self._sale(plan, basket=wrong, member_id=member_id, method="cash")
        if first is None:
            return
        self.clock.tick(120)
        sales.void_sale(self.db, self._actor("manager", plan.terminal_id), uuid.UUID(first["id"]),
                        VoidIn(reason="收银员多扫了一件，修改订单", terminal_id=plan.terminal_id))
        for ln in first["lines"]:
            pid = uuid.UUID(ln["product_id"])
            self.stock[plan.store_id][pid] += qty_to_milli(ln["quantity"])
        self.recent = [s for s in self.recent if str(s.id) != first["id"]]
        self.made["voids"] += 1
        self.clock.tick(60)
        self._sale(plan, basket=basket, member_id=member_id, method="cash", replaces_id=uuid.UUID(first["id"]))
        self.made["corrections"] += 1

    def _refund(self, plan: ShiftPlan, r: RefundPlan) -> None:
        """A customer brings something back to the till (a few days later at most); the manager refunds it."""
        from cloudpos.sales import service as sales
        from cloudpos.sales.schemas import RefundIn, RefundLineIn

        today = self.clock.at.astimezone(self.cal.tz).date()
        fits = [s for s in self.recent
                if s.store_id == plan.store_id and (today - s.day).days <= 4 and s.lines
                and s.methods <= {"cash", "card", "wechat", "alipay"}]
        if not fits:
            return
        # a wallet sale now and then: its money goes back through the gateway
        sold = next((s for s in reversed(fits) if s.methods & {"wechat", "alipay"} and r.mode == "all"), fits[-1])
        who = self._actor("manager" if plan.store_id == self.stores[0] else "owner", plan.terminal_id)
        if r.mode == "all":
            data = RefundIn(reason=r.reason, terminal_id=plan.terminal_id)
        else:
            line_no, _, _ = next((ln for ln in sold.lines if ln[2] % 1000 == 0), sold.lines[0])
            qty = next(q for no, _, q in sold.lines if no == line_no)
            data = RefundIn(lines=[RefundLineIn(line_no=line_no, quantity="1" if qty % 1000 == 0 else
                                                milli_to_str(qty))],
                            reason=r.reason, restock=r.mode != "damaged", terminal_id=plan.terminal_id)
        _, body = sales.create_refund(self.db, who, sold.id, data)
        if data.restock:
            for ln in body["lines"]:
                pid = uuid.UUID(ln["product_id"])
                self.stock[plan.store_id][pid] -= qty_to_milli(ln["quantity"])  # refund lines are negative
        self.recent.remove(sold)
        self.made["refunds"] += 1

    # --- the back office ---------------------------------------------------------------------------

    def _restock(self, store_id: uuid.UUID) -> None:
        """The weekly goods receipt (进货): what ran low, back up to a shelf's worth."""
        from cloudpos.inventory import service as inventory
        from cloudpos.inventory.schemas import ReceiptIn

        who = self.cast.manager if store_id == self.stores[0] else self.cast.owner
        lines = []
        for pid in self.pools[store_id][0]:
            p, have = self.products[pid], self.stock[store_id].get(pid, 0)
            low, full = (3_000, 10_000) if p.sold_by_weight else (4_000, 12_000 if p.price > 3_000 else 24_000)
            if have < low:
                lines.append({"product_id": pid, "quantity": milli_to_str(full - have),
                              "unit_cost": p.cost or p.price * 7 // 10})
        if not lines:
            return
        day = self.clock.at.astimezone(self.cal.tz).date()
        inventory.create_receipt(self.db, who, ReceiptIn(
            store_id=store_id, supplier=self.rng.choice(SUPPLIERS),
            reference=f"PO{day:%Y%m%d}{self.stores.index(store_id) + 1}", note="每周补货", lines=lines))
        for ln in lines:
            self.stock[store_id][ln["product_id"]] = self.stock[store_id].get(ln["product_id"], 0) + \
                qty_to_milli(ln["quantity"])
        self.made["goods_receipts"] += 1

    def _hand_out_coupons(self) -> None:
        from cloudpos.pricing import demo as pricing_demo

        self.coupons = pricing_demo.seed_coupons(self.db, self.cast.owner)
        self.coupon_until = self.clock.at.astimezone(self.cal.tz).date() + timedelta(days=30)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson-distributed count (Knuth), from the given generator."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


__all__ = ["DAYS", "Calendar", "Cast", "DemoClock", "Replay", "wallet_gateway"]
