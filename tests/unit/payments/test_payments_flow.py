"""The wallet flow alone (no database), against the sandbox over real HTTP."""

from __future__ import annotations

import uuid

import httpx
import pytest

from cloudpos.payments import domain, flow
from cloudpos.payments.providers.alipay import Alipay, AlipayConfig
from cloudpos.payments.providers.wechat import WechatConfig, WechatPay
from cloudpos.payments.testing import payment_code, sandbox, throwaway_credentials  # noqa: F401

FAST = flow.Timing(poll_interval_s=0.05, deadline_s=1.5, reverse_attempts=3)


def client(sb, protocol):
    c = throwaway_credentials()
    if protocol == "wechat":
        return WechatPay(WechatConfig(sb.url, c.wechat_appid, c.wechat_mch_id, c.wechat_api_key, timeout_s=1.0))
    return Alipay(AlipayConfig(sb.url + "/gateway.do", c.alipay_app_id, c.app_private_key, c.alipay_public_key,
                               timeout_s=1.0))


def run(sb, protocol, scenario):
    out = uuid.uuid4().hex
    outcome = flow.run(client(sb, protocol), out_trade_no=out, amount_fen=888, auth_code=payment_code(scenario),
                       subject="t", timing=FAST)
    t = httpx.get(f"{sb.url}/sandbox/trades/{out}").json()
    return outcome, t


@pytest.mark.parametrize("protocol", ["wechat", "alipay"])
@pytest.mark.parametrize(("scenario", "status", "charged", "reversed"), [
    ("1300", domain.SUCCEEDED, 1, False),
    ("1301", domain.SUCCEEDED, 1, False),
    ("1302", domain.FAILED, 0, False),
    ("1303", domain.REVERSED, 0, True),
    ("1304", domain.SUCCEEDED, 1, False),
    ("1305", domain.SUCCEEDED, 1, False),
    ("1306", domain.REVERSED, 0, True),
])
def test_every_scenario_ends_charged_once_or_not_at_all(sandbox, protocol, scenario, status, charged,  # noqa: F811
                                                        reversed):
    outcome, t = run(sandbox, protocol, scenario)
    assert outcome.status == status
    assert t["charges"] == charged and t["reversed"] == reversed
    if status == domain.SUCCEEDED:
        assert outcome.trade_no == t["trade_no"]


def test_a_late_pay_after_a_reversal_is_refused(sandbox):  # noqa: F811
    """The reversal of an order the gateway never saw closes its number: a delayed pay cannot charge."""
    c = client(sandbox, "wechat")
    out = uuid.uuid4().hex
    assert c.reverse(out).outcome == "success"
    late = c.pay(out_trade_no=out, amount_fen=100, auth_code=payment_code("1300"), subject="t")
    assert late.outcome == "failed" and late.code == "ORDERREVERSED"


def test_crash_hook_and_env_switch(monkeypatch):
    hook = flow.Hook()
    seen = []
    hook.register(seen.append)
    hook.fire("p1")
    assert seen == ["p1"]
    monkeypatch.setenv("CLOUDPOS_PAYMENTS_CRASH_AFTER_SUCCESS", "1")
    with pytest.raises(flow.SimulatedCrash):
        hook.fire("p2")
