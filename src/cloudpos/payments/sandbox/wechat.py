"""The sandbox's WeChat Pay v2 side: verifies our signed XML, answers signed XML like the real gateway."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from cloudpos.payments.providers import wechat as wx
from cloudpos.payments.sandbox.ledger import PAYERROR, REVOKED, SUCCESS, USERPAYING, Ledger, Trade
from cloudpos.payments.sandbox.state import SandboxState

BEIJING = ZoneInfo("Asia/Shanghai")


def _xml(params: dict[str, str], status: int = 200) -> Response:
    return Response(wx.to_xml(params), status_code=status, media_type="application/xml")


def _signed(state: SandboxState, req: dict[str, str], fields: dict[str, str], tamper: bool = False) -> Response:
    creds = state.creds
    out = {"return_code": "SUCCESS", "return_msg": "OK", "appid": creds.wechat_appid, "mch_id": creds.wechat_mch_id,
           "nonce_str": wx.nonce(), **{k: v for k, v in fields.items() if v not in (None, "")}}
    sign_type = req.get("sign_type") or wx.MD5
    out["sign"] = wx.sign(out, creds.wechat_api_key, sign_type)
    if tamper and "total_fee" in out:
        out["total_fee"] = str(int(out["total_fee"]) + 1)
    return _xml(out)


def _fail(code: str, des: str) -> dict[str, str]:
    return {"result_code": "FAIL", "err_code": code, "err_code_des": des}


def _paid_fields(trade: Trade) -> dict[str, str]:
    return {"result_code": "SUCCESS", "openid": "oSandbox" + trade.trade_no[-8:], "is_subscribe": "N",
            "trade_type": "MICROPAY", "bank_type": "OTHERS", "total_fee": str(trade.amount_fen),
            "cash_fee": str(trade.amount_fen), "fee_type": "CNY", "transaction_id": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "time_end": datetime.now(BEIJING).strftime("%Y%m%d%H%M%S")}


async def _read(state: SandboxState, request: Request) -> dict[str, str] | Response:
    state.ledger.requests += 1
    try:
        req = wx.from_xml(await request.body())
    except Exception:  # noqa: BLE001 - any unreadable body is the protocol's "XML format error"
        return _xml({"return_code": "FAIL", "return_msg": "XML格式错误"})
    creds = state.creds
    if req.get("mch_id") != creds.wechat_mch_id or req.get("appid") != creds.wechat_appid:
        return _xml({"return_code": "FAIL", "return_msg": "appid和mch_id不匹配"})
    if not wx.verify(req, creds.wechat_api_key, req.get("sign_type") or wx.MD5):
        state.ledger.rejected_signatures += 1
        return _xml({"return_code": "FAIL", "return_msg": "签名错误"})
    return req


async def micropay(state: SandboxState, request: Request) -> Response:
    req = await _read(state, request)
    if isinstance(req, Response):
        return req
    ledger: Ledger = state.ledger
    out_trade_no, auth_code = req.get("out_trade_no", ""), req.get("auth_code", "")
    try:
        amount = int(req.get("total_fee", ""))
    except ValueError:
        amount = 0
    if amount <= 0 or not out_trade_no or len(out_trade_no) > 32 or not auth_code.isdigit():
        return _signed(state, req, _fail("PARAM_ERROR", "参数错误"))
    existing = ledger.get("wechat", out_trade_no)
    if existing is not None:
        if existing.state == REVOKED:
            return _signed(state, req, _fail("ORDERREVERSED", "订单已撤销"))
        if existing.state == SUCCESS:
            return _signed(state, req, _fail("ORDERPAID", "订单已支付"))
        return _signed(state, req, _fail("USERPAYING", "需要用户输入支付密码"))
    if ledger.code_used_elsewhere(auth_code, out_trade_no):
        return _signed(state, req, _fail("AUTHCODEEXPIRE", "二维码已过期，请用户在微信上刷新后再试"))
    trade = ledger.open_trade("wechat", out_trade_no, amount, auth_code)
    if trade.outcome == "timeout":
        await asyncio.sleep(ledger.slow_seconds)
        return _signed(state, req, _fail("USERPAYING", "需要用户输入支付密码"))
    if trade.outcome == "lost":
        return Response("Bad Gateway", status_code=502)
    if trade.outcome == "systemerror":
        return _signed(state, req, _fail("SYSTEMERROR", "系统超时"))
    if trade.state == PAYERROR:
        return _signed(state, req, _fail("NOTENOUGH", "余额不足"))
    if trade.state == USERPAYING:
        return _signed(state, req, _fail("USERPAYING", "需要用户输入支付密码"))
    return _signed(state, req, _paid_fields(trade), tamper=trade.outcome == "tamper")


async def orderquery(state: SandboxState, request: Request) -> Response:
    req = await _read(state, request)
    if isinstance(req, Response):
        return req
    trade = state.ledger.get("wechat", req.get("out_trade_no", ""))
    if trade is None:
        return _signed(state, req, _fail("ORDERNOTEXIST", "此交易订单号不存在"))
    state.ledger.on_query(trade)
    base = {"result_code": "SUCCESS", "out_trade_no": trade.out_trade_no, "trade_state": trade.state}
    if trade.state == SUCCESS:
        fields = _paid_fields(trade)
        fields.update(trade_state="REFUND" if trade.refunded_fen else "SUCCESS", trade_state_desc="支付成功")
        return _signed(state, req, fields)
    desc = {USERPAYING: "需要用户输入支付密码", PAYERROR: "支付失败", REVOKED: "已撤销"}.get(trade.state, "")
    return _signed(state, req, {**base, "trade_state_desc": desc})


async def reverse(state: SandboxState, request: Request) -> Response:
    req = await _read(state, request)
    if isinstance(req, Response):
        return req
    out_trade_no = req.get("out_trade_no", "")
    trade = state.ledger.get("wechat", out_trade_no)
    if trade is None:
        state.ledger.tombstone("wechat", out_trade_no)
    else:
        state.ledger.reverse(trade)
    return _signed(state, req, {"result_code": "SUCCESS", "recall": "N"})


async def refund(state: SandboxState, request: Request) -> Response:
    req = await _read(state, request)
    if isinstance(req, Response):
        return req
    trade = state.ledger.get("wechat", req.get("out_trade_no", ""))
    if trade is None:
        return _signed(state, req, _fail("ORDERNOTEXIST", "订单不存在"))
    try:
        total, amount = int(req.get("total_fee", "")), int(req.get("refund_fee", ""))
    except ValueError:
        return _signed(state, req, _fail("PARAM_ERROR", "参数错误"))
    if total != trade.amount_fen:
        return _signed(state, req, _fail("INVALID_REQUEST", "订单金额不一致"))
    out_refund_no = req.get("out_refund_no", "")
    error = state.ledger.refund(trade, out_refund_no, amount)
    if error:
        return _signed(state, req, _fail(error, "退款失败"))
    return _signed(state, req, {"result_code": "SUCCESS", "transaction_id": trade.trade_no,
                                "out_trade_no": trade.out_trade_no, "out_refund_no": out_refund_no,
                                "refund_id": "5030" + out_refund_no[-16:], "refund_fee": str(amount),
                                "total_fee": str(trade.amount_fen), "cash_fee": str(trade.amount_fen)})


def notification(state: SandboxState, trade: Trade, sign_type: str = wx.HMAC_SHA256) -> str:
    """The payment result notification the real gateway would POST for this trade (signed)."""
    creds = state.creds
    fields = {"return_code": "SUCCESS", "appid": creds.wechat_appid, "mch_id": creds.wechat_mch_id,
              "nonce_str": wx.nonce(), "sign_type": sign_type, **_paid_fields(trade)}
    if trade.state != SUCCESS:
        fields.update(result_code="FAIL", err_code="PAYERROR", err_code_des="支付失败")
    fields["sign"] = wx.sign(fields, creds.wechat_api_key, sign_type)
    return wx.to_xml(fields)
