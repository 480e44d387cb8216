"""Registration (at the till and online), look-up, profile changes, the member's own login, QR tokens,
and personal data on request: export and erase (PIPL-style; ledgers and sales links are kept)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import uuid
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, Signer, URLSafeTimedSerializer
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.auth.passwords import hash_password, verify_password
from cloudpos.context import Actor, system_actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound, Problem, Unauthorized
from cloudpos.i18n import N_
from cloudpos.members import coupons, domain, program, stats, tiers
from cloudpos.members.models import Member, MemberStats, PointsEntry, StoredValueEntry
from cloudpos.members.schemas import JoinIn, MemberDetail, MemberIn, MemberOut, MemberPatch
from cloudpos.tenancy.models import Store, Tenant

QR_MAX_AGE = 60
SESSION_MAX_AGE = 30 * 86400
MEMBER_COOKIE = "cloudpos_member"


class TooManyRequests(Problem):
    status, code, title = 429, "rate_limited", "Too many requests; please wait a while."


def _phone(raw: str, field: str = "phone") -> str:
    try:
        return domain.normalize_phone(raw)
    except ValueError:
        raise Invalid(errors=[FieldError(field, N_("Enter a valid mobile number, e.g. 13812345678."), {},
                                         "invalid_phone")]) from None


def _pin_errors(pin: str | None, field: str = "pin") -> list[FieldError]:
    if pin is None or pin == "":
        return []
    problem = domain.pin_problem(pin)
    return [FieldError(field, problem, {}, "weak_pin")] if problem else []


def _check_birthday(data: Any) -> list[FieldError]:
    b = getattr(data, "birthday", None)
    if b is not None and (b > program.today() or b.year < 1900):
        return [FieldError("birthday", N_("Enter a real date of birth."), {}, "invalid_birthday")]
    return []


def _email(raw: str | None) -> str | None:
    if not raw:
        return None
    raw = raw.strip()
    if "@" not in raw or raw.startswith("@") or raw.endswith("@") or " " in raw or "." not in raw.split("@")[1]:
        raise Invalid(errors=[FieldError("email", N_("Enter a valid e-mail address."), {}, "invalid_email")])
    return raw.lower()


def _detail(db: Session, actor: Actor, m: Member, pii: bool) -> MemberDetail:
    return program.member_detail(m, program.tiers_by_id(db, actor.tenant_id), pii, stats.of(db, actor.tenant_id, m.id))


def _exists(db: Session, tenant_id: uuid.UUID, phone: str) -> bool:
    return db.scalar(select(Member.id).where(Member.tenant_id == tenant_id, Member.phone == phone)) is not None


def _new_member(db: Session, actor: Actor, *, phone: str, name: str, email: str | None, birthday: Any,
                gender: str, pin: str | None, marketing: bool, channel: str, store_id: uuid.UUID | None,
                ip: str = "") -> Member:
    tier_list = tiers.ensure_tiers(db, actor)
    default = tiers.default_tier(tier_list)
    now = clock.now()
    m = Member(tenant_id=actor.tenant_id, card_no="", name=name, phone=phone, email=email, birthday=birthday,
               birth_month=birthday.month if birthday else None, birth_day=birthday.day if birthday else None,
               gender=gender, tier_id=default.id if default else None, channel=channel, store_id=store_id,
               pin_hash=hash_password(pin) if pin else None, privacy_consent_at=now,
               marketing_consent_at=now if marketing else None, registered_ip=ip[:64], created_at=now,
               updated_at=now)
    for _ in range(8):
        m.card_no = domain.new_card_no(10)
        if db.scalar(select(Member.id).where(Member.tenant_id == actor.tenant_id, Member.card_no == m.card_no)) is None:
            break
    db.add(m)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError:
        raise Conflict(N_("This phone number is already registered as a member."), code="member_exists",
                       errors=[FieldError("phone", N_("Already a member."), {}, "duplicate")]) from None
    stats.create(db, actor.tenant_id, m.id, m.tier_id)
    stats.daily(db, actor.tenant_id, program.today(now), new_members=1)
    audit.record(db, actor, "member.create", target_type="member", target_id=m.id, target_label=m.card_no,
                 store_id=store_id, after={"card_no": m.card_no, "phone": domain.mask_phone(phone), "channel": channel,
                                           "marketing_consent": marketing})
    s = program.settings(db, actor.tenant_id)
    if s.registration_coupon_template_id:
        coupons.issue_coupon(db, actor, m.id, s.registration_coupon_template_id, "registration")
    return m


@use_case
def register(db: Session, actor: Actor, data: MemberIn) -> MemberDetail:
    """Registration at the till (cashier enters phone and name; the rest is optional)."""
    actor.require("member.edit")
    phone = _phone(data.phone)
    errors = _pin_errors(data.pin) + _check_birthday(data)
    if errors:
        raise Invalid(errors=errors)
    email = _email(data.email)
    if data.store_id is not None:
        actor.check_store(data.store_id)
        if db.get(Store, (actor.tenant_id, data.store_id)) is None:
            raise NotFound(N_("Store not found."))
    if _exists(db, actor.tenant_id, phone):
        raise Conflict(N_("This phone number is already registered as a member."), code="member_exists",
                       errors=[FieldError("phone", N_("Already a member."), {}, "duplicate")])
    m = _new_member(db, actor, phone=phone, name=data.name, email=email, birthday=data.birthday, gender=data.gender,
                    pin=data.pin or None, marketing=data.marketing_consent, channel="till", store_id=data.store_id)
    pii = actor.can("member.pii.view")
    return _detail(db, actor, m, pii)


@use_case
def join(db: Session, tenant_id: uuid.UUID, store_id: uuid.UUID, data: JoinIn, ip: str = "") -> MemberOut:
    """Online self-registration from the store's QR poster. Same phone → a clear message, no data shown."""
    db.info["tenant_id"] = tenant_id
    actor = dataclasses.replace(system_actor(tenant_id, "online"), ip=ip[:64])
    errors: list[FieldError] = []
    try:
        phone = _phone(data.phone)
    except Invalid as exc:
        errors += exc.errors
        phone = ""
    errors += _check_birthday(data)
    problem = domain.pin_problem(data.pin)
    if problem:
        errors.append(FieldError("pin", problem, {}, "weak_pin"))
    if not data.privacy:
        errors.append(FieldError("privacy", N_("Please agree to the privacy terms to join."), {}, "required"))
    if errors:
        raise Invalid(errors=errors)
    s = program.settings(db, tenant_id)
    if ip:
        since = clock.now() - timedelta(hours=1)
        recent = db.scalar(select(func.count()).where(Member.tenant_id == tenant_id, Member.registered_ip == ip[:64],
                                                      Member.created_at >= since)) or 0
        if recent >= s.join_limit_per_hour:
            raise TooManyRequests(N_("Too many registrations from this network; please try again later."))
    if _exists(db, tenant_id, phone):
        raise Conflict(N_("This phone number is already a member. Log in with your PIN to see your card."),
                       code="already_member",
                       errors=[FieldError("phone", N_("Already a member."), {}, "duplicate")])
    m = _new_member(db, actor, phone=phone, name=data.name, email=None, birthday=data.birthday, gender="",
                    pin=data.pin, marketing=data.marketing, channel="online", store_id=store_id, ip=ip)
    return program.member_out(m, program.tiers_by_id(db, tenant_id), False)


def _search(actor: Actor, phone: str = "", card_no: str = "", q: str = "", tier_id: uuid.UUID | None = None,
            active_days: int | None = None, dormant_days: int | None = None) -> Any:
    stmt = select(Member).where(Member.tenant_id == actor.tenant_id)
    if phone:
        stmt = stmt.where(Member.phone == _phone(phone))
    if card_no:
        stmt = stmt.where(Member.card_no == card_no.strip())
    if q:
        q = q.strip()
        conds = [Member.name.startswith(q, autoescape=True), Member.card_no == q]
        with contextlib.suppress(ValueError):
            conds.append(Member.phone == domain.normalize_phone(q))
        stmt = stmt.where(or_(*conds))
    if tier_id:
        stmt = stmt.where(Member.tier_id == tier_id)
    if active_days:
        stmt = stmt.where(Member.id.in_(select(MemberStats.member_id).where(
            MemberStats.tenant_id == actor.tenant_id,
            MemberStats.last_visit_at >= clock.now() - timedelta(days=active_days))))
    if dormant_days:
        stmt = stmt.where(Member.id.in_(select(MemberStats.member_id).where(
            MemberStats.tenant_id == actor.tenant_id,
            or_(MemberStats.last_visit_at.is_(None),
                MemberStats.last_visit_at < clock.now() - timedelta(days=dormant_days)))))
    return stmt


@use_case
def list_members(db: Session, actor: Actor, *, phone: str = "", card_no: str = "", q: str = "",
                 tier_id: uuid.UUID | None = None, active_days: int | None = None, dormant_days: int | None = None,
                 page: int = 1, page_size: int = 50, reveal: bool | None = None) -> tuple[list[MemberOut], int]:
    """Search members. Phones are masked unless the caller holds member.pii.view (then the view is audited)."""
    actor.require("member.view")
    stmt = _search(actor, phone, card_no, q, tier_id, active_days, dormant_days)
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(db.scalars(stmt.order_by(Member.created_at.desc(), Member.id.desc())
                           .offset((page - 1) * page_size).limit(page_size)))
    pii = actor.can("member.pii.view") and reveal is not False
    if pii:
        program.audit_pii_view(db, actor, rows, "list")
    tiers_map = program.tiers_by_id(db, actor.tenant_id)
    return [program.member_out(m, tiers_map, pii) for m in rows], total


@use_case
def view(db: Session, actor: Actor, member_id: uuid.UUID, reveal: bool | None = None) -> MemberDetail:
    """One member; full personal data for member.pii.view holders (audited), masked for everyone else."""
    actor.require("member.view")
    m = program.get_member(db, actor, member_id)
    pii = actor.can("member.pii.view") and reveal is not False
    if pii:
        program.audit_pii_view(db, actor, [m], "detail")
    return _detail(db, actor, m, pii)


def masked(db: Session, actor: Actor, member_id: uuid.UUID) -> MemberDetail:
    """The masked profile (no audit needed): what the back-office page shows until "show" is pressed."""
    actor.require("member.view")
    m = program.get_member(db, actor, member_id)
    return _detail(db, actor, m, False)


def _snapshot(m: Member) -> dict[str, Any]:
    return {"name": m.name, "phone": domain.mask_phone(m.phone), "email": domain.mask_email(m.email),
            "birthday_set": m.birthday is not None, "gender": m.gender,
            "tier_id": str(m.tier_id) if m.tier_id else None,
            "tier_locked": m.tier_locked, "has_pin": m.pin_hash is not None,
            "marketing_consent": m.marketing_consent_at is not None}


@use_case
def update(db: Session, actor: Actor, member_id: uuid.UUID, data: MemberPatch) -> MemberDetail:
    actor.require("member.edit")
    m = program.get_member(db, actor, member_id)
    program.require_active(m)
    before = _snapshot(m)
    fields = data.model_dump(exclude_unset=True)
    errors = _pin_errors(data.pin) + _check_birthday(data)
    if errors:
        raise Invalid(errors=errors)
    if "phone" in fields and data.phone:
        phone = _phone(data.phone)
        if phone != m.phone and _exists(db, actor.tenant_id, phone):
            raise Conflict(N_("This phone number is already registered as a member."), code="member_exists",
                           errors=[FieldError("phone", N_("Already a member."), {}, "duplicate")])
        m.phone = phone
    if data.name is not None:
        m.name = data.name
    if "email" in fields:
        m.email = _email(data.email)
    if "birthday" in fields:
        m.birthday = data.birthday
        m.birth_month = data.birthday.month if data.birthday else None
        m.birth_day = data.birthday.day if data.birthday else None
    if data.gender is not None:
        m.gender = data.gender
    if data.pin is not None:
        m.pin_hash = hash_password(data.pin) if data.pin else None
        m.pin_failed, m.pin_locked_until = 0, None
    if data.marketing_consent is not None:
        m.marketing_consent_at = (m.marketing_consent_at or clock.now()) if data.marketing_consent else None
    if "tier_id" in fields and data.tier_id is not None:
        actor.require("member.points.adjust")
        if data.tier_id not in program.tiers_by_id(db, actor.tenant_id):
            raise Invalid(errors=[FieldError("tier_id", N_("Unknown tier."), {}, "unknown")])
        m.tier_id, m.tier_locked = data.tier_id, True
        stats.set_tier(db, actor.tenant_id, m.id, m.tier_id)
    if data.tier_locked is not None:
        m.tier_locked = data.tier_locked
    m.updated_at = clock.now()
    b, a = audit.diff(before, _snapshot(m))
    audit.record(db, actor, "member.update", target_type="member", target_id=m.id, target_label=m.card_no,
                 before=b, after=a)
    return _detail(db, actor, m, actor.can("member.pii.view"))


def _export_data(db: Session, actor: Actor, m: Member) -> dict[str, Any]:
    profile = _detail(db, actor, m, True).model_dump(mode="json")
    pts = db.scalars(select(PointsEntry).where(PointsEntry.tenant_id == actor.tenant_id,
                                               PointsEntry.member_id == m.id).order_by(PointsEntry.occurred_at))
    sv = db.scalars(select(StoredValueEntry).where(StoredValueEntry.tenant_id == actor.tenant_id,
                                                   StoredValueEntry.member_id == m.id)
                    .order_by(StoredValueEntry.occurred_at))
    cps = coupons.list_coupons(db, actor, m.id)
    return {
        "profile": profile,
        "consents": {"privacy": m.privacy_consent_at.isoformat() if m.privacy_consent_at else None,
                     "marketing": m.marketing_consent_at.isoformat() if m.marketing_consent_at else None},
        "points": [{"at": e.occurred_at.isoformat(), "kind": e.kind, "delta": e.delta,
                    "balance_after": e.balance_after} for e in pts],
        "stored_value": [{"at": e.occurred_at.isoformat(), "kind": e.kind, "delta_fen": e.delta,
                          "balance_after_fen": e.balance_after} for e in sv],
        "coupons": [{"code": c.code, "template": c.template_name, "status": c.status,
                     "issued_at": c.issued_at.isoformat()} for c in cps],
        "exported_at": clock.now().isoformat(),
    }


@use_case
def export(db: Session, actor: Actor, member_id: uuid.UUID, fmt: str = "json") -> tuple[bytes, str]:
    """All personal data of one member, on request (JSON or xlsx). Audited."""
    actor.require("member.pii.view")
    m = program.get_member(db, actor, member_id)
    data = _export_data(db, actor, m)
    audit.record(db, actor, "member.export", target_type="member", target_id=m.id, target_label=m.card_no,
                 details={"format": fmt})
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = "profile"
        for k, v in data["profile"].items():
            ws.append([k, json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v])
        for k, v in data["consents"].items():
            ws.append([f"consent_{k}", v])
        for sheet in ("points", "stored_value", "coupons"):
            ws2 = wb.create_sheet(sheet)
            rows = data[sheet]
            if rows:
                ws2.append(list(rows[0]))
                for r in rows:
                    ws2.append(list(r.values()))
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"), "application/json"


@use_case
def erase(db: Session, actor: Actor, member_id: uuid.UUID) -> MemberDetail:
    """Anonymize on request: name → 已注销会员, contact data and birthday cleared, PIN and consents removed.
    The row, its card number, ledgers and links to sales stay (anonymized history)."""
    actor.require("member.pii.view")
    m = program.get_member(db, actor, member_id)
    if m.status == "erased":
        return _detail(db, actor, m, False)
    m.name, m.phone, m.email, m.birthday, m.birth_month, m.birth_day = program.ERASED_NAME, None, None, None, None, None
    m.gender, m.pin_hash, m.privacy_consent_at, m.marketing_consent_at, m.registered_ip = "", None, None, None, ""
    m.status, m.erased_at, m.updated_at = "erased", clock.now(), clock.now()
    coupons.void_all(db, actor, m.id, "member.erase")
    stats.remove(db, actor.tenant_id, m.id)
    audit.record(db, actor, "member.erase", target_type="member", target_id=m.id, target_label=m.card_no,
                 after={"status": "erased"})
    return _detail(db, actor, m, False)


# --- tokens: the store poster, the member's session and the member QR ------------------------------

def join_token(secret: str, merchant_code: str, store_code: str) -> str:
    """`{merchant}.{store}.{signature}`: readable, unforgeable, permanent (printed on the poster)."""
    return Signer(secret, salt="member-join", sep=".").sign(f"{merchant_code}.{store_code}").decode()


def resolve_join_token(db: Session, secret: str, token: str) -> tuple[Tenant, Store]:
    try:
        raw = Signer(secret, salt="member-join", sep=".").unsign(token).decode()
        merchant_code, store_code = raw.split(".", 1)
    except (BadSignature, ValueError):
        raise NotFound(N_("This registration link is not valid.")) from None
    tenant = db.scalar(select(Tenant).where(Tenant.code == merchant_code))
    store = db.scalar(select(Store).where(Store.tenant_id == tenant.id, Store.code == store_code)
                      .execution_options(all_tenants=True)) if tenant else None
    if tenant is None or store is None or not store.active or tenant.status != "active":
        raise NotFound(N_("This registration link is not valid."))
    return tenant, store


def _serializer(secret: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=salt)


def qr_token(secret: str, tenant_id: uuid.UUID, member_id: uuid.UUID) -> str:
    return _serializer(secret, "member-qr").dumps([tenant_id.hex, member_id.hex])


def resolve_qr(secret: str, actor: Actor, token: str, max_age: int = QR_MAX_AGE) -> uuid.UUID:
    """The member id in a fresh QR token of the caller's tenant; an expired or forged one is refused."""
    try:
        tenant_hex, member_hex = _serializer(secret, "member-qr").loads(token, max_age=max_age)
    except SignatureExpired:
        raise Invalid(N_("This member code has expired; ask the member to refresh it."), code="qr_expired",
                      errors=[FieldError("qr", N_("Expired."), {}, "expired")]) from None
    except (BadSignature, ValueError, TypeError):
        raise Invalid(N_("This is not a valid member code."), code="qr_invalid",
                      errors=[FieldError("qr", N_("Invalid."), {}, "invalid")]) from None
    if uuid.UUID(tenant_hex) != actor.tenant_id:
        raise NotFound(N_("Member not found."))
    return uuid.UUID(member_hex)


def session_cookie(secret: str, m: Member) -> str:
    return _serializer(secret, "member-session").dumps([m.tenant_id.hex, m.id.hex, (m.pin_hash or "")[-12:]])


def member_from_cookie(db: Session, secret: str, cookie: str | None) -> Member:
    if not cookie:
        raise Unauthorized(N_("Please log in."))
    try:
        tenant_hex, member_hex, pin_tail = _serializer(secret, "member-session").loads(cookie, max_age=SESSION_MAX_AGE)
    except (BadSignature, ValueError, TypeError):
        raise Unauthorized(N_("Please log in.")) from None
    m = db.get(Member, (uuid.UUID(tenant_hex), uuid.UUID(member_hex)))
    if m is None or m.status != "active" or (m.pin_hash or "")[-12:] != pin_tail:
        raise Unauthorized(N_("Please log in."))
    return m


@use_case
def member_login(db: Session, tenant_id: uuid.UUID, phone: str, pin: str, ip: str = "") -> Member:
    """The member's own login (phone + PIN) for /m/card. Repeated failures lock the PIN for a while."""
    db.info["tenant_id"] = tenant_id
    wrong = Invalid(N_("The phone number or PIN is wrong."), code="member_login_failed")
    try:
        e164 = domain.normalize_phone(phone)
    except ValueError:
        raise wrong from None
    m = db.scalar(select(Member).where(Member.tenant_id == tenant_id, Member.phone == e164,
                                       Member.status == "active"))
    now = clock.now()
    if m is not None and m.pin_locked_until and m.pin_locked_until > now:
        raise Conflict(N_("Too many wrong PINs: the member's PIN is locked for a while."), code="pin_locked")
    if m is None or not verify_password(m.pin_hash, pin):
        if m is not None:
            m.pin_failed += 1
            if m.pin_failed >= 5:
                m.pin_locked_until, m.pin_failed = now + timedelta(minutes=15), 0
            audit.record(db, system_actor(tenant_id, "member"), "member.login.failed", target_type="member",
                         target_id=m.id, target_label=m.card_no, result="denied", details={"ip": ip[:64]})
            db.commit()
        raise wrong
    m.pin_failed = 0
    return m
