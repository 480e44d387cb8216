"""Receipt numbers and the store's hash chain (DESIGN §5 tamper evidence).

Each store has a gap-free chain `receipts:<store id>` in chain_heads: a sale takes the next
number inside its transaction (rolled back → number given back) and links
`hash = sha256(prev_hash + canonical JSON of the sale)`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudpos.audit import chains
from cloudpos.audit.domain import Break, Link, iso, verify
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
