"""cloudpos.fastread: the hot reads run on psycopg's cursor on PostgreSQL. They must give what SQLAlchemy
gives (ids, money, flags, JSON, timestamps as aware UTC), whatever the connection's time zone. Both
backends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, select, text

from cloudpos.catalog.models import Product
from cloudpos.fastread import Read
from cloudpos.ids import uuid7

_P = Product.__table__
_BY_SKU = select(*_P.c, (_P.c.price * 2).label("double")).where(_P.c.tenant_id == bindparam("tid"),
                                                                 _P.c.sku == bindparam("sku"))


def test_a_read_gives_what_sqlalchemy_gives(app):
    tenant, made = uuid.uuid4(), datetime(2026, 11, 27, 23, 59, 58, 123456, tzinfo=UTC)
    row = {"tenant_id": tenant, "id": uuid7(), "sku": "FR-1", "name": "可口可乐 330ml \"罐\"", "category_id": None,
           "brand": "", "unit": "罐", "price": 350, "cost": 210, "tax_rate_bp": 1300, "spec": "",
           "sold_by_weight": False, "status": "listed", "low_stock_threshold": 12000, "barcodes": ["6901234567892"],
           "search_text": "kkkl", "version": 3, "created_at": made, "updated_at": made}
    read = Read(_BY_SKU)
    with app.state.engine.begin() as conn:
        conn.execute(insert(_P), row)
    with app.state.engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # a server or session in another zone must not leak into the answer
            conn.execute(text("SET TIME ZONE 'Asia/Shanghai'"))
        expected = conn.execute(_BY_SKU, {"tid": tenant, "sku": "FR-1"}).one()
        got = read.first(conn, {"tid": tenant, "sku": "FR-1"})
        missing = read.first(conn, {"tid": tenant, "sku": "nope"})
        conn.rollback()
    assert got == tuple(expected) and missing is None
    mapped = read.mapping(got)
    assert mapped["id"] == row["id"] and isinstance(mapped["id"], uuid.UUID)
    assert mapped["created_at"] == made and mapped["created_at"].utcoffset().total_seconds() == 0
    assert mapped["created_at"].isoformat() == "2026-11-27T23:59:58.123456+00:00"
    assert mapped["barcodes"] == ["6901234567892"] and mapped["double"] == 700 and mapped["sold_by_weight"] is False
    assert mapped["name"] == "可口可乐 330ml \"罐\"" and mapped["category_id"] is None


def test_a_statement_raises_database_errors_as_sqlalchemy_does(app):
    """A refused write on the driver's cursor is the IntegrityError SQLAlchemy would raise (with the driver's
    error as .orig, which db.retrying reads for deadlocks), and the transaction rolls back as usual."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from cloudpos.fastread import Statement

    tenant, made = uuid.uuid4(), datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    row = {"tenant_id": tenant, "id": uuid7(), "sku": "FR-2", "name": "雪碧", "category_id": None, "brand": "",
           "unit": "瓶", "price": 300, "cost": 200, "tax_rate_bp": 1300, "spec": "", "sold_by_weight": False,
           "status": "listed", "low_stock_threshold": None, "barcodes": [], "search_text": "xb", "version": 1,
           "created_at": made, "updated_at": made}
    add = Statement(insert(_P), list(row))
    with app.state.engine.begin() as conn:
        assert add.run(conn, row) == []
    with app.state.sessionmaker() as db:
        with pytest.raises(IntegrityError) as refused:
            add.run(db.connection(), {**row, "id": uuid7()})  # the same SKU again
        assert refused.value.orig is not None
        db.rollback()
        assert Read(_BY_SKU).first(db.connection(), {"tid": tenant, "sku": "FR-2"}).name == "雪碧"
