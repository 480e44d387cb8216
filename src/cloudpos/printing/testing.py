"""A fake network printer: a real TCP server on 127.0.0.1 that records what it is sent.

For tests and for trying printing without hardware (`python -m cloudpos.printing.testing`,
then add a network printer at 127.0.0.1 and the port it prints). It can pretend to be out of
paper (answers DLE EOT 4 with the paper-end bits) and can be closed to act as a dead printer.
"""

from __future__ import annotations

import socket
import threading
import time


class FakePrinter:
    def __init__(self, port: int = 0, paper_out: bool = False, answer_status: bool = True) -> None:
        self.paper_out, self.answer_status = paper_out, answer_status
        self.jobs: list[bytes] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self._sock.listen(8)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="fake-printer", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        data = bytearray()
        conn.settimeout(5)
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                if self.answer_status and b"\x10\x04\x04" in chunk and len(data) == 0:
                    conn.sendall(b"\x72" if self.paper_out else b"\x12")
                    chunk = chunk.replace(b"\x10\x04\x04", b"", 1)
                data += chunk
        except OSError:
            pass
        finally:
            conn.close()
        if data:
            with self._lock:
                self.jobs.append(bytes(data))

    @property
    def received(self) -> bytes:
        with self._lock:
            return b"".join(self.jobs)

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.jobs) >= count:
                    return list(self.jobs)
            time.sleep(0.02)
        with self._lock:
            return list(self.jobs)

    def __enter__(self) -> FakePrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(timeout=2)


def closed_port() -> int:
    """A local port with nothing listening (connecting to it is refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


if __name__ == "__main__":  # pragma: no cover - a manual tool
    import sys

    fp = FakePrinter(port=int(sys.argv[1]) if len(sys.argv) > 1 else 9100)
    print(f"fake printer listening on 127.0.0.1:{fp.port}; Ctrl-C to stop")  # noqa: T201
    try:
        seen = 0
        while True:
            time.sleep(0.5)
            if len(fp.jobs) > seen:
                for job in fp.jobs[seen:]:
                    print(f"job: {len(job)} bytes")  # noqa: T201
                seen = len(fp.jobs)
    except KeyboardInterrupt:
        fp.close()
