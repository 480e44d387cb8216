"""Sending a rendered job to a printer. Each transport raises `PrintError` with a stable code and a
translatable message; `retry` says whether trying again later can help."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudpos.i18n import N_


class PrintError(Exception):
    def __init__(self, code: str, message: str, params: dict[str, Any] | None = None, retry: bool = True) -> None:
        self.code, self.message, self.params, self.retry = code, message, params or {}, retry
        super().__init__(message % self.params if self.params else message)


@dataclass(frozen=True)
class Target:
    """Where a job goes: a snapshot of the printer's connection settings."""

    connection: str
    host: str = ""
    port: int = 9100
    device_path: str = ""
    usb_vendor_id: int | None = None
    usb_product_id: int | None = None
    out_dir: Path | None = None  # file printers: the folder their output goes to
    connect_timeout: float = 3.0
    write_timeout: float = 10.0
    status_timeout: float = 0.3
    extra: dict[str, Any] = field(default_factory=dict)


def send(target: Target, payload: bytes, name: str, text: str = "") -> str:
    """Deliver `payload`; returns a short note (e.g. the file written). Raises PrintError."""
    if target.connection == "network":
        from cloudpos.printing.transports.network import send_tcp

        return send_tcp(target, payload)
    if target.connection == "device":
        from cloudpos.printing.transports.device import send_device

        return send_device(target, payload)
    if target.connection == "file":
        from cloudpos.printing.transports.file import send_file

        return send_file(target, payload, name, text)
    if target.connection == "browser":
        return "browser"  # the page that asked for the job prints it with the browser's print dialog
    if target.connection == "usb":
        raise PrintError("usb_unsupported",
                         N_("Direct USB printing is not supported by the server. Connect the printer as a "
                            "device file (/dev/usb/lp0), over the network, or print from the browser."),
                         retry=False)
    raise PrintError("bad_connection", N_("Unknown printer connection %(connection)s."),
                     {"connection": target.connection}, retry=False)
