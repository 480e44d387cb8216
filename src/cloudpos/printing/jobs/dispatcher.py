"""The print job dispatcher: sends due jobs after the transaction that queued them has committed.

`dispatch_due(db)` does one round (tests call it directly); `Dispatcher` runs rounds in a
background thread of the app process. Jobs are claimed in a short transaction — with
`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so several app processes never send the same
job; SQLite's writer lock (BEGIN IMMEDIATE) serializes the claim — then sent outside any
transaction (a slow printer holds no lock), then marked done or failed with a retry time.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from cloudpos import clock
from cloudpos.config import get_settings
from cloudpos.i18n import N_
from cloudpos.printing.models import Printer, PrintJob
from cloudpos.printing.transports import PrintError, Target, send

log = structlog.get_logger("cloudpos.printing")

STALE_SENDING = timedelta(minutes=2)  # a "sending" job this old belonged to a process that died
BACKOFF_BASE_S, BACKOFF_MAX_S = 10, 900


def backoff(attempts: int) -> timedelta:
    """10 s, 30 s, 90 s, 270 s, 810 s, then every 15 minutes."""
    return timedelta(seconds=min(BACKOFF_MAX_S, BACKOFF_BASE_S * 3 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class _Claimed:
    tenant_id: uuid.UUID
    id: uuid.UUID
    printer_id: uuid.UUID
    attempts: int
    max_attempts: int


def _claim(db: Session, now: datetime, limit: int, only: uuid.UUID | None) -> list[_Claimed]:
    due = or_(and_(PrintJob.status.in_(("queued", "failed")), PrintJob.next_attempt_at.is_not(None),
                   PrintJob.next_attempt_at <= now),
              and_(PrintJob.status == "sending", PrintJob.updated_at < now - STALE_SENDING))
    stmt = select(PrintJob).where(due)
    if only is not None:
        stmt = stmt.where(PrintJob.id == only)
    stmt = (stmt.order_by(PrintJob.next_attempt_at).limit(limit)
            .with_for_update(skip_locked=True).execution_options(all_tenants=True))
    claimed = []
    for job in db.scalars(stmt).all():
        job.status, job.attempts, job.updated_at = "sending", job.attempts + 1, now
        claimed.append(_Claimed(job.tenant_id, job.id, job.printer_id, job.attempts, job.max_attempts))
    db.commit()
    return claimed


def _target(p: Printer, var_dir: Path) -> Target:
    return Target(connection=p.connection, host=p.host, port=p.port, device_path=p.device_path,
                  usb_vendor_id=p.usb_vendor_id, usb_product_id=p.usb_product_id,
                  out_dir=var_dir / "printer-out" / str(p.tenant_id) / str(p.id))


def _send_one(db: Session, c: _Claimed, var_dir: Path) -> bool:
    job = db.get(PrintJob, (c.tenant_id, c.id))
    printer = db.get(Printer, (c.tenant_id, c.printer_id))
    payload = job.payload
    name = f"{job.created_at:%Y%m%d-%H%M%S}-{job.document_kind}-{job.id.hex[:8]}"
    target, text = None, ""
    if printer is not None and printer.active:
        target = _target(printer, var_dir)
        if printer.connection == "file":
            from cloudpos.printing.service import source_text

            text = source_text(job.source or {}, printer)
    # End the transaction before talking to the printer: a slow or dead printer holds no lock
    # (on SQLite every transaction holds the writer lock).
    db.rollback()
    error: PrintError | None = None
    note = ""
    if target is None:
        error = PrintError("printer_inactive", N_("The printer is switched off in the settings."), retry=False)
    else:
        try:
            note = send(target, payload, name, text)
        except PrintError as exc:
            error = exc
        except Exception as exc:  # noqa: BLE001 - an unexpected failure is a failed job, not a dead dispatcher
            log.exception("print job crashed", job_id=str(c.id))
            error = PrintError("internal", N_("Printing failed unexpectedly (%(reason)s)."),
                               {"reason": type(exc).__name__})
    now = clock.now()
    job = db.get(PrintJob, (c.tenant_id, c.id))
    if job is None or job.status != "sending":
        db.rollback()
        return False
    job.updated_at = now
    if error is None:
        job.status, job.sent_at, job.next_attempt_at = "done", now, None
        job.error_code, job.last_error, job.error_params = "", "", {}
        db.commit()
        log.info("print job sent", job_id=str(c.id), printer_id=str(c.printer_id), to=note, attempt=c.attempts)
        return True
    job.status = "failed"
    job.error_code, job.last_error, job.error_params = error.code, error.message, error.params
    retry = error.retry and c.attempts < c.max_attempts
    job.next_attempt_at = now + backoff(c.attempts) if retry else None
    db.commit()
    log.warning("print job failed", job_id=str(c.id), tenant_id=str(c.tenant_id), printer_id=str(c.printer_id),
                error_code=error.code, error=str(error), attempt=c.attempts, will_retry=retry)
    return False


def dispatch_due(db: Session, *, now: datetime | None = None, limit: int = 20, job_id: uuid.UUID | None = None,
                 var_dir: Path | None = None) -> int:
    """Send the jobs that are due (or just `job_id` if it is due). Returns how many were printed.
    Commits on `db` (the claim, then each result): call it outside any open unit of work."""
    var_dir = var_dir or get_settings().var_dir
    db.commit()
    claimed = _claim(db, now or clock.now(), limit, job_id)
    return sum(1 for c in claimed if _send_one(db, c, var_dir))


class Dispatcher:
    """A daemon thread that calls `dispatch_due` every `interval` seconds until stopped."""

    def __init__(self, factory: sessionmaker[Session], var_dir: Path, interval: float = 2.0) -> None:
        self.factory, self.var_dir, self.interval = factory, var_dir, interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="print-dispatcher", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """Run a round now (e.g. right after a sale queued a job)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self.factory() as db:
                    while dispatch_due(db, var_dir=self.var_dir) and not self._stop.is_set():
                        pass
            except Exception:  # noqa: BLE001 - keep polling; the next round may succeed
                log.exception("print dispatcher round failed")
            self._wake.wait(self.interval)
            self._wake.clear()


def poke(app: object) -> None:
    """Ask the app's dispatcher thread to run a round now (call after committing a queued job)."""
    d = getattr(getattr(app, "state", None), "print_dispatcher", None)
    if d is not None:
        d.poke()
