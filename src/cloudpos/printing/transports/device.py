"""Printing to a character device (/dev/usb/lp0, /dev/ttyUSB0…) without blocking forever."""

from __future__ import annotations

import errno
import os
import re
import select
import time

from cloudpos.i18n import N_
from cloudpos.printing.transports import PrintError, Target

# Only printer-like device files may be written to: never an arbitrary path on the server.
DEVICE_PATH = re.compile(r"^/dev/(usb/lp\d{1,2}|lp\d{1,2}|ttyUSB\d{1,2}|ttyACM\d{1,2}|ttyS\d{1,2})$")


def send_device(target: Target, payload: bytes) -> str:
    path = target.device_path
    if not DEVICE_PATH.match(path):
        raise PrintError("bad_device", N_("%(path)s is not a printer device path."), {"path": path}, retry=False)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise PrintError("device_missing", N_("The printer device %(path)s does not exist. Is the printer plugged "
                                              "in and switched on?"), {"path": path})
    except PermissionError:
        raise PrintError("device_permission", N_("The server may not write to %(path)s (permission denied)."),
                         {"path": path}, retry=False)
    except OSError as exc:
        raise PrintError("io_error", N_("Opening %(path)s failed (%(reason)s)."),
                         {"path": path, "reason": exc.strerror or str(exc)})
    try:
        view = memoryview(payload)
        deadline = time.monotonic() + target.write_timeout
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PrintError("timeout", N_("The printer on %(path)s stopped taking data (timeout). It may be out "
                                               "of paper or offline."), {"path": path})
            _, ready, _ = select.select([], [fd], [], left)
            if not ready:
                continue
            try:
                n = os.write(fd, view)
            except BlockingIOError:
                continue
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    continue
                raise PrintError("io_error", N_("Writing to %(path)s failed (%(reason)s)."),
                                 {"path": path, "reason": exc.strerror or str(exc)})
            view = view[n:]
    finally:
        os.close(fd)
    return path
