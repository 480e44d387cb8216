"""Checkout, refunds, voids, shifts and held carts through the API, on SQLite and PostgreSQL."""

import secrets
import uuid

import pytest


@pytest.fixture
def till(merchant):
    c, h = merchant.client, merchant.owner
    cat = c.post("/api/v1/categories", headers=h, json={"name": "零食"}).json()

    def product(name, price, **kw):
        body = {"sku": f"S{secrets.token_hex(3)}", "name": name, "price": price, "cost": price // 2,
                "category_id": cat["id"], **kw}
        r = c.post("/api/v1/products", headers=h, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    merchant.cola = product("可口可乐 330ml", 350, barcodes=["6901234567892"])
    merchant.chips = product("乐事薯片", 800)
    merchant.apple = product("红富士苹果", 1290, sold_by_weight=True, unit="千克")
    merchant.cashier = merchant.as_role("cashier")
    r = c.post("/api/v1/shifts", headers=merchant.cashier,
               json={"terminal_id": str(merchant.terminal_id), "opening_float": 20000})
    assert r.status_code == 201, r.text
    merchant.shift = r.json()
    return merchant


def sale(m, lines, payments, headers=None, key=None, **extra):
    body = {"store_id": str(m.store_id), "terminal_id": str(m.terminal_id), "lines": lines, "payments": payments,
            **extra}
    hdrs = dict(headers or m.cashier)
    if key:
        hdrs["Idempotency-Key"] = key
    return m.client.post("/api/v1/sales", headers=hdrs, json=body)


def stock(m, product):
    r = m.client.get("/api/v1/stock", headers=m.owner,
                     params={"store_id": str(m.store_id), "product_id": product["id"]})
    items = r.json()["items"]
    return items[0]["on_hand"] if items else "0.000"


def test_cash_sale_with_change_moves_stock_and_numbers_receipts(till):
    r = sale(till, [{"code": "6901234567892", "quantity": "2"}, {"product_id": till.apple["id"], "quantity": "1.250"}],
             [{"method": "cash", "amount": 10000, "tendered": 10000}], key=str(uuid.uuid4()))
    assert r.status_code == 201, r.text
    s = r.json()
    # 2 × 3.50 + 1.25 kg × 12.90 = 7.00 + 16.125 → 16.13 (half-up) = 23.13
    assert s["subtotal"] == 2313 and s["total"] == 2313 and s["change"] == 10000 - 2313
    assert s["receipt_no"].startswith("S01-") and s["receipt_no"].endswith("000001")
    assert sum(line["amount"] for line in s["lines"]) == s["total"]
    assert [p["amount"] for p in s["payments"]] == [2313]
    assert stock(till, till.cola) == "-2.000"
    moves = till.client.get("/api/v1/stock/movements", headers=till.owner,
                            params={"store_id": str(till.store_id), "kind": "sale"}).json()["items"]
    # each line's movement names the sale and notes its receipt number, with the balance it left
    assert sorted((mv["product_id"], mv["quantity"], mv["balance_after"]) for mv in moves) == sorted(
        [(till.cola["id"], "-2.000", "-2.000"), (till.apple["id"], "-1.250", "-1.250")])
    assert {(mv["ref_id"], mv["note"]) for mv in moves} == {(s["id"], s["receipt_no"])}
    s2 = sale(till, [{"product_id": till.chips["id"]}], [{"method": "card", "amount": 800, "card_last4": "1234",
                                                          "approval_code": "A1B2"}]).json()
    assert s2["receipt_no"].endswith("000002")


def test_payments_short_of_total_is_422_and_writes_nothing(till):
    r = sale(till, [{"product_id": till.chips["id"], "quantity": "2"}], [{"method": "cash", "amount": 1000}])
    assert r.status_code == 422 and r.json()["code"] == "payment_mismatch"
    assert stock(till, till.chips) == "0.000"
    assert till.client.get("/api/v1/sales", headers=till.owner).json()["total"] == 0


def test_card_number_is_refused(till):
    r = sale(till, [{"product_id": till.chips["id"]}],
             [{"method": "card", "amount": 800, "reference": "4111111111111111"}])
    assert r.status_code == 422


def test_idempotency_same_key_same_body_replays_other_body_conflicts(till):
    key = str(uuid.uuid4())
    lines = [{"product_id": till.chips["id"]}]
    first = sale(till, lines, [{"method": "cash", "amount": 800}], key=key)
    again = sale(till, lines, [{"method": "cash", "amount": 800}], key=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # the stored response, receipt number included, word for word
    other = sale(till, lines, [{"method": "cash", "amount": 1000}], key=key)
    assert other.status_code == 409
    assert till.client.get("/api/v1/sales", headers=till.owner).json()["total"] == 1
    assert stock(till, till.chips) == "-1.000"


def test_no_open_shift_no_sale(till):
    r = till.client.post(f"/api/v1/shifts/{till.shift['id']}/close", headers=till.cashier,
                         json={"counted_cash": 20000})
    assert r.status_code == 200
    r = sale(till, [{"product_id": till.chips["id"]}], [{"method": "cash", "amount": 800}])
    assert r.status_code == 409 and r.json()["code"] == "no_open_shift"


def test_partial_refund_then_rest_returns_exactly_what_was_paid(till):
    c = till.client
    r = c.post("/api/v1/promotions", headers=till.owner, json={
        "name": "满10减3", "rule": {"kind": "spend_save", "tiers": [{"threshold": 1000, "save": 300}]},
        "scope": {"all": True}})
    assert r.status_code == 201, r.text
    s = sale(till, [{"product_id": till.chips["id"], "quantity": "3"}, {"product_id": till.cola["id"]}],
             [{"method": "cash", "amount": 3000}]).json()
    assert s["total"] == 2400 + 350 - 300
    manager = till.as_role("store_manager")
    line1 = s["lines"][0]
    r1 = c.post(f"/api/v1/sales/{s['id']}/refunds", headers={**manager, "Idempotency-Key": "r1"},
                json={"lines": [{"line_no": line1["line_no"], "quantity": "1"}], "reason": "顾客退货",
                      "terminal_id": str(till.terminal_id)})
    assert r1.status_code == 201, r1.text
    again = c.post(f"/api/v1/sales/{s['id']}/refunds", headers={**manager, "Idempotency-Key": "r1"},
                   json={"lines": [{"line_no": line1["line_no"], "quantity": "1"}], "reason": "顾客退货",
                         "terminal_id": str(till.terminal_id)})
    assert again.json()["id"] == r1.json()["id"]
    r2 = c.post(f"/api/v1/sales/{s['id']}/refunds", headers=manager, json={"reason": "全部退"})
    assert r2.status_code == 201, r2.text
    assert -(r1.json()["total"] + r2.json()["total"]) == s["total"]
    r3 = c.post(f"/api/v1/sales/{s['id']}/refunds", headers=manager, json={"reason": "again"})
    assert r3.status_code == 409
    assert stock(till, till.chips) == "0.000"
    # the original is unchanged and shows what was refunded
    orig = c.get(f"/api/v1/sales/{s['id']}", headers=manager).json()
    assert orig["total"] == s["total"] and orig["refunded_total"] == s["total"]
    # a cashier may not refund
    assert c.post(f"/api/v1/sales/{s['id']}/refunds", headers=till.cashier,
                  json={"reason": "x"}).status_code == 403


def test_void_and_correct_an_order(till):
    c = till.client
    manager = till.as_role("store_manager")
    s = sale(till, [{"product_id": till.chips["id"]}], [{"method": "cash", "amount": 800}]).json()
    v = c.post(f"/api/v1/sales/{s['id']}/void", headers=manager, json={"reason": "录错商品"})
    assert v.status_code == 201, v.text
    assert v.json()["kind"] == "void" and v.json()["original_id"] == s["id"]
    fixed = sale(till, [{"product_id": till.cola["id"]}], [{"method": "cash", "amount": 350}],
                 replaces_id=s["id"])
    assert fixed.status_code == 201, fixed.text
    assert fixed.json()["replaces_id"] == s["id"]
    assert c.get(f"/api/v1/sales/{s['id']}", headers=manager).json()["voided"] is True
    assert c.post(f"/api/v1/sales/{s['id']}/void", headers=manager, json={"reason": "x"}).status_code == 409


def test_shift_x_and_z_reports(till):
    c = till.client
    sale(till, [{"product_id": till.chips["id"]}], [{"method": "cash", "amount": 1000, "tendered": 1000}])
    sale(till, [{"product_id": till.cola["id"]}], [{"method": "card", "amount": 350, "card_last4": "9999"}])
    c.post(f"/api/v1/shifts/{till.shift['id']}/cash", headers=till.cashier,
           json={"direction": "out", "amount": 5000, "reason": "存银行"})
    x = c.get(f"/api/v1/shifts/{till.shift['id']}/report", headers=till.cashier).json()
    assert x["kind"] == "X" and x["sales_count"] == 2 and x["gross_sales"] == 1150
    assert x["expected_cash"] == 20000 + 800 - 5000
    z = c.post(f"/api/v1/shifts/{till.shift['id']}/close", headers=till.cashier,
               json={"counted_cash": 15700, "notes": "少了一角"}).json()
    assert z["kind"] == "Z" and z["difference"] == -100


def test_hold_and_recall_across_terminals(till):
    c = till.client
    h = c.post("/api/v1/held-carts", headers=till.cashier, json={
        "store_id": str(till.store_id), "note": "穿红衣服的顾客", "cart": {"lines": [{"product_id": till.chips["id"]}]},
        "total": 800}).json()
    other = till.as_role("cashier")
    listed = c.get("/api/v1/held-carts", headers=other, params={"store_id": str(till.store_id)}).json()
    assert [x["id"] for x in listed] == [h["id"]]
    assert c.post(f"/api/v1/held-carts/{h['id']}/recall", headers=other).status_code == 200
    assert c.post(f"/api/v1/held-carts/{h['id']}/recall", headers=till.cashier).status_code == 409


def test_other_tenant_sale_is_404(till, other_merchant):
    s = sale(till, [{"product_id": till.chips["id"]}], [{"method": "cash", "amount": 800}]).json()
    assert till.client.get(f"/api/v1/sales/{s['id']}", headers=other_merchant.owner).status_code == 404


def test_a_refused_manager_override_leaves_the_idempotency_key_free_for_the_retry(till):
    """The refusal is audited and committed, but the sale's claim on its key is not: the cashier retries
    with the right credentials under the same key and the sale goes through."""
    from merchants import OWNER_PASSWORD

    key = str(uuid.uuid4())
    lines = [{"product_id": till.chips["id"], "quantity": "1"}]
    half_off = [{"scope": "order", "percent_bp": 5000, "reason": "包装破损"}]
    r = sale(till, lines, [{"method": "cash", "amount": 400}], key=key, manual_discounts=half_off,
             override={"username": "owner", "password": "Not-the-password-1"})
    assert r.status_code == 403 and r.json()["code"] == "override_denied", r.text
    r = sale(till, lines, [{"method": "cash", "amount": 400}], key=key, manual_discounts=half_off,
             override={"username": "owner", "password": OWNER_PASSWORD})
    assert r.status_code == 201, r.text
    assert r.json()["total"] == 400 and r.json()["receipt_no"].endswith("000001")
    again = sale(till, lines, [{"method": "cash", "amount": 400}], key=key, manual_discounts=half_off)
    assert again.status_code == 201 and again.json()["id"] == r.json()["id"]


def test_receipt_numbers_past_six_digits_keep_every_digit_and_the_chain(till, app):
    """PostgreSQL numbers and links the sale in SQL, SQLite in Python: both must give S01-<day>-1000000
    after 999999 (never cut to six digits), and the stored hash must be the one Python computes."""
    from sqlalchemy import select, update

    from cloudpos.audit.domain import link_hash
    from cloudpos.audit.models import ChainHead
    from cloudpos.sales.chain import chain_name, payload
    from cloudpos.sales.models import Sale, SaleLine, SalePayment

    first = sale(till, [{"product_id": till.chips["id"]}], [{"method": "cash", "amount": 800}]).json()
    assert first["receipt_no"].endswith("-000001")
    head_of_store = (ChainHead.tenant_id == till.tenant_id, ChainHead.chain == chain_name(till.store_id))
    with app.state.sessionmaker() as db:
        db.execute(update(ChainHead).where(*head_of_store).values(last_seq=999_999))
        db.commit()
    big = sale(till, [{"product_id": till.cola["id"]}, {"product_id": till.chips["id"], "quantity": "2"}],
               [{"method": "cash", "amount": 2000, "tendered": 2000}]).json()
    assert big["receipt_no"] == first["receipt_no"][:-6] + "1000000"
    with app.state.sessionmaker() as db:
        row = db.scalar(select(Sale).where(Sale.tenant_id == till.tenant_id, Sale.id == uuid.UUID(big["id"])))
        lines = db.scalars(select(SaleLine).where(SaleLine.tenant_id == till.tenant_id, SaleLine.sale_id == row.id)
                           .order_by(SaleLine.line_no)).all()
        pays = db.scalars(select(SalePayment).where(SalePayment.tenant_id == till.tenant_id,
                                                    SalePayment.sale_id == row.id)).all()
        head = db.execute(select(ChainHead.last_seq, ChainHead.last_hash).where(*head_of_store)).one()
        prev = db.scalar(select(Sale.hash).where(Sale.tenant_id == till.tenant_id, Sale.id == uuid.UUID(first["id"])))
    assert row.receipt_seq == 1_000_000 and row.prev_hash == prev and len(lines) == 2 and len(pays) == 1
    assert row.hash == link_hash(prev, payload(row, lines, pays))
    assert tuple(head) == (1_000_000, row.hash)
