"""The one small interface every wallet provider implements, and the results it returns.

A provider never raises for gateway trouble: a timeout, a dropped connection, an HTTP error, an
unsigned or badly signed answer all come back as `UNKNOWN` — "we do not know whether money moved" —
which the wallet flow resolves by querying. Only a signed, well-formed answer is believed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# Outcomes of a gateway call.
SUCCESS = "success"  # pay/query: charged · reverse: reversed/closed · refund: refunded
PAYING = "paying"  # the customer is confirming on the phone (USERPAYING / 10003 / WAIT_BUYER_PAY)
FAILED = "failed"  # definitely not done (insufficient funds, invalid code, refund refused…)
CLOSED = "closed"  # query: the trade was closed or reversed: nothing charged
NOT_FOUND = "not_found"  # query: the gateway has no such trade
UNKNOWN = "unknown"  # no trustworthy answer: query again


@dataclass(frozen=True)
class GatewayResult:
    outcome: str
    trade_no: str = ""  # the provider's transaction id (WeChat transaction_id, Alipay trade_no)
    code: str = ""  # the provider's error code (NOTENOUGH, ACQ.BUYER_BALANCE_NOT_ENOUGH, TIMEOUT…)
    message: str = ""  # the provider's text, for people
    retry: bool = False  # reverse/cancel: the gateway asks us to call again (recall=Y / retry_flag=Y)
    amount_fen: int | None = None


@dataclass(frozen=True)
class Notification:
    """A provider's asynchronous notification, after its signature was verified."""

    out_trade_no: str
    trade_no: str
    outcome: str  # SUCCESS or CLOSED
    amount_fen: int | None


class InvalidNotification(Exception):
    """The notification's signature (or shape) is wrong: refuse it."""


class Provider(Protocol):
    name: str

    def pay(self, *, out_trade_no: str, amount_fen: int, auth_code: str, subject: str,
            device: str = "", client_ip: str = "") -> GatewayResult: ...

    def query(self, out_trade_no: str) -> GatewayResult: ...

    def reverse(self, out_trade_no: str) -> GatewayResult: ...

    def refund(self, *, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int,
               reason: str = "") -> GatewayResult: ...

    def verify_notification(self, body: bytes) -> Notification: ...

    def ack(self, ok: bool) -> tuple[str, str]:
        """(body, media type) the provider expects in answer to a notification."""
        ...


def short(text: object, limit: int = 200) -> str:
    return str(text or "")[:limit]
