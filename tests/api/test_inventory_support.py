"""Helpers for the inventory and stocktake tests (no tests here): products via the catalog API,
stock via the inventory API."""

from __future__ import annotations

import secrets
from typing import Any


def make_product(m, *, name: str = "可口可乐 330ml", price: int = 300, cost: int = 0, barcodes: list[str] | None = None,
                 threshold: str | None = None, category_id: str | None = None, unit: str = "瓶",
                 sku: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"sku": sku or f"SKU-{secrets.token_hex(4)}", "name": name, "price": price, "cost": cost,
                            "barcodes": barcodes or [], "unit": unit}
    if threshold is not None:
        body["low_stock_threshold"] = threshold
    if category_id is not None:
        body["category_id"] = category_id
    r = m.client.post("/api/v1/products", headers=m.owner, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def make_category(m, name: str, parent_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    if parent_id:
        body["parent_id"] = parent_id
    r = m.client.post("/api/v1/categories", headers=m.owner, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def receive(m, product_id: str, quantity: str, unit_cost: int = 100, store_id=None, headers=None) -> dict[str, Any]:
    r = m.client.post("/api/v1/stock/receipts", headers=headers or m.owner, json={
        "store_id": str(store_id or m.store_id), "supplier": "可口可乐装瓶厂", "reference": "PO-1",
        "lines": [{"product_id": product_id, "quantity": quantity, "unit_cost": unit_cost}]})
    assert r.status_code == 201, r.text
    return r.json()


def on_hand(m, product_id: str, store_id=None) -> str:
    r = m.client.get("/api/v1/stock", headers=m.owner,
                     params={"store_id": str(store_id or m.store_id), "product_id": product_id})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    return items[0]["on_hand"] if items else "0.000"


def add_store(m, name: str = "二号店") -> str:
    r = m.client.post("/api/v1/stores", headers=m.owner, json={"name": name})
    assert r.status_code == 201, r.text
    return r.json()["id"]
