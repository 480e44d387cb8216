"""Shelf labels for every product whose price changed since a moment (价签重打)."""

import secrets
from datetime import UTC, datetime, timedelta


def test_labels_for_products_changed_since(merchant):
    c, h = merchant.client, merchant.owner
    made = []
    for name in ("老坛酸菜面", "康师傅红烧牛肉面"):
        r = c.post("/api/v1/products", headers=h, json={"sku": f"N{secrets.token_hex(3)}", "name": name,
                                                        "price": 450, "cost": 300})
        made.append(r.json())
    since = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    r = c.post("/api/v1/labels", headers=h, json={"changed_since": since, "format": "escpos"})
    assert r.status_code in (200, 422)  # nothing changed since then: no label for either product
    assert "老坛酸菜面".encode("gb18030") not in r.content
    import time

    time.sleep(1.2)
    assert c.patch(f"/api/v1/products/{made[0]['id']}", headers=h, json={"price": 500}).status_code == 200
    r = c.post("/api/v1/labels", headers=h, json={"changed_since": since, "format": "escpos"})
    assert r.status_code == 200, r.text
    assert "老坛酸菜面".encode("gb18030") in r.content
    assert "康师傅红烧牛肉面".encode("gb18030") not in r.content
