"""Signatures both ways, against WeChat Pay's published example and an independent RSA2 check, then over
real HTTP with the sandbox: our signed requests are accepted, a wrong key is refused, the sandbox's
signed answers are verified, and a tampered answer is never believed."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest
from Cryptodome.Hash import SHA256
from Cryptodome.PublicKey import RSA
from Cryptodome.Signature import PKCS1_v1_5

from cloudpos.payments.providers import wechat as wx
from cloudpos.payments.providers.alipay import Alipay, AlipayConfig, pem
from cloudpos.payments.providers.base import FAILED, SUCCESS, UNKNOWN, InvalidNotification
from cloudpos.payments.providers.wechat import WechatConfig, WechatPay
from cloudpos.payments.testing import payment_code, sandbox, throwaway_credentials  # noqa: F401

# The example in WeChat Pay's v2 signature documentation (安全规范).
DOC_PARAMS = {"appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "device_info": "1000", "body": "test",
              "nonce_str": "ibuaiVcKdpRxkhJA"}
DOC_KEY = "192006250b4c09247ec02edce69f6a2d"


def test_wechat_signature_matches_the_documented_example():
    assert wx.sign(DOC_PARAMS, DOC_KEY, wx.MD5) == "9A0A8659F005D6984697E2CA0A9CF3B7"
    assert wx.sign(DOC_PARAMS, DOC_KEY, wx.HMAC_SHA256) == \
        "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"


def test_wechat_sign_verify_round_trip_and_tamper():
    params = {**DOC_PARAMS, "total_fee": "1250", "empty": ""}
    for sign_type in (wx.MD5, wx.HMAC_SHA256):
        signed = {**params, "sign": wx.sign(params, DOC_KEY, sign_type)}
        assert wx.verify(signed, DOC_KEY, sign_type)
        assert not wx.verify({**signed, "total_fee": "1251"}, DOC_KEY, sign_type)
        assert not wx.verify(signed, "0" * 32, sign_type)
    assert not wx.verify(params, DOC_KEY)  # unsigned


def test_wechat_xml_round_trip_and_no_entities():
    doc = wx.to_xml({"a": "1", "b": "中文 <x>"})
    assert wx.from_xml(doc) == {"a": "1", "b": "中文 <x>"}
    with pytest.raises(ValueError):
        wx.from_xml('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><xml><a>&e;</a></xml>')
    with pytest.raises(ValueError):
        wx.to_xml({"a": "]]>"})


def _alipay(sb, *, private=None) -> Alipay:
    c = throwaway_credentials()
    return Alipay(AlipayConfig(sb.url + "/gateway.do", c.alipay_app_id, private or c.app_private_key,
                               c.alipay_public_key, timeout_s=2))


def _wechat(sb, *, key=None, sign_type=wx.HMAC_SHA256) -> WechatPay:
    c = throwaway_credentials()
    return WechatPay(WechatConfig(sb.url, c.wechat_appid, c.wechat_mch_id, key or c.wechat_api_key, sign_type,
                                  timeout_s=2))


def test_alipay_request_signature_checks_out_independently(sandbox):  # noqa: F811
    """The SDK's RSA2 signature verifies with plain PKCS#1 v1.5 / SHA-256 over the sorted k=v string."""
    client = _alipay(sandbox)
    data = client.sdk.build_body("alipay.trade.query", {"out_trade_no": "x1"}, timestamp="2026-11-27 10:00:00")
    form = client.sdk.sign_data(dict(data))
    from urllib.parse import parse_qsl

    params = dict(parse_qsl(form))
    signature = params.pop("sign")
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    key = RSA.importKey(throwaway_credentials().app_public_key)
    assert PKCS1_v1_5.new(key).verify(SHA256.new(message.encode()), base64.b64decode(signature))
    assert not PKCS1_v1_5.new(key).verify(SHA256.new(message.replace("x1", "x2").encode()),
                                          base64.b64decode(signature))


def test_bare_base64_keys_are_accepted():
    body = "".join(throwaway_credentials().alipay_public_key.strip().splitlines()[1:-1])
    assert RSA.importKey(pem(body, "PUBLIC")).n == RSA.importKey(throwaway_credentials().alipay_public_key).n


@pytest.mark.parametrize("protocol", ["wechat", "alipay"])
def test_our_signature_accepted_sandbox_signature_verified(sandbox, protocol):  # noqa: F811
    client = _wechat(sandbox) if protocol == "wechat" else _alipay(sandbox)
    before = httpx.get(sandbox.url + "/sandbox/ledger").json()["rejected_signatures"]
    out = uuid.uuid4().hex
    r = client.pay(out_trade_no=out, amount_fen=1250, auth_code=payment_code("1300"), subject="t")
    assert r.outcome == SUCCESS and r.amount_fen == 1250 and r.trade_no
    assert client.query(out).outcome == SUCCESS
    assert httpx.get(sandbox.url + "/sandbox/ledger").json()["rejected_signatures"] == before


def test_md5_mode_works_too(sandbox):  # noqa: F811
    r = _wechat(sandbox, sign_type=wx.MD5).pay(out_trade_no=uuid.uuid4().hex, amount_fen=1, subject="t",
                                               auth_code=payment_code("1300"))
    assert r.outcome == SUCCESS


def test_a_wrong_key_is_refused_by_the_gateway(sandbox):  # noqa: F811
    wrong = _wechat(sandbox, key="f" * 32).pay(out_trade_no=uuid.uuid4().hex, amount_fen=100, subject="t",
                                               auth_code=payment_code("1300"))
    assert wrong.outcome == FAILED and wrong.code == "RETURN_FAIL"
    from cloudpos.payments.providers.sandbox import keypair

    other_private, _ = keypair(1024)
    r = _alipay(sandbox, private=other_private).pay(out_trade_no=uuid.uuid4().hex, amount_fen=100, subject="t",
                                                    auth_code=payment_code("1300"))
    assert r.outcome == UNKNOWN  # the gateway's refusal comes unsigned: not believed either way


@pytest.mark.parametrize("protocol", ["wechat", "alipay"])
def test_tampered_answer_is_rejected(sandbox, protocol):  # noqa: F811
    client = _wechat(sandbox) if protocol == "wechat" else _alipay(sandbox)
    r = client.pay(out_trade_no=uuid.uuid4().hex, amount_fen=1250, auth_code=payment_code("1307"), subject="t")
    assert r.outcome == UNKNOWN and r.code == "INVALID_SIGNATURE"


@pytest.mark.parametrize("protocol", ["wechat", "alipay"])
def test_notifications_signed_by_the_sandbox_verify_and_tampered_ones_do_not(sandbox, protocol):  # noqa: F811
    client = _wechat(sandbox) if protocol == "wechat" else _alipay(sandbox)
    out = uuid.uuid4().hex
    client.pay(out_trade_no=out, amount_fen=990, auth_code=payment_code("1300"), subject="t")
    body = httpx.get(f"{sandbox.url}/sandbox/notification/{protocol}/{out}").content
    note = client.verify_notification(body)
    assert note.out_trade_no == out and note.outcome == SUCCESS and note.amount_fen == 990
    tampered = body.replace(b"990", b"991") if protocol == "wechat" else body.replace(b"9.90", b"9.91")
    assert tampered != body
    with pytest.raises(InvalidNotification):
        client.verify_notification(tampered)
    with pytest.raises(InvalidNotification):
        client.verify_notification(b"<xml>not signed</xml>" if protocol == "wechat" else b"a=b")


def test_an_unreadable_client_certificate_is_an_unknown_outcome_not_a_crash(sandbox):  # noqa: F811
    c = throwaway_credentials()
    client = WechatPay(WechatConfig(sandbox.url, c.wechat_appid, c.wechat_mch_id, c.wechat_api_key,
                                    cert_path="/nonexistent/apiclient_cert.pem", timeout_s=1))
    r = client.reverse(uuid.uuid4().hex)
    assert r.outcome == UNKNOWN and r.code == "CLIENT_CERT" and r.retry
