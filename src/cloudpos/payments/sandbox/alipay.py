"""The sandbox's Alipay side (one /gateway.do endpoint, like the real one): verifies the RSA2 signature
of our request (every parameter but `sign`, sorted, `k=v&…`), answers JSON whose `<method>_response`
object is signed with the gateway's private key, exactly as the SDK expects to verify it."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import datetime
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from cloudpos.payments.domain import fen_to_yuan, yuan_to_fen
from cloudpos.payments.sandbox.ledger import PAYERROR, REVOKED, SUCCESS, USERPAYING, Trade
from cloudpos.payments.sandbox.state import SandboxState

BEIJING = ZoneInfo("Asia/Shanghai")
REFUND_ERRORS = {"REFUND_FEE_INVALID": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "TRADE_STATE_ERROR": "ACQ.TRADE_STATUS_ERROR",
                 "INVALID_REQUEST": "ACQ.INVALID_PARAMETER"}


def _now() -> str:
    return datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _answer(state: SandboxState, method: str, body: dict, *, signed: bool = True, tamper: bool = False) -> Response:
    key = method.replace(".", "_") + "_response"
    inner = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    if not signed:
        return Response('{"' + key + '":' + inner + "}", media_type="application/json")
    signature = state.alipay._sign(inner)  # noqa: SLF001 - the SDK's RSA2 signer
    if tamper:
        inner = inner.replace('"total_amount":"', '"total_amount":"1')
    return Response('{"' + key + '":' + inner + ',"sign":"' + signature + '"}', media_type="application/json")


def _failed(sub_code: str, sub_msg: str, **extra: str) -> dict:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg, **extra}


def _trade_fields(trade: Trade) -> dict:
    amount = fen_to_yuan(trade.amount_fen)
    return {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "buyer_logon_id": "san***@example.com",
            "total_amount": amount, "receipt_amount": amount, "buyer_pay_amount": amount,
            "fund_bill_list": [{"amount": amount, "fund_channel": "ALIPAYACCOUNT"}]}


async def gateway(state: SandboxState, request: Request) -> Response:
    state.ledger.requests += 1
    raw = (await request.body()).decode("utf-8", "replace") if request.method == "POST" else ""
    params = dict(parse_qsl(raw or request.url.query, keep_blank_values=True))
    method = params.get("method", "")
    signature = params.pop("sign", "")
    if not method.startswith("alipay.trade."):
        return _answer(state, method or "error", {"code": "40002", "msg": "Invalid Arguments",
                                                  "sub_code": "isv.invalid-method", "sub_msg": "不存在的方法名"},
                       signed=False)
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    ok = (params.get("app_id") == state.creds.alipay_app_id and params.get("sign_type") == "RSA2" and signature
          and _verify(state, message, signature))
    if not ok:
        state.ledger.rejected_signatures += 1
        return _answer(state, method, {"code": "40002", "msg": "Invalid Arguments",
                                       "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"}, signed=False)
    try:
        biz = json.loads(params.get("biz_content") or "{}")
    except ValueError:
        biz = None
    if not isinstance(biz, dict):
        return _answer(state, method, _failed("ACQ.INVALID_PARAMETER", "参数无效"))
    handler = {"alipay.trade.pay": _pay, "alipay.trade.query": _query, "alipay.trade.cancel": _cancel,
               "alipay.trade.refund": _refund}.get(method)
    if handler is None:
        return _answer(state, method, {"code": "40002", "msg": "Invalid Arguments",
                                       "sub_code": "isv.invalid-method", "sub_msg": "不支持的方法"})
    return await handler(state, method, biz)


def _verify(state: SandboxState, message: str, signature: str) -> bool:
    try:
        return state.alipay._verify(message, signature)  # noqa: SLF001 - the SDK's RSA2 verifier
    except (ValueError, TypeError):
        return False


async def _pay(state: SandboxState, method: str, biz: dict) -> Response:
    ledger = state.ledger
    out_trade_no, auth_code = str(biz.get("out_trade_no", "")), str(biz.get("auth_code", ""))
    try:
        amount = yuan_to_fen(str(biz.get("total_amount", "")))
    except ValueError:
        amount = 0
    if amount <= 0 or not out_trade_no or biz.get("scene") != "bar_code" or not auth_code.isdigit():
        return _answer(state, method, _failed("ACQ.INVALID_PARAMETER", "参数无效"))
    existing = ledger.get("alipay", out_trade_no)
    if existing is not None:
        if existing.state == REVOKED:
            return _answer(state, method, _failed("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"))
        if existing.state == SUCCESS:
            return _answer(state, method, _failed("ACQ.TRADE_HAS_SUCCESS", "交易已被支付"))
        return _answer(state, method, {"code": "10003", "msg": "order success pay inprocess",
                                       **_trade_fields(existing)})
    if ledger.code_used_elsewhere(auth_code, out_trade_no):
        return _answer(state, method, _failed("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败"))
    trade = ledger.open_trade("alipay", out_trade_no, amount, auth_code)
    if trade.outcome == "timeout":
        await asyncio.sleep(ledger.slow_seconds)
        return _answer(state, method, {"code": "10003", "msg": "order success pay inprocess", **_trade_fields(trade)})
    if trade.outcome == "lost":
        return Response("Bad Gateway", status_code=502)
    if trade.outcome == "systemerror":
        return _answer(state, method, _failed("ACQ.SYSTEM_ERROR", "系统错误"))
    if trade.state == PAYERROR:
        return _answer(state, method, _failed("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足"))
    if trade.state == USERPAYING:
        return _answer(state, method, {"code": "10003", "msg": "order success pay inprocess", **_trade_fields(trade)})
    return _answer(state, method, {"code": "10000", "msg": "Success", **_trade_fields(trade), "gmt_payment": _now()},
                   tamper=trade.outcome == "tamper")


async def _query(state: SandboxState, method: str, biz: dict) -> Response:
    trade = state.ledger.get("alipay", str(biz.get("out_trade_no", "")))
    if trade is None:
        return _answer(state, method, _failed("ACQ.TRADE_NOT_EXIST", "交易不存在"))
    state.ledger.on_query(trade)
    status = {SUCCESS: "TRADE_SUCCESS", USERPAYING: "WAIT_BUYER_PAY"}.get(trade.state, "TRADE_CLOSED")
    return _answer(state, method, {"code": "10000", "msg": "Success", **_trade_fields(trade), "trade_status": status})


async def _cancel(state: SandboxState, method: str, biz: dict) -> Response:
    out_trade_no = str(biz.get("out_trade_no", ""))
    trade = state.ledger.get("alipay", out_trade_no)
    action = "close"
    if trade is None:
        state.ledger.tombstone("alipay", out_trade_no)
    else:
        action = "refund" if trade.state == SUCCESS else "close"
        state.ledger.reverse(trade)
    return _answer(state, method, {"code": "10000", "msg": "Success", "out_trade_no": out_trade_no,
                                   "retry_flag": "N", "action": action})


async def _refund(state: SandboxState, method: str, biz: dict) -> Response:
    trade = state.ledger.get("alipay", str(biz.get("out_trade_no", "")))
    if trade is None:
        return _answer(state, method, _failed("ACQ.TRADE_NOT_EXIST", "交易不存在"))
    try:
        amount = yuan_to_fen(str(biz.get("refund_amount", "")))
    except ValueError:
        return _answer(state, method, _failed("ACQ.INVALID_PARAMETER", "参数无效"))
    out_request_no = str(biz.get("out_request_no") or trade.out_trade_no)
    error = state.ledger.refund(trade, out_request_no, amount)
    if error:
        return _answer(state, method, _failed(REFUND_ERRORS.get(error, "ACQ.INVALID_PARAMETER"), "退款失败"))
    return _answer(state, method, {"code": "10000", "msg": "Success", "trade_no": trade.trade_no,
                                   "out_trade_no": trade.out_trade_no, "buyer_logon_id": "san***@example.com",
                                   "fund_change": "Y", "refund_fee": fen_to_yuan(trade.refunded_fen),
                                   "gmt_refund_pay": _now()})


def notification(state: SandboxState, trade: Trade) -> str:
    """The asynchronous notification the real gateway would POST (form body; sign and sign_type excluded
    from the signed text, as Alipay specifies for notifications)."""
    fields = {"notify_time": _now(), "notify_type": "trade_status_sync", "notify_id": secrets.token_hex(16),
              "app_id": state.creds.alipay_app_id, "charset": "utf-8", "version": "1.0",
              "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no,
              "trade_status": "TRADE_SUCCESS" if trade.state == SUCCESS else "TRADE_CLOSED",
              "total_amount": fen_to_yuan(trade.amount_fen), "receipt_amount": fen_to_yuan(trade.amount_fen),
              "gmt_payment": _now()}
    message = "&".join(f"{k}={v}" for k, v in sorted(fields.items()))
    fields["sign"] = state.alipay._sign(message)  # noqa: SLF001
    fields["sign_type"] = "RSA2"
    return urlencode(fields)
