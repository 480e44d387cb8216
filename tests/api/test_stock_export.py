"""Stock export (.xlsx) and per-store low-stock thresholds, on SQLite and PostgreSQL: the file is
opened and its figures checked against the ledger (on hand, draft transfers, available,
thresholds, value at cost, total), with the stock page's filters, store scoping and permissions."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook
from test_inventory_support import add_store, make_product, receive

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def sheet(client, headers, **params) -> list[tuple]:
    r = client.get("/api/v1/stock/export", headers=headers, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment; filename=stock-" in r.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(r.content)).active
    return [tuple(c.value for c in row) for row in ws.iter_rows()]


def by_key(rows: list[tuple]) -> dict[tuple[str, str], tuple]:
    """(store name, SKU) → the row, for the stock rows (between the header and the blank line)."""
    body = rows[1:rows.index((None,) * len(rows[0]))] if (None,) * len(rows[0]) in rows else rows[1:]
    return {(r[0], r[1]): r for r in body if r[0]}


def test_export_figures_match_the_ledger(client, merchant):
    m = merchant
    second = add_store(m, "二号店")
    a = make_product(m, name="可口可乐 330ml", cost=250, threshold="5", barcodes=["6901234567892"], sku="A-1")
    b = make_product(m, name="散装花生", cost=1200, unit="千克", sku="B-1")
    receive(m, a["id"], "10", unit_cost=250)
    receive(m, a["id"], "3", unit_cost=250, store_id=second)
    receive(m, b["id"], "2.5", unit_cost=1200)
    r = client.put("/api/v1/stock/thresholds", headers=m.owner, json={
        "store_id": str(m.store_id), "product_id": b["id"], "low_stock_threshold": "4"})
    assert r.status_code == 200, r.text
    t = client.post("/api/v1/stock/transfers", headers=m.owner, json={
        "from_store_id": str(m.store_id), "to_store_id": second, "lines": [{"product_id": a["id"], "quantity": "4"}]})
    assert t.status_code == 201, t.text
    stores = {s["id"]: s["name"] for s in client.get("/api/v1/stores", headers=m.owner).json()}
    first = stores[str(m.store_id)]

    rows = sheet(client, {**m.owner, **ZH})
    assert rows[0] == ("门店", "商品编码", "条码", "名称", "分类", "单位", "现有库存", "调拨待发", "可用库存",
                       "生效预警值", "门店预警值", "单位成本", "库存成本金额", "库存状态")
    got = by_key(rows)
    assert set(got) == {(first, "A-1"), ("二号店", "A-1"), (first, "B-1")}
    assert got[(first, "A-1")][2:] == ("6901234567892", "可口可乐 330ml", None, "瓶", 10, 4, 6, 5, None, 2.5, 25, None)
    assert got[("二号店", "A-1")][6:] == (3, 0, 3, 5, None, 2.5, 7.5, "偏低")
    assert got[(first, "B-1")][5:] == ("千克", 2.5, 0, 2.5, 4, 4, 12, 30, "偏低")
    assert rows[-1][0] == "库存成本总额" and Decimal(str(rows[-1][12])) == Decimal("62.50")  # 25 + 7.50 + 30

    # the stock page's filters; English headers
    low = sheet(client, {**m.owner, **EN}, low="true")
    assert low[0][:3] == ("Store", "SKU", "Barcodes")
    assert set(by_key(low)) == {("二号店", "A-1"), (first, "B-1")} and low[-1][12] == 37.5
    assert set(by_key(sheet(client, m.owner, store_id=second))) == {("二号店", "A-1")}
    assert set(by_key(sheet(client, m.owner, q="花生"))) == {(first, "B-1")}


def test_export_is_scoped_to_the_callers_stores_and_tenant(client, merchant, other_merchant):
    m = merchant
    second = add_store(m, "二号店")
    p = make_product(m, cost=100, sku="S-1")
    receive(m, p["id"], "1")
    receive(m, p["id"], "2", store_id=second)
    clerk = m.as_role("cashier", store_ids=[second])
    assert [k for k in by_key(sheet(client, clerk))] == [("二号店", "S-1")]
    assert client.get("/api/v1/stock/export", headers=clerk, params={"store_id": str(m.store_id)}).status_code in (
        403, 404)
    assert by_key(sheet(client, other_merchant.owner)) == {}
    assert client.get("/api/v1/stock/export", headers=other_merchant.owner,
                      params={"store_id": second}).status_code == 404
    assert client.get("/api/v1/stock/export").status_code == 401


def test_store_threshold_is_validated_audited_and_cleared(client, merchant):
    m = merchant
    p = make_product(m, threshold="3", sku="T-1")
    receive(m, p["id"], "2")
    body = {"store_id": str(m.store_id), "product_id": p["id"]}
    for bad in ("-1", "1.2345", 1.5, "abc"):
        r = client.put("/api/v1/stock/thresholds", headers=m.owner, json={**body, "low_stock_threshold": bad})
        assert r.status_code == 422, (bad, r.text)
    assert client.put("/api/v1/stock/thresholds", headers=m.as_role("cashier"),
                      json={**body, "low_stock_threshold": "1"}).status_code == 403
    r = client.put("/api/v1/stock/thresholds", headers=m.owner, json={**body, "low_stock_threshold": "1"})
    assert r.json()["low_stock_threshold"] == "1.000" and r.json()["low"] is False
    r = client.put("/api/v1/stock/thresholds", headers=m.owner, json={**body, "low_stock_threshold": None})
    assert r.json()["low_stock_threshold"] == "3.000" and r.json()["store_threshold"] is None and r.json()["low"]
    events = client.get("/api/v1/audit-events", headers=m.owner, params={"action": "stock.threshold.set"}).json()
    assert [(e["summary"]["before"], e["summary"]["after"]) for e in events["items"]] == [
        ({"low_stock_threshold": "1.000"}, {"low_stock_threshold": None}),
        ({"low_stock_threshold": None}, {"low_stock_threshold": "1.000"})]


def test_stock_page_has_the_export_button_and_threshold_form(client, merchant):
    m = merchant
    p = make_product(m, threshold="3", sku="W-1")
    receive(m, p["id"], "2")
    page = client.get("/inventory/stock", headers=m.owner, params={"state": "low", "q": "W-1"}).text
    assert 'href="/api/v1/stock/export?q=W-1&amp;low=true"' in page
    assert 'data-testid="threshold-edit"' in page and 'data-testid="threshold-input"' in page
    clerk = client.get("/inventory/stock", headers=m.as_role("cashier")).text
    assert 'data-testid="stock-export"' in clerk and 'data-testid="threshold-edit"' not in clerk
