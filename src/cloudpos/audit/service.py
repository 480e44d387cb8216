"""Recording and reading audit events. `record` runs inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import chains, pending
from cloudpos.audit.domain import Break, Link, canonical_json, cut_at, iso, link_hash, normalize, verify
from cloudpos.audit.models import AuditEvent
from cloudpos.composed import Tail
from cloudpos.context import Actor
from cloudpos.ids import uuid7

CHAIN = "audit"
_EVENTS = AuditEvent.__table__


def _payload(ev: AuditEvent) -> dict[str, Any]:
    """The hashed content of an event: everything but its own hash."""
    return {
        "tenant_id": str(ev.tenant_id),
        "id": str(ev.id),
        "seq": ev.seq,
        "occurred_at": iso(ev.occurred_at),
        "actor_id": str(ev.actor_id) if ev.actor_id else None,
        "actor_name": ev.actor_name,
        "store_id": str(ev.store_id) if ev.store_id else None,
        "terminal_id": str(ev.terminal_id) if ev.terminal_id else None,
        "ip": ev.ip,
        "action": ev.action,
        "target_type": ev.target_type,
        "target_id": ev.target_id,
        "target_label": ev.target_label,
        "summary": ev.summary,
        "result": ev.result,
        "prev_hash": ev.prev_hash,
    }


def _opt(value: uuid.UUID | None) -> str:
    return f'"{value}"' if value else "null"


def _cut(row: dict[str, Any], summary_json: str) -> list[str]:
    """`cut_at(_payload(row), {"prev_hash": str, "seq": int})` — the event's canonical JSON in three pieces
    around its previous hash and its number — written out directly: on every audited write this took as
    long as the rest of recording the event. `summary_json` is canonical_json(row["summary"]). A unit test
    holds it to cut_at."""
    s = encode_basestring
    return ['{"action":' + s(row["action"]) + ',"actor_id":' + _opt(row["actor_id"]) + ',"actor_name":'
            + s(row["actor_name"]) + ',"id":"' + str(row["id"]) + '","ip":' + s(row["ip"]) + ',"occurred_at":"'
            + iso(row["occurred_at"]) + '","prev_hash":"',
            '","result":' + s(row["result"]) + ',"seq":',
            ',"store_id":' + _opt(row["store_id"]) + ',"summary":' + summary_json + ',"target_id":'
            + s(row["target_id"]) + ',"target_label":' + s(row["target_label"]) + ',"target_type":'
            + s(row["target_type"]) + ',"tenant_id":"' + str(row["tenant_id"]) + '","terminal_id":'
            + _opt(row["terminal_id"]) + "}"]


def _summary(before: dict[str, Any] | None, after: dict[str, Any] | None,
             details: dict[str, Any] | None) -> dict[str, Any]:
    """An event's before/after summary, with its details alongside."""
    summary: dict[str, Any] = {}
    if before is not None:
        summary["before"] = before
    if after is not None:
        summary["after"] = after
    if details:
        summary.update(details)
    return summary


def _row(actor: Actor, action: str, *, target_type: str, target_id: Any, target_label: str,
         summary: dict[str, Any], result: str, store_id: uuid.UUID | None) -> dict[str, Any]:
    """A new event's columns, but its number, previous hash and hash (plain values: an ORM instance
    cost as much as the rest of recording)."""
    return {"tenant_id": actor.tenant_id, "id": uuid7(), "seq": 0, "occurred_at": clock.now(),
            "actor_id": actor.employee_id, "actor_name": actor.display_name or actor.username,
            "store_id": store_id, "terminal_id": actor.terminal_id, "ip": actor.ip[:64], "action": action,
            "target_type": target_type, "target_id": str(target_id) if target_id else "",
            "target_label": target_label[:200], "summary": normalize(summary), "result": result, "prev_hash": ""}


def record(
    db: Session,
    actor: Actor,
    action: str,
    *,
    target_type: str = "",
    target_id: Any = "",
    target_label: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    result: str = "ok",
    store_id: uuid.UUID | None = None,
) -> None:
    """Append one event to the tenant's chain, in the current transaction. On PostgreSQL the database takes
    the number and hashes the link (the same hash as link_hash), and the statement goes out with the
    COMMIT (audit.pending)."""
    row = _row(actor, action, target_type=target_type, target_id=target_id, target_label=target_label,
               summary=_summary(before, after, details), result=result, store_id=store_id)
    if db.get_bind().dialect.name == "postgresql":
        summary_json = canonical_json(row["summary"])
        pieces = _cut(row, summary_json)
        row["summary"] = summary_json  # stored as this text (chains: a JSON column given as str goes as is)
        if not chains.append_hashed_at_commit(db, _EVENTS, row, actor.tenant_id, CHAIN, pieces):
            chains.append_hashed_pg(db, _EVENTS, row, actor.tenant_id, CHAIN, pieces)
        return
    # A Core INSERT on the session's connection (same transaction): the ORM unit of work would add
    # about as much again to every audited write.
    row["seq"], row["prev_hash"] = chains.advance(db, actor.tenant_id, CHAIN)
    row["hash"] = link_hash(row["prev_hash"], _payload(SimpleNamespace(**row)))  # type: ignore[arg-type]
    chains.append(db, _EVENTS, row, actor.tenant_id, CHAIN, row["seq"], row["hash"])


def record_tail(db: Session, actor: Actor, action: str, *, target_type: str, target_id: Any,
                details: dict[str, Any], store_id: uuid.UUID | None) -> Tail:
    """`record` for an event labelled with a sales document's receipt number, not taken yet: on PostgreSQL
    it rides in the numbering statement (cloudpos.composed), after the tails before it (the audit chain
    head stays the last lock the transaction takes). The caller must not lock rows after that statement."""

    def alone(receipt_no: str) -> None:
        record(db, actor, action, target_type=target_type, target_id=target_id, target_label=receipt_no,
               details=details, store_id=store_id)

    if db.get_bind().dialect.name != "postgresql":
        return Tail("audit", alone)
    row = _row(actor, action, target_type=target_type, target_id=target_id, target_label="",
               summary=_summary(None, None, details), result="ok", store_id=store_id)
    pieces = cut_at(_payload(SimpleNamespace(**row)),  # type: ignore[arg-type]
                    {"prev_hash": str, "seq": int, "target_label": str})
    sql, params = chains.hashed_tail(_EVENTS, actor.tenant_id, CHAIN, pieces,
                                     {"target_label": "left((SELECT rno FROM link), 200)"}, "audit_")

    def done(written: int, receipt_no: str) -> None:
        if not written:  # the merchant's audit chain had no head yet: append the event by itself
            alone(receipt_no)

    return Tail("audit", alone, sql, "(SELECT count(*) FROM audit_ins)", params, done)


@dataclass(frozen=True)
class Entry:
    """One event of a `record_many` batch."""

    target_type: str = ""
    target_id: Any = ""
    target_label: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    details: dict[str, Any] | None = None


def record_many(db: Session, actor: Actor, action: str, entries: list[Entry], *, result: str = "ok",
                store_id: uuid.UUID | None = None) -> int:
    """Append one event per entry (same action) in three round trips whatever their number — for
    bulk writes such as an Excel import changing thousands of prices, where `record` per event
    would cost two round trips each. The events are exactly what `record` would have written."""
    if not entries:
        return 0
    pending.flush(db)  # events recorded before these come before them
    seq, prev = chains.advance_many(db, actor.tenant_id, CHAIN, len(entries))
    rows: list[dict[str, Any]] = []
    for e in entries:
        row = _row(actor, action, target_type=e.target_type, target_id=e.target_id, target_label=e.target_label,
                   summary=_summary(e.before, e.after, e.details), result=result, store_id=store_id)
        row["seq"], row["prev_hash"] = seq, prev
        row["hash"] = prev = link_hash(prev, _payload(SimpleNamespace(**row)))  # type: ignore[arg-type]
        rows.append(row)
        seq += 1
    db.connection().execute(insert(_EVENTS), rows)
    chains.commit_link(db, actor.tenant_id, CHAIN, seq - 1, prev)
    return len(rows)


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that changed, for a compact before/after summary."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


@dataclass(frozen=True)
class EventFilter:
    actor: str | None = None
    action: str | None = None
    result: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def query(db: Session, actor: Actor, f: EventFilter, page: int, page_size: int) -> tuple[list[AuditEvent], int]:
    actor.require("audit.view")
    pending.flush(db)
    stmt = select(AuditEvent).where(AuditEvent.tenant_id == actor.tenant_id)
    if f.actor:
        try:
            stmt = stmt.where(AuditEvent.actor_id == uuid.UUID(f.actor))
        except ValueError:
            stmt = stmt.where(AuditEvent.actor_name == f.actor)
    if f.action:
        stmt = stmt.where(AuditEvent.action.startswith(f.action) if f.action.endswith(".")
                          else AuditEvent.action == f.action)
    if f.result:
        stmt = stmt.where(AuditEvent.result == f.result)
    if f.target_id:
        stmt = stmt.where(AuditEvent.target_id == f.target_id)
    if f.since:
        stmt = stmt.where(AuditEvent.occurred_at >= f.since)
    if f.until:
        stmt = stmt.where(AuditEvent.occurred_at < f.until)
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = db.scalars(stmt.order_by(AuditEvent.seq.desc()).offset((page - 1) * page_size).limit(page_size)).all()
    return list(rows), total


def _links(db: Session, tenant_id: uuid.UUID, batch: int = 2000) -> Iterator[Link]:
    last = 0
    while True:
        rows = db.scalars(
            select(AuditEvent)
            .where(AuditEvent.tenant_id == tenant_id, AuditEvent.seq > last)
            .order_by(AuditEvent.seq)
            .limit(batch)
            .execution_options(all_tenants=True)
        ).all()
        if not rows:
            return
        for ev in rows:
            yield Link(ev.seq, ev.prev_hash, ev.hash, _payload(ev))
        last = rows[-1].seq
        db.expunge_all()


def verify_chain(db: Session, tenant_id: uuid.UUID) -> tuple[int, Break | None]:
    """(number of events checked, first break or None)."""
    pending.flush(db)  # events this transaction recorded are part of the chain
    head_seq, head_hash = chains.head(db, tenant_id, CHAIN)
    return head_seq, verify(_links(db, tenant_id), head_seq, head_hash)
