"""The demo needs no second command: when a payment goes to the sandbox at its default local address and
nothing listens there, this process starts the sandbox in a background thread (same keys, from
var/payments-sandbox/). Off with CLOUDPOS_PAYMENTS_SANDBOX_AUTOSTART=false; never for other addresses."""

from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlsplit

import structlog

log = structlog.get_logger("cloudpos.payments")
_lock = threading.Lock()
_started: set[str] = set()


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def ensure_local_sandbox(url: str) -> None:
    if os.environ.get("CLOUDPOS_PAYMENTS_SANDBOX_AUTOSTART", "true").lower() in ("0", "false", "no"):
        return
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost") or not parts.port:
        return
    with _lock:
        if url in _started or _listening("127.0.0.1", parts.port):
            return
        from cloudpos.payments.config import sandbox_dir
        from cloudpos.payments.providers.sandbox import credentials
        from cloudpos.payments.sandbox.app import serve_in_thread

        try:  # the books on disk: the demo's wallet sales stay refundable after a restart
            serve_in_thread(credentials(), port=parts.port, books=sandbox_dir() / "ledger.json")
        except (OSError, RuntimeError, SystemExit):  # another process won the port: it serves the same keys
            log.warning("payments sandbox not started here", url=url)
            return
        _started.add(url)
        log.info("payments sandbox started", url=url)
