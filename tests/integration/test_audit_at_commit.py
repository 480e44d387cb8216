"""An audit event belongs to the transaction that records it: on PostgreSQL it is sent with the COMMIT
(audit.pending), so what a rollback or a rolled-back savepoint takes back must not reach the log, and a
read of the log inside the writing transaction must see it. Both backends."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from cloudpos.audit import service as audit
from cloudpos.audit.models import AuditEvent
from cloudpos.audit.service import EventFilter
from cloudpos.context import system_actor


def _actions(db, tenant_id: uuid.UUID) -> list[str]:
    rows = db.execute(select(AuditEvent.seq, AuditEvent.action).where(AuditEvent.tenant_id == tenant_id)
                      .order_by(AuditEvent.seq)).all()
    db.rollback()
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    return [r.action for r in rows]


def test_rolled_back_events_never_reach_the_log_and_kept_ones_chain(app, db):
    tenant = uuid.uuid4()
    actor = system_actor(tenant, "test")
    make = app.state.sessionmaker

    with make() as s:
        audit.record(s, actor, "t.kept.1", target_label="one", after={"n": 1})
        s.commit()
    with make() as s:
        audit.record(s, actor, "t.rolled.back", target_label="gone")
        s.rollback()
    with make() as s:  # a savepoint rolled back takes its event with it; the events around it stay
        audit.record(s, actor, "t.kept.2")
        try:
            with s.begin_nested():
                audit.record(s, actor, "t.in.savepoint.undone")
                raise RuntimeError("undo the savepoint")
        except RuntimeError:
            pass
        with s.begin_nested():
            audit.record(s, actor, "t.in.savepoint.kept")
        audit.record(s, actor, "t.kept.3", details={"名称": "可口可乐 \"330ml\""})
        s.commit()
    with make() as s:  # closed without commit: nothing
        audit.record(s, actor, "t.never.committed")

    assert _actions(db, tenant) == ["t.kept.1", "t.kept.2", "t.in.savepoint.kept", "t.kept.3"]
    count, broken = audit.verify_chain(db, tenant)
    db.rollback()
    assert (count, broken) == (4, None)
    # the stored row is what was hashed: details with quotes and Chinese come back as written
    last = db.scalars(select(AuditEvent).where(AuditEvent.tenant_id == tenant, AuditEvent.seq == 4)).one()
    db.rollback()
    assert last.summary == {"名称": "可口可乐 \"330ml\""} and last.actor_name == "test"


def test_the_writing_transaction_reads_its_own_events(app):
    tenant = uuid.uuid4()
    actor = system_actor(tenant, "test")
    with app.state.sessionmaker() as s:
        audit.record(s, actor, "t.first")
        audit.record(s, actor, "t.second")
        events, total = audit.query(s, actor, EventFilter(), page=1, page_size=10)
        assert total == 2 and [e.action for e in events] == ["t.second", "t.first"]
        audit.record(s, actor, "t.third")  # after the read: still one chain, in order
        s.commit()
        assert audit.verify_chain(s, tenant) == (3, None)
        s.rollback()
