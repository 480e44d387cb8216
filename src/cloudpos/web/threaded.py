"""An ASGI app served by uvicorn in a daemon thread of this process, on 127.0.0.1: the payments sandbox
(demo, tests), the test suite's live server for browser tests and the benchmarks' server."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ThreadedServer:
    url: str
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_in_thread(app: Any, port: int = 0, name: str = "asgi-server") -> ThreadedServer:
    """Start `app` and return once it accepts connections; RuntimeError if it did not start in 15 s (a
    port already taken ends the thread at once)."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True, name=name)
    thread.start()
    deadline = time.time() + 15
    while not server.started and thread.is_alive() and time.time() < deadline:
        time.sleep(0.02)
    if not server.started:
        raise RuntimeError(f"{name} did not start on port {port}")
    return ThreadedServer(f"http://127.0.0.1:{port}", server, thread)
