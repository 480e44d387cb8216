"""`cloudpos audit verify`: walk each merchant's audit chain and name the first broken link."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from cloudpos.audit import service as audit
from cloudpos.db import make_engine, make_sessionmaker
from cloudpos.tenancy.models import Tenant


def verify_audit(url: str, merchant: str | None, echo: Callable[[str], None]) -> bool:
    engine = make_engine(url)
    ok = True
    try:
        with make_sessionmaker(engine)() as db:
            stmt = select(Tenant).order_by(Tenant.code)
            if merchant:
                stmt = stmt.where(Tenant.code == merchant)
            tenants = db.scalars(stmt).all()
            if merchant and not tenants:
                echo(f"No merchant with code {merchant!r}.")
                return False
            for t in tenants:
                count, broken = audit.verify_chain(db, t.id)
                if broken is None:
                    echo(f"{t.code}: OK — {count} events, chain intact")
                else:
                    ok = False
                    echo(f"{t.code}: BROKEN at sequence #{broken.seq}: {broken.reason}")
    finally:
        engine.dispose()
    return ok
