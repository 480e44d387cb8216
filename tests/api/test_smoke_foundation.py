from merchants import signup


def test_signup_login_me(client):
    m = signup(client)
    r = client.get("/api/v1/me", headers=m.owner)
    assert r.status_code == 200
    body = r.json()
    assert body["merchant_code"] == m.code
    assert "staff.manage" in body["permissions"]
    assert [s["id"] for s in body["stores"]] == [str(m.store_id)]
