"""Merchant sign-up, settings, stores and terminals."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, event, func, select
from sqlalchemy.orm import Session

from cloudpos.audit import chains
from cloudpos.audit import service as audit
from cloudpos.auth import service as auth
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound
from cloudpos.fastread import Read
from cloudpos.i18n import N_
from cloudpos.tenancy import domain
from cloudpos.tenancy.models import Store, Tenant, Terminal
from cloudpos.tenancy.schemas import (
    MerchantOut,
    SettingsPatch,
    SignupIn,
    SignupOut,
    StoreIn,
    StoreOut,
    StorePatch,
    TenantSettings,
    TerminalIn,
    TerminalOut,
)


def _unique_code(db: Session, requested: str, name: str) -> str:
    if requested:
        code = requested.lower()
        if not domain.valid_merchant_code(code):
            raise Invalid(errors=[FieldError("merchant_code", N_("3–32 lowercase letters, digits or '-', "
                                                                 "starting with a letter."), {}, "invalid")])
        if db.scalar(select(Tenant.id).where(Tenant.code == code)):
            raise Conflict(N_("This merchant code is already taken."), code="duplicate_merchant_code",
                           errors=[FieldError("merchant_code", N_("Already taken."), {}, "duplicate")])
        return code
    base = domain.merchant_code_base(name)
    while True:
        code = f"{base}{secrets.randbelow(9000) + 1000}"
        if not db.scalar(select(Tenant.id).where(Tenant.code == code)):
            return code


@use_case
def signup(db: Session, data: SignupIn, *, ip: str = "") -> SignupOut:
    """A new merchant: tenant, first store, first terminal, built-in roles, the owner account."""
    locale = data.locale if data.locale in ("zh_CN", "en") else "zh_CN"
    tenant = Tenant(code=_unique_code(db, data.merchant_code, data.merchant_name), name=data.merchant_name,
                    phone=data.phone, settings=TenantSettings(default_locale=locale).model_dump())
    db.add(tenant)
    db.flush()
    db.info["tenant_id"] = tenant.id
    store = Store(tenant_id=tenant.id, code=domain.store_code(1), name=data.store_name, address=data.address,
                  phone=data.phone, locale=locale)
    db.add(store)
    db.flush()
    terminal = Terminal(tenant_id=tenant.id, store_id=store.id, code=domain.terminal_code(1),
                        name=domain.terminal_name(1, locale))
    db.add(terminal)
    role_map = auth.bootstrap_roles(db, tenant.id, locale)
    owner = auth.create_owner(db, tenant.id, role_map["admin"], data.owner_username, data.owner_password,
                              data.owner_display_name or data.owner_username)
    chains.ensure_head(db, tenant.id, audit.CHAIN)
    actor = auth.load_actor(db, owner, ip=ip)
    audit.record(db, actor, "merchant.signup", target_type="merchant", target_id=tenant.id, target_label=tenant.name,
                 after={"merchant_code": tenant.code, "store": store.name, "owner": owner.username})
    return SignupOut(merchant_code=tenant.code, tenant_id=tenant.id, store_id=store.id, terminal_id=terminal.id)


def _tenant(db: Session, tenant_id: uuid.UUID) -> Tenant | None:
    """The merchant's row, held on the session: the identity map keeps objects only while something refers
    to them, and a sale asks for the settings three times (cash rounding, negative stock, approvals)."""
    tenant = _held(db, tenant_id) or db.get(Tenant, tenant_id)
    db.info["tenancy.tenant"] = tenant
    return tenant


def _held(db: Session, tenant_id: uuid.UUID) -> Tenant | None:
    held = db.info.get("tenancy.tenant")
    return held if held is not None and held in db and held.id == tenant_id else None


def tenant_settings(db: Session, tenant_id: uuid.UUID) -> TenantSettings:
    read = db.info.get(_READ, {}).get(tenant_id)
    if read is not None:
        return read
    tenant = _tenant(db, tenant_id)
    return TenantSettings.model_validate(tenant.settings or {}) if tenant else TenantSettings()


@dataclass(frozen=True)
class StoreFacts:
    """A store as selling reads it: its fields, not an ORM object (loading one cost more than the query)."""

    id: uuid.UUID
    code: str
    name: str
    timezone: str
    locale: str
    cash_rounding: str | None
    active: bool


_READ = "tenancy.read"  # what store_facts read in this transaction: store facts and the merchant's settings
_STORES, _TENANTS = Store.__table__, Tenant.__table__
_STORE_FACTS = (select(_STORES.c.id, _STORES.c.code, _STORES.c.name, _STORES.c.timezone, _STORES.c.locale,
                       _STORES.c.cash_rounding, _STORES.c.active, _TENANTS.c.settings)
                .select_from(_STORES.join(_TENANTS, _TENANTS.c.id == _STORES.c.tenant_id))
                .where(_STORES.c.tenant_id == bindparam("f_tenant"), _STORES.c.id == bindparam("f_store")))
_STORE_FACTS_READ = Read(_STORE_FACTS)  # cloudpos.fastread: every sale and price quote asks


def store_facts(db: Session, actor: Actor, store_id: uuid.UUID) -> StoreFacts:
    """`get_store` for a till's hot paths (a sale, a price quote), which only read the store: one Core query
    for the store and its merchant's settings (`tenant_settings` then answers from it until the
    transaction ends). 404 as get_store."""
    read = db.info.setdefault(_READ, {})
    facts = read.get((actor.tenant_id, store_id))
    if facts is None:
        row = _STORE_FACTS_READ.first(db.connection(), {"f_tenant": actor.tenant_id, "f_store": store_id})
        if row is None:
            raise NotFound(N_("Store not found."))
        facts = read[(actor.tenant_id, store_id)] = StoreFacts(*row[:7])
        read.setdefault(actor.tenant_id, TenantSettings.model_validate(row.settings or {}))
    if not actor.sees_store(store_id):
        raise NotFound(N_("Store not found."))
    return facts


@event.listens_for(Session, "after_transaction_end")
def _forget_read(session: Session, _transaction: Any) -> None:
    session.info.pop(_READ, None)  # the next transaction reads the store and the settings again


def merchant(db: Session, actor: Actor) -> MerchantOut:
    t = _tenant(db, actor.tenant_id)
    return MerchantOut(tenant_id=t.id, merchant_code=t.code, merchant_name=t.name, phone=t.phone,
                       settings=TenantSettings.model_validate(t.settings or {}))


@use_case
def update_settings(db: Session, actor: Actor, data: SettingsPatch) -> MerchantOut:
    from cloudpos.approvals.service import OPERATIONS

    actor.require("settings.manage")
    t = db.get(Tenant, actor.tenant_id)
    current = TenantSettings.model_validate(t.settings or {})
    before: dict[str, Any] = {"merchant_name": t.name, **current.model_dump()}
    if data.approval_required is not None:
        unknown = sorted(set(data.approval_required) - set(OPERATIONS))
        if unknown:
            raise Invalid(errors=[FieldError("approval_required", N_("Unknown operations: %(ops)s"),
                                             {"ops": ", ".join(unknown)}, "unknown_operation")])
        current.approval_required = sorted(set(data.approval_required))
    if data.default_locale is not None:
        if data.default_locale not in ("zh_CN", "en"):
            raise Invalid(errors=[FieldError("default_locale", N_("Choose zh_CN or en."), {}, "invalid")])
        current.default_locale = data.default_locale
    if data.negative_stock is not None:
        current.negative_stock = data.negative_stock
    if data.cash_rounding is not None:
        current.cash_rounding = data.cash_rounding
    if "refund_approval_above" in data.model_fields_set:
        current.refund_approval_above = data.refund_approval_above
    if data.merchant_name is not None:
        t.name = data.merchant_name
    t.settings = current.model_dump()
    b, a = audit.diff(before, {"merchant_name": t.name, **current.model_dump()})
    audit.record(db, actor, "settings.update", target_type="merchant", target_id=t.id, target_label=t.name,
                 before=b, after=a)
    return merchant(db, actor)


def store_out(s: Store) -> StoreOut:
    return StoreOut(id=s.id, code=s.code, name=s.name, address=s.address, phone=s.phone, timezone=s.timezone,
                    locale=s.locale, active=s.active, cash_rounding=s.cash_rounding)


def cash_rounding(db: Session, tenant_id: uuid.UUID, store: Store | StoreFacts) -> str:
    """抹零 at a till of this store: the store's own setting, else the merchant's."""
    return store.cash_rounding or tenant_settings(db, tenant_id).cash_rounding


def list_stores(db: Session, actor: Actor) -> list[StoreOut]:
    """The stores this employee works in (all of them for merchant-wide roles)."""
    stmt = select(Store).where(Store.tenant_id == actor.tenant_id).order_by(Store.code)
    if not actor.all_stores:
        stmt = stmt.where(Store.id.in_(actor.store_ids or [uuid.UUID(int=0)]))
    return [store_out(s) for s in db.scalars(stmt).all()]


def store_names(db: Session, tenant_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Every store's name by id, for describing rules that name stores (a promotion of other stores
    explained to a cashier of this one); not limited to the caller's stores — names are not secret."""
    return dict(db.execute(select(Store.id, Store.name).where(Store.tenant_id == tenant_id)).all())  # type: ignore[arg-type]


def get_store(db: Session, actor: Actor, store_id: uuid.UUID) -> Store:
    if _held(db, actor.tenant_id):
        store = db.get(Store, (actor.tenant_id, store_id))
    else:
        # The first store asked for in this session brings the merchant's row (its settings) along in
        # the same query: a sale needs both, and it saves a round trip.
        row = db.execute(select(Store, Tenant).join(Tenant, Tenant.id == Store.tenant_id)
                         .where(Store.tenant_id == actor.tenant_id, Store.id == store_id)).first()
        store = None
        if row is not None:
            store, db.info["tenancy.tenant"] = row
    if store is None or not actor.sees_store(store_id):
        raise NotFound(N_("Store not found."))
    return store


def _check_tz(tz: str | None) -> None:
    if tz is not None and not domain.valid_timezone(tz):
        raise Invalid(errors=[FieldError("timezone", N_("Unknown time zone: %(tz)s"), {"tz": tz}, "invalid")])


@use_case
def create_store(db: Session, actor: Actor, data: StoreIn) -> StoreOut:
    actor.require("store.manage")
    _check_tz(data.timezone)
    if data.locale not in ("zh_CN", "en"):
        raise Invalid(errors=[FieldError("locale", N_("Choose zh_CN or en."), {}, "invalid")])
    n = (db.scalar(select(func.count()).where(Store.tenant_id == actor.tenant_id)) or 0) + 1
    store = Store(tenant_id=actor.tenant_id, code=domain.store_code(n), name=data.name, address=data.address,
                  phone=data.phone, timezone=data.timezone, locale=data.locale, cash_rounding=data.cash_rounding)
    db.add(store)
    db.flush()
    db.add(Terminal(tenant_id=actor.tenant_id, store_id=store.id, code=domain.terminal_code(1),
                    name=domain.terminal_name(1, data.locale)))
    audit.record(db, actor, "store.create", target_type="store", target_id=store.id, target_label=store.name,
                 after=store_out(store).model_dump(mode="json"), store_id=store.id)
    return store_out(store)


@use_case
def update_store(db: Session, actor: Actor, store_id: uuid.UUID, data: StorePatch) -> StoreOut:
    if not (actor.can("settings.manage") or actor.can("store.manage")):
        actor.require("store.manage")
    store = get_store(db, actor, store_id)
    _check_tz(data.timezone)
    if data.locale is not None and data.locale not in ("zh_CN", "en"):
        raise Invalid(errors=[FieldError("locale", N_("Choose zh_CN or en."), {}, "invalid")])
    before = store_out(store).model_dump(mode="json")
    for key, value in data.model_dump(exclude_none=True).items():
        setattr(store, key, None if key == "cash_rounding" and value == "merchant" else value)
    b, a = audit.diff(before, store_out(store).model_dump(mode="json"))
    audit.record(db, actor, "store.update", target_type="store", target_id=store.id, target_label=store.name,
                 before=b, after=a, store_id=store.id)
    return store_out(store)


def terminal_out(t: Terminal) -> TerminalOut:
    return TerminalOut(id=t.id, store_id=t.store_id, code=t.code, name=t.name, active=t.active)


_TERMINALS = Terminal.__table__
_TERMINAL = select(_TERMINALS.c.id, _TERMINALS.c.store_id, _TERMINALS.c.name, _TERMINALS.c.active).where(
    _TERMINALS.c.tenant_id == bindparam("t_tenant"), _TERMINALS.c.id == bindparam("t_id"))


def terminal(db: Session, actor: Actor, terminal_id: uuid.UUID) -> Any:
    """(id, store_id, name, active) of one terminal of the merchant in a store the employee sees, or None:
    one prebuilt primary-key query (every payment at a till checks its terminal)."""
    t = db.connection().execute(_TERMINAL, {"t_tenant": actor.tenant_id, "t_id": terminal_id}).first()
    return t if t is not None and actor.sees_store(t.store_id) else None


def list_terminals(db: Session, actor: Actor, store_id: uuid.UUID | None = None) -> list[TerminalOut]:
    stmt = select(Terminal).where(Terminal.tenant_id == actor.tenant_id)
    if store_id is not None:
        get_store(db, actor, store_id)
        stmt = stmt.where(Terminal.store_id == store_id)
    elif not actor.all_stores:
        stmt = stmt.where(Terminal.store_id.in_(actor.store_ids or [uuid.UUID(int=0)]))
    return [terminal_out(t) for t in db.scalars(stmt.order_by(Terminal.code)).all()]


@use_case
def create_terminal(db: Session, actor: Actor, data: TerminalIn) -> TerminalOut:
    actor.require("store.manage")
    get_store(db, actor, data.store_id)
    n = (db.scalar(select(func.count()).where(Terminal.tenant_id == actor.tenant_id,
                                              Terminal.store_id == data.store_id)) or 0) + 1
    t = Terminal(tenant_id=actor.tenant_id, store_id=data.store_id, code=domain.terminal_code(n), name=data.name)
    db.add(t)
    db.flush()
    audit.record(db, actor, "terminal.create", target_type="terminal", target_id=t.id, target_label=t.name,
                 store_id=data.store_id)
    return terminal_out(t)


def merchant_by_code(db: Session, code: str) -> Tenant | None:
    return db.scalar(select(Tenant).where(Tenant.code == code))
