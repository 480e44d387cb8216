"""Shared HTTP clients for the gateways (building one per call would build a TLS context each time).
httpx.Client is safe to share between threads; timeouts are given per request."""

from __future__ import annotations

import threading

import httpx

_lock = threading.Lock()
_clients: dict[tuple[str, str], httpx.Client] = {}


def client(cert_path: str = "", key_path: str = "") -> httpx.Client:
    key = (cert_path, key_path)
    with _lock:
        found = _clients.get(key)
        if found is None:
            cert = (cert_path, key_path or None) if cert_path else None
            found = _clients[key] = httpx.Client(cert=cert, trust_env=False,  # type: ignore[arg-type]
                                                 limits=httpx.Limits(max_keepalive_connections=20))
        return found
