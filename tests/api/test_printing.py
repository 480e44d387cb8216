"""Printing API on SQLite and PostgreSQL: printers CRUD and validation, test print to a fake network
printer, receipt template and preview, print jobs, labels, e-receipt links, tenancy and permissions."""

from __future__ import annotations

import base64
import io
import uuid

import pytest

from cloudpos.printing.domain.width import width
from cloudpos.printing.testing import FakePrinter, closed_port


@pytest.fixture
def fake():
    with FakePrinter() as printer:
        yield printer


def printer_body(merchant, **extra) -> dict:
    return {"store_id": str(merchant.store_id), "name": "前台", "connection": "network", "host": "127.0.0.1",
            "port": 9100, **extra}


def test_printer_crud_and_audit(client, merchant):
    r = client.post("/api/v1/printers", headers=merchant.owner,
                    json=printer_body(merchant, terminal_id=str(merchant.terminal_id), profile="TM-T88V"))
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["is_default"] is True and p["terminal_id"] == str(merchant.terminal_id)  # first printer = default
    assert p["profile"] == "TM-T88V" and p["paper_mm"] == 80 and p["sending_supported"]

    r = client.post("/api/v1/printers", headers=merchant.owner,
                    json=printer_body(merchant, name="后仓", connection="usb", usb_vendor_id=0x0416,
                                      usb_product_id=0x5011, is_default=True, paper_mm=58))
    assert r.status_code == 201, r.text
    usb = r.json()
    assert usb["sending_supported"] is False and usb["is_default"]

    listed = client.get("/api/v1/printers", headers=merchant.owner).json()
    assert {x["name"] for x in listed} == {"前台", "后仓"}
    assert [x["is_default"] for x in listed] == [False, True]  # only one default per store

    r = client.patch(f"/api/v1/printers/{p['id']}", headers=merchant.owner,
                     json={"copies": 2, "open_drawer": True, "clear_terminal": True})
    assert r.status_code == 200, r.text
    assert r.json()["copies"] == 2 and r.json()["open_drawer"] and r.json()["terminal_id"] is None
    assert client.get(f"/api/v1/printers/{p['id']}", headers=merchant.owner).json()["copies"] == 2

    events = client.get("/api/v1/audit-events", headers=merchant.owner, params={"action": "printer."}).json()
    actions = [e["action"] for e in events["items"]]
    assert actions.count("printer.create") == 2 and "printer.update" in actions

    profiles = client.get("/api/v1/printer-profiles", headers=merchant.owner).json()
    assert profiles[0]["key"] == "default" and any(x["key"] == "TM-T88V" for x in profiles)


BAD_PRINTERS = [
    ({"host": ""}, "host"),
    ({"host": "bad host!"}, "host"),
    ({"profile": "NoSuchPrinter"}, "profile"),
    ({"connection": "device", "device_path": "/etc/passwd"}, "device_path"),
    ({"connection": "usb"}, "usb_vendor_id"),
    ({"paper_mm": 70}, "paper_mm"),
    ({"copies": 0}, "copies"),
    ({"port": 70000}, "port"),
    ({"connection": "bluetooth"}, "connection"),
    ({"colour": "red"}, "colour"),
    ({"terminal_id": str(uuid.uuid4())}, "terminal_id"),
]


def test_printer_validation_is_a_problem(client, merchant):
    for extra, field in BAD_PRINTERS:
        r = client.post("/api/v1/printers", headers=merchant.owner, json=printer_body(merchant, **extra))
        assert r.status_code == 422, (extra, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"].split(".")[-1] for e in r.json()["errors"]], (extra, r.json())
    r = client.patch(f"/api/v1/printers/{uuid.uuid4()}", headers=merchant.owner, json={"copies": 9})
    assert r.status_code == 422
    assert client.get("/api/v1/printers", headers=merchant.owner).json() == []  # nothing half-written


def test_test_print_reaches_the_fake_printer(client, merchant, fake):
    p = client.post("/api/v1/printers", headers=merchant.owner,
                    json=printer_body(merchant, port=fake.port, paper_mm=58)).json()
    r = client.post(f"/api/v1/printers/{p['id']}/test", headers=merchant.owner)
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["status"] == "done" and job["document_kind"] == "test" and job["attempts"] == 1
    out = fake.wait_for(1)[0]
    assert out.startswith(b"\x1b@\x1c&") and b"\x1dV" in out and b"\x1d(k" in out
    assert "一号店".encode("gb18030") in out and "测试打印".encode("gb18030") in out
    assert b"\x1bp" not in out  # drawer setting off
    jobs = client.get("/api/v1/print-jobs", headers=merchant.owner).json()
    assert jobs["total"] == 1 and jobs["items"][0]["printer_name"] == "前台"
    doc = client.get(f"/api/v1/print-jobs/{job['id']}/document", headers=merchant.owner)
    assert doc.status_code == 200 and doc.content == out
    txt = client.get(f"/api/v1/print-jobs/{job['id']}/document", headers=merchant.owner, params={"format": "text"})
    assert all(width(line) <= 32 for line in txt.text.splitlines())


def test_test_print_to_a_dead_printer_says_why(client, merchant):
    p = client.post("/api/v1/printers", headers=merchant.owner,
                    json=printer_body(merchant, port=closed_port())).json()
    r = client.post(f"/api/v1/printers/{p['id']}/test", headers={**merchant.owner, "Accept-Language": "en"})
    assert r.status_code == 200
    job = r.json()
    assert job["status"] == "failed" and job["error_code"] == "refused" and job["will_retry"]
    assert "refused the connection" in job["error"]
    r = client.post(f"/api/v1/print-jobs/{job['id']}/retry", headers=merchant.owner)
    assert r.status_code == 200 and r.json()["status"] in ("queued", "sending", "failed")


def test_usb_printer_fails_clearly_without_retry(client, merchant):
    p = client.post("/api/v1/printers", headers=merchant.owner,
                    json=printer_body(merchant, connection="usb", usb_vendor_id=1, usb_product_id=2)).json()
    job = client.post(f"/api/v1/printers/{p['id']}/test", headers=merchant.owner).json()
    assert job["status"] == "failed" and job["error_code"] == "usb_unsupported" and not job["will_retry"]
    assert "USB" in job["error"]


def test_file_printer_writes_under_var(client, merchant, app):
    p = client.post("/api/v1/printers", headers=merchant.owner,
                    json=printer_body(merchant, connection="file", host="")).json()
    job = client.post(f"/api/v1/printers/{p['id']}/test", headers=merchant.owner).json()
    assert job["status"] == "done"
    out = app.state.settings.var_dir / "printer-out" / str(merchant.tenant_id) / p["id"]
    files = sorted(x.suffix for x in out.iterdir())
    assert files == [".escpos", ".txt"]
    assert "一号店" in next(out.glob("*.txt")).read_text()


def test_template_put_get_and_preview(client, merchant):
    q = {"store_id": str(merchant.store_id)}
    r = client.get("/api/v1/receipt-template", headers=merchant.owner, params=q)
    assert r.status_code == 200 and r.json()["paper_mm"] == 80 and r.json()["show_qr"]
    body = {"paper_mm": 58, "language": "en", "footer_text": "Returns within 7 days", "show_qr": False,
            "show_member": False}
    r = client.put("/api/v1/receipt-template", headers=merchant.owner, params=q, json=body)
    assert r.status_code == 200, r.text
    got = client.get("/api/v1/receipt-template", headers=merchant.owner, params=q).json()
    assert got["paper_mm"] == 58 and got["language"] == "en" and not got["show_qr"] and got["updated_by"]

    text = client.get("/api/v1/receipt-template/preview", headers=merchant.owner, params=q).text
    lines = text.splitlines()
    assert max(width(x) for x in lines) <= 32 and "Returns within 7 days" in text and "Total" in text
    assert "Member card" not in text and "[QR]" not in text

    r = client.post("/api/v1/receipt-template/preview", headers=merchant.owner, params=q,
                    json={"template": {"paper_mm": 80, "language": "zh_CN"}, "format": "text", "kind": "reprint"})
    assert r.status_code == 200
    assert max(width(x) for x in r.text.splitlines()) <= 48 and "重打印" in r.text and "合计" in r.text
    for fmt, ctype, magic in (("html", "text/html", b"<!doctype html>"), ("pdf", "application/pdf", b"%PDF"),
                              ("escpos", "application/octet-stream", b"\x1b@")):
        r = client.post("/api/v1/receipt-template/preview", headers=merchant.owner, params=q, json={"format": fmt})
        assert r.status_code == 200 and r.headers["content-type"].startswith(ctype) and r.content.startswith(magic)

    events = client.get("/api/v1/audit-events", headers=merchant.owner,
                        params={"action": "receipt_template.update"}).json()
    assert events["total"] == 1 and events["items"][0]["summary"]["after"]["paper_mm"] == 58


def test_template_logo(client, merchant):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (200, 60), "black").save(buf, "PNG")
    q = {"store_id": str(merchant.store_id)}
    r = client.put("/api/v1/receipt-template", headers=merchant.owner, params=q,
                   json={"logo_png_base64": base64.b64encode(buf.getvalue()).decode()})
    assert r.status_code == 200 and r.json()["has_logo"]
    esc = client.get("/api/v1/receipt-template/preview", headers=merchant.owner, params={**q, "format": "escpos"})
    assert b"\x1dv0" in esc.content  # GS v 0: the raster logo
    r = client.put("/api/v1/receipt-template", headers=merchant.owner, params=q,
                   json={"logo_png_base64": base64.b64encode(b"GIF89a nope").decode()})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "logo_png_base64"
    r = client.put("/api/v1/receipt-template", headers=merchant.owner, params=q, json={"logo_png_base64": "%%%"})
    assert r.status_code == 422


def test_other_tenant_sees_404(client, merchant, other_merchant, fake):
    p = client.post("/api/v1/printers", headers=merchant.owner, json=printer_body(merchant, port=fake.port)).json()
    job = client.post(f"/api/v1/printers/{p['id']}/test", headers=merchant.owner).json()
    h = other_merchant.owner
    assert client.get(f"/api/v1/printers/{p['id']}", headers=h).status_code == 404
    assert client.patch(f"/api/v1/printers/{p['id']}", headers=h, json={"name": "x"}).status_code == 404
    assert client.post(f"/api/v1/printers/{p['id']}/test", headers=h).status_code == 404
    assert client.get(f"/api/v1/print-jobs/{job['id']}", headers=h).status_code == 404
    assert client.post(f"/api/v1/print-jobs/{job['id']}/reprint", headers=h).status_code == 404
    assert client.get("/api/v1/receipt-template", headers=h, params={"store_id": str(merchant.store_id)}).status_code \
        == 404
    assert client.post("/api/v1/printers", headers=h, json=printer_body(merchant)).status_code == 404
    assert client.get("/api/v1/printers", headers=h).json() == []
    assert client.get("/api/v1/print-jobs", headers=h).json()["total"] == 0


def test_cashier_may_not_change_printers(client, merchant):
    cashier = merchant.as_role("cashier")
    assert client.get("/api/v1/printers", headers=cashier).status_code == 403
    r = client.post("/api/v1/printers", headers=cashier, json=printer_body(merchant))
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"
    assert client.put("/api/v1/receipt-template", headers=cashier, params={"store_id": str(merchant.store_id)},
                      json={}).status_code == 403
    assert client.get("/api/v1/print-jobs", headers=cashier).status_code == 200  # sale.view reads the queue


def test_shelf_labels(client, merchant):
    items = [{"name": "可口可乐 330ml", "price": 350, "member_price": 300, "unit": "听", "barcode": "6901939621257"},
             {"name": "散装苹果", "price": 1280, "unit": "kg", "barcode": "APPLE-01"}]
    r = client.post("/api/v1/labels", headers=merchant.owner, json={"items": items, "layout": "a4-2x5"})
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    r = client.post("/api/v1/labels", headers=merchant.owner, json={"items": items, "format": "escpos"})
    assert r.status_code == 200 and "可口可乐".encode("gb18030") in r.content and b"\x1dk" in r.content
    r = client.post("/api/v1/labels", headers=merchant.owner, json={"layout": "a4-3x8"})
    assert r.status_code == 422
    r = client.post("/api/v1/labels", headers=merchant.owner, json={"items": items, "layout": "letter"})
    assert r.status_code == 422


def test_e_receipt_link(client, merchant, other_merchant):
    r = client.get("/api/v1/receipt-template/sample-link", headers=merchant.owner,
                   params={"store_id": str(merchant.store_id)})
    url = r.json()["url"]
    path = "/r/" + url.rsplit("/r/", 1)[1]
    page = client.get(path)
    assert page.status_code == 200 and "一号店" in page.text and "可口可乐" in page.text
    assert client.get(path + "/pdf").content.startswith(b"%PDF")
    assert client.get(path[:-3] + "xyz").status_code == 404
    assert client.get("/r/not-a-token").status_code == 404


def test_demo_seed_prints_to_files(app, merchant):
    from cloudpos.context import system_actor
    from cloudpos.printing import demo, service
    from cloudpos.printing.jobs.dispatcher import dispatch_due

    actor = system_actor(merchant.tenant_id, "demo-seed")
    with app.state.sessionmaker() as db:
        db.info["tenant_id"] = merchant.tenant_id
        ids = demo.seed(db, actor, [merchant.store_id])
        assert len(ids) == 1 and demo.seed(db, actor, [merchant.store_id]) == []  # runs again safely
        job_id = service.queue_test_print(db, actor, ids[0])
        dispatch_due(db, job_id=job_id, var_dir=app.state.settings.var_dir)
    out = app.state.settings.var_dir / "printer-out" / str(merchant.tenant_id) / str(ids[0])
    text = next(out.glob("*.txt")).read_text()
    assert "测试打印" in text and "凭小票 7 日内可退换" in text
