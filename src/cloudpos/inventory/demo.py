"""Demo stock for the demo merchant: opening stock through real goods receipts (so the ledger is
real), a few adjustments, one received transfer and one open stocktake with some counts (`seed_stocktake`;
the full demo opens it after its weeks of sales, `stocktake=False` here)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from cloudpos.context import Actor

from . import service as inventory
from .products import catalog
from .schemas import AdjustmentIn, CountIn, ReceiptIn, ReceiveIn, StocktakeIn, TransferIn

SUPPLIERS = ["上海可口可乐饮料有限公司", "康师傅控股", "农夫山泉股份有限公司", "伊利乳业", "上海光明食品",
             "联合利华（中国）"]


def _qty(units: int) -> str:
    return str(units)


def seed(db: Session, actor: Actor, store_ids: Sequence[uuid.UUID], product_ids: Sequence[uuid.UUID],
         rng: random.Random | None = None, *, stocktake: bool = True) -> dict[str, int]:
    """Runs each step as its own use case (one transaction each). Returns counts of what was made."""
    rng = rng or random.Random(20261127)  # noqa: S311 - demo data, reproducible
    products = catalog.get_products(db, actor, product_ids)
    ids = [pid for pid in product_ids if pid in products]
    made = {"receipts": 0, "adjustments": 0, "transfers": 0, "stocktakes": 0}
    if not ids or not store_ids:
        return made
    for si, store_id in enumerate(store_ids):
        chunk = 40
        for start in range(0, len(ids), chunk):
            lines = []
            for pid in ids[start:start + chunk]:
                p = products[pid]
                base = p.cost or max(1, p.price * 7 // 10)
                units = rng.randint(2, 60) if si == 0 else rng.randint(0, 30)
                if units == 0:
                    continue
                lines.append({"product_id": pid, "quantity": _qty(units), "unit_cost": base})
            if lines:
                inventory.create_receipt(db, actor, ReceiptIn(
                    store_id=store_id, supplier=rng.choice(SUPPLIERS), reference=f"PO{2026110 + start:08d}",
                    note="期初库存", lines=lines))
                made["receipts"] += 1
    main = store_ids[0]
    for reason, pick, q in (("damaged", 0, "-1"), ("expired", 3, "-2"), ("lost", 5, "-1"), ("entry_error", 7, "1")):
        if pick < len(ids):
            inventory.create_adjustment(db, actor, AdjustmentIn(
                store_id=main, reason=reason, note={"damaged": "搬运时摔坏", "expired": "临期下架", "lost": "货架缺失",
                                                    "entry_error": "入库少录一件"}[reason],
                lines=[{"product_id": ids[pick], "quantity": q}]))
            made["adjustments"] += 1
    if len(store_ids) > 1 and len(ids) >= 3:
        t = inventory.create_transfer(db, actor, TransferIn(
            from_store_id=main, to_store_id=store_ids[1], note="周末补货", ship=True,
            lines=[{"product_id": pid, "quantity": "2"} for pid in ids[:3]]))
        inventory.receive_transfer(db, actor, t.id, ReceiveIn())
        made["transfers"] += 1
    if stocktake:
        seed_stocktake(db, actor, main, ids, rng)
        made["stocktakes"] += 1
    return made


def seed_stocktake(db: Session, actor: Actor, store_id: uuid.UUID, product_ids: Sequence[uuid.UUID],
                   rng: random.Random) -> None:
    """An open spot check (抽盘) of the first 12 products, half of them counted: what the shelf holds, one
    piece short now and then (a variance to explain)."""
    sample = list(product_ids[: min(12, len(product_ids))])
    st = inventory.create_stocktake(db, actor, StocktakeIn(store_id=store_id, scope="products", product_ids=sample,
                                                           note="月末抽盘"))
    on_hand = inventory.stock_of(db, actor, store_id, sample)
    counts = []
    for pid in sample[: len(sample) // 2]:
        units = max(0, on_hand.get(pid, 0) // 1000 - (1 if rng.random() < 0.3 else 0))
        counts.append(CountIn(product_id=pid, quantity=_qty(units), mode="set"))
    if counts:
        inventory.record_counts(db, actor, st.id, counts)
