"""The payment settings page: renders in both languages, saves methods and credentials, never shows a
secret, tests the connection against the sandbox, refuses a cashier."""

from __future__ import annotations

from cloudpos.payments.testing import fast_payments, sandbox, throwaway_credentials  # noqa: F401

PAGE = "/settings/payments"


def test_page_renders_and_saves_a_method(client, merchant):
    r = client.get(PAGE, headers=merchant.owner)
    assert r.status_code == 200 and "支付方式" in r.text and "微信支付" in r.text
    assert client.get(PAGE + "?lang=en", headers=merchant.owner).text.count("Payment methods") >= 1
    r = client.post(PAGE + "/methods/wechat", headers=merchant.owner, follow_redirects=False,
                    data={"enabled": "1", "fee_percent": "0.45", "settlement_cycle_days": "7"})
    assert r.status_code == 303, r.text
    m = {x["code"]: x for x in client.get("/api/v1/payment-methods", headers=merchant.owner).json()}
    assert (m["wechat"]["fee_rate_bp"], m["wechat"]["settlement_cycle_days"], m["wechat"]["enabled"]) == (45, 7, True)
    r = client.post(PAGE + "/methods/card", headers=merchant.owner, data={"fee_percent": "0.123"})
    assert r.status_code == 422 and "0.38" in r.text
    r = client.post(PAGE + "/methods/card", headers=merchant.owner,
                    data={"fee_percent": "0.5", "store_id": str(merchant.store_id)}, follow_redirects=False)
    assert r.status_code == 303
    m = {x["code"]: x for x in client.get("/api/v1/payment-methods", headers=merchant.owner,
                                           params={"store_id": str(merchant.store_id)}).json()}
    assert m["card"]["enabled"] is False and m["card"]["fee_rate_bp"] == 50  # unchecked box: switched off
    cashier = merchant.as_role("cashier")
    assert client.get(PAGE, headers=cashier).status_code == 403
    assert client.post(PAGE + "/methods/card", headers=cashier, data={"fee_percent": "1"}).status_code == 403


def test_credentials_saved_never_shown_and_connection_tested(client, merchant, fast_payments):  # noqa: F811
    c = throwaway_credentials()
    r = client.post(PAGE + "/providers/wechat", headers=merchant.owner, follow_redirects=False,
                    data={"gateway_url": fast_payments.url, "app_id": c.wechat_appid, "mch_id": c.wechat_mch_id,
                          "sign_type": "HMAC-SHA256", "secret": c.wechat_api_key})
    assert r.status_code == 303, r.text
    page = client.get(PAGE, headers=merchant.owner).text
    assert c.wechat_api_key not in page and c.wechat_api_key[-4:] in page
    r = client.post(PAGE + "/providers/wechat/test", headers=merchant.owner)
    assert r.status_code == 200 and 'data-testid="test-result"' in r.text and "连接成功" in r.text
    # Saving again with an empty secret keeps the saved one.
    client.post(PAGE + "/providers/wechat", headers=merchant.owner, data={"gateway_url": fast_payments.url,
                                                                          "secret": ""})
    assert "连接成功" in client.post(PAGE + "/providers/wechat/test", headers=merchant.owner).text
    r = client.post(PAGE + "/providers/alipay", headers=merchant.owner, data={"public_key": "nonsense"})
    assert r.status_code == 422 and "RSA" in r.text
    assert client.post(PAGE + "/providers/paypal", headers=merchant.owner, data={}).status_code == 404
