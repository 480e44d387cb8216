"""50 parallel stock movements on one product in one store (each thread its own session and
transaction, like 50 tills) leave the balance exactly equal to the ledger sum — SQLite and PostgreSQL.
Parallel scans of the same product in a stocktake are atomic increments too."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from api.test_inventory_support import make_product, receive
from sqlalchemy.orm import Session

from cloudpos.context import Actor
from cloudpos.db import use_case


@use_case
def _checkout(db: Session, actor: Actor, store_id: uuid.UUID, product_id: uuid.UUID, delta: int) -> int:
    from cloudpos.inventory import service as inventory

    kind = "sale" if delta < 0 else "refund"
    applied = inventory.apply_movements(db, actor, store_id, [(product_id, delta, 100)], kind, kind, uuid.uuid4())
    return applied[0].on_hand


def _owner_actor(app, merchant) -> Actor:
    from cloudpos.auth import service as auth

    with app.state.sessionmaker() as db:
        return auth.authenticate(db, merchant.owner["Authorization"].split()[1])


def _session(app, tenant_id: uuid.UUID) -> Session:
    s = app.state.sessionmaker()
    s.info["tenant_id"] = tenant_id
    return s


def test_50_parallel_movements_keep_balance_equal_to_ledger(app, client, merchant):
    from cloudpos.ops.stock_verify import mismatches

    p = make_product(merchant)
    receive(merchant, p["id"], "100")
    other = make_product(merchant)
    actor = _owner_actor(app, merchant)
    pid, oid = uuid.UUID(p["id"]), uuid.UUID(other["id"])
    deltas = [-1_000 if i % 5 else 2_500 for i in range(50)]  # 40 sales of 1, 10 refunds of 2.5

    def work(i: int) -> int:
        with _session(app, actor.tenant_id) as db:
            if i % 10 == 3:  # a few two-line documents in the other order, to exercise lock ordering
                from cloudpos.inventory import service as inventory

                @use_case
                def two(db: Session) -> None:
                    lines = [(oid, -1_000, None), (pid, deltas[i], None)]
                    inventory.apply_movements(db, actor, merchant.store_id, lines, "sale", "sale", uuid.uuid4())

                two(db)
                return 0
            return _checkout(db, actor, merchant.store_id, pid, deltas[i])

    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(work, range(50)))

    expected = 100_000 + sum(deltas)
    with _session(app, actor.tenant_id) as db:
        from cloudpos.inventory import service as inventory

        assert inventory.stock_of(db, actor, merchant.store_id, [pid])[pid] == expected
        assert mismatches(db, actor.tenant_id) == []
        moves, total = inventory.list_movements(db, actor, inventory.MovementFilter(product_id=pid), 1, 100)
        assert total == 51 and sum(m.quantity for m in moves) == expected
        assert max(m.balance_after for m in moves if m.kind != "receipt") <= 100_000 + 2_500 * 10


def test_parallel_scans_in_a_stocktake_are_atomic(app, client, merchant):
    from cloudpos.inventory import service as inventory
    from cloudpos.inventory.schemas import CountIn

    p = make_product(merchant, barcodes=["6901234567892"])
    receive(merchant, p["id"], "5")
    st = client.post("/api/v1/stocktakes", headers=merchant.owner,
                     json={"store_id": str(merchant.store_id), "scope": "products", "product_ids": [p["id"]]}).json()
    actor = _owner_actor(app, merchant)

    def scan(_: int) -> None:
        with _session(app, actor.tenant_id) as db:
            inventory.record_counts(db, actor, uuid.UUID(st["id"]), [CountIn(barcode="6901234567892", quantity="1")])

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(scan, range(30)))
    v = client.get(f"/api/v1/stocktakes/{st['id']}/variance", headers=merchant.owner).json()
    assert v["lines"][0]["counted"] == "30.000" and v["lines"][0]["expected"] == "5.000"


def test_parallel_receipts_in_two_stores_average_the_cost_without_losing_an_update(app, client, merchant):
    """Receipts of the same product lock its balance rows, so each one averages against the stock
    left by the previous one: with equal quantities the final cost is the exact sequential average."""
    from api.test_inventory_support import add_store

    from cloudpos.inventory import service as inventory
    from cloudpos.inventory.schemas import ReceiptIn
    from cloudpos.ops.stock_verify import mismatches

    p = make_product(merchant, cost=0)
    second = uuid.UUID(add_store(merchant))
    actor = _owner_actor(app, merchant)
    stores = [merchant.store_id, second]

    def work(i: int) -> None:
        with _session(app, actor.tenant_id) as db:
            inventory.create_receipt(db, actor, ReceiptIn(store_id=stores[i % 2], lines=[
                {"product_id": p["id"], "quantity": "1", "unit_cost": 100 * (i + 1)}]))

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(work, range(10)))
    with _session(app, actor.tenant_id) as db:
        assert mismatches(db, actor.tenant_id) == []
        rows, total = inventory.list_receipts(db, actor, page_size=50)
        assert total == 10
        # receipts are serialized (number order): each one averaged against all the stock before it
        lines = [inventory.get_receipt(db, actor, r.id).lines[0] for r in sorted(rows, key=lambda r: r.number)]
    prod = client.get(f"/api/v1/products/{p['id']}", headers=merchant.owner).json()
    from cloudpos.inventory.domain import moving_average_cost

    cost, stock = 0, 0
    for ln in lines:
        assert ln.cost_before == cost
        cost = moving_average_cost(stock, cost, ln.quantity, ln.unit_cost)
        assert ln.cost_after == cost
        stock += ln.quantity
    assert prod["cost"] == cost
