"""The statement that numbers a sale carries the writes that need its number (cloudpos.composed): the tails keep
their order, which is their lock order, and one that cannot ride sends itself and every later one after it."""

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

from cloudpos.composed import Tail, compact
from cloudpos.sales import chain
from cloudpos.sales.models import Sale


def _tail(key: str, log: list, ctes: str | None, barrier: str | None = None) -> Tail:
    return Tail(key, lambda rno: log.append((key, rno)), ctes, None, {}, None, barrier)


def test_a_later_tail_locks_after_the_earlier_tails_barriers() -> None:
    log: list = []
    stock = _tail("stock", log, ", s AS (SELECT 1 WHERE EXISTS (SELECT 1 FROM link))", "(SELECT count(*) FROM s) >= 0")
    idem = _tail("idem", log, ", i AS (SELECT 1 WHERE EXISTS (SELECT 1 FROM link))")
    audit = _tail("audit", log, ", a AS (SELECT 1 FROM chain_heads WHERE {earlier} FOR UPDATE)")
    sql = chain._append_pg_statement([stock, idem, audit]).stmt.text
    assert compact("a AS (SELECT 1 FROM chain_heads WHERE (SELECT count(*) FROM s) >= 0 FOR UPDATE)") in sql
    assert sql.index(",s AS(") < sql.index(",i AS(") < sql.index(",a AS(")
    first = chain._append_pg_statement([audit]).stmt.text
    assert "WHERE true FOR UPDATE" in first and "{earlier}" not in first


class _Db:
    """Just enough of a session for `append_pg`: the statement's row comes back as the database would."""

    def __init__(self, seen: list) -> None:
        self.seen = seen

    def flush(self) -> None:
        pass

    def connection(self):
        return SimpleNamespace(execute=lambda stmt, params: self._run(stmt, params),
                               dialect=SimpleNamespace(name="any"))

    def _run(self, stmt, params):
        self.seen.append(stmt.text)
        return _Rows([(7, "prev", "S01-20261127-000007", "hash")])


class _Rows(list):
    returns_rows = True


def test_from_the_first_tail_that_cannot_ride_every_later_tail_runs_after_in_order() -> None:
    log: list = []
    riding = _tail("first", log, ", f AS (SELECT 1 WHERE EXISTS (SELECT 1 FROM link))")
    stuck = _tail("stuck", log, None)
    later = _tail("later", log, ", l AS (SELECT 1 WHERE EXISTS (SELECT 1 FROM link))")
    sale = Sale(tenant_id=uuid.uuid4(), id=uuid.uuid4(), kind="sale", store_id=uuid.uuid4(), receipt_seq=0,
                receipt_no="", prev_hash="", hash="", subtotal=0, discount_total=0, total=0, cash_rounding=0, paid=0,
                change=0, created_at=datetime.now(UTC))
    seen: list = []
    chain.append_pg(_Db(seen), sale, [], [], "S01-20261127-", [riding, stuck, later])
    assert ",f AS(" in seen[0] and ",l AS(" not in seen[0]
    assert log == [("stuck", "S01-20261127-000007"), ("later", "S01-20261127-000007")]
    assert sale.receipt_no == "S01-20261127-000007" and sale.receipt_seq == 7


def test_a_cash_sales_statement_stays_within_what_psycopg_caches_its_parsing_of() -> None:
    """Above 4096 characters or 50 parameters psycopg parses the statement again on every sale."""
    from psycopg import _queries
    from sqlalchemy.dialects import postgresql

    from cloudpos.audit import chains
    from cloudpos.audit.models import AuditEvent
    from cloudpos.idempotency import service as idempotency
    from cloudpos.inventory import ledger

    audit, _ = chains.hashed_tail(AuditEvent.__table__, uuid.uuid4(), "audit", ["", "", "", ""],
                                  {"target_label": "left((SELECT rno FROM link), 200)"}, "audit_")
    tails = [Tail("stock", print, ledger._MOVE_ALL_TAIL, ledger._MOVED_JSON, barrier="true"),
             Tail("idempotency", print, idempotency._REMEMBER_TAIL),
             Tail("audit", print, audit, "(SELECT count(*) FROM audit_ins)")]
    compiled = chain._append_pg_statement(tails).stmt.compile(dialect=postgresql.psycopg.dialect())
    assert len(str(compiled)) <= _queries.MAX_CACHED_STATEMENT_LENGTH
    assert len(compiled.params) <= _queries.MAX_CACHED_STATEMENT_PARAMS
