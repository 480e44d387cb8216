from merchants import signup


def test_signup_login_me(client):
    m = signup(client)
    r = client.get("/api/v1/me", headers=m.owner)
    assert r.status_code == 200
    body = r.json()
    assert body["merchant_code"] == m.code
    assert "staff.manage" in body["permissions"]
    assert [s["id"] for s in body["stores"]] == [str(m.store_id)]


def test_form_fields_render_each_attribute_apart(client):
    """The shared field macro: `required`, `autofocus` and `aria-describedby` are separate attributes (glued
    together, `autofocusaria-describedby` would drop both the focus and the hint's link)."""
    from html.parser import HTMLParser

    inputs: dict[str, dict[str, str | None]] = {}

    class Inputs(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "input" and dict(attrs).get("id"):
                inputs[dict(attrs)["id"]] = dict(attrs)

    r = client.get("/login")
    assert r.status_code == 200
    Inputs().feed(r.text)
    code = inputs["f-merchant_code"]
    assert "required" in code and "autofocus" in code and code["aria-describedby"] == "f-merchant_code-hint"
    assert code["maxlength"] == "32" and "autofocusaria-describedby" not in code
