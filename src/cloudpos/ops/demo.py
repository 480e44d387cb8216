"""The demo merchant (code `demo`): created once by `cloudpos demo seed`; later runs keep the data.

Passwords are random, written to var/demo-credentials.txt (mode 600) and printed when the server starts.
"""

from __future__ import annotations

import secrets
import string

from cloudpos.auth import employees
from cloudpos.auth.schemas import EmployeeCreate
from cloudpos.config import Settings
from cloudpos.context import system_actor
from cloudpos.db import make_engine, make_sessionmaker
from cloudpos.tenancy import service as tenancy
from cloudpos.tenancy.schemas import SignupIn, StoreIn


def _password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(10)) + secrets.choice("23456789")


def seed(settings: Settings) -> str | None:
    """Returns the owner's password when the merchant was created, None when it already existed."""
    engine = make_engine(settings.db_url)
    factory = make_sessionmaker(engine)
    try:
        with factory() as db:
            if tenancy.merchant_by_code(db, "demo") is not None:
                return None
        owner_pw, manager_pw, cashier_pw = _password(), _password(), _password()
        with factory() as db:
            out = tenancy.signup(db, SignupIn(
                merchant_name="好邻居便利店", store_name="人民路店", address="上海市黄浦区人民路 100 号",
                phone="021-63210000", owner_username="admin", owner_password=owner_pw,
                owner_display_name="王店主", merchant_code="demo"))
        actor = system_actor(out.tenant_id, "demo-seed")
        with factory() as db:
            db.info["tenant_id"] = out.tenant_id
            second = tenancy.create_store(db, actor, StoreIn(name="南京西路店", address="上海市静安区南京西路 200 号",
                                                             phone="021-62220000"))
        staff = [
            ("manager", "李店长", manager_pw, "store_manager", [out.store_id]),
            ("cashier", "张收银", cashier_pw, "cashier", [out.store_id]),
            ("cashier2", "赵收银", cashier_pw, "cashier", [second.id]),
            ("sales", "陈导购", cashier_pw, "salesperson", [out.store_id]),
        ]
        for username, name, pw, role, stores in staff:
            with factory() as db:
                db.info["tenant_id"] = out.tenant_id
                employees.create(db, actor, EmployeeCreate(username=username, display_name=name, password=pw,
                                                           role=role, store_ids=stores, pin="1234"))
        _seed_capabilities(factory, actor, [out.store_id, second.id], out.terminal_id)
        _write_credentials(settings, owner_pw, manager_pw, cashier_pw)
        return owner_pw
    finally:
        engine.dispose()


def _session(factory, actor):  # noqa: ANN001, ANN202
    db = factory()
    db.info["tenant_id"] = actor.tenant_id
    return db


def _seed_capabilities(factory, actor, store_ids: list, terminal_id) -> None:  # noqa: ANN001
    """Catalog, stock, members, promotions, printers, then a few days of real sales through checkout."""
    from cloudpos.catalog import demo as catalog_demo
    from cloudpos.catalog import service as catalog
    from cloudpos.inventory import demo as inventory_demo
    from cloudpos.members import demo as members_demo
    from cloudpos.printing import demo as printing_demo

    with _session(factory, actor) as db:
        catalog_demo.seed(db, actor)
    with _session(factory, actor) as db:
        product_ids = catalog.all_product_ids(db, actor.tenant_id)
        inventory_demo.seed(db, actor, store_ids, product_ids)
    with _session(factory, actor) as db:
        members_demo.seed(db, actor, store_ids)
    with _session(factory, actor) as db:
        printing_demo.seed(db, actor, store_ids)
    try:
        from cloudpos.pricing import demo as pricing_demo
    except ImportError:  # pragma: no cover - the pricing demo is optional
        pricing_demo = None
    if pricing_demo is not None:
        with _session(factory, actor) as db:
            categories = [c.id for c in catalog.list_categories(db, actor) if c.depth == 0]
            pricing_demo.seed(db, actor, category_ids=categories, product_ids=product_ids)
    with _session(factory, actor) as db:
        _demo_sales(db, actor, store_ids[0], terminal_id, product_ids)


def _demo_sales(db, actor, store_id, terminal_id, product_ids: list, count: int = 40) -> None:  # noqa: ANN001
    """Real sales through checkout (priced by the engine, stock moved, points earned, receipts numbered)."""
    import random

    from cloudpos.members import service as members
    from cloudpos.sales import service as sales
    from cloudpos.sales.schemas import LineIn, PaymentIn, SaleIn, ShiftOpenIn

    rng = random.Random(11)  # noqa: S311 - reproducible demo data
    sales.open_shift(db, actor, ShiftOpenIn(terminal_id=terminal_id, opening_float=50000))
    member_ids = [m.id for m in members.list_members(db, actor, page_size=30)[0]]
    for _ in range(count):
        picks = rng.sample(product_ids, rng.randint(1, 5))
        lines = [LineIn(product_id=pid, quantity=str(rng.randint(1, 3))) for pid in picks]
        member = rng.choice(member_ids) if member_ids and rng.random() < 0.5 else None
        try:
            from cloudpos.pricing import service as pricing

            quote = pricing.price(db, actor, store_id, [pricing.WantedLine(ln.product_id, None, ln.quantity)
                                                        for ln in lines], member_id=member)
            total = quote.result.total_fen
            db.rollback()
            method = rng.choice(["cash", "cash", "wechat_offline", "card"])
            pay = (PaymentIn(method="cash", amount=total, tendered=-(-total // 10000) * 10000) if method == "cash"
                   else PaymentIn(method="card", amount=total, card_last4=f"{rng.randint(0, 9999):04d}",
                                  approval_code=f"A{rng.randint(10000, 99999)}"))
            sales.create_sale(db, actor, SaleIn(store_id=store_id, terminal_id=terminal_id, lines=lines,
                                                member_id=member, payments=[pay]))
        except Exception:  # noqa: BLE001 - a demo sale that cannot be made (weighed item, sold out) is skipped
            db.rollback()


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
