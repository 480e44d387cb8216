"""Side effects of a sales document, registered by other modules (printing, customer display).

`before_number` hooks run inside the sale's transaction before its receipt number is taken, for the reads
a side effect needs (e.g. which printer prints it): from the number to COMMIT the store's receipt chain
is locked, and every round trip in that stretch holds up the store's other tills. `in_transaction` hooks
run inside the sale's transaction after it is written (e.g. enqueue a print job row, so the job exists
exactly when the sale does); `after_commit` hooks run after it committed (e.g. notify the customer
display). A failing after-commit hook is logged and never breaks the sale.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy.orm import Session

from cloudpos.context import Actor

log = structlog.get_logger("cloudpos.sales")

Before = Callable[[str, Session, Actor, uuid.UUID, uuid.UUID | None], None]
InTx = Callable[[str, Session, Actor, Any], None]
AfterCommit = Callable[[str, Actor, uuid.UUID], None]

_before: list[Before] = []
_in_tx: list[InTx] = []
_after: list[AfterCommit] = []


def before_numbering(fn: Before) -> Before:
    if fn not in _before:
        _before.append(fn)
    return fn


def on_document(fn: InTx) -> InTx:
    if fn not in _in_tx:
        _in_tx.append(fn)
    return fn


def on_committed(fn: AfterCommit) -> AfterCommit:
    if fn not in _after:
        _after.append(fn)
    return fn


def before_number(kind: str, db: Session, actor: Actor, store_id: uuid.UUID, terminal_id: uuid.UUID | None) -> None:
    for fn in _before:
        fn(kind, db, actor, store_id, terminal_id)


def in_transaction(kind: str, db: Session, actor: Actor, sale: Any) -> None:
    for fn in _in_tx:
        fn(kind, db, actor, sale)


def after_commit(kind: str, actor: Actor, sale_id: uuid.UUID) -> None:
    for fn in _after:
        try:
            fn(kind, actor, sale_id)
        except Exception:  # noqa: BLE001 - side effects never break a completed sale
            log.exception("after-commit hook failed", kind=kind, sale_id=str(sale_id))
