"""Stocktakes on SQLite and PostgreSQL: scope, counting (scan +1 / set), sales during the count,
variance, sheets, posting and read-only afterwards."""

from __future__ import annotations

import io
import uuid

from test_inventory_support import make_category, make_product, on_hand, receive

EAN_A = "6901234567892"


def _actor(db, merchant):
    from cloudpos.auth import service as auth

    actor = auth.authenticate(db, merchant.owner["Authorization"].split()[1])
    db.info["tenant_id"] = actor.tenant_id
    return actor


def _sell(db, actor, merchant, product_id: str, milli: int) -> None:
    from cloudpos.inventory import service as inventory

    inventory.apply_movements(db, actor, merchant.store_id, [(uuid.UUID(product_id), -milli, None)], "sale", "sale",
                              uuid.uuid4())
    db.commit()


def test_stocktake_full_flow_with_sales_during_the_count(client, merchant, db):
    h = merchant.owner
    drinks = make_category(merchant, "饮料")
    soda = make_category(merchant, "碳酸饮料", drinks["id"])
    a = make_product(merchant, name="可口可乐", barcodes=[EAN_A], category_id=soda["id"], cost=250)
    b = make_product(merchant, name="冰红茶", category_id=drinks["id"], cost=300)
    c = make_product(merchant, name="薯片")
    receive(merchant, a["id"], "10", unit_cost=250)
    receive(merchant, b["id"], "5", unit_cost=300)
    receive(merchant, c["id"], "3", unit_cost=500)

    r = client.post("/api/v1/stocktakes", headers=h, json={"store_id": str(merchant.store_id), "scope": "category",
                                                            "category_id": drinks["id"]})
    assert r.status_code == 201, r.text
    st = r.json()
    assert st["line_count"] == 2 and st["status"] == "open" and st["number"].startswith("PD")

    actor = _actor(db, merchant)
    _sell(db, actor, merchant, a["id"], 2_000)  # 不停业盘点: two colas sold before they were counted

    scans = [{"barcode": EAN_A, "quantity": "1"} for _ in range(8)]
    r = client.post(f"/api/v1/stocktakes/{st['id']}/counts", headers=h, json=scans)
    assert r.status_code == 200, r.text
    assert r.json()["results"][-1]["counted"] == "8.000" and r.json()["results"][-1]["expected"] == "8.000"
    r = client.post(f"/api/v1/stocktakes/{st['id']}/counts", headers=h,
                    json=[{"product_id": b["id"], "quantity": "4", "mode": "set"}])
    assert r.json()["counted_lines"] == 2

    _sell(db, actor, merchant, a["id"], 1_000)  # a sale after the count does not change its variance

    r = client.post(f"/api/v1/stocktakes/{st['id']}/counts", headers=h, json=[{"product_id": c["id"], "quantity": "1"}])
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "not_in_stocktake"
    r = client.post(f"/api/v1/stocktakes/{st['id']}/counts", headers=h, json=[{"barcode": "000", "quantity": "1"}])
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_barcode"

    v = client.get(f"/api/v1/stocktakes/{st['id']}/variance", headers=h).json()
    lines = {ln["product_id"]: ln for ln in v["lines"]}
    assert lines[a["id"]]["expected_snapshot"] == "10.000"
    assert (lines[a["id"]]["expected"], lines[a["id"]]["counted"], lines[a["id"]]["difference"]) == (
        "8.000", "8.000", "0.000")
    assert (lines[b["id"]]["expected"], lines[b["id"]]["counted"], lines[b["id"]]["difference"]) == (
        "5.000", "4.000", "-1.000")
    assert lines[b["id"]]["difference_cost"] == -300 and v["total_difference_cost"] == -300
    assert lines[a["id"]]["category"].endswith("碳酸饮料")

    r = client.patch(f"/api/v1/stocktakes/{st['id']}/variance", headers=h,
                     json={"lines": [{"product_id": b["id"], "reason": "lost", "note": "疑似被盗"}]})
    assert r.status_code == 200
    assert {ln["product_id"]: ln["reason"] for ln in r.json()["lines"]}[b["id"]] == "lost"

    x = client.get(f"/api/v1/stocktakes/{st['id']}/variance", headers=h, params={"format": "xlsx"})
    assert x.status_code == 200 and x.content[:2] == b"PK"

    cashier = merchant.as_role("cashier")
    assert client.post(f"/api/v1/stocktakes/{st['id']}/post", headers=cashier).status_code == 403

    r = client.post(f"/api/v1/stocktakes/{st['id']}/post", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["stocktake"]["status"] == "posted"
    assert on_hand(merchant, b["id"]) == "4.000"
    assert on_hand(merchant, a["id"]) == "7.000"  # 10 − 2 sold − 1 sold after the count, no adjustment
    mv = client.get("/api/v1/stock/movements", headers=h, params={"kind": "stocktake"}).json()
    assert [(m["product_id"], m["quantity"]) for m in mv["items"]] == [(b["id"], "-1.000")]

    # posted: read-only
    assert client.post(f"/api/v1/stocktakes/{st['id']}/counts", headers=h,
                       json=[{"product_id": b["id"], "quantity": "1"}]).status_code == 409
    assert client.patch(f"/api/v1/stocktakes/{st['id']}/variance", headers=h,
                        json={"lines": [{"product_id": b["id"], "reason": "other"}]}).status_code == 409
    assert client.post(f"/api/v1/stocktakes/{st['id']}/post", headers=h).status_code == 409
    assert client.post(f"/api/v1/stocktakes/{st['id']}/cancel", headers=h).status_code == 409
    events = client.get("/api/v1/audit-events", headers=h, params={"action": "stocktake."}).json()["items"]
    assert {"stocktake.create", "stocktake.count", "stocktake.post"} <= {e["action"] for e in events}


def test_count_sheets_blind_and_grouped(client, merchant):
    from openpyxl import load_workbook

    h = merchant.owner
    cat = make_category(merchant, "零食")
    p = make_product(merchant, name="乐事薯片", barcodes=[EAN_A], category_id=cat["id"])
    q = make_product(merchant, name="矿泉水")
    receive(merchant, p["id"], "7")
    for blind in (False, True):
        st = client.post("/api/v1/stocktakes", headers=h, json={"store_id": str(merchant.store_id), "scope": "products",
                                                                 "product_ids": [p["id"], q["id"]],
                                                                 "blind": blind}).json()
        r = client.get(f"/api/v1/stocktakes/{st['id']}/sheet", headers=h, params={"format": "xlsx"})
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
        ws = load_workbook(io.BytesIO(r.content)).active
        rows = [[c.value for c in row] for row in ws.iter_rows()]
        header = rows[1]
        assert ("Expected" in header or "应有数量" in header) is not blind
        assert header[-1] in ("Counted", "实盘数量")
        flat = [v for row in rows for v in row if v is not None]
        assert EAN_A in flat  # the barcode is text, not 6.9E+12
        assert "零食" in flat and "乐事薯片" in flat
        assert ("7.000" in flat) is not blind
        r = client.get(f"/api/v1/stocktakes/{st['id']}/sheet", headers=h, params={"format": "pdf"})
        assert r.status_code == 200 and r.content.startswith(b"%PDF") and r.headers["content-type"] == "application/pdf"
    # a counter entering a blind count does not learn the expected quantity
    counter = merchant.as_role("store_manager")
    r = client.post(f"/api/v1/stocktakes/{st['id']}/counts", headers=counter,
                    json=[{"barcode": EAN_A, "quantity": "2"}])
    assert r.status_code == 200 and r.json()["results"][0]["expected"] is None


def test_stocktake_all_products_zero_uncounted_and_validation(client, merchant):
    h = merchant.owner
    p = make_product(merchant)
    q = make_product(merchant)
    receive(merchant, p["id"], "3")
    receive(merchant, q["id"], "2")
    sid = str(merchant.store_id)
    assert client.post("/api/v1/stocktakes", headers=h, json={"store_id": sid, "scope": "category"}).status_code == 422
    assert client.post("/api/v1/stocktakes", headers=h, json={"store_id": sid, "scope": "products"}).status_code == 422
    assert client.post("/api/v1/stocktakes", headers=h,
                       json={"store_id": str(uuid.uuid4())}).status_code == 404
    st = client.post("/api/v1/stocktakes", headers=h, json={"store_id": sid}).json()
    assert st["line_count"] >= 2
    bad = [{"product_id": p["id"], "quantity": "-1", "mode": "set"}]
    assert client.post(f"/api/v1/stocktakes/{st['id']}/counts", headers=h, json=bad).status_code == 422
    assert client.post(f"/api/v1/stocktakes/{st['id']}/counts", headers=h, json=[]).status_code == 422
    assert client.post(f"/api/v1/stocktakes/{st['id']}/counts", headers=h,
                       json=[{"quantity": "1"}]).status_code == 422
    r = client.post(f"/api/v1/stocktakes/{st['id']}/counts", headers=h,
                    json=[{"product_id": p["id"], "quantity": "5", "mode": "set"},
                          {"product_id": p["id"], "quantity": "0.5"}])
    assert r.json()["results"][-1]["counted"] == "5.500"
    r = client.post(f"/api/v1/stocktakes/{st['id']}/post", headers=h, json={"zero_uncounted": True})
    assert r.status_code == 200
    assert on_hand(merchant, p["id"]) == "5.500" and on_hand(merchant, q["id"]) == "0.000"
    lst = client.get("/api/v1/stocktakes", headers=h, params={"status": "posted"}).json()
    assert lst["total"] == 1 and lst["items"][0]["counted_lines"] == lst["items"][0]["line_count"]


def test_stocktake_of_another_tenant_is_404(client, merchant, other_merchant):
    p = make_product(merchant)
    st = client.post("/api/v1/stocktakes", headers=merchant.owner,
                     json={"store_id": str(merchant.store_id), "scope": "products", "product_ids": [p["id"]]}).json()
    o = other_merchant.owner
    assert client.get(f"/api/v1/stocktakes/{st['id']}", headers=o).status_code == 404
    assert client.get(f"/api/v1/stocktakes/{st['id']}/variance", headers=o).status_code == 404
    assert client.post(f"/api/v1/stocktakes/{st['id']}/counts", headers=o,
                       json=[{"product_id": p["id"], "quantity": "1"}]).status_code == 404
    assert client.post(f"/api/v1/stocktakes/{st['id']}/post", headers=o).status_code == 404
