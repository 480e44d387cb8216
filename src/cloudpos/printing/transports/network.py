"""Raw TCP printing (port 9100, "JetDirect"), with connect and write timeouts.

Before sending, the printer is asked for its paper sensor status (DLE EOT 4). Printers that
answer let us refuse to print into an empty paper roll; printers that don't answer within a
moment are printed to anyway (many cheap printers ignore real-time status requests).
"""

from __future__ import annotations

import socket

from cloudpos.i18n import N_
from cloudpos.printing.transports import PrintError, Target

DLE_EOT_PAPER = b"\x10\x04\x04"
PAPER_END = 0x60  # bits 5 and 6: roll paper end sensor
COVER_OPEN = 0x04  # DLE EOT 2 would be needed for the cover; kept for documentation


def send_tcp(target: Target, payload: bytes) -> str:
    where = {"host": target.host, "port": target.port}
    try:
        sock = socket.create_connection((target.host, target.port), timeout=target.connect_timeout)
    except ConnectionRefusedError:
        raise PrintError("refused", N_("The printer at %(host)s:%(port)s refused the connection. Is it switched on "
                                       "and is the address right?"), where)
    except TimeoutError:
        raise PrintError("timeout", N_("The printer at %(host)s:%(port)s did not answer in time. Check that it is "
                                       "switched on and on the network."), where)
    except socket.gaierror:
        raise PrintError("unknown_host", N_("The printer address %(host)s could not be found."), where)
    except OSError as exc:
        raise PrintError("unreachable", N_("The printer at %(host)s:%(port)s cannot be reached (%(reason)s)."),
                         {**where, "reason": exc.strerror or exc.__class__.__name__})
    try:
        _check_paper(sock, target)
        sock.settimeout(target.write_timeout)
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except TimeoutError:
            raise PrintError("timeout", N_("The printer at %(host)s:%(port)s stopped taking data (timeout). "
                                           "It may be out of paper or jammed."), where)
        except OSError as exc:
            raise PrintError("io_error", N_("Sending to the printer at %(host)s:%(port)s failed (%(reason)s)."),
                             {**where, "reason": exc.strerror or exc.__class__.__name__})
    finally:
        sock.close()
    return f"{target.host}:{target.port}"


def _check_paper(sock: socket.socket, target: Target) -> None:
    if target.status_timeout <= 0:
        return
    try:
        sock.sendall(DLE_EOT_PAPER)
        sock.settimeout(target.status_timeout)
        reply = sock.recv(1)
    except (TimeoutError, OSError):
        return  # no answer: the printer does not support status requests
    if reply and reply[0] & PAPER_END == PAPER_END:
        raise PrintError("paper_out", N_("The printer at %(host)s:%(port)s is out of paper."),
                         {"host": target.host, "port": target.port})
