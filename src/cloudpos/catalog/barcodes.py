"""The scanner's hot path (`lookup`) and scale barcode rules (称重码).

A scan resolves, in order: a product barcode (one primary-key hit on product_barcodes joined to
products and the store's price), a scale label (the tenant's rules; the item code is a barcode —
the scale's PLU — or a SKU of a product), then a SKU. The scanned code and the item codes of the
rules it fits are looked up in one query; the rules are cached per tenant (see `scale_rules`).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import and_, bindparam, case, event, literal, select, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from cloudpos.audit import service as audit
from cloudpos.catalog import domain
from cloudpos.catalog.models import Product, ProductBarcode, ScaleRule, StorePrice
from cloudpos.catalog.schemas import LookupOut, ProductOut, ScaleRuleIn, ScaleRuleOut
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound
from cloudpos.fastread import Read, ReadsByCount
from cloudpos.i18n import N_

# The hot path's statements are built once (bound parameters), run on the session's connection as
# plain Core: building a select() per scan cost more than running it. Tenant scoping is explicit here.
_P, _B, _S = Product.__table__, ProductBarcode.__table__, StorePrice.__table__
_STORE_JOIN = and_(_S.c.tenant_id == _P.c.tenant_id, _S.c.product_id == _P.c.id, _S.c.store_id == bindparam("store"))
# What a scan answers with (`out_from_row`): not the search text, version or tenant. Fewer columns to send and
# decode, and a statement short enough (read with the caller: under 4 kB) for psycopg to cache its parsing.
_HIT = [c for c in _P.c if c.key not in ("search_text", "version", "tenant_id")]
_BY_CODE = (select(*_HIT, _S.c.price.label("store_price"))
            .select_from(_B.join(_P, and_(_P.c.tenant_id == _B.c.tenant_id, _P.c.id == _B.c.product_id))
                         .outerjoin(_S, _STORE_JOIN))
            .where(_B.c.tenant_id == bindparam("tid"), _B.c.code == bindparam("code")))
_CODES_OF_TENANT = (select(*_HIT, _S.c.price.label("store_price"), _B.c.code.label("matched_code"))
                    .select_from(_B.join(_P, and_(_P.c.tenant_id == _B.c.tenant_id, _P.c.id == _B.c.product_id))
                                 .outerjoin(_S, _STORE_JOIN))
                    .where(_B.c.tenant_id == bindparam("tid")))
_BY_CODES = _CODES_OF_TENANT.where(_B.c.code.in_(bindparam("codes", expanding=True)))
_BY_SKU = (select(*_HIT, _S.c.price.label("store_price"))
           .select_from(_P.outerjoin(_S, _STORE_JOIN))
           .where(_P.c.tenant_id == bindparam("tid"), _P.c.sku == bindparam("code")))
_R = ScaleRule.__table__
_RULES = (select(_R.c.id, _R.c.prefix, _R.c.total_length, _R.c.item_code_length, _R.c.value_kind, _R.c.value_length,
                 _R.c.check_digit)
          .where(_R.c.tenant_id == bindparam("tid"), _R.c.enabled.is_(True)).order_by(_R.c.created_at))

Hit = Any  # a row mapping with the product's columns and `store_price`
Reader = Session | Connection  # the look-up runs on a session, or on a bare connection (the scanner's route)


def _conn(db: Reader) -> Connection:
    return db if isinstance(db, Connection) else db.connection()

# The tenant's enabled scale rules, kept per process for RULES_TTL seconds: a scan of a digit code
# needs them, and they change a few times in a store's life. A change made here is seen at once
# (forgotten on commit); another app process sees it within RULES_TTL.
RULES_TTL = 30.0
Rules = tuple[tuple[uuid.UUID, domain.ScaleFormat], ...]
_rules_cache: dict[uuid.UUID, tuple[float, Rules]] = {}


def _cached_rules(tenant_id: uuid.UUID) -> Rules | None:
    hit = _rules_cache.get(tenant_id)
    return hit[1] if hit is not None and hit[0] > time.monotonic() else None


def scale_rules(db: Reader, tenant_id: uuid.UUID) -> Rules:
    cached = _cached_rules(tenant_id)
    if cached is not None:
        return cached
    rules = tuple((r.id, domain.ScaleFormat(r.prefix, r.total_length, r.item_code_length, r.value_kind,
                                             r.value_length, r.check_digit))
                  for r in _conn(db).execute(_RULES, {"tid": tenant_id}))
    _rules_cache[tenant_id] = (time.monotonic() + RULES_TTL, rules)
    return rules


def _forget_rules(db: Session, tenant_id: uuid.UUID) -> None:
    """Drop the cached rules now and again once the change is committed (a scan in between may
    have cached the old ones)."""
    _rules_cache.pop(tenant_id, None)
    event.listen(db, "after_commit", lambda _s: _rules_cache.pop(tenant_id, None), once=True)


_BY_CODE_READ, _BY_SKU_READ = Read(_BY_CODE), Read(_BY_SKU)  # cloudpos.fastread: the scan's own read
# A plain code's barcode, else its SKU (`by_sku` 0 / 1): what a scan that is no scale label resolves to, in one read.
_CODE_OR_SKU_READ = Read(union_all(_BY_CODE.add_columns(literal(0).label("by_sku")),
                                   _BY_SKU.add_columns(literal(1).label("by_sku"))).order_by("by_sku").limit(1))


def _row(db: Reader, read: Read, tenant_id: uuid.UUID, code: str, store_id: uuid.UUID | None) -> Hit | None:
    row = read.first(_conn(db), {"tid": tenant_id, "code": code, "store": store_id})
    return read.mapping(row) if row is not None else None


def _row_by_barcode(db: Reader, tenant_id: uuid.UUID, code: str, store_id: uuid.UUID | None) -> Hit | None:
    return _row(db, _BY_CODE_READ, tenant_id, code, store_id)


def _row_by_sku(db: Reader, tenant_id: uuid.UUID, sku: str, store_id: uuid.UUID | None) -> Hit | None:
    return _row(db, _BY_SKU_READ, tenant_id, sku, store_id)


def _fmt(r: ScaleRule) -> domain.ScaleFormat:
    return domain.ScaleFormat(r.prefix, r.total_length, r.item_code_length, r.value_kind, r.value_length,
                              r.check_digit)


def _by_codes(db: Reader, tenant_id: uuid.UUID, codes: list[str], store_id: uuid.UUID | None) -> dict[str, Hit]:
    """Barcode → product row for several candidate codes in one query (a scan and the item codes a
    scale label may carry)."""
    if len(codes) == 1:
        hit = _row_by_barcode(db, tenant_id, codes[0], store_id)
        return {codes[0]: hit} if hit is not None else {}
    rows = _conn(db).execute(_BY_CODES, {"tid": tenant_id, "codes": codes, "store": store_id}).mappings()
    return {r["matched_code"]: r for r in rows}


def _item_codes(item: str) -> list[str]:
    """A scale label's item code as a barcode: as printed, then without the leading zeros the
    scale pads it with (PLU 123 printed as 00123)."""
    return [item, item.lstrip("0") or "0"] if item.startswith("0") else [item]


def _resolve(db: Reader, tid: uuid.UUID, code: str, store_id: uuid.UUID | None, prefetched: Any = None
             ) -> tuple[Hit | None, str, domain.ScaleReading | None, uuid.UUID | None]:
    """(product row, matched_by, scale reading, rule id): a barcode, else a scale label (the tenant's
    rules in order; the item code is a barcode — the scale's PLU — or a SKU), else a SKU. Every
    barcode candidate is looked up in one query."""
    readings = _scale_readings(code, scale_rules(db, tid)) if code.isdigit() else []
    candidates = _candidates(code, readings)
    if prefetched is not None and candidates == [code] and prefetched[0] == {"code": code, "store": store_id}:
        # the code's barcode, else its SKU: all a scan that is no scale label can resolve to
        row = _CODE_OR_SKU_READ.mapping(prefetched[1]) if prefetched[1] is not None else None
        if row is None:
            return None, "sku", None, None
        return row, "sku" if row["by_sku"] else "barcode", None, None
    if prefetched is not None and len(candidates) > 1 and prefetched[0] == _first_of_params(candidates, store_id):
        # the first candidate that is a barcode: every one before it is none, and resolving never looks past it
        row = _FIRST_OF.read(len(candidates)).mapping(prefetched[1]) if prefetched[1] is not None else None
        hits = {row["matched_code"]: row} if row is not None else {}
    else:
        hits = _by_codes(db, tid, candidates, store_id)
    if code in hits:
        return hits[code], "barcode", None, None
    for rule_id, reading in readings:
        hit = next((hits[c] for c in _item_codes(reading.item_code) if c in hits), None) \
            or _row_by_sku(db, tid, reading.item_code, store_id)
        if hit is not None:
            return hit, "scale", reading, rule_id
    return _row_by_sku(db, tid, code, store_id), "sku", None, None


def scanned(code: str) -> str:
    """A scanned or typed code as it is looked up: trimmed, full-width forms folded, no blanks."""
    code = code.strip()
    return code if code.isascii() and code.isalnum() else domain.nfkc(code).replace(" ", "")


# The product of the first of n candidate codes (c0 … cn-1, in the order a scan resolves them) that is a
# barcode, with the code it matched.
_FIRST_OF = ReadsByCount("c", _B.c.code.type, lambda codes: _CODES_OF_TENANT.where(_B.c.code.in_(codes)).order_by(
    case(*[(_B.c.code == c, i) for i, c in enumerate(codes)], else_=len(codes))).limit(1))


def _scale_readings(code: str, rules: Rules) -> list[tuple[uuid.UUID, domain.ScaleReading]]:
    if not code.isdigit():
        return []
    return [(rule_id, reading) for rule_id, fmt in rules if (reading := domain.parse_scale(code, fmt)) is not None]


def _candidates(code: str, readings: list[tuple[uuid.UUID, domain.ScaleReading]]) -> list[str]:
    """The codes a scan looks up as barcodes, in the order it resolves them: the code, then each fitting rule's
    item codes."""
    out = [code]
    for _, reading in readings:
        out.extend(c for c in _item_codes(reading.item_code) if c not in out)
    return out


def _first_of_params(candidates: list[str], store_id: uuid.UUID | None) -> dict[str, Any]:
    return {"store": store_id, **_FIRST_OF.params(candidates)}


def prefetch_params(code: str, store_id: uuid.UUID | None, tenant_id: uuid.UUID | None = None
                    ) -> tuple[Read, dict[str, Any]]:
    """The barcode read of a scan, to be read with the caller (web.deps prefetch) and handed back to `lookup`
    as `prefetched`. With the caller's tenant known beforehand and its scale rules cached, a scale label's
    item codes are candidates too (the first that is a barcode is read)."""
    code = scanned(code)
    rules = _cached_rules(tenant_id) if tenant_id is not None else None
    candidates = _candidates(code, _scale_readings(code, rules)) if rules else [code]
    if len(candidates) == 1:
        return _CODE_OR_SKU_READ, {"code": code, "store": store_id}
    return _FIRST_OF.read(len(candidates)), _first_of_params(candidates, store_id)


def lookup(db: Reader, actor: Actor, code: str, store_id: uuid.UUID | None = None, prefetched: Any = None
           ) -> LookupOut:
    """Resolve a scanned code to product + quantity + price. Unknown → 404; delisted → 409. `prefetched`:
    (parameters, row or None) of `prefetch_params`' read, used when the scan turns out to need just that."""
    actor.require("catalog.view")
    raw = code
    code = scanned(code)
    if not code or len(code) > 40:
        raise Invalid(errors=[FieldError("code", N_("Scan or type a barcode."), {}, "required")])
    if store_id is not None and not actor.sees_store(store_id):
        store_id = None
    hit, matched, reading, rule_id = _resolve(db, actor.tenant_id, code, store_id, prefetched)
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
    code = scanned(code)
    if not code:
        return None
    hit, _, _, _ = _resolve(db, tenant_id, code, None)
    return hit["id"] if hit is not None else None


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
    _forget_rules(db, actor.tenant_id)
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
    _forget_rules(db, actor.tenant_id)
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
    _forget_rules(db, actor.tenant_id)
    audit.record(db, actor, "catalog.scale_rule.delete", target_type="scale_rule", target_id=rule_id,
                 target_label=before["name"] or before["prefix"], before=before)
