"""Excel import/export on SQLite and PostgreSQL: real-world files (merged headers, text numbers,
scientific-notation barcodes, formulas, full-width characters), all-or-nothing, skip_invalid,
not-xlsx and zip bombs, background jobs, and export → import round trips."""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import time
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from cloudpos.catalog import domain

HEAD = ["商品编码", "条码", "名称", "分类", "品牌", "单位", "售价", "进价", "税率", "规格", "称重", "状态", "库存预警"]


def ean(prefix: str = "690") -> str:
    return domain.with_check_digit(prefix + "".join(secrets.choice("0123456789") for _ in range(12 - len(prefix))))


def xlsx(rows: list[list], head: list | None = None, before=None) -> bytes:
    wb = Workbook()
    ws = wb.active
    if before:
        before(ws)
    ws.append(head or HEAD)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(m, data: bytes, **params) -> dict:
    form = {k: str(v).lower() for k, v in params.items()}
    r = m.client.post("/api/v1/products/import", headers=m.owner, data=form,
                      files={"file": ("products.xlsx", data, "application/octet-stream")})
    return r


def row(sku: str, **kw) -> list:
    v = {"barcode": ean(), "name": "可口可乐 330ml", "category": "食品/饮料/碳酸饮料", "brand": "可口可乐",
         "unit": "罐", "price": "3.50", "cost": "2.10", "tax": 13, "spec": "330ml", "weight": "否", "status": "上架",
         "low": 24, **kw}
    return [sku, v["barcode"], v["name"], v["category"], v["brand"], v["unit"], v["price"], v["cost"], v["tax"],
            v["spec"], v["weight"], v["status"], v["low"]]


def test_dry_run_then_real_import_creates_categories(client, merchant):
    data = xlsx([row("A1"), row("A2", name="雪碧 330ml", price=3.5), row("A3", name="苹果", weight="是",
                                                                       unit="千克", price="12.80")])
    r = upload(merchant, data, dry_run=True, create_categories=True)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 3 and r.json()["errors"] == [] and r.json()["written"] is False
    assert client.get("/api/v1/products", headers=merchant.owner).json()["total"] == 0
    r = upload(merchant, data, dry_run=False, create_categories=True).json()
    assert (r["created"], r["written"], r["categories_created"]) == (3, True, 3)
    items = client.get("/api/v1/products", headers=merchant.owner).json()["items"]
    by_sku = {i["sku"]: i for i in items}
    assert by_sku["A2"]["price"] == 350 and by_sku["A3"]["price"] == 1280 and by_sku["A3"]["sold_by_weight"]
    assert by_sku["A1"]["tax_rate_bp"] == 1300 and by_sku["A1"]["low_stock_threshold"] == "24.000"
    assert by_sku["A1"]["category_name"] == "食品 > 饮料 > 碳酸饮料"
    again = upload(merchant, data, dry_run=False).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)


def test_errors_mean_nothing_written_unless_skip_invalid(client, merchant):
    data = xlsx([row("B1", category=""), row("B2", price="3.505", category=""),
                 row("B3", barcode="6901234567890", category=""), row("B4", category="不存在"),
                 row("B1", category="")])
    r = upload(merchant, data, dry_run=False)
    assert r.status_code == 200
    body = r.json()
    assert body["written"] is False and body["error_count"] == 4
    cells = {(e["row"], e["column"]) for e in body["errors"]}
    assert cells == {(3, "售价"), (4, "条码"), (5, "分类"), (6, "商品编码")}
    assert client.get("/api/v1/products", headers=merchant.owner).json()["total"] == 0
    r = upload(merchant, data, dry_run=False, skip_invalid=True).json()
    assert r["written"] is True and r["created"] == 1 and r["skipped"] == 4
    assert client.get("/api/v1/products", headers=merchant.owner).json()["total"] == 1


def test_real_world_cells(client, merchant):
    """Merged title and two-level headers, numbers as text, a float barcode, a formula with and
    without a cached value, full-width characters, empty trailing rows."""
    good = ean("692")
    lossless = float(ean("693"))

    def title(ws):
        ws.append(["商品导入"])
        ws.merge_cells("A1:M1")

    wb = Workbook()
    ws = wb.active
    title(ws)
    ws.append(["商品编码", "条码", "名称", "分类", "品牌", "单位", "价格(元)", None, "税率(%)", "规格", "称重", "状态",
               "库存预警"])
    ws.merge_cells("G2:H2")
    ws.append([None, None, None, None, None, None, "售价", "进价", None, None, None, None, None])
    ws.append(["Ｃ１", good, "ＡＢＣ饼干", None, None, "包", "１２．５０", "8", "13", None, "否", "上架", "5"])
    ws.append(["C2", lossless, "薯片", None, None, "包", 6.5, 4, 0.13, None, 0, "下架", None])
    ws.append(["C3", 6.9012345e12, "坏条码", None, None, "包", 1, 1, 13, None, "否", "上架", None])
    ws.append(["C4", ean(), "公式", None, None, "包", "=1+1", 1, 13, None, "否", "上架", None])
    for _ in range(5):
        ws.append([None] * 13)
    out = io.BytesIO()
    wb.save(out)
    r = upload(merchant, out.getvalue(), dry_run=True).json()
    errors = {(e["row"], e["column"]): e["message"] for e in r["errors"]}
    assert set(errors) == {(6, "条码"), (7, "售价")}, errors
    assert "科学计数法" in errors[(6, "条码")]
    assert "=1+1" in errors[(7, "售价")]
    r = upload(merchant, out.getvalue(), dry_run=False, skip_invalid=True).json()
    assert r["created"] == 2
    items = {i["sku"]: i for i in client.get("/api/v1/products", headers=merchant.owner).json()["items"]}
    assert items["C1"]["name"] == "ABC饼干" and items["C1"]["price"] == 1250 and items["C1"]["barcodes"] == [good]
    assert items["C2"]["barcodes"] == [str(int(lossless))] and items["C2"]["tax_rate_bp"] == 1300
    assert items["C2"]["status"] == "delisted" and items["C2"]["price"] == 650


def test_formula_with_cached_value_is_used(client, merchant):
    """A file saved by Excel/WPS carries each formula's result: build one by hand (openpyxl never
    writes cached values) and check the value is imported."""
    data = xlsx([row("F1", category="", price=0)])
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            content = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b'<c r="G2" t="n"><v>0</v></c>', b'<c r="G2"><f>2*2</f><v>4.2</v></c>')
                assert b"<f>2*2</f>" in content
            zout.writestr(item, content)
    r = upload(merchant, out.getvalue(), dry_run=False).json()
    assert r["created"] == 1, r
    assert client.get("/api/v1/products", headers=merchant.owner).json()["items"][0]["price"] == 420


def test_english_headers_and_barcode_lists(client, merchant):
    a, b = ean(), ean()
    data = xlsx([["E1", f"{a}；{b}", "Cola", "Food > Drinks", "yes", "1", "10%"]],
                head=["SKU", "Barcode", "Name", "Category", "Sold by weight", "Price", "Tax rate"])
    r = upload(merchant, data, dry_run=False, create_categories=True).json()
    assert r["created"] == 1, r
    p = client.get("/api/v1/products", headers=merchant.owner).json()["items"][0]
    assert p["barcodes"] == [a, b] and p["sold_by_weight"] and p["tax_rate_bp"] == 1000 and p["price"] == 100


def test_not_xlsx_and_zip_bomb(client, merchant):
    r = upload(merchant, b"SKU,name\nA,B\n")
    assert r.status_code == 422 and r.json()["code"] == "not_xlsx"
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * 20_000_000 + b"/>")  # ratio ~1000:1
    assert len(bomb.getvalue()) < 1_000_000
    r = upload(merchant, bomb.getvalue())
    assert r.status_code == 422 and r.json()["code"] == "unsafe_file"
    r = upload(merchant, xlsx([], head=["foo", "bar"]))
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "no_header"


def test_update_upsert_and_price_change_audited(client, merchant):
    upload(merchant, xlsx([row("U1", category=""), row("U2", category="")]), dry_run=False)
    r = upload(merchant, xlsx([row("U1", category="", price="4.00"), row("U3", category="")]), dry_run=False).json()
    assert (r["created"], r["updated"], r["unchanged"]) == (1, 1, 0)
    events = client.get("/api/v1/audit-events", headers=merchant.owner,
                        params={"action": "catalog.price.change"}).json()["items"]
    assert events[0]["summary"]["before"] == {"price": 350} and events[0]["summary"]["after"] == {"price": 400}


def test_import_price_changes_audited_per_product_in_an_intact_chain(client, merchant, db):
    """Each product whose price or cost the file changes gets its own before/after event (bulk-appended
    to the hash chain); the import itself is one event with the counts and the file's SHA-256."""
    from cloudpos.audit import service as audit_service

    upload(merchant, xlsx([row(f"P{i}", category="") for i in range(3)]), dry_run=False)
    ids = {p["sku"]: p["id"] for p in client.get("/api/v1/products", headers=merchant.owner).json()["items"]}
    data = xlsx([row("P0", category="", price="4.00"), row("P1", category="", cost="2.50"),
                 row("P2", category="", name="改名不改价")])
    r = upload(merchant, data, dry_run=False).json()
    assert (r["updated"], r["written"]) == (3, True)
    events = client.get("/api/v1/audit-events", headers=merchant.owner,
                        params={"action": "catalog.price.change", "page_size": 50}).json()["items"]
    changes = {e["target_id"]: (e["summary"]["before"], e["summary"]["after"], e["summary"]["source"])
               for e in events}
    assert changes == {ids["P0"]: ({"price": 350}, {"price": 400}, "import"),
                       ids["P1"]: ({"cost": 210}, {"cost": 250}, "import")}
    last = client.get("/api/v1/audit-events", headers=merchant.owner,
                      params={"action": "catalog.import"}).json()["items"][0]["summary"]
    assert last["sha256"] == hashlib.sha256(data).hexdigest()
    assert (last["updated"], last["prices_changed"]) == (3, 2)
    count, broken = audit_service.verify_chain(db, merchant.tenant_id)
    db.rollback()  # end the read (SQLite: its transaction holds the write lock)
    assert broken is None and count >= 5
    # only the changed columns were written, and a new name is searchable (pinyin initials)
    items = {p["sku"]: p for p in client.get("/api/v1/products", headers=merchant.owner).json()["items"]}
    assert (items["P0"]["price"], items["P1"]["cost"], items["P2"]["name"]) == (400, 250, "改名不改价")
    assert items["P0"]["name"] == "可口可乐 330ml" and items["P2"]["price"] == 350
    found = client.get("/api/v1/products", headers=merchant.owner, params={"q": "gmbgj"}).json()["items"]
    assert [p["sku"] for p in found] == ["P2"]


def test_import_does_not_wait_for_maintenance_on_products(client, merchant, settings, backend):
    """PostgreSQL: the importer analyzes `products` inside its transaction when the table has no
    statistics yet; while VACUUM/ANALYZE holds the table it must go on (with custom plans), not wait."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL only: planner statistics and the ANALYZE lock")
    import psycopg

    with psycopg.connect(settings.database_url.replace("postgresql+psycopg://", "postgresql://")) as other:
        other.execute("LOCK TABLE products IN SHARE UPDATE EXCLUSIVE MODE")  # what a running ANALYZE holds
        started = time.monotonic()
        r = upload(merchant, xlsx([row(f"V{i}", category="") for i in range(3)]), dry_run=False).json()
        assert (r["created"], r["written"]) == (3, True), r
        assert time.monotonic() - started < 5
        other.rollback()
    assert client.get("/api/v1/products", headers=merchant.owner, params={"q": "V1"}).json()["total"] == 1


def test_barcode_moves_between_products_in_one_file(client, merchant):
    code = ean()
    upload(merchant, xlsx([row("M1", barcode=code, category=""), row("M2", barcode=ean(), category="")]),
           dry_run=False)
    taken = upload(merchant, xlsx([row("M2", barcode=code, category="")]), dry_run=True).json()
    assert taken["error_count"] == 1 and "M1" in taken["errors"][0]["message"]
    moved = upload(merchant, xlsx([row("M2", barcode=code, category=""), row("M1", barcode=ean(), category="")]),
                   dry_run=False).json()
    assert moved["error_count"] == 0 and moved["updated"] == 2, moved
    r = client.get("/api/v1/products/lookup", headers=merchant.owner, params={"code": code}).json()
    assert r["product"]["sku"] == "M2"


def test_export_then_import_round_trips_unchanged(client, merchant):
    rows = [row(f"R{i}", name=f"商品{i}", price=f"{i}.{i % 10}0", low=None if i % 2 else 3) for i in range(1, 8)]
    rows.append(row("R8", weight="是", status="下架", category="生鲜/水果", tax=9))
    r = upload(merchant, xlsx(rows), dry_run=False, create_categories=True).json()
    assert r["created"] == 8
    exported = client.get("/api/v1/products/export", headers=merchant.owner)
    assert exported.status_code == 200
    wb = load_workbook(io.BytesIO(exported.content), read_only=True)
    assert [c for c in next(wb.active.iter_rows(values_only=True))] == HEAD
    again = upload(merchant, exported.content, dry_run=False).json()
    assert (again["created"], again["updated"], again["unchanged"], again["error_count"]) == (0, 0, 8, 0), again
    template = client.get("/api/v1/products/import/template", headers=merchant.owner)
    assert upload(merchant, template.content, dry_run=True, create_categories=True).json()["created"] == 1


def test_background_job_with_progress(client, merchant):
    data = xlsx([row(f"J{i}", category="", barcode=ean()) for i in range(30)])
    r = upload(merchant, data, dry_run=False, background=True)
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    for _ in range(200):
        job = client.get(f"/api/v1/products/import/{job_id}", headers=merchant.owner).json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["status"] == "done" and job["progress"] == 100 and job["result"]["created"] == 30, job
    assert client.get("/api/v1/products", headers=merchant.owner).json()["total"] == 30
    cashier = merchant.as_role("cashier")
    assert client.get(f"/api/v1/products/import/{job_id}", headers=cashier).status_code == 403


def _wait_job(client, headers, job_id: str) -> dict:
    for _ in range(400):
        job = client.get(f"/api/v1/products/import/{job_id}", headers=headers).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"import job {job_id} did not finish: {job}")


def test_checked_files_stay_only_while_awaiting_confirmation(client, merchant, settings):
    """The web page keeps a checked file in var/imports for its "Confirm import"; a check with
    errors (nothing to confirm) and a finished import leave nothing behind."""
    folder = settings.var_dir / "imports"
    token = merchant.owner["Authorization"].split()[1]
    client.cookies.set("cloudpos_session", token)
    try:
        def check(data: bytes) -> tuple[str, set]:
            before = set(folder.glob("*.xlsx")) if folder.exists() else set()
            r = client.post("/catalog/import", files={"file": ("p.xlsx", data, "application/octet-stream")},
                            headers={"Origin": "http://testserver"})
            assert r.status_code == 200, r.text
            job_id = re.search(r"/catalog/import/jobs/([0-9a-f-]{36})", r.text).group(1)
            _wait_job(client, merchant.owner, job_id)
            return job_id, set(folder.glob("*.xlsx")) - before

        _, left = check(xlsx([row("K1", category="", price="")]))  # a new product needs a price: an error
        assert left == set()
        job_id, left = check(xlsx([row("K2", category="")]))
        assert len(left) == 1  # waiting for the confirmation
        r = client.post(f"/catalog/import/jobs/{job_id}/confirm", headers={"Origin": "http://testserver"})
        assert r.status_code == 200, r.text
        written = re.search(r"/catalog/import/jobs/([0-9a-f-]{36})", r.text).group(1)
        assert _wait_job(client, merchant.owner, written)["result"]["created"] == 1
        assert not next(iter(left)).exists()
    finally:
        client.cookies.clear()


def test_sweep_removes_uploads_older_than_a_day(tmp_path):
    from cloudpos.catalog import importing

    old, fresh, other = tmp_path / "old.xlsx", tmp_path / "fresh.xlsx", tmp_path / "notes.txt"
    for f in (old, fresh, other):
        f.write_bytes(b"x")
    day_ago = time.time() - importing.KEEP_UPLOADS_FOR - 60
    os.utime(old, (day_ago, day_ago))
    os.utime(other, (day_ago, day_ago))
    assert importing.sweep(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.xlsx", "notes.txt"]
    assert importing.sweep(tmp_path / "missing") == 0


def test_price_changes_by_import_need_the_price_permission_and_the_approval(client, merchant):
    """The product page's rules hold for a file too: no 'change prices' permission → refused; price changes
    under approval → only a manager may import them. All or nothing: a refused file writes nothing."""
    m = merchant
    assert upload(m, xlsx([row("P1", category="")]), dry_run=False).status_code == 200

    def staff(perms: list[str]) -> dict:
        code = f"r{secrets.token_hex(3)}"
        r = client.post("/api/v1/roles", headers=m.owner, json={"code": code, "name": code, "permissions": perms})
        assert r.status_code == 201, r.text
        username = f"u{secrets.token_hex(3)}"
        m.add_employee(username, role=code)
        return m.login(username)

    def upload_as(headers, data):
        return client.post("/api/v1/products/import", headers=headers, data={"dry_run": "false"},
                           files={"file": ("products.xlsx", data, "application/octet-stream")})

    def price(sku):
        return client.get("/api/v1/products", headers=m.owner, params={"q": sku}).json()["items"]

    clerk = staff(["catalog.view", "catalog.edit", "catalog.import"])
    r = upload_as(clerk, xlsx([row("P1", category="", price="4.00"), row("P2", category="")]))
    assert r.status_code == 403 and "P1" in r.json()["detail"], r.text
    assert [p["price"] for p in price("P1")] == [350] and price("P2") == []  # nothing written
    r = upload_as(clerk, xlsx([row("P1", category=""), row("P2", category="")]))  # same prices: fine
    assert r.status_code == 200 and r.json()["created"] == 1, r.text

    r = client.patch("/api/v1/merchant/settings", headers=m.owner, json={"approval_required": ["catalog.price.change"]})
    assert r.status_code == 200, r.text
    pricer = staff(["catalog.view", "catalog.edit", "catalog.price.edit", "catalog.import"])
    r = upload_as(pricer, xlsx([row("P1", category="", price="4.00")]))
    assert r.status_code == 409 and r.json()["code"] == "approval_required", r.text
    assert [p["price"] for p in price("P1")] == [350]
    r = upload_as(m.owner, xlsx([row("P1", category="", price="4.00")]))  # a manager may
    assert r.status_code == 200 and r.json()["updated"] == 1, r.text
    assert [p["price"] for p in price("P1")] == [400]
