"""The scanner's hot path (`lookup`) and scale barcode rules (称重码).

A scan resolves, in order: a product barcode (one primary-key hit on product_barcodes joined to
products and the store's price), a scale label (the tenant's rules; the item code is a barcode —
the scale's PLU — or a SKU of a product), then a SKU.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from cloudpos.audit import service as audit
from cloudpos.catalog import domain
from cloudpos.catalog.models import Product, ProductBarcode, ScaleRule, StorePrice
from cloudpos.catalog.schemas import LookupOut, ProductOut, ScaleRuleIn, ScaleRuleOut
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound
from cloudpos.i18n import N_

# The hot path's statements are built once (bound parameters), run on the session's connection as
# plain Core: building a select() per scan cost more than running it. Tenant scoping is explicit here.
_P, _B, _S = Product.__table__, ProductBarcode.__table__, StorePrice.__table__
_STORE_JOIN = and_(_S.c.tenant_id == _P.c.tenant_id, _S.c.product_id == _P.c.id, _S.c.store_id == bindparam("store"))
_BY_CODE = (select(*_P.c, _S.c.price.label("store_price"))
            .select_from(_B.join(_P, and_(_P.c.tenant_id == _B.c.tenant_id, _P.c.id == _B.c.product_id))
                         .outerjoin(_S, _STORE_JOIN))
            .where(_B.c.tenant_id == bindparam("tid"), _B.c.code == bindparam("code")))
_BY_SKU = (select(*_P.c, _S.c.price.label("store_price"))
           .select_from(_P.outerjoin(_S, _STORE_JOIN))
           .where(_P.c.tenant_id == bindparam("tid"), _P.c.sku == bindparam("code")))

Hit = Any  # a row mapping with the product's columns and `store_price`


def _row(db: Session, stmt: Any, tenant_id: uuid.UUID, code: str, store_id: uuid.UUID | None) -> Hit | None:
    return db.connection().execute(stmt, {"tid": tenant_id, "code": code, "store": store_id}).mappings().first()


def _row_by_barcode(db: Session, tenant_id: uuid.UUID, code: str, store_id: uuid.UUID | None) -> Hit | None:
    return _row(db, _BY_CODE, tenant_id, code, store_id)


def _row_by_sku(db: Session, tenant_id: uuid.UUID, sku: str, store_id: uuid.UUID | None) -> Hit | None:
    return _row(db, _BY_SKU, tenant_id, sku, store_id)


def _fmt(r: ScaleRule) -> domain.ScaleFormat:
    return domain.ScaleFormat(r.prefix, r.total_length, r.item_code_length, r.value_kind, r.value_length,
                              r.check_digit)


def lookup(db: Session, actor: Actor, code: str, store_id: uuid.UUID | None = None) -> LookupOut:
    """Resolve a scanned code to product + quantity + price. Unknown → 404; delisted → 409."""
    actor.require("catalog.view")
    raw = code
    code = code.strip()
    if not (code.isascii() and code.isalnum()):
        code = domain.nfkc(code).replace(" ", "")
    if not code or len(code) > 40:
        raise Invalid(errors=[FieldError("code", N_("Scan or type a barcode."), {}, "required")])
    if store_id is not None and not actor.sees_store(store_id):
        store_id = None
    tid = actor.tenant_id
    matched = "barcode"
    reading: domain.ScaleReading | None = None
    rule_id: uuid.UUID | None = None
    hit = _row_by_barcode(db, tid, code, store_id)
    if hit is None and code.isdigit():
        for rule in db.scalars(select(ScaleRule).where(ScaleRule.tenant_id == tid, ScaleRule.enabled)
                               .order_by(ScaleRule.created_at)).all():
            reading = domain.parse_scale(code, _fmt(rule))
            if reading is None:
                continue
            hit = _scale_hit(db, tid, reading.item_code, store_id)
            if hit is not None:
                matched, rule_id = "scale", rule.id
                break
            reading = None
    if hit is None:
        hit = _row_by_sku(db, tid, code, store_id)
        matched = "sku"
    if hit is None:
        raise NotFound(N_("No product has the code %(code)s."), code="unknown_code", params={"code": raw[:40]},
                       extra={"scanned": raw[:40]})
    product, store_price = hit, hit["store_price"]
    if product["status"] != "listed":
        raise Conflict(N_("%(name)s is delisted and cannot be sold (已下架)."), code="product_delisted",
                       params={"name": product["name"]},
                       extra={"product_id": str(product["id"]), "sku": product["sku"]})
    unit_price = store_price if store_price is not None else product["price"]
    if reading is not None:
        qty, amount = domain.scale_line(reading, unit_price)
    else:
        qty, amount = 1000, unit_price
    return LookupOut(code=code, matched_by=matched, product=out_from_row(product), quantity=domain.milli_str(qty) or "",
                     unit_price=unit_price, amount=amount, scale_rule_id=rule_id)


def resolve_id(db: Session, tenant_id: uuid.UUID, code: str) -> uuid.UUID | None:
    """Barcode, then scale label, then SKU → product id (any status)."""
    code = domain.nfkc(code).replace(" ", "")
    if not code:
        return None
    pid = db.scalar(select(ProductBarcode.product_id).where(ProductBarcode.tenant_id == tenant_id,
                                                            ProductBarcode.code == code))
    if pid is None and code.isdigit():
        for rule in db.scalars(select(ScaleRule).where(ScaleRule.tenant_id == tenant_id, ScaleRule.enabled)
                               .order_by(ScaleRule.created_at)).all():
            reading = domain.parse_scale(code, _fmt(rule))
            if reading is not None:
                hit = _scale_hit(db, tenant_id, reading.item_code, None)
                if hit is not None:
                    return hit["id"]
    return pid or db.scalar(select(Product.id).where(Product.tenant_id == tenant_id, Product.sku == code))


def _scale_hit(db: Session, tid: uuid.UUID, item: str, store_id: uuid.UUID | None) -> Hit | None:
    return (_row_by_barcode(db, tid, item, store_id)
            or (_row_by_barcode(db, tid, item.lstrip("0") or "0", store_id) if item.startswith("0") else None)
            or _row_by_sku(db, tid, item, store_id))


def out_from_row(r: Hit) -> ProductOut:
    return ProductOut(
        id=r["id"], sku=r["sku"], barcodes=list(r["barcodes"] or []), name=r["name"], category_id=r["category_id"],
        brand=r["brand"], unit=r["unit"], price=r["price"], cost=r["cost"], tax_rate_bp=r["tax_rate_bp"],
        sold_by_weight=r["sold_by_weight"], status=r["status"],
        low_stock_threshold=domain.milli_str(r["low_stock_threshold"]), spec=r["spec"],
        created_at=r["created_at"], updated_at=r["updated_at"])


# --- scale rules ------------------------------------------------------------------------------

def _rule_out(r: ScaleRule) -> ScaleRuleOut:
    example = ""
    if not domain.scale_format_errors(_fmt(r)):
        example = domain.make_scale_code(_fmt(r), "1".zfill(r.item_code_length), 1250)
    return ScaleRuleOut(id=r.id, name=r.name, prefix=r.prefix, total_length=r.total_length,
                        item_code_length=r.item_code_length, value_kind=r.value_kind, value_length=r.value_length,
                        check_digit=r.check_digit, enabled=r.enabled, example=example)


def list_scale_rules(db: Session, actor: Actor) -> list[ScaleRuleOut]:
    actor.require("catalog.view")
    return [_rule_out(r) for r in db.scalars(select(ScaleRule).where(ScaleRule.tenant_id == actor.tenant_id)
                                             .order_by(ScaleRule.created_at)).all()]


def _validate(db: Session, actor: Actor, data: ScaleRuleIn, own: uuid.UUID | None) -> None:
    fmt = domain.ScaleFormat(data.prefix, data.total_length, data.item_code_length, data.value_kind,
                             data.value_length, data.check_digit)
    errors = [FieldError(f, m, {}, "invalid") for f, m in domain.scale_format_errors(fmt)]
    if errors:
        raise Invalid(errors=errors)
    other = db.scalar(select(ScaleRule.id).where(ScaleRule.tenant_id == actor.tenant_id,
                                                 ScaleRule.prefix == data.prefix,
                                                 ScaleRule.total_length == data.total_length))
    if other is not None and other != own:
        raise Conflict(N_("A rule with this prefix and length already exists."), code="duplicate_rule",
                       errors=[FieldError("prefix", N_("Already used."), {}, "duplicate")])


@use_case
def create_scale_rule(db: Session, actor: Actor, data: ScaleRuleIn) -> ScaleRuleOut:
    actor.require("settings.manage")
    _validate(db, actor, data, None)
    r = ScaleRule(tenant_id=actor.tenant_id, **data.model_dump())
    db.add(r)
    db.flush()
    audit.record(db, actor, "catalog.scale_rule.create", target_type="scale_rule", target_id=r.id,
                 target_label=r.name or r.prefix, after=data.model_dump())
    return _rule_out(r)


def _get_rule(db: Session, actor: Actor, rule_id: uuid.UUID) -> ScaleRule:
    r = db.get(ScaleRule, (actor.tenant_id, rule_id))
    if r is None:
        raise NotFound(N_("Scale barcode rule not found."))
    return r


@use_case
def update_scale_rule(db: Session, actor: Actor, rule_id: uuid.UUID, data: ScaleRuleIn) -> ScaleRuleOut:
    actor.require("settings.manage")
    r = _get_rule(db, actor, rule_id)
    _validate(db, actor, data, r.id)
    before = {k: getattr(r, k) for k in data.model_dump()}
    for k, v in data.model_dump().items():
        setattr(r, k, v)
    b, a = audit.diff(before, data.model_dump())
    audit.record(db, actor, "catalog.scale_rule.update", target_type="scale_rule", target_id=r.id,
                 target_label=r.name or r.prefix, before=b, after=a)
    return _rule_out(r)


@use_case
def delete_scale_rule(db: Session, actor: Actor, rule_id: uuid.UUID) -> None:
    actor.require("settings.manage")
    r = _get_rule(db, actor, rule_id)
    before = {k: getattr(r, k) for k in ("name", "prefix", "total_length", "item_code_length", "value_kind",
                                         "value_length", "check_digit", "enabled")}
    db.delete(r)
    audit.record(db, actor, "catalog.scale_rule.delete", target_type="scale_rule", target_id=rule_id,
                 target_label=before["name"] or before["prefix"], before=before)
