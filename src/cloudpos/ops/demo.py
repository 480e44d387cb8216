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
        _write_credentials(settings, owner_pw, manager_pw, cashier_pw)
        return owner_pw
    finally:
        engine.dispose()


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
