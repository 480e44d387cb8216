"""The wallet flow (付款码支付), as both providers prescribe it — no database here:

1. pay. SUCCESS → done. A definite failure (insufficient funds, invalid code…) → failed, nothing charged.
2. USERPAYING (the customer confirms with a password), SYSTEMERROR/BANKERROR, a timeout, a dropped
   connection, an HTTP error or an answer whose signature does not verify: the outcome is unknown, so
   query every `poll_interval_s` until a final state or the deadline. A confirmed SUCCESS is the only
   success.
3. A final failure seen by query, or the deadline: reverse (WeChat /secapi/pay/reverse, Alipay
   trade.cancel), retrying while the gateway asks to (recall=Y / retry_flag=Y). A reversal gives any
   charge back, so a payment we stop waiting for can never stay charged.
4. If the reversal itself cannot be confirmed, the payment stays `paying` and the reconciliation job
   finishes it later (query → complete or reverse).

`on_wait` (optional) hears every answer that is not final yet — e.g. USERPAYING, so the till can say
the customer is typing their password; it must not raise (it is told, it does not steer the flow).

`after_gateway_success` is a hook fired after the gateway confirmed a charge and before we record it —
tests register a callback that raises, to simulate the process dying between the charge and the
sale's commit (the reconciliation job must then find and reverse the charge).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from cloudpos.payments import domain
from cloudpos.payments.config import payment_settings
from cloudpos.payments.providers.base import CLOSED, FAILED, SUCCESS, GatewayResult, Provider


@dataclass(frozen=True)
class Timing:
    poll_interval_s: float
    deadline_s: float
    reverse_attempts: int

    @classmethod
    def from_settings(cls) -> Timing:
        s = payment_settings()
        return cls(s.poll_interval_s, s.deadline_s, max(1, s.reverse_attempts))


@dataclass(frozen=True)
class FlowOutcome:
    status: str  # domain.SUCCEEDED | FAILED | REVERSED | PAYING (unresolved: reconciliation finishes it)
    trade_no: str = ""
    code: str = ""
    message: str = ""
    calls: int = 0


class SimulatedCrash(RuntimeError):
    """Raised by the crash hook (tests, CLOUDPOS_PAYMENTS_CRASH_AFTER_SUCCESS=1)."""


class Hook:
    """Callbacks fired with the payment id; one that raises aborts the caller (simulated crash)."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[str], None]] = []

    def register(self, fn: Callable[[str], None]) -> Callable[[str], None]:
        self._callbacks.append(fn)
        return fn

    def clear(self) -> None:
        self._callbacks.clear()

    def fire(self, payment_id: str) -> None:
        if os.environ.get("CLOUDPOS_PAYMENTS_CRASH_AFTER_SUCCESS") == "1":
            raise SimulatedCrash(payment_id)
        for fn in list(self._callbacks):
            fn(payment_id)


after_gateway_success = Hook()


def reverse(provider: Provider, out_trade_no: str, attempts: int, pause_s: float) -> tuple[GatewayResult, int]:
    """Reverse/cancel, calling again while the gateway asks to. Returns (last result, calls made)."""
    result = provider.reverse(out_trade_no)
    calls = 1
    while result.retry and calls < attempts:
        time.sleep(pause_s)
        result = provider.reverse(out_trade_no)
        calls += 1
    return result, calls


def run(provider: Provider, *, out_trade_no: str, amount_fen: int, auth_code: str, subject: str,
        timing: Timing, device: str = "", client_ip: str = "",
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[GatewayResult], None] | None = None) -> FlowOutcome:
    """Charge the customer's payment code; see the module docstring for the rules."""
    deadline = time.monotonic() + timing.deadline_s
    first = provider.pay(out_trade_no=out_trade_no, amount_fen=amount_fen, auth_code=auth_code, subject=subject,
                         device=device, client_ip=client_ip)
    calls = 1
    if first.outcome == SUCCESS:
        return FlowOutcome(domain.SUCCEEDED, first.trade_no, calls=calls)
    if first.outcome == FAILED:
        return FlowOutcome(domain.FAILED, code=first.code, message=first.message, calls=calls)
    last = first
    if on_wait is not None:
        on_wait(first)
    while time.monotonic() + timing.poll_interval_s < deadline:
        sleep(timing.poll_interval_s)
        last = provider.query(out_trade_no)
        calls += 1
        if last.outcome == SUCCESS:
            return FlowOutcome(domain.SUCCEEDED, last.trade_no, calls=calls)
        if last.outcome in (FAILED, CLOSED):
            break
        if on_wait is not None:
            on_wait(last)
    # A final failure, or we stop waiting: close the order at the gateway so it can never charge later.
    rev, n = reverse(provider, out_trade_no, timing.reverse_attempts, timing.poll_interval_s)
    calls += n
    if rev.outcome != SUCCESS:
        return FlowOutcome(domain.PAYING, code=rev.code or "REVERSE_PENDING", message=rev.message, calls=calls)
    if last.outcome in (FAILED, CLOSED):
        return FlowOutcome(domain.FAILED, code=last.code, message=last.message, calls=calls)
    code = "USERPAYING_TIMEOUT" if last.code in ("USERPAYING", "WAIT_BUYER_PAY") else (last.code or "TIMEOUT")
    return FlowOutcome(domain.REVERSED, code=code, message=last.message, calls=calls)
