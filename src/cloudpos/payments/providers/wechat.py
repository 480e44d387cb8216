"""WeChat Pay micropay (付款码支付), API v2: XML over HTTPS, MD5 or HMAC-SHA256 signatures.

Endpoints: /pay/micropay, /pay/orderquery, /secapi/pay/reverse, /secapi/pay/refund (the two
/secapi ones need the merchant's client certificate in production: `cert_path` / `key_path`).

Signature (v2): take every parameter except `sign` whose value is not empty, sort by name (ASCII),
join as `k=v&k=v`, append `&key=<API key>`, then MD5 (default) or HMAC-SHA256 keyed with the API
key, as upper-case hex. `sign_type` itself is one of the signed parameters when sent.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import xml.etree.ElementTree as ET  # noqa: S405 - parsed only after refusing DTDs/entities (see from_xml)
from dataclasses import dataclass

import httpx

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

HMAC_SHA256 = "HMAC-SHA256"
MD5 = "MD5"
SIGN_TYPES = (HMAC_SHA256, MD5)

# micropay err_code values after which the outcome is not known yet (WeChat: "query, then reverse").
UNKNOWN_CODES = frozenset({"SYSTEMERROR", "BANKERROR", "ORDERPAID"})


# --- the protocol: signatures and XML ---------------------------------------------------------------

def sign(params: dict[str, str], key: str, sign_type: str = MD5) -> str:
    items = sorted((k, str(v)) for k, v in params.items() if k != "sign" and v is not None and str(v) != "")
    text = "&".join(f"{k}={v}" for k, v in items) + f"&key={key}"
    if sign_type == HMAC_SHA256:
        return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest().upper()
    if sign_type == MD5:
        return hashlib.md5(text.encode()).hexdigest().upper()  # noqa: S324 - the protocol's own MD5 mode
    raise ValueError(f"unknown sign_type {sign_type!r}")


def verify(params: dict[str, str], key: str, sign_type: str = MD5) -> bool:
    given = params.get("sign", "")
    if not given or sign_type not in SIGN_TYPES:
        return False
    return hmac.compare_digest(given.upper(), sign(params, key, sign_type))


def to_xml(params: dict[str, str]) -> str:
    parts = []
    for k, v in params.items():
        value = str(v)
        if "]]>" in value:
            raise ValueError("a value may not contain ']]>'")
        parts.append(f"<{k}><![CDATA[{value}]]></{k}>")
    return "<xml>" + "".join(parts) + "</xml>"


def from_xml(text: str | bytes) -> dict[str, str]:
    """A flat <xml><k>v</k>…</xml> document. DTDs and entities are refused (no XXE, no entity bombs)."""
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    if "<!DOCTYPE" in raw.upper() or "<!ENTITY" in raw.upper() or len(raw) > 64_000:
        raise ValueError("refused XML")
    root = ET.fromstring(raw)  # noqa: S314 - DTDs refused above
    if root.tag != "xml":
        raise ValueError("not a WeChat Pay document")
    return {child.tag: (child.text or "") for child in root}


def nonce() -> str:
    return secrets.token_hex(16)


# --- the client ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WechatConfig:
    gateway_url: str
    appid: str
    mch_id: str
    api_key: str
    sign_type: str = HMAC_SHA256
    cert_path: str = ""
    key_path: str = ""
    timeout_s: float = 10.0


class WechatPay:
    name = "wechat"

    def __init__(self, cfg: WechatConfig) -> None:
        if cfg.sign_type not in SIGN_TYPES:
            raise ValueError("sign_type must be HMAC-SHA256 or MD5")
        self.cfg = cfg

    # the four calls ------------------------------------------------------------------------------
    def pay(self, *, out_trade_no: str, amount_fen: int, auth_code: str, subject: str,
            device: str = "", client_ip: str = "") -> GatewayResult:
        params = {"body": subject[:128] or "POS", "out_trade_no": out_trade_no, "total_fee": str(amount_fen),
                  "fee_type": "CNY", "spbill_create_ip": client_ip or "127.0.0.1", "auth_code": auth_code,
                  "device_info": device[:32]}
        resp = self._call("/pay/micropay", params)
        if isinstance(resp, GatewayResult):
            return resp
        if resp.get("return_code") != "SUCCESS":
            # A communication-level refusal (bad signature, malformed request): no trade was created.
            return GatewayResult(FAILED, code="RETURN_FAIL", message=short(resp.get("return_msg")))
        if resp.get("result_code") == "SUCCESS":
            return self._charged(resp, out_trade_no, amount_fen)
        code = resp.get("err_code", "")
        msg = short(resp.get("err_code_des"))
        if code == "USERPAYING":
            return GatewayResult(PAYING, code=code, message=msg)
        if code in UNKNOWN_CODES:
            return GatewayResult(UNKNOWN, code=code, message=msg)
        return GatewayResult(FAILED, code=code or "FAIL", message=msg)

    def query(self, out_trade_no: str) -> GatewayResult:
        resp = self._call("/pay/orderquery", {"out_trade_no": out_trade_no})
        if isinstance(resp, GatewayResult):
            return resp
        if resp.get("return_code") != "SUCCESS":
            return GatewayResult(UNKNOWN, code="RETURN_FAIL", message=short(resp.get("return_msg")))
        if resp.get("result_code") != "SUCCESS":
            code = resp.get("err_code", "")
            outcome = NOT_FOUND if code == "ORDERNOTEXIST" else UNKNOWN
            return GatewayResult(outcome, code=code, message=short(resp.get("err_code_des")))
        state = resp.get("trade_state", "")
        msg = short(resp.get("trade_state_desc"))
        if state in ("SUCCESS", "REFUND"):
            return self._charged(resp, out_trade_no, None)
        if state in ("USERPAYING", "NOTPAY"):
            return GatewayResult(PAYING, code=state, message=msg)
        if state in ("CLOSED", "REVOKED"):
            return GatewayResult(CLOSED, code=state, message=msg)
        if state == "PAYERROR":
            return GatewayResult(FAILED, code=state, message=msg)
        return GatewayResult(UNKNOWN, code=state, message=msg)

    def reverse(self, out_trade_no: str) -> GatewayResult:
        resp = self._call("/secapi/pay/reverse", {"out_trade_no": out_trade_no}, cert=True)
        if isinstance(resp, GatewayResult):
            return GatewayResult(UNKNOWN, code=resp.code, message=resp.message, retry=True)
        if resp.get("return_code") != "SUCCESS":
            return GatewayResult(UNKNOWN, code="RETURN_FAIL", message=short(resp.get("return_msg")), retry=True)
        recall = resp.get("recall") == "Y"
        if resp.get("result_code") == "SUCCESS" and not recall:
            return GatewayResult(SUCCESS)
        code = resp.get("err_code", "")
        if recall or code in ("SYSTEMERROR", "USERPAYING"):
            return GatewayResult(UNKNOWN, code=code or "RECALL", message=short(resp.get("err_code_des")), retry=True)
        return GatewayResult(FAILED, code=code or "FAIL", message=short(resp.get("err_code_des")))

    def refund(self, *, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int,
               reason: str = "") -> GatewayResult:
        params = {"out_trade_no": out_trade_no, "out_refund_no": out_refund_no, "total_fee": str(total_fen),
                  "refund_fee": str(refund_fen), "refund_fee_type": "CNY", "refund_desc": reason[:80]}
        resp = self._call("/secapi/pay/refund", params, cert=True)
        if isinstance(resp, GatewayResult):
            return resp
        if resp.get("return_code") != "SUCCESS":
            return GatewayResult(UNKNOWN, code="RETURN_FAIL", message=short(resp.get("return_msg")))
        if resp.get("result_code") == "SUCCESS":
            return GatewayResult(SUCCESS, trade_no=resp.get("refund_id", ""), amount_fen=_int(resp.get("refund_fee")))
        code = resp.get("err_code", "")
        outcome = UNKNOWN if code in ("SYSTEMERROR", "BIZERR_NEED_RETRY") else FAILED
        return GatewayResult(outcome, code=code or "FAIL", message=short(resp.get("err_code_des")))

    # notifications -------------------------------------------------------------------------------
    def verify_notification(self, body: bytes) -> Notification:
        try:
            params = from_xml(body)
        except (ValueError, ET.ParseError) as exc:
            raise InvalidNotification("not a WeChat Pay notification") from exc
        sign_type = params.get("sign_type") or self.cfg.sign_type
        if not verify(params, self.cfg.api_key, sign_type):
            raise InvalidNotification("bad signature")
        if params.get("mch_id") != self.cfg.mch_id or params.get("return_code") != "SUCCESS":
            raise InvalidNotification("not for this merchant")
        outcome = SUCCESS if params.get("result_code") == "SUCCESS" else CLOSED
        return Notification(out_trade_no=params.get("out_trade_no", ""), trade_no=params.get("transaction_id", ""),
                            outcome=outcome, amount_fen=_int(params.get("total_fee")))

    def ack(self, ok: bool) -> tuple[str, str]:
        if ok:
            return to_xml({"return_code": "SUCCESS", "return_msg": "OK"}), "application/xml"
        return to_xml({"return_code": "FAIL", "return_msg": "SIGNATURE_OR_DATA_INVALID"}), "application/xml"

    # plumbing ------------------------------------------------------------------------------------
    def _charged(self, resp: dict[str, str], out_trade_no: str, amount_fen: int | None) -> GatewayResult:
        total = _int(resp.get("total_fee"))
        if resp.get("out_trade_no") != out_trade_no or (amount_fen is not None and total != amount_fen):
            return GatewayResult(UNKNOWN, code="MISMATCH", message="The answer is for another payment or amount.")
        return GatewayResult(SUCCESS, trade_no=resp.get("transaction_id", ""), amount_fen=total)

    def _call(self, path: str, params: dict[str, str], cert: bool = False) -> dict[str, str] | GatewayResult:
        cfg = self.cfg
        body = {"appid": cfg.appid, "mch_id": cfg.mch_id, "nonce_str": nonce(), "sign_type": cfg.sign_type,
                **{k: v for k, v in params.items() if v != ""}}
        body["sign"] = sign(body, cfg.api_key, cfg.sign_type)
        try:
            http = shared_client(cfg.cert_path, cfg.key_path) if cert and cfg.cert_path else shared_client()
        except (OSError, ValueError) as exc:  # an unreadable client certificate (ssl.SSLError is an OSError)
            return GatewayResult(UNKNOWN, code="CLIENT_CERT", message=short(type(exc).__name__))
        try:
            r = http.post(cfg.gateway_url.rstrip("/") + path, content=to_xml(body).encode(), timeout=cfg.timeout_s,
                          headers={"Content-Type": "text/xml; charset=utf-8"})
        except httpx.TimeoutException:
            return GatewayResult(UNKNOWN, code="TIMEOUT", message="The gateway did not answer in time.")
        except httpx.HTTPError as exc:
            return GatewayResult(UNKNOWN, code="NETWORK", message=short(type(exc).__name__))
        if r.status_code != 200:
            return GatewayResult(UNKNOWN, code=f"HTTP_{r.status_code}", message="The gateway answered with an error.")
        try:
            resp = from_xml(r.content)
        except (ValueError, ET.ParseError):
            return GatewayResult(UNKNOWN, code="BAD_RESPONSE", message="The gateway's answer could not be read.")
        if resp.get("return_code") == "SUCCESS" and not verify(resp, cfg.api_key, cfg.sign_type):
            return GatewayResult(UNKNOWN, code="INVALID_SIGNATURE", message="The gateway's answer is not signed by it.")
        return resp


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None
