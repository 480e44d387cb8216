"""What selling needs to know about products: one query for a whole cart (no N+1).

Used by pricing (quotes) and sales (checkout) through `catalog.service.sale_facts`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from cloudpos.catalog.models import Category, Product, StorePrice
from cloudpos.fastread import ReadsByCount


@dataclass(frozen=True)
class SaleFacts:
    id: uuid.UUID
    sku: str
    name: str
    unit: str
    price: int  # fen: the store's own price when it has one
    cost: int
    category_id: uuid.UUID | None
    category_ancestor_ids: tuple[uuid.UUID, ...]  # parent first, root last
    brand: str
    sold_by_weight: bool
    status: str
    low_stock_threshold: int | None = None  # milli: the stock movement of a sale checks it


_P, _C, _S = Product.__table__, Category.__table__, StorePrice.__table__
# Built once with bound parameters and run as plain Core on the session's connection: selling calls this
# for every quote and sale, and building the statement (and ORM entities) cost more than running it.
_FROM = (select(_P.c.id, _P.c.sku, _P.c.name, _P.c.unit, _P.c.price, _P.c.cost, _P.c.category_id, _P.c.brand,
                _P.c.sold_by_weight, _P.c.status, _P.c.low_stock_threshold, _C.c.path, _S.c.price.label("store_price"))
         .select_from(_P.outerjoin(_C, and_(_C.c.tenant_id == _P.c.tenant_id, _C.c.id == _P.c.category_id))
                      .outerjoin(_S, and_(_S.c.tenant_id == _P.c.tenant_id, _S.c.product_id == _P.c.id,
                                          _S.c.store_id == bindparam("store", type_=_S.c.store_id.type))))
         .where(_P.c.tenant_id == bindparam("tid")))
_FACTS = _FROM.where(_P.c.id.in_(bindparam("ids", expanding=True)))
# Carts up to this many products read through a statement prebuilt for their count (cloudpos.fastread);
# longer ones take the expanding IN.
_PREBUILT_UP_TO = 40
_BY_COUNT = ReadsByCount("id", _P.c.id.type, lambda ids: _FROM.where(_P.c.id.in_(ids)))


def sale_facts(db: Session, tenant_id: uuid.UUID, store_id: uuid.UUID | None,
               ids: list[uuid.UUID]) -> dict[uuid.UUID, SaleFacts]:
    if not ids:
        return {}
    unique = list(dict.fromkeys(ids))
    out: dict[uuid.UUID, SaleFacts] = {}
    db.flush()  # what an ORM query would have flushed first
    conn = db.connection()
    if len(unique) <= _PREBUILT_UP_TO:
        rows = _BY_COUNT.read(len(unique)).all(conn, {"tid": tenant_id, "store": store_id,
                                                      **_BY_COUNT.params(unique)})
    else:
        rows = list(conn.execute(_FACTS, {"tid": tenant_id, "store": store_id, "ids": unique}))
    for r in rows:
        chain = [uuid.UUID(x) for x in (r.path or "").strip("/").split("/") if x]
        ancestors = tuple(reversed(chain[:-1]))
        out[r.id] = SaleFacts(r.id, r.sku, r.name, r.unit, r.store_price if r.store_price is not None else r.price,
                              r.cost, r.category_id, ancestors, r.brand, r.sold_by_weight, r.status,
                              r.low_stock_threshold)
    return out
