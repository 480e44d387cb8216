"""Every members page renders (zh-CN and en) for the owner, the cashier sees only what they may, and the
QR poster / self-registration / member card flow works over HTTP."""

from __future__ import annotations

import re
import uuid

import pytest

from cloudpos.members import registration

PAGES = ["/members", "/members/new", "/member-tiers", "/member-points", "/member-topup", "/member-posters",
         "/member-segments", "/member-campaigns", "/member-sms", "/member-analytics"]


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite")])
def backend(request):
    """HTML rendering does not depend on the database: SQLite is enough."""
    return request.param


def _member(m, **extra) -> dict:
    r = m.client.post("/api/v1/members", headers=m.owner,
                      json={"phone": "13912345678", "name": "王小明", "birthday": "1990-03-04", **extra})
    assert r.status_code == 201, r.text
    return r.json()


def test_every_page_renders(merchant):
    member = _member(merchant)
    merchant.client.post(f"/api/v1/members/{member['id']}/points", headers=merchant.owner,
                         json={"delta": 100, "reason": "test"})
    seg = merchant.client.post("/api/v1/segments", headers=merchant.owner, json={"name": "全部"}).json()
    camp = merchant.client.post("/api/v1/campaigns", headers=merchant.owner,
                                json={"name": "短信", "segment_id": seg["id"], "action": "message",
                                      "body": "您好"}).json()
    for lang in ("zh_CN", "en"):
        for url in PAGES + [f"/members/{member['id']}", f"/member-campaigns/{camp['id']}",
                            f"/member-posters/{merchant.store_id}/print"]:
            r = merchant.client.get(url, headers=merchant.owner, params={"lang": lang})
            assert r.status_code == 200, (url, r.text[:2000])
            assert "Traceback" not in r.text
    r = merchant.client.get("/members", headers=merchant.owner, params={"lang": "zh_CN"})
    assert "会员" in r.text and "139****5678" in r.text  # masked in lists, even for the owner
    r = merchant.client.get(f"/member-posters/{merchant.store_id}.png", headers=merchant.owner)
    assert r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_cashier_cannot_open_settings_or_reveal(merchant):
    member = _member(merchant)
    cashier = merchant.as_role("cashier")
    assert merchant.client.get("/members", headers=cashier).status_code == 200
    assert merchant.client.get(f"/members/{member['id']}", headers=cashier).status_code == 200
    for url in ("/member-points", "/member-topup", "/member-segments", "/member-analytics"):
        assert merchant.client.get(url, headers=cashier).status_code == 403, url
    assert merchant.client.post(f"/members/{member['id']}/reveal", headers=cashier).status_code == 403
    r = merchant.client.post(f"/members/{member['id']}/reveal", headers=merchant.owner)
    assert r.status_code == 200 and r.json()["phone"] == "13912345678" and r.json()["birthday"] == "1990-03-04"


def test_register_form_shows_errors_inline(merchant):
    r = merchant.client.post("/members/new", headers=merchant.owner, data={"phone": "123", "name": ""})
    assert r.status_code == 422 and "is-invalid" in r.text
    r = merchant.client.post("/members/new", headers=merchant.owner, data={"phone": "13912345670", "name": "李雷"},
                             follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/members/")


def test_self_registration_and_member_card(merchant, app):
    posters = merchant.client.get("/member-posters", headers=merchant.owner).text
    url = re.search(r'href="(http[^"]+/m/join/[^"]+)"', posters).group(1)
    path = url.split("://", 1)[1].split("/", 1)[1]
    join = "/" + path
    anon = merchant.client
    anon.cookies.clear()
    r = anon.get(join)
    assert r.status_code == 200 and "join-form" in r.text
    assert anon.get(join[:-2] + "xx").status_code == 404  # forged signature
    r = anon.post(join, data={"phone": "13700001111", "name": "扫码", "pin": "135790"})
    assert r.status_code == 422 and "is-invalid" in r.text  # privacy not agreed
    r = anon.post(join, data={"phone": "13700001111", "name": "扫码", "pin": "135790", "privacy": "1",
                              "marketing": "1", "birthday": "1995-07-08"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/m/card")
    card = anon.get("/m/card")
    assert card.status_code == 200 and "137****1111" in card.text
    token = anon.get("/m/card/token").json()["token"]
    assert registration.resolve_qr(app.state.secret, type("A", (), {"tenant_id": merchant.tenant_id})(), token)
    r = merchant.client.get("/api/v1/members", headers=merchant.owner, params={"qr": token})
    assert r.status_code == 200 and r.json()["items"][0]["name"] == "扫码"
    detail = merchant.client.get(f"/api/v1/members/{r.json()['items'][0]['id']}", headers=merchant.owner).json()
    assert detail["channel"] == "online" and detail["marketing_consent_at"] and detail["privacy_consent_at"]
    anon.cookies.clear()
    r = anon.post(join, data={"phone": "137 0000 1111", "name": "又来", "pin": "246802", "privacy": "1"})
    assert r.status_code == 409 and "already-member" in r.text and "扫码" not in r.text
    assert anon.get("/m/card").status_code == 401
    r = anon.post(f"/m/login/{merchant.code}", data={"phone": "13700001111", "pin": "000000"})
    assert r.status_code == 422
    r = anon.post(f"/m/login/{merchant.code}", data={"phone": "13700001111", "pin": "135790"},
                  follow_redirects=False)
    assert r.status_code == 303
    assert anon.get("/m/card").status_code == 200
    assert str(uuid.UUID(int=0)) not in anon.get("/m/card").text
