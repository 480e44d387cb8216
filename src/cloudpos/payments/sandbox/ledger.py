"""The sandbox gateway's in-memory books: every trade it saw, what was charged, reversed and refunded.

Outcomes are chosen by the payment code (付款码) the cashier scans — its first four digits — or
scripted per out_trade_no through the admin endpoint:

    1300…  success
    1301…  USERPAYING (the customer types a password), then success after 2 queries
    1302…  insufficient funds (WeChat NOTENOUGH / Alipay ACQ.BUYER_BALANCE_NOT_ENOUGH)
    1303…  timeout: the pay call sleeps past the client's timeout; the customer never confirms
    1304…  response lost: the charge goes through, then the answer is a 502
    1305…  SYSTEMERROR on pay (unknown), the charge went through: the query says success
    1306…  USERPAYING forever (the customer walks away): the client must reverse at its deadline
    1307…  success, but the answer is tampered with after signing: the client must not believe it
    other  success

A payment code can be used once (as real codes). Tests assert on the books: charged exactly once,
or reversed. With a `path` (the demo's sandbox: var/payments-sandbox/ledger.json) the books are kept
on disk, so a refund after a restart still finds the trade it refunds.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

SCENARIOS = {
    "1300": "success",
    "1301": "userpaying",
    "1302": "notenough",
    "1303": "timeout",
    "1304": "lost",
    "1305": "systemerror",
    "1306": "pending_forever",
    "1307": "tamper",
}
OUTCOMES = frozenset(SCENARIOS.values())

# Trade states (WeChat's names; Alipay's are mapped when answering).
USERPAYING, SUCCESS, PAYERROR, REVOKED, CLOSED = "USERPAYING", "SUCCESS", "PAYERROR", "REVOKED", "CLOSED"


@dataclass
class Script:
    outcome: str
    queries: int = 2  # userpaying: queries answered USERPAYING before success


@dataclass
class Trade:
    protocol: str
    out_trade_no: str
    amount_fen: int
    outcome: str
    state: str
    trade_no: str
    queries_left: int = 0
    charges: int = 0
    reversed: bool = False
    refunded_fen: int = 0
    refunds: dict[str, int] = field(default_factory=dict)
    queries: int = 0
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    paid_at: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


class Ledger:
    def __init__(self, slow_seconds: float = 15.0, path: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.trades: dict[tuple[str, str], Trade] = {}
        self.scripts: dict[str, Script] = {}
        self.used_codes: dict[str, str] = {}  # payment code → out_trade_no
        self.slow_seconds = slow_seconds
        self.requests = 0
        self.rejected_signatures = 0
        self.path = path
        self._load()

    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            trades = [Trade(**t) for t in data.get("trades", [])]
        except (OSError, ValueError, TypeError):
            return  # unreadable books: start empty rather than not at all
        self.trades = {(t.protocol, t.out_trade_no): t for t in trades}
        self.used_codes = {str(k): str(v) for k, v in data.get("used_codes", {}).items()}

    def _save(self) -> None:
        """Write the books (called with the lock held, after every change)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"trades": [t.as_dict() for t in self.trades.values()],
                                   "used_codes": self.used_codes}, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)

    def reset(self) -> None:
        with self.lock:
            self.trades.clear()
            self.scripts.clear()
            self.used_codes.clear()
            self.requests = self.rejected_signatures = 0
            self._save()

    def script(self, out_trade_no: str, outcome: str, queries: int = 2) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        with self.lock:
            self.scripts[out_trade_no] = Script(outcome, queries)

    def outcome_for(self, out_trade_no: str, auth_code: str) -> Script:
        with self.lock:
            return self.scripts.get(out_trade_no) or Script(SCENARIOS.get(auth_code[:4], "success"))

    def get(self, protocol: str, out_trade_no: str) -> Trade | None:
        with self.lock:
            return self.trades.get((protocol, out_trade_no))

    def code_used_elsewhere(self, auth_code: str, out_trade_no: str) -> bool:
        with self.lock:
            other = self.used_codes.get(auth_code)
            return other is not None and other != out_trade_no

    def open_trade(self, protocol: str, out_trade_no: str, amount_fen: int, auth_code: str) -> Trade:
        """A new trade in its scripted first state (charging it at once for the 'success' family)."""
        script = self.outcome_for(out_trade_no, auth_code)
        prefix = "4200" if protocol == "wechat" else "2026"
        trade = Trade(protocol=protocol, out_trade_no=out_trade_no, amount_fen=amount_fen, outcome=script.outcome,
                      state=USERPAYING, trade_no=prefix + secrets.token_hex(12), queries_left=script.queries)
        with self.lock:
            self.used_codes[auth_code] = out_trade_no
            self.trades[(protocol, out_trade_no)] = trade
            if script.outcome in ("success", "lost", "systemerror", "tamper"):
                self._charge(trade)
            elif script.outcome == "notenough":
                trade.state = PAYERROR
            self._save()
        return trade

    def tombstone(self, protocol: str, out_trade_no: str) -> Trade:
        """A reversal of a trade the gateway never saw: later pays for this number are refused."""
        trade = Trade(protocol=protocol, out_trade_no=out_trade_no, amount_fen=0, outcome="reversed_unknown",
                      state=REVOKED, trade_no="", reversed=True)
        with self.lock:
            self.trades[(protocol, out_trade_no)] = trade
            self._save()
        return trade

    def on_query(self, trade: Trade) -> None:
        with self.lock:
            trade.queries += 1
            if trade.state == USERPAYING and trade.outcome == "userpaying":
                trade.queries_left -= 1
                if trade.queries_left < 0:
                    self._charge(trade)
            self._save()

    def reverse(self, trade: Trade) -> None:
        with self.lock:
            if trade.state in (SUCCESS, USERPAYING):
                trade.state = REVOKED
                trade.reversed = True
            elif trade.state == PAYERROR:
                trade.state = CLOSED
            self._save()

    def refund(self, trade: Trade, out_refund_no: str, amount_fen: int) -> str | None:
        """None when done (or already done with this number); else an error code."""
        with self.lock:
            if out_refund_no in trade.refunds:
                return None if trade.refunds[out_refund_no] == amount_fen else "INVALID_REQUEST"
            if trade.state != SUCCESS:
                return "TRADE_STATE_ERROR"
            if amount_fen <= 0 or trade.refunded_fen + amount_fen > trade.amount_fen:
                return "REFUND_FEE_INVALID"
            trade.refunds[out_refund_no] = amount_fen
            trade.refunded_fen += amount_fen
            self._save()
            return None

    def _charge(self, trade: Trade) -> None:
        trade.state = SUCCESS
        trade.charges += 1
        trade.paid_at = datetime.now(UTC).isoformat()

    def snapshot(self) -> list[dict]:
        with self.lock:
            return [t.as_dict() for t in self.trades.values()]
