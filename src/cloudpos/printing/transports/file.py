"""A file-backed printer (the demo and tests): each job becomes a file under var/printer-out/."""

from __future__ import annotations

import re

from cloudpos.i18n import N_
from cloudpos.printing.transports import PrintError, Target

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def send_file(target: Target, payload: bytes, name: str, text: str = "") -> str:
    if target.out_dir is None:
        raise PrintError("bad_connection", N_("The file printer has no output folder."), retry=False)
    stem = _SAFE.sub("_", name)[:120] or "job"
    try:
        target.out_dir.mkdir(parents=True, exist_ok=True)
        path = target.out_dir / f"{stem}.escpos"
        path.write_bytes(payload)
        if text:
            (target.out_dir / f"{stem}.txt").write_text(text, encoding="utf-8")
    except OSError as exc:
        raise PrintError("io_error", N_("Writing the print file failed (%(reason)s)."),
                         {"reason": exc.strerror or str(exc)})
    return str(path)
