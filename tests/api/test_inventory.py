"""Inventory API on SQLite and PostgreSQL: receipts, adjustments, transfers, negative stock, alerts,
the ledger, tenancy and permissions."""

from __future__ import annotations

import uuid

from test_inventory_support import add_store, make_product, on_hand, receive


def test_receipt_raises_stock_and_moves_cost_to_the_average(client, merchant):
    p = make_product(merchant, cost=200)
    receive(merchant, p["id"], "10", unit_cost=200)
    r = receive(merchant, p["id"], "5", unit_cost=215)
    assert r["number"].startswith("RK") and r["total_cost"] == 1075 and r["total_quantity"] == "5.000"
    assert r["lines"][0]["cost_before"] == 200 and r["lines"][0]["cost_after"] == 205
    assert on_hand(merchant, p["id"]) == "15.000"
    prod = client.get(f"/api/v1/products/{p['id']}", headers=merchant.owner).json()
    assert prod["cost"] == 205
    detail = client.get(f"/api/v1/stock/receipts/{r['id']}", headers=merchant.owner).json()
    assert detail["supplier"] == "可口可乐装瓶厂" and detail["lines"][0]["product"]["sku"] == p["sku"]
    lst = client.get("/api/v1/stock/receipts", headers=merchant.owner, params={"q": "可口可乐"}).json()
    assert lst["total"] == 2
    mv = client.get("/api/v1/stock/movements", headers=merchant.owner, params={"product_id": p["id"]}).json()
    assert [m["kind"] for m in mv["items"]] == ["receipt", "receipt"]
    assert mv["items"][0]["balance_after"] == "15.000" and mv["items"][0]["quantity"] == "5.000"
    audit = client.get("/api/v1/audit-events", headers=merchant.owner, params={"action": "stock."}).json()
    assert any(e["action"] == "stock.receipt.create" for e in audit["items"])


def test_receipt_bad_input_is_a_4xx_and_writes_nothing(client, merchant):
    p = make_product(merchant)
    base = {"store_id": str(merchant.store_id), "lines": [{"product_id": p["id"], "quantity": "1", "unit_cost": 1}]}
    bad_lines = [
        [{"product_id": p["id"], "quantity": 1.5, "unit_cost": 1}],  # float quantity
        [{"product_id": p["id"], "quantity": "1.2345", "unit_cost": 1}],  # 4 decimals
        [{"product_id": p["id"], "quantity": "0", "unit_cost": 1}],
        [{"product_id": p["id"], "quantity": "-1", "unit_cost": 1}],
        [{"product_id": p["id"], "quantity": "1", "unit_cost": 1.5}],  # float money
        [{"product_id": p["id"], "quantity": "1", "unit_cost": -1}],
        [{"product_id": str(uuid.uuid4()), "quantity": "1", "unit_cost": 1}],
        [],
    ]
    for lines in bad_lines:
        r = client.post("/api/v1/stock/receipts", headers=merchant.owner, json={**base, "lines": lines})
        assert r.status_code == 422, (lines, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = client.post("/api/v1/stock/receipts", headers=merchant.owner, json={**base, "store_id": str(uuid.uuid4())})
    assert r.status_code == 404
    r = client.post("/api/v1/stock/receipts", headers=merchant.owner, json={**base, "extra": 1})
    assert r.status_code == 422
    assert on_hand(merchant, p["id"]) == "0.000"
    assert client.get("/api/v1/stock/receipts", headers=merchant.owner).json()["total"] == 0


def test_adjustment_with_reason_and_cashier_is_refused(client, merchant):
    p = make_product(merchant, cost=150)
    receive(merchant, p["id"], "10", unit_cost=150)
    body = {"store_id": str(merchant.store_id), "reason": "damaged", "note": "摔碎两瓶",
            "lines": [{"product_id": p["id"], "quantity": "-2"}]}
    cashier = merchant.as_role("cashier")
    r = client.post("/api/v1/stock/adjustments", headers=cashier, json=body)
    assert r.status_code == 403
    assert on_hand(merchant, p["id"]) == "10.000"
    r = client.post("/api/v1/stock/adjustments", headers=merchant.owner, json=body)
    assert r.status_code == 201, r.text
    adj = r.json()
    assert adj["number"].startswith("TZ") and adj["reason"] == "damaged"
    assert adj["lines"][0]["quantity"] == "-2.000" and adj["lines"][0]["reason"] == "damaged"
    assert on_hand(merchant, p["id"]) == "8.000"
    r = client.post("/api/v1/stock/adjustments", headers=merchant.owner, json={**body, "reason": "stolen"})
    assert r.status_code == 422
    got = client.get("/api/v1/stock/adjustments", headers=merchant.owner, params={"reason": "damaged"}).json()
    assert got["total"] == 1
    assert client.get(f"/api/v1/stock/adjustments/{adj['id']}", headers=merchant.owner).json()["note"] == "摔碎两瓶"


def test_transfer_out_in_transit_and_received(client, merchant):
    p = make_product(merchant, cost=100)
    receive(merchant, p["id"], "10", unit_cost=100)
    second = add_store(merchant)
    body = {"from_store_id": str(merchant.store_id), "to_store_id": second, "note": "补货",
            "lines": [{"product_id": p["id"], "quantity": "4"}]}
    t = client.post("/api/v1/stock/transfers", headers=merchant.owner, json=body).json()
    assert t["status"] == "draft" and t["number"].startswith("DB")
    assert on_hand(merchant, p["id"]) == "10.000"
    r = client.post(f"/api/v1/stock/transfers/{t['id']}/ship", headers=merchant.owner)
    assert r.status_code == 200 and r.json()["status"] == "in_transit"
    assert on_hand(merchant, p["id"]) == "6.000" and on_hand(merchant, p["id"], second) == "0.000"
    assert client.post(f"/api/v1/stock/transfers/{t['id']}/ship", headers=merchant.owner).status_code == 409
    assert client.post(f"/api/v1/stock/transfers/{t['id']}/cancel", headers=merchant.owner).status_code == 409
    r = client.post(f"/api/v1/stock/transfers/{t['id']}/receive", headers=merchant.owner,
                    json={"lines": [{"product_id": p["id"], "quantity": "5"}]})
    assert r.status_code == 422  # more than shipped
    r = client.post(f"/api/v1/stock/transfers/{t['id']}/receive", headers=merchant.owner,
                    json={"lines": [{"product_id": p["id"], "quantity": "3.5"}]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "received" and out["lines"][0]["received_quantity"] == "3.500"
    assert out["lines"][0]["difference"] == "-0.500"
    assert on_hand(merchant, p["id"], second) == "3.500"
    kinds = [m["kind"] for m in client.get("/api/v1/stock/movements", headers=merchant.owner,
                                           params={"ref_id": t["id"]}).json()["items"]]
    assert sorted(kinds) == ["transfer_in", "transfer_out"]
    # a draft can be cancelled, and then nothing moves
    t2 = client.post("/api/v1/stock/transfers", headers=merchant.owner, json=body).json()
    r = client.post(f"/api/v1/stock/transfers/{t2['id']}/cancel", headers=merchant.owner)
    assert r.json()["status"] == "cancelled"
    assert on_hand(merchant, p["id"]) == "6.000"
    same = {**body, "to_store_id": str(merchant.store_id)}
    assert client.post("/api/v1/stock/transfers", headers=merchant.owner, json=same).status_code == 422


def test_block_negative_stock_refuses_and_writes_nothing(client, merchant):
    p = make_product(merchant, name="雪碧")
    q = make_product(merchant, name="芬达")
    receive(merchant, p["id"], "1")
    receive(merchant, q["id"], "5")
    body = {"store_id": str(merchant.store_id), "reason": "lost",
            "lines": [{"product_id": q["id"], "quantity": "-1"}, {"product_id": p["id"], "quantity": "-2"}]}
    # allow (the default): stock may go negative
    r = client.patch("/api/v1/merchant/settings", headers=merchant.owner, json={"negative_stock": "block"})
    assert r.status_code == 200 and r.json()["settings"]["negative_stock"] == "block"
    r = client.post("/api/v1/stock/adjustments", headers=merchant.owner, json=body)
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["code"] == "insufficient_stock" and "雪碧" in problem["detail"]
    assert on_hand(merchant, p["id"]) == "1.000" and on_hand(merchant, q["id"]) == "5.000"
    assert client.get("/api/v1/stock/adjustments", headers=merchant.owner).json()["total"] == 0
    client.patch("/api/v1/merchant/settings", headers=merchant.owner, json={"negative_stock": "allow"})
    r = client.post("/api/v1/stock/adjustments", headers=merchant.owner, json=body)
    assert r.status_code == 201
    assert on_hand(merchant, p["id"]) == "-1.000"
    neg = client.get("/api/v1/stock", headers=merchant.owner, params={"negative": "true"}).json()
    assert [i["product_id"] for i in neg["items"]] == [p["id"]] and neg["items"][0]["negative"] is True


def test_low_stock_alerts_and_notification(client, merchant):
    p = make_product(merchant, name="农夫山泉", threshold="5")
    q = make_product(merchant, name="康师傅方便面")
    receive(merchant, p["id"], "6")
    receive(merchant, q["id"], "1")
    assert client.get("/api/v1/stock/alerts", headers=merchant.owner).json() == []
    client.post("/api/v1/stock/adjustments", headers=merchant.owner, json={
        "store_id": str(merchant.store_id), "reason": "expired", "lines": [{"product_id": p["id"], "quantity": "-2"}]})
    alerts = client.get("/api/v1/stock/alerts", headers=merchant.owner).json()
    assert [(a["product"]["name"], a["on_hand"], a["threshold"], a["shortfall"]) for a in alerts] == [
        ("农夫山泉", "4.000", "5.000", "1.000")]
    events = client.get("/api/v1/stock/alerts/events", headers=merchant.owner).json()
    assert events["total"] == 1 and events["items"][0]["movement_kind"] == "adjustment"
    low = client.get("/api/v1/stock", headers=merchant.owner, params={"low": "true"}).json()
    assert [i["product_id"] for i in low["items"]] == [p["id"]]
    # a per-store threshold overrides the product's
    r = client.put("/api/v1/stock/thresholds", headers=merchant.owner, json={
        "store_id": str(merchant.store_id), "product_id": q["id"], "low_stock_threshold": "2"})
    assert r.status_code == 200 and r.json()["low"] is True
    names = sorted(a["product"]["name"] for a in client.get("/api/v1/stock/alerts", headers=merchant.owner).json())
    assert names == ["农夫山泉", "康师傅方便面"]


def test_dashboard_badge_count(client, merchant, db):
    from cloudpos.auth import service as auth
    from cloudpos.inventory import service as inventory

    p = make_product(merchant, threshold="3")
    receive(merchant, p["id"], "1")
    token = merchant.owner["Authorization"].split()[1]
    actor = auth.authenticate(db, token)
    db.info["tenant_id"] = actor.tenant_id
    assert inventory.alert_count(db, actor) == 1


def test_other_tenant_sees_nothing(client, merchant, other_merchant):
    p = make_product(merchant)
    r = receive(merchant, p["id"], "3")
    o = other_merchant.owner
    assert client.get(f"/api/v1/stock/receipts/{r['id']}", headers=o).status_code == 404
    assert client.get("/api/v1/stock", headers=o, params={"store_id": str(merchant.store_id)}).status_code == 404
    assert client.get("/api/v1/stock", headers=o).json()["total"] == 0
    assert client.get("/api/v1/stock/movements", headers=o).json()["total"] == 0
    body = {"store_id": str(other_merchant.store_id), "reason": "other",
            "lines": [{"product_id": p["id"], "quantity": "1"}]}
    assert client.post("/api/v1/stock/adjustments", headers=o, json=body).status_code == 422  # unknown product
    body = {"store_id": str(merchant.store_id), "reason": "other", "lines": [{"product_id": p["id"], "quantity": "1"}]}
    assert client.post("/api/v1/stock/adjustments", headers=o, json=body).status_code == 404


def test_apply_movements_for_checkout_in_the_callers_transaction(client, merchant, db):
    """The public service function checkout will call: a sale movement inside the caller's transaction."""
    from cloudpos.auth import service as auth
    from cloudpos.errors import Conflict
    from cloudpos.inventory import service as inventory

    p = make_product(merchant, cost=120)
    receive(merchant, p["id"], "3", unit_cost=120)
    actor = auth.authenticate(db, merchant.owner["Authorization"].split()[1])
    db.info["tenant_id"] = actor.tenant_id
    sale_id = uuid.uuid4()
    out = inventory.apply_movements(db, actor, merchant.store_id, [(uuid.UUID(p["id"]), -1_500, 120)],
                                    "sale", "sale", sale_id)
    db.commit()
    assert out[0].on_hand == 1_500
    assert on_hand(merchant, p["id"]) == "1.500"
    client.patch("/api/v1/merchant/settings", headers=merchant.owner, json={"negative_stock": "block"})
    db.expire_all()  # this long-lived test session read the settings before they changed
    try:
        inventory.apply_movements(db, actor, merchant.store_id, [(uuid.UUID(p["id"]), -2_000, 120)],
                                  "sale", "sale", uuid.uuid4())
        raise AssertionError("expected Conflict")
    except Conflict as exc:
        assert exc.code == "insufficient_stock"
    db.rollback()
    assert on_hand(merchant, p["id"]) == "1.500"
    mv = client.get("/api/v1/stock/movements", headers=merchant.owner, params={"kind": "sale"}).json()
    assert mv["total"] == 1 and mv["items"][0]["ref_id"] == str(sale_id)


def test_movements_are_append_only(client, merchant, db):
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    p = make_product(merchant)
    receive(merchant, p["id"], "1")
    for sql in ("UPDATE stock_movements SET quantity = 5 WHERE product_id = :p",
                "DELETE FROM stock_movements WHERE product_id = :p"):
        with pytest.raises(DBAPIError):
            db.execute(text(sql), {"p": uuid.UUID(p["id"]) if db.bind.dialect.name == "postgresql"
                                   else uuid.UUID(p["id"]).hex})
        db.rollback()


def test_permissions_for_reading(client, merchant):
    p = make_product(merchant)
    receive(merchant, p["id"], "1")
    cashier = merchant.as_role("cashier")
    assert client.get("/api/v1/stock/receipts", headers=cashier).status_code == 200  # cashiers may look
    body = {"store_id": str(merchant.store_id), "lines": [{"product_id": p["id"], "quantity": "1", "unit_cost": 1}]}
    assert client.post("/api/v1/stock/receipts", headers=cashier, json=body).status_code == 403
    r = client.post("/api/v1/stocktakes", headers=cashier, json={"store_id": str(merchant.store_id)})
    assert r.status_code == 403
    assert client.get("/api/v1/stock", headers={}).status_code == 401


def test_demo_seed_gives_a_real_ledger(client, merchant, db):
    from cloudpos.context import system_actor
    from cloudpos.inventory import demo
    from cloudpos.inventory import service as inventory
    from cloudpos.ops.stock_verify import mismatches

    ids = [uuid.UUID(make_product(merchant, name=f"演示商品{i}", cost=100 + i)["id"]) for i in range(8)]
    second = uuid.UUID(add_store(merchant))
    actor = system_actor(merchant.tenant_id, "demo-seed")
    db.info["tenant_id"] = merchant.tenant_id
    made = demo.seed(db, actor, [merchant.store_id, second], ids)
    assert made == {"receipts": 2, "adjustments": 4, "transfers": 1, "stocktakes": 1}
    assert mismatches(db, merchant.tenant_id) == []
    open_st, total = inventory.list_stocktakes(db, actor, status="open")
    assert total == 1 and open_st[0].counted_lines == 4
