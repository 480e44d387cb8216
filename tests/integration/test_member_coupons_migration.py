"""Migration 0009 moves the members module's own coupons into pricing's `coupons` (SQLite and PostgreSQL).

A database at revision 0008 with member coupons of every status (one of them pointing at a template that
does not exist) is upgraded; each coupon keeps its id, code, member, validity and reason, becomes
redeemable by the till's coupon loader when it was unused, and `member_coupons` is gone.
"""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dbs import pg_base_url, pg_reachable, worker_pg_url

from cloudpos.config import Settings
from cloudpos.migrate import upgrade

BACKENDS = [pytest.param("sqlite", id="sqlite"),
            pytest.param("postgresql", id="postgresql",
                         marks=pytest.mark.skipif(not pg_reachable(pg_base_url()), reason="PostgreSQL not reachable"))]


def _fill(table: sa.Table, values: dict[str, Any], sqlite: bool) -> dict[str, Any]:
    """Values for every NOT NULL column the test does not care about (whatever the schema holds at 0008)."""
    now = datetime.now(UTC).replace(tzinfo=None) if sqlite else datetime.now(UTC)
    row = dict(values)
    for col in table.columns:
        if col.name in row or col.nullable or col.server_default is not None:
            continue
        t = col.type
        if isinstance(t, sa.Boolean):
            row[col.name] = False
        elif isinstance(t, sa.Integer | sa.Numeric):
            row[col.name] = 0
        elif isinstance(t, sa.DateTime):
            row[col.name] = now
        elif isinstance(t, sa.Date):
            row[col.name] = date.today()
        elif isinstance(t, sa.JSON):
            row[col.name] = {}
        elif isinstance(t, sa.Uuid) or "UUID" in str(t).upper():
            row[col.name] = uuid.uuid4().hex if sqlite else uuid.uuid4()
        else:
            row[col.name] = "x"
    return row


@pytest.mark.parametrize("backend", BACKENDS)
def test_member_coupons_move_to_pricing_coupons(backend):
    if backend == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='coupon-migration-')) / 'db.sqlite'}"
    else:
        url = worker_pg_url(pg_base_url(), "coupon_migration")
    db_url = Settings(database_url=url).db_url
    upgrade(db_url, "0008")
    engine = sa.create_engine(db_url)
    sqlite = engine.dialect.name == "sqlite"
    u = (lambda x: x.hex) if sqlite else (lambda x: x)
    ts = (lambda d: d.replace(tzinfo=None)) if sqlite else (lambda d: d)
    tenant, store, member, template, missing, sale = (uuid.uuid4() for _ in range(6))
    now = datetime.now(UTC).replace(microsecond=0)
    sold_at = now - timedelta(days=2)
    ids = {k: uuid.uuid4() for k in ("issued", "used", "orphan", "expired", "void")}
    meta = sa.MetaData()
    meta.reflect(engine)
    t = meta.tables
    with engine.begin() as conn:
        conn.execute(t["tenants"].insert().values(_fill(t["tenants"], {"id": u(tenant), "code": "m0009"}, sqlite)))
        conn.execute(t["stores"].insert().values(_fill(t["stores"], {"tenant_id": u(tenant), "id": u(store),
                                                                     "code": "S01"}, sqlite)))
        conn.execute(t["members"].insert().values(_fill(t["members"], {
            "tenant_id": u(tenant), "id": u(member), "card_no": "1000000001", "phone": "+8613800000001",
            "tier_id": None, "store_id": None}, sqlite)))
        conn.execute(t["coupon_templates"].insert().values(_fill(t["coupon_templates"], {
            "tenant_id": u(tenant), "id": u(template), "name": "满10减5", "kind": "amount_off", "value": 500,
            "threshold": 1000, "scope": {"all": True}, "active": True}, sqlite)))
        conn.execute(t["sales"].insert().values(_fill(t["sales"], {
            "tenant_id": u(tenant), "id": u(sale), "store_id": u(store), "kind": "sale", "member_id": u(member),
            "created_at": ts(sold_at), "receipt_seq": 1, "receipt_no": "S01-1"}, sqlite)))
        for key, status, tpl, until in [("issued", "issued", template, now + timedelta(days=30)),
                                        ("used", "used", template, now + timedelta(days=30)),
                                        ("orphan", "issued", missing, now + timedelta(days=30)),
                                        ("expired", "expired", template, now - timedelta(days=1)),
                                        ("void", "void", template, now + timedelta(days=30))]:
            conn.execute(t["member_coupons"].insert().values(
                tenant_id=u(tenant), id=u(ids[key]), member_id=u(member), template_id=u(tpl), code=f"CODE{key.upper()}",
                status=status, valid_from=ts(now - timedelta(days=5)), valid_to=ts(until), issued_reason=key,
                used_sale_id=u(sale) if key == "used" else None, issued_at=ts(now - timedelta(days=5))))
    engine.dispose()

    upgrade(db_url)

    from cloudpos.db import make_engine, make_sessionmaker
    from cloudpos.pricing import coupons as pricing_coupons
    from cloudpos.pricing.models import Coupon, CouponTemplate

    engine = make_engine(db_url)
    assert "member_coupons" not in sa.inspect(engine).get_table_names()
    with make_sessionmaker(engine)() as db:
        db.info["tenant_id"] = tenant
        rows = {c.id: c for c in db.scalars(sa.select(Coupon).where(Coupon.tenant_id == tenant))}
        assert set(rows) == set(ids.values())
        by = {k: rows[v] for k, v in ids.items()}
        assert {k: c.status for k, c in by.items()} == {"issued": "active", "used": "used", "orphan": "void",
                                                        "expired": "active", "void": "void"}
        assert all(c.member_id == member and c.code == f"CODE{k.upper()}" and c.issued_reason == k
                   for k, c in by.items())
        assert by["used"].used_sale_id == sale and by["used"].used_at == sold_at
        assert by["issued"].used_sale_id is None and by["issued"].valid_until == now + timedelta(days=30)
        placeholder = db.get(CouponTemplate, (tenant, missing))
        assert placeholder is not None and not placeholder.active and by["orphan"].template_id == missing
        out = {c.code: c.status for c in pricing_coupons.member_coupons(db, tenant, member)}
        assert out["CODEEXPIRED"] == "expired" and out["CODEISSUED"] == "active"
        # the till's loader takes the unused coupon for this member and no other
        loaded, problems = pricing_coupons.load_for_cart(db, tenant, ["codeissued"], member)
        assert [c.code for c in loaded] == ["CODEISSUED"] and not problems
        assert pricing_coupons.load_for_cart(db, tenant, ["CODEISSUED"], uuid.uuid4())[1] == {
            "CODEISSUED": "other_member"}
    engine.dispose()
