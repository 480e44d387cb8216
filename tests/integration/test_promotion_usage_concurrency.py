"""Two tills sell to the same member at the same moment with one use of a per-member-limited promotion
left: exactly one sale records the use, the other is refused (409) — on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
import threading
import uuid

from cloudpos.context import system_actor
from cloudpos.errors import Conflict
from cloudpos.pricing import service as pricing


def test_the_last_use_goes_to_exactly_one_of_two_concurrent_sales(merchant, app, backend):
    c, h = merchant.client, merchant.owner
    product = c.post("/api/v1/products", headers=h, json={"sku": f"C{secrets.token_hex(3)}", "name": "可乐",
                                                          "price": 1000, "cost": 500}).json()
    member = c.post("/api/v1/members", headers=h,
                    json={"phone": f"138{secrets.randbelow(10**8):08d}", "name": "李四"}).json()
    r = c.post("/api/v1/promotions", headers=h, json={
        "name": "限1次", "rule": {"kind": "percent_off", "percent_off_bp": 1000}, "scope": {"all": True},
        "max_uses_per_member": 1})
    assert r.status_code == 201, r.text
    actor = system_actor(merchant.tenant_id)
    wanted = [pricing.WantedLine(uuid.UUID(product["id"]), None, "1")]
    # PostgreSQL: both price first (both see 0 of 1 used), then both record. SQLite serializes writers
    # from the first statement, so there the second simply prices after the first committed.
    barrier = threading.Barrier(2, timeout=30) if backend == "postgresql" else None
    outcomes: list[str] = []
    lock = threading.Lock()

    def till() -> None:
        db = app.state.sessionmaker()
        db.info["tenant_id"] = merchant.tenant_id
        try:
            priced = pricing.price(db, actor, merchant.store_id, wanted, member_id=uuid.UUID(member["id"]))
            if barrier is not None:
                barrier.wait()
            try:
                pricing.record_promotion_uses(db, actor, priced, uuid.uuid4())
                db.commit()
                outcome = f"sold at {priced.result.total_fen}"
            except Conflict:
                db.rollback()
                outcome = "refused"
            with lock:
                outcomes.append(outcome)
        finally:
            db.close()

    threads = [threading.Thread(target=till) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if backend == "postgresql":
        assert sorted(outcomes) == ["refused", "sold at 900"]
    else:  # the second till priced after the first sale: no discount, nothing to record
        assert sorted(outcomes) == ["sold at 1000", "sold at 900"]
    db = app.state.sessionmaker()
    db.info["tenant_id"] = merchant.tenant_id
    try:
        promo_id = r.json()["id"]
        assert pricing.promotion_use_counts(db, merchant.tenant_id, uuid.UUID(member["id"]), [promo_id]) == {
            promo_id: 1}
    finally:
        db.close()
