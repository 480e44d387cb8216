"""`cloudpos stock verify`: prove that every cached on-hand equals the sum of its stock movements."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloudpos.db import make_engine, make_sessionmaker
from cloudpos.inventory.models import StockLevel, StockMovement
from cloudpos.money import milli_to_str
from cloudpos.tenancy.models import Store, Tenant


def mismatches(db: Session, tenant_id: uuid.UUID) -> list[tuple[uuid.UUID, uuid.UUID, int, int]]:
    """(store_id, product_id, cached on-hand, ledger sum) for every pair that disagrees, in key order."""
    sums = {(s, p): int(q) for s, p, q in db.execute(
        select(StockMovement.store_id, StockMovement.product_id, func.sum(StockMovement.quantity))
        .where(StockMovement.tenant_id == tenant_id)
        .group_by(StockMovement.store_id, StockMovement.product_id)
        .execution_options(all_tenants=True)).all()}
    levels = {(s, p): q for s, p, q in db.execute(
        select(StockLevel.store_id, StockLevel.product_id, StockLevel.on_hand)
        .where(StockLevel.tenant_id == tenant_id)).all()}
    bad = [(s, p, levels.get((s, p), 0), sums.get((s, p), 0)) for s, p in set(sums) | set(levels)
           if levels.get((s, p), 0) != sums.get((s, p), 0)]
    return sorted(bad, key=lambda b: (b[0].bytes, b[1].bytes))


def verify_stock(url: str, merchant: str | None, echo: Callable[[str], None]) -> bool:
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
                bad = mismatches(db, t.id)
                pairs = db.scalar(select(func.count()).select_from(StockLevel).where(StockLevel.tenant_id == t.id))
                if not bad:
                    echo(f"{t.code}: OK — {pairs} stock balances equal their ledgers")
                    continue
                ok = False
                store_id, product_id, cached, ledger = bad[0]
                store = db.get(Store, (t.id, store_id))
                echo(f"{t.code}: MISMATCH in {len(bad)} balance(s); first: store {store.code if store else store_id} "
                     f"({store_id}), product {_product_label(db, t.id, product_id)}: on-hand {milli_to_str(cached)} "
                     f"but the ledger sums to {milli_to_str(ledger)}")
    finally:
        engine.dispose()
    return ok


def _product_label(db: Session, tenant_id: uuid.UUID, product_id: uuid.UUID) -> str:
    from cloudpos.catalog import service as catalog

    p = catalog.product_briefs(db, tenant_id, [product_id]).get(product_id)
    return f"{p.sku} {p.name} ({product_id})" if p else str(product_id)
