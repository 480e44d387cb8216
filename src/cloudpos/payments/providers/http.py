"""Shared HTTP clients for the gateways (building one per call would build a TLS context each time).
httpx.Client is safe to share between threads; timeouts are given per request."""

from __future__ import annotations

import ssl
import threading

import certifi
import httpx

_lock = threading.Lock()
_clients: dict[tuple[str, str], httpx.Client] = {}


def client(cert_path: str = "", key_path: str = "") -> httpx.Client:
    key = (cert_path, key_path)
    with _lock:
        found = _clients.get(key)
        if found is None:
            verify: ssl.SSLContext | bool = True
            if cert_path:  # WeChat Pay's /secapi calls: the merchant's client certificate
                verify = ssl.create_default_context(cafile=certifi.where())
                verify.load_cert_chain(cert_path, key_path or None)
            found = _clients[key] = httpx.Client(verify=verify, trust_env=False,
                                                 limits=httpx.Limits(max_keepalive_connections=20))
        return found
