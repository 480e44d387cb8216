"""Alipay 当面付 bar-code payment: alipay.trade.pay (scene bar_code), alipay.trade.query,
alipay.trade.cancel and alipay.trade.refund, RSA2 (SHA256withRSA) signed, via python-alipay-sdk 3.4.0.

The SDK builds and signs the request (`build_body` + `sign_data`) and verifies the gateway's answer
(`_verify_and_return_sync_response`: the signature covers the exact `<method>_response` JSON text).
We send the request ourselves with httpx as a POST form — the SDK would put every parameter, the
customer's payment code included, in a GET URL (which ends up in proxy logs), without our timeouts.

Amounts cross this boundary as yuan strings with two decimals, converted exactly from fen.
Result codes: 10000 success · 10003 waiting for the customer · 20000 service trouble · 40004 failed
(sub_code tells why; ACQ.SYSTEM_ERROR means "unknown, query").
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import httpx
from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError

from cloudpos import clock
from cloudpos.payments.domain import fen_to_yuan, yuan_to_fen
from cloudpos.payments.providers.base import (
    CLOSED,
    FAILED,
    NOT_FOUND,
    PAYING,
    SUCCESS,
    UNKNOWN,
    GatewayResult,
    InvalidNotification,
    Notification,
    short,
)
from cloudpos.payments.providers.http import client as shared_client

BEIJING = ZoneInfo("Asia/Shanghai")
UNKNOWN_SUB_CODES = frozenset({"ACQ.SYSTEM_ERROR", "ACQ.TRADE_HAS_SUCCESS_RETRY", "aop.ACQ.SYSTEM_ERROR"})


def pem(value: str, kind: str) -> str:
    """Alipay's console hands out keys as bare base64: wrap them as PEM (kind: PRIVATE or PUBLIC)."""
    value = value.strip()
    if not value or "-----BEGIN" in value:
        return value
    body = "".join(value.split())
    base64.b64decode(body)  # raises on garbage
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {kind} KEY-----\n" + "\n".join(lines) + f"\n-----END {kind} KEY-----\n"


@dataclass(frozen=True)
class AlipayConfig:
    gateway_url: str
    app_id: str
    app_private_key: str  # ours (PEM): signs requests
    alipay_public_key: str  # Alipay's (PEM): verifies answers and notifications
    timeout_s: float = 10.0
    notify_url: str = ""


class Alipay:
    name = "alipay"

    def __init__(self, cfg: AlipayConfig) -> None:
        self.cfg = cfg
        self.sdk = AliPay(appid=cfg.app_id, app_notify_url=cfg.notify_url or None,
                          app_private_key_string=pem(cfg.app_private_key, "PRIVATE"),
                          alipay_public_key_string=pem(cfg.alipay_public_key, "PUBLIC"), sign_type="RSA2")

    # the four calls ------------------------------------------------------------------------------
    def pay(self, *, out_trade_no: str, amount_fen: int, auth_code: str, subject: str,
            device: str = "", client_ip: str = "") -> GatewayResult:
        biz = {"out_trade_no": out_trade_no, "scene": "bar_code", "auth_code": auth_code,
               "subject": subject[:256] or "POS", "total_amount": fen_to_yuan(amount_fen)}
        if device:
            biz["terminal_id"] = device[:32]
        resp = self._call("alipay.trade.pay", biz)
        if isinstance(resp, GatewayResult):
            return resp
        code, sub = resp.get("code", ""), resp.get("sub_code", "")
        msg = short(resp.get("sub_msg") or resp.get("msg"))
        if code == "10000":
            return self._charged(resp, out_trade_no, amount_fen)
        if code == "10003":
            return GatewayResult(PAYING, code="WAIT_BUYER_PAY", message=msg)
        if code == "20000" or sub in UNKNOWN_SUB_CODES:
            return GatewayResult(UNKNOWN, code=sub or code, message=msg)
        return GatewayResult(FAILED, code=sub or code, message=msg)

    def query(self, out_trade_no: str) -> GatewayResult:
        resp = self._call("alipay.trade.query", {"out_trade_no": out_trade_no})
        if isinstance(resp, GatewayResult):
            return resp
        code, sub = resp.get("code", ""), resp.get("sub_code", "")
        msg = short(resp.get("sub_msg") or resp.get("msg"))
        if code != "10000":
            return GatewayResult(NOT_FOUND if sub == "ACQ.TRADE_NOT_EXIST" else UNKNOWN, code=sub or code, message=msg)
        status = resp.get("trade_status", "")
        if status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            return self._charged(resp, out_trade_no, None)
        if status == "WAIT_BUYER_PAY":
            return GatewayResult(PAYING, code=status, message=msg)
        if status == "TRADE_CLOSED":
            return GatewayResult(CLOSED, code=status, message=msg)
        return GatewayResult(UNKNOWN, code=status, message=msg)

    def reverse(self, out_trade_no: str) -> GatewayResult:
        resp = self._call("alipay.trade.cancel", {"out_trade_no": out_trade_no})
        if isinstance(resp, GatewayResult):
            return GatewayResult(UNKNOWN, code=resp.code, message=resp.message, retry=True)
        code, sub = resp.get("code", ""), resp.get("sub_code", "")
        retry = resp.get("retry_flag") == "Y"
        msg = short(resp.get("sub_msg") or resp.get("msg"))
        if code == "10000" and not retry:
            return GatewayResult(SUCCESS, code=resp.get("action", ""))
        if retry or code == "20000" or sub in UNKNOWN_SUB_CODES:
            return GatewayResult(UNKNOWN, code=sub or code or "RETRY", message=msg, retry=True)
        if sub == "ACQ.TRADE_NOT_EXIST":
            return GatewayResult(SUCCESS, code=sub)  # nothing was charged
        return GatewayResult(FAILED, code=sub or code, message=msg)

    def refund(self, *, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int,
               reason: str = "") -> GatewayResult:
        biz = {"out_trade_no": out_trade_no, "out_request_no": out_refund_no,
               "refund_amount": fen_to_yuan(refund_fen), "refund_reason": reason[:256]}
        resp = self._call("alipay.trade.refund", biz)
        if isinstance(resp, GatewayResult):
            return resp
        code, sub = resp.get("code", ""), resp.get("sub_code", "")
        msg = short(resp.get("sub_msg") or resp.get("msg"))
        if code == "10000":
            return GatewayResult(SUCCESS, trade_no=resp.get("trade_no", ""), amount_fen=refund_fen)
        if code == "20000" or sub in UNKNOWN_SUB_CODES:
            return GatewayResult(UNKNOWN, code=sub or code, message=msg)
        return GatewayResult(FAILED, code=sub or code, message=msg)

    # notifications -------------------------------------------------------------------------------
    def verify_notification(self, body: bytes) -> Notification:
        try:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidNotification("not an Alipay notification") from exc
        signature = params.pop("sign", "")
        if not signature or params.get("sign_type", "RSA2") != "RSA2":
            raise InvalidNotification("unsigned")
        try:
            ok = self.sdk.verify(dict(params), signature)
        except (AliPayException, ValueError, TypeError) as exc:
            raise InvalidNotification("bad signature") from exc
        if not ok or params.get("app_id") != self.cfg.app_id:
            raise InvalidNotification("bad signature")
        status = params.get("trade_status", "")
        if status not in ("TRADE_SUCCESS", "TRADE_FINISHED", "TRADE_CLOSED"):
            raise InvalidNotification("unknown trade status")
        try:
            amount = yuan_to_fen(params["total_amount"]) if params.get("total_amount") else None
        except ValueError as exc:
            raise InvalidNotification("bad amount") from exc
        return Notification(out_trade_no=params.get("out_trade_no", ""), trade_no=params.get("trade_no", ""),
                            outcome=CLOSED if status == "TRADE_CLOSED" else SUCCESS, amount_fen=amount)

    def ack(self, ok: bool) -> tuple[str, str]:
        return ("success" if ok else "failure"), "text/plain"

    # plumbing ------------------------------------------------------------------------------------
    def _charged(self, resp: dict[str, str], out_trade_no: str, amount_fen: int | None) -> GatewayResult:
        try:
            total = yuan_to_fen(resp.get("total_amount", ""))
        except ValueError:
            return GatewayResult(UNKNOWN, code="BAD_RESPONSE", message="The amount in the answer is not readable.")
        if resp.get("out_trade_no") != out_trade_no or (amount_fen is not None and total != amount_fen):
            return GatewayResult(UNKNOWN, code="MISMATCH", message="The answer is for another payment or amount.")
        return GatewayResult(SUCCESS, trade_no=resp.get("trade_no", ""), amount_fen=total)

    def _call(self, method: str, biz: dict[str, str]) -> dict[str, str] | GatewayResult:
        stamp = clock.now().astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        data = self.sdk.build_body(method, dict(biz), timestamp=stamp)
        form = self.sdk.sign_data(data)
        try:
            r = shared_client().post(self.cfg.gateway_url, content=form.encode(), timeout=self.cfg.timeout_s,
                           headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
        except httpx.TimeoutException:
            return GatewayResult(UNKNOWN, code="TIMEOUT", message="The gateway did not answer in time.")
        except httpx.HTTPError as exc:
            return GatewayResult(UNKNOWN, code="NETWORK", message=short(type(exc).__name__))
        if r.status_code != 200:
            return GatewayResult(UNKNOWN, code=f"HTTP_{r.status_code}", message="The gateway answered with an error.")
        response_type = method.replace(".", "_") + "_response"
        try:
            result = self.sdk._verify_and_return_sync_response(r.text, response_type)  # noqa: SLF001
        except AliPayValidationError:
            return GatewayResult(UNKNOWN, code="INVALID_SIGNATURE", message="The gateway's answer is not signed by it.")
        except (AliPayException, ValueError, KeyError, AttributeError, TypeError):
            return GatewayResult(UNKNOWN, code="BAD_RESPONSE", message="The gateway's answer could not be read.")
        if not isinstance(result, dict):
            return GatewayResult(UNKNOWN, code="BAD_RESPONSE", message="The gateway's answer could not be read.")
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in result.items()}
