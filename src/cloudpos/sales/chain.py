"""Receipt numbers and the store's hash chain (DESIGN §5 tamper evidence).

Each store has a gap-free chain `receipts:<store id>` in chain_heads: a sale takes the next
number inside its transaction (rolled back → number given back) and links
`hash = sha256(prev_hash + canonical JSON of the sale)`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from itertools import takewhile
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cloudpos.audit import chains
from cloudpos.audit.domain import Break, Link, cut_at, iso, verify
from cloudpos.composed import Tail, compact
from cloudpos.fastread import Statement
from cloudpos.sales.models import Sale, SaleLine, SalePayment


def chain_name(store_id: uuid.UUID) -> str:
    return f"receipts:{store_id}"


def payload(sale: Sale, lines: list[SaleLine], payments: list[SalePayment]) -> dict[str, Any]:
    return {
        "id": str(sale.id), "tenant_id": str(sale.tenant_id), "store_id": str(sale.store_id), "kind": sale.kind,
        "receipt_seq": sale.receipt_seq, "receipt_no": sale.receipt_no, "created_at": iso(sale.created_at),
        "original_id": str(sale.original_id) if sale.original_id else None,
        "member_id": str(sale.member_id) if sale.member_id else None,
        "subtotal": sale.subtotal, "discount_total": sale.discount_total, "total": sale.total,
        "cash_rounding": sale.cash_rounding, "paid": sale.paid, "change": sale.change,
        "lines": [[ln.line_no, str(ln.product_id), ln.qty, ln.unit_price, ln.amount] for ln in lines],
        "payments": [[p.seq, p.method, p.amount] for p in payments],
        "prev_hash": sale.prev_hash,
    }


# Filled in by PostgreSQL in `append_pg`: the number, the receipt number made from it, and the hashes.
_NUMBERED = ("receipt_seq", "receipt_no", "prev_hash", "hash")
_APPEND_PG: dict[tuple[str, ...], Any] = {}


def _append_pg_statement(tails: Sequence[Tail]) -> Any:
    """One statement: lock the store's chain head, take the next number, make the receipt number
    (`<prefix><number, at least 6 digits>`), hash the link in SQL (the previous hash, then the sale's
    canonical JSON with those three values put in), move the head, insert the sale, its lines and its
    payments (the rows as JSON, read by json_populate_record(set): a parameter per table, not per
    column), and run the tails' CTEs
    (cloudpos.composed), which read the number from `link`. The lines' foreign key to the sale is
    checked at the end of the statement, when the sale is there."""
    cache_key = tuple(t.key for t in tails)
    if cache_key in _APPEND_PG:
        return _APPEND_PG[cache_key]
    results = "".join(f", {t.result} AS tail_{i}" for i, t in enumerate(tails) if t.result)
    ctes = ""
    for i, t in enumerate(tails):
        earlier = " AND ".join(e.barrier for e in tails[:i] if e.barrier) or "true"
        ctes += (t.ctes or "").replace("{earlier}", earlier)
    sql = f"""
        WITH old AS (SELECT last_seq, last_hash FROM chain_heads
                     WHERE tenant_id = :h_tenant AND chain = :h_chain FOR UPDATE),
        num AS (SELECT old.last_seq + 1 AS seq, old.last_hash AS prev FROM old),
        named AS (SELECT seq, prev, :prefix || lpad(seq::text, greatest(6, length(seq::text)), '0') AS rno FROM num),
        link AS (SELECT seq, prev, rno,
                        encode(sha256(convert_to(prev || :j0 || prev || :j1 || rno || :j2 || seq::text || :j3,
                                                 'UTF8')), 'hex') AS hash FROM named),
        head AS (UPDATE chain_heads AS h SET last_seq = link.seq, last_hash = link.hash FROM link
                 WHERE h.tenant_id = :h_tenant AND h.chain = :h_chain),
        new_sale AS (INSERT INTO sales SELECT x.* FROM link, json_populate_record(NULL::sales, CAST(:sale AS json)) r,
                     json_populate_record(r, json_build_object('receipt_seq', link.seq, 'receipt_no', link.rno,
                                                               'prev_hash', link.prev, 'hash', link.hash)) x),
        new_lines AS (INSERT INTO sale_lines
                      SELECT * FROM json_populate_recordset(NULL::sale_lines, CAST(:lines AS json))
                      WHERE EXISTS (SELECT 1 FROM link)),
        new_payments AS (INSERT INTO sale_payments
                         SELECT * FROM json_populate_recordset(NULL::sale_payments, CAST(:payments AS json))
                         WHERE EXISTS (SELECT 1 FROM link)){ctes}
        SELECT seq, prev, rno, hash{results} FROM link"""  # noqa: S608 - our own table and column names
    stmt = _APPEND_PG[cache_key] = Statement(text(compact(sql)))  # run on psycopg's cursor (cloudpos.fastread)
    return stmt


def _by_name(obj: Any) -> dict[str, Any]:
    """A row's every column by name, as json_populate_record(set) reads it. `documents.write` gives plain
    records whose attributes are exactly the columns (the tables' column names are their keys)."""
    table = getattr(type(obj), "__table__", None)
    return dict(vars(obj)) if table is None else {c.name: getattr(obj, c.key) for c in table.columns}


def _json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def append_pg(db: Session, sale: Sale, lines: list[SaleLine], payments: list[SalePayment], number_prefix: str,
              tails: Sequence[Tail] = ()) -> None:
    """PostgreSQL: number, link and write the sale with its lines and payments in one round trip, with the
    tails that can ride along (the others run right after); sets the sale's receipt_seq, receipt_no,
    prev_hash and hash to what the database made."""
    db.flush()  # pending rows first: the head is locked from here to COMMIT
    # Tails keep their order (it is their lock order): from the first that cannot ride, they run after.
    riding = list(takewhile(lambda t: t.ctes, tails))
    # the sale's canonical JSON cut where its previous hash, receipt number and number go, in that order
    j0, j1, j2, j3 = cut_at(payload(sale, lines, payments), {"prev_hash": str, "receipt_no": str, "receipt_seq": int})
    params = {"h_tenant": sale.tenant_id, "h_chain": chain_name(sale.store_id), "prefix": number_prefix,
              "j0": j0, "j1": j1, "j2": j2, "j3": j3, "lines": _json([_by_name(ln) for ln in lines]),
              "payments": _json([_by_name(p) for p in payments]), "sale": _json(_by_name(sale))}
    for t in riding:
        params.update(t.params)
    stmt = _append_pg_statement(riding)
    rows = stmt.run(db.connection(), params)
    if not rows:  # the store's first document: its chain head is made now (nothing was written)
        chains.ensure_head(db, sale.tenant_id, chain_name(sale.store_id))
        rows = stmt.run(db.connection(), params)
    got = rows[0]
    sale.receipt_seq, sale.prev_hash, sale.receipt_no, sale.hash = int(got[0]), got[1], got[2], got[3]
    values = iter(got[4:])
    for t in riding:
        value = next(values) if t.result else None
        if t.done is not None:
            t.done(value, sale.receipt_no)
    for t in tails[len(riding):]:
        t.alone(sale.receipt_no)


def verify_store(db: Session, tenant_id: uuid.UUID, store_id: uuid.UUID) -> tuple[int, Break | None]:
    head_seq, head_hash = chains.head(db, tenant_id, chain_name(store_id))

    def links():
        last = 0
        while True:
            sales = db.scalars(select(Sale).where(Sale.tenant_id == tenant_id, Sale.store_id == store_id,
                                                  Sale.receipt_seq > last).order_by(Sale.receipt_seq).limit(500)
                               .execution_options(all_tenants=True)).all()
            if not sales:
                return
            ids = [s.id for s in sales]
            lines: dict[uuid.UUID, list[SaleLine]] = {}
            for ln in db.scalars(select(SaleLine).where(SaleLine.tenant_id == tenant_id, SaleLine.sale_id.in_(ids))
                                 .order_by(SaleLine.line_no)).all():
                lines.setdefault(ln.sale_id, []).append(ln)
            pays: dict[uuid.UUID, list[SalePayment]] = {}
            for p in db.scalars(select(SalePayment).where(SalePayment.tenant_id == tenant_id,
                                                          SalePayment.sale_id.in_(ids)).order_by(SalePayment.seq)).all():
                pays.setdefault(p.sale_id, []).append(p)
            for s in sales:
                yield Link(s.receipt_seq, s.prev_hash, s.hash, payload(s, lines.get(s.id, []), pays.get(s.id, [])))
            last = sales[-1].receipt_seq

    return head_seq, verify(links(), head_seq, head_hash)
