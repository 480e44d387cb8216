"""The demo merchant (code `demo`): created once by `cloudpos demo seed`; later runs keep the data.

The merchant signs up the evening before its first trading day, 60 days ago, sets up its catalog, opening
stock, member programme and promotions, then trades until now: ops/demo_history.py replays those days through
the real services with the clock set to each moment (shifts, sales, members joining, refunds, goods receipts).
Last, at the present time: the receipt printers (so that no past sale is printed), an open spot check of the
stock, and the member segments and campaign.

Passwords are random, written to var/demo-credentials.txt (mode 600) and printed when the server starts.
"""

from __future__ import annotations

import random
import secrets
import string
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from cloudpos import clock
from cloudpos.auth import employees
from cloudpos.auth import service as auth
from cloudpos.auth.schemas import EmployeeCreate
from cloudpos.config import Settings
from cloudpos.context import Actor, system_actor
from cloudpos.db import make_engine, make_sessionmaker
from cloudpos.ops import demo_history as history
from cloudpos.tenancy import service as tenancy
from cloudpos.tenancy.schemas import SettingsPatch, SignupIn, StoreIn


@dataclass
class Seeded:
    """What `seed` made: the owner's password (None when the merchant already existed) and some counts."""

    owner_password: str | None
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(10)) + secrets.choice("23456789")


def seed(settings: Settings) -> str | None:
    """Returns the owner's password when the merchant was created, None when it already existed."""
    return seed_demo(settings).owner_password


def seed_demo(settings: Settings) -> Seeded:
    started = time.perf_counter()
    engine = make_engine(settings.db_url)
    factory = make_sessionmaker(engine)
    try:
        with factory() as db:
            if tenancy.merchant_by_code(db, "demo") is not None:
                return Seeded(None)
        cal = history.Calendar.ending(clock.now(), settings.default_timezone)
        dclock = history.DemoClock(cal.setup_at)
        try:
            owner_pw, counts, actor, stores, terminal_ids, product_ids = _trade(settings, factory, cal, dclock)
        finally:
            dclock.release()
        _today(factory, actor, stores, product_ids)
        return Seeded(owner_pw, counts, time.perf_counter() - started)
    finally:
        engine.dispose()


def _trade(settings: Settings, factory, cal: history.Calendar, dclock: history.DemoClock):  # noqa: ANN001, ANN202
    """From the sign-up to now, on the frozen clock."""
    owner_pw, manager_pw, cashier_pw = _password(), _password(), _password()
    with factory() as db:
        out = tenancy.signup(db, SignupIn(
            merchant_name="好邻居便利店", store_name="人民路店", address="上海市黄浦区人民路 100 号",
            phone="021-63210000", owner_username="admin", owner_password=owner_pw,
            owner_display_name="王店主", merchant_code="demo"))
    actor = system_actor(out.tenant_id, "demo-seed")
    dclock.tick(60)
    with _session(factory, actor) as db:
        second = tenancy.create_store(db, actor, StoreIn(name="南京西路店", address="上海市静安区南京西路 200 号",
                                                         phone="021-62220000"))
        # 抹零: cash is asked to the 角 below (a convenience store's habit)
        tenancy.update_settings(db, actor, SettingsPatch(cash_rounding="jiao_down"))
    staff = [
        ("manager", "李店长", manager_pw, "store_manager", [out.store_id]),
        ("cashier", "张收银", cashier_pw, "cashier", [out.store_id]),
        ("cashier2", "赵收银", cashier_pw, "cashier", [second.id]),
        ("sales", "陈导购", cashier_pw, "salesperson", [out.store_id]),
    ]
    ids: dict[str, uuid.UUID] = {}
    for username, name, pw, role, stores in staff:
        dclock.tick(30)
        with _session(factory, actor) as db:
            ids[username] = employees.create(db, actor, EmployeeCreate(
                username=username, display_name=name, password=pw, role=role, store_ids=stores, pin="1234")).id
    with _session(factory, actor) as db:
        cast = history.Cast(
            owner=_login(db, out.tenant_id, "admin", owner_pw),
            manager=_login(db, out.tenant_id, "manager", manager_pw),
            cashier=_login(db, out.tenant_id, "cashier", cashier_pw),
            cashier2=_login(db, out.tenant_id, "cashier2", cashier_pw), salesperson_id=ids["sales"])
        terminals = {t.store_id: t.id for t in reversed(tenancy.list_terminals(db, actor))}
    stores = [out.store_id, second.id]
    product_ids, people = _set_up(factory, actor, dclock, cal, stores)
    with _session(factory, actor) as db:
        from cloudpos.catalog import service as catalog

        products = catalog.product_briefs(db, actor.tenant_id, product_ids)
        with history.wallet_gateway(db, actor) as wallets:
            counts = history.Replay(factory, out.tenant_id, cal, dclock, cast, stores,
                                    [terminals[s] for s in stores], products, people, wallets=wallets).run()
    _write_credentials(settings, owner_pw, manager_pw, cashier_pw)
    return owner_pw, counts, actor, stores, [terminals[s] for s in stores], product_ids


def _login(db, tenant_id: uuid.UUID, username: str, password: str) -> Actor:  # noqa: ANN001
    a = auth.verify_credentials(db, tenant_id, username, password)
    assert a is not None, username  # noqa: S101 - just created with this password
    return a


def _session(factory, actor):  # noqa: ANN001, ANN202
    db = factory()
    db.info["tenant_id"] = actor.tenant_id
    return db


def _set_up(factory, actor, dclock: history.DemoClock, cal: history.Calendar,  # noqa: ANN001
            store_ids: list[uuid.UUID]) -> tuple[list[uuid.UUID], list]:
    """The evening before trading: catalog, opening stock, member programme, promotions."""
    from cloudpos.catalog import demo as catalog_demo
    from cloudpos.catalog import service as catalog
    from cloudpos.inventory import demo as inventory_demo
    from cloudpos.members import demo as members_demo
    from cloudpos.payments import demo as payments_demo
    from cloudpos.pricing import demo as pricing_demo

    with _session(factory, actor) as db:
        catalog_demo.seed(db, actor)
    dclock.tick(20 * 60)
    with _session(factory, actor) as db:
        briefs = catalog.product_briefs(db, actor.tenant_id, catalog.all_product_ids(db, actor.tenant_id))
        product_ids = sorted(briefs, key=lambda p: briefs[p].sku)
        inventory_demo.seed(db, actor, store_ids, product_ids, stocktake=False)
    dclock.tick(10 * 60)
    with _session(factory, actor) as db:
        members_demo.seed_program(db, actor)
    dclock.tick(5 * 60)
    with _session(factory, actor) as db:
        payments_demo.seed(db, actor)
    with _session(factory, actor) as db:
        categories = [c.id for c in catalog.list_categories(db, actor) if c.depth == 0]
        # the week's special runs in the last days of the history (and on into the coming days)
        pricing_demo.seed(db, actor, category_ids=categories, product_ids=product_ids,
                          special_from=cal.today - timedelta(days=3), coupons=False)
    people = members_demo.people(store_ids, birthday_month=cal.today.month)
    return product_ids, people


def _today(factory, actor, store_ids: list[uuid.UUID], product_ids: list[uuid.UUID]) -> None:  # noqa: ANN001
    """At the present time, after the history: printers, an open spot check, member segments and a campaign."""
    from cloudpos.inventory import demo as inventory_demo
    from cloudpos.members import demo as members_demo
    from cloudpos.printing import demo as printing_demo

    with _session(factory, actor) as db:
        printing_demo.seed(db, actor, store_ids)
    with _session(factory, actor) as db:
        inventory_demo.seed_stocktake(db, actor, store_ids[0], product_ids, random.Random(20261127))  # noqa: S311
    with _session(factory, actor) as db:
        members_demo.seed_marketing(db, actor)


def _write_credentials(settings: Settings, owner: str, manager: str, cashier: str) -> None:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    path = settings.var_dir / "demo-credentials.txt"
    path.write_text(
        "Demo merchant code: demo\n"
        f"  owner    admin    / {owner}\n"
        f"  manager  manager  / {manager}\n"
        f"  cashier  cashier  / {cashier}   (PIN 1234; cashier2 and sales use the same password)\n"
    )
    path.chmod(0o600)
