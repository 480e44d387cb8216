"""Campaigns (会员营销): a segment + an action (issue a coupon, double points for a period, send a message)
+ a schedule. Each member reached is one `member_campaign_sends` row (status, error, attempts): one failure
does not stop the run, failed sends are retried, and only members who agreed get marketing messages.
Birthday greetings with the birthday coupon go out through the same machinery (daily job)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloudpos import clock
from cloudpos.audit import service as audit
from cloudpos.context import Actor
from cloudpos.db import use_case
from cloudpos.errors import Conflict, FieldError, Invalid, NotFound
from cloudpos.i18n import N_
from cloudpos.members import channels, coupons, domain, program, segments
from cloudpos.members.models import Campaign, CampaignSend, Member, MemberTier
from cloudpos.members.schemas import CampaignIn, CampaignOut, CampaignSendOut, RunOut, SegmentFilters

BIRTHDAY_SUBJECT = "生日快乐 Happy birthday"
BIRTHDAY_BODY = "亲爱的{name}，祝您生日快乐！{coupon}"


def _counts(db: Session, tenant_id: uuid.UUID, campaign_id: uuid.UUID) -> dict[str, int]:
    rows = db.execute(select(CampaignSend.status, func.count()).where(
        CampaignSend.tenant_id == tenant_id, CampaignSend.campaign_id == campaign_id).group_by(CampaignSend.status))
    return {s: int(n) for s, n in rows}


def campaign_out(db: Session, c: Campaign) -> CampaignOut:
    return CampaignOut(id=c.id, name=c.name, segment_id=c.segment_id, action=c.action, params=c.params or {},
                       scheduled_at=c.scheduled_at, status=c.status, last_run_at=c.last_run_at,
                       created_at=c.created_at, sends=_counts(db, c.tenant_id, c.id))


def list_campaigns(db: Session, actor: Actor) -> list[CampaignOut]:
    actor.require("member.view")
    return [campaign_out(db, c) for c in db.scalars(select(Campaign).where(Campaign.tenant_id == actor.tenant_id)
                                                    .order_by(Campaign.created_at.desc()))]


def get(db: Session, actor: Actor, campaign_id: uuid.UUID) -> Campaign:
    c = db.get(Campaign, (actor.tenant_id, campaign_id))
    if c is None:
        raise NotFound(N_("Campaign not found."))
    return c


def _params(data: CampaignIn) -> dict[str, Any]:
    errors = []
    if data.action == "coupon" and data.template_id is None:
        errors.append(FieldError("template_id", N_("Choose the coupon to issue."), {}, "required"))
    if data.action == "double_points":
        if data.starts_at is None or data.ends_at is None:
            errors.append(FieldError("ends_at", N_("Give the period when points are boosted."), {}, "required"))
        elif data.ends_at <= data.starts_at:
            errors.append(FieldError("ends_at", N_("The end must be after the start."), {}, "invalid"))
    if data.action == "message" and not data.body:
        errors.append(FieldError("body", N_("Write the message."), {}, "required"))
    for field in ("starts_at", "ends_at", "scheduled_at"):
        value = getattr(data, field)
        if value is not None and value.tzinfo is None:
            errors.append(FieldError(field, N_("Give a time zone (e.g. +08:00)."), {}, "naive_datetime"))
    if errors:
        raise Invalid(errors=errors)
    if data.action == "coupon":
        return {"template_id": str(data.template_id)}
    if data.action == "double_points":
        return {"multiplier_bp": data.multiplier_bp, "starts_at": data.starts_at.isoformat(),
                "ends_at": data.ends_at.isoformat()}
    return {"channel": data.channel, "subject": data.subject, "body": data.body}


@use_case
def save(db: Session, actor: Actor, data: CampaignIn, campaign_id: uuid.UUID | None = None) -> CampaignOut:
    actor.require("member.campaign")
    segments.get(db, actor, data.segment_id)
    params = _params(data)
    if data.action == "coupon":
        coupons.check_template(db, actor, data.template_id)
    status = "scheduled" if data.scheduled_at else "draft"
    if campaign_id is None:
        c = Campaign(tenant_id=actor.tenant_id, name=data.name, segment_id=data.segment_id, action=data.action,
                     params=params, scheduled_at=data.scheduled_at, status=status)
        db.add(c)
        db.flush()
        before = None
    else:
        c = get(db, actor, campaign_id)
        if c.status in ("running", "done"):
            raise Conflict(N_("A campaign that has run cannot be changed."), code="campaign_ran")
        before = {"name": c.name, "action": c.action, "params": c.params}
        c.name, c.segment_id, c.action, c.params, c.scheduled_at, c.status = (
            data.name, data.segment_id, data.action, params, data.scheduled_at, status)
    audit.record(db, actor, "member.campaign.save", target_type="campaign", target_id=c.id, target_label=c.name,
                 before=before, after={"name": c.name, "action": c.action, "params": params, "status": status})
    return campaign_out(db, c)


@use_case
def delete(db: Session, actor: Actor, campaign_id: uuid.UUID) -> None:
    actor.require("member.campaign")
    c = get(db, actor, campaign_id)
    if c.status != "draft" and c.status != "scheduled":
        raise Conflict(N_("A campaign that has run cannot be deleted."), code="campaign_ran")
    audit.record(db, actor, "member.campaign.delete", target_type="campaign", target_id=c.id, target_label=c.name)
    db.delete(c)


def sends(db: Session, actor: Actor, campaign_id: uuid.UUID | None, status: str = "", limit: int = 200
          ) -> list[CampaignSendOut]:
    actor.require("member.view")
    stmt = (select(CampaignSend, Member.name).join(Member, (Member.tenant_id == CampaignSend.tenant_id)
                                                   & (Member.id == CampaignSend.member_id))
            .where(CampaignSend.tenant_id == actor.tenant_id))
    stmt = stmt.where(CampaignSend.campaign_id == campaign_id) if campaign_id else stmt.where(
        CampaignSend.campaign_id.is_(None))
    if status:
        stmt = stmt.where(CampaignSend.status == status)
    rows = db.execute(stmt.order_by(CampaignSend.created_at.desc()).limit(limit)).all()
    return [CampaignSendOut(id=s.id, member_id=s.member_id, member_name=name, channel=s.channel, status=s.status,
                            error=s.error, attempts=s.attempts, sent_at=s.sent_at) for s, name in rows]


def _render(template: str, m: Member, coupon: str = "") -> str:
    return template.replace("{name}", m.name).replace("{card_no}", m.card_no).replace("{coupon}", coupon)


def _deliver(db: Session, actor: Actor, send: CampaignSend, m: Member, subject: str, body: str,
             email: channels.EmailChannel | None) -> None:
    """Send one message on the send's channel; raises ChannelError or marks it skipped."""
    if m.status != "active" or m.marketing_consent_at is None:
        send.status, send.error = "skipped", "no marketing consent"
        return
    if send.channel == "email":
        if not m.email:
            send.status, send.error = "skipped", "no e-mail address"
            return
        if email is None:
            raise channels.ChannelError("SMTP is not configured")
        email.send(m.email, subject or BIRTHDAY_SUBJECT, body)
    else:
        if not m.phone:
            send.status, send.error = "skipped", "no phone"
            return
        channels.sms_provider(db, actor.tenant_id, program.settings(db, actor.tenant_id)).send(
            domain.national_phone(m.phone), body, m.id)
    send.status, send.error, send.sent_at = "sent", "", clock.now()


def _perform(db: Session, actor: Actor, c: Campaign, send: CampaignSend, m: Member,
             email: channels.EmailChannel | None) -> None:
    send.attempts += 1
    try:
        if c.action == "coupon":
            with db.begin_nested():
                coupons.issue_coupon(db, actor, m.id, uuid.UUID(c.params["template_id"]), f"campaign:{c.name}"[:100])
            send.status, send.error, send.sent_at = "sent", "", clock.now()
        elif c.action == "double_points":
            send.status, send.error, send.sent_at = "sent", "", clock.now()
        else:
            p = c.params
            _deliver(db, actor, send, m, p.get("subject", ""), _render(p.get("body", ""), m), email)
    except channels.ChannelError as exc:
        send.status, send.error = "failed", str(exc)[:300]
    except Exception as exc:  # noqa: BLE001 - one member's failure must not stop the campaign
        send.status, send.error = "failed", f"{type(exc).__name__}: {exc}"[:300]


def _email_channel(db: Session, tenant_id: uuid.UUID) -> channels.EmailChannel | None:
    cfg = channels.smtp_config(program.settings(db, tenant_id))
    return channels.EmailChannel(cfg) if cfg else None


def _channel(c: Campaign) -> str:
    return {"coupon": "coupon", "double_points": "points"}.get(c.action) or c.params.get("channel", "sms")


def run(db: Session, actor: Actor, campaign_id: uuid.UUID) -> RunOut:
    """Run a campaign now (commits after each member). Members already reached are not reached twice;
    failed sends are retried (up to the merchant's max attempts)."""
    actor.require("member.campaign")
    c = get(db, actor, campaign_id)
    seg = segments.get(db, actor, c.segment_id)
    f = SegmentFilters.model_validate(seg.filters or {})
    if c.action == "message":
        f = f.model_copy(update={"marketing_consent": True})
    max_attempts = program.settings(db, actor.tenant_id).message_max_attempts
    email = _email_channel(db, actor.tenant_id) if c.action == "message" else None
    c.status, c.last_run_at = "running", clock.now()
    audit.record(db, actor, "member.campaign.run", target_type="campaign", target_id=c.id, target_label=c.name,
                 details={"action": c.action})
    db.commit()
    channel = _channel(c)
    for ids in segments.member_ids(db, actor.tenant_id, f):
        for mid in ids:
            key = f"c:{c.id}:{mid}"
            send = db.scalar(select(CampaignSend).where(CampaignSend.tenant_id == actor.tenant_id,
                                                        CampaignSend.dedupe_key == key))
            if send is None:
                send = CampaignSend(tenant_id=actor.tenant_id, campaign_id=c.id, member_id=mid, dedupe_key=key,
                                    channel=channel, status="pending")
                db.add(send)
            elif send.status in ("sent", "skipped") or send.attempts >= max_attempts:
                continue
            m = db.get(Member, (actor.tenant_id, mid))
            _perform(db, actor, c, send, m, email)
            db.commit()
    c = get(db, actor, campaign_id)
    c.status = "done"
    counts = _counts(db, actor.tenant_id, c.id)
    db.commit()
    return RunOut(campaign_id=c.id, sent=counts.get("sent", 0), failed=counts.get("failed", 0),
                  skipped=counts.get("skipped", 0))


def retry_failed(db: Session, actor: Actor, campaign_id: uuid.UUID | None = None) -> int:
    """Send again what failed (fewer attempts than the maximum). Returns how many went through now."""
    max_attempts = program.settings(db, actor.tenant_id).message_max_attempts
    stmt = select(CampaignSend).where(CampaignSend.tenant_id == actor.tenant_id, CampaignSend.status == "failed",
                                      CampaignSend.attempts < max_attempts)
    if campaign_id:
        stmt = stmt.where(CampaignSend.campaign_id == campaign_id)
    ok = 0
    email = _email_channel(db, actor.tenant_id)
    for send in list(db.scalars(stmt.limit(5000))):
        m = db.get(Member, (actor.tenant_id, send.member_id))
        if send.campaign_id is None:
            send.attempts += 1
            try:
                _deliver(db, actor, send, m, BIRTHDAY_SUBJECT, _render(BIRTHDAY_BODY, m), email)
            except channels.ChannelError as exc:
                send.status, send.error = "failed", str(exc)[:300]
        else:
            _perform(db, actor, get(db, actor, send.campaign_id), send, m, email)
        ok += send.status == "sent"
        db.commit()
    return ok


def run_due(db: Session, actor: Actor) -> list[RunOut]:
    """The scheduler's tick: run every scheduled campaign whose time has come, then retry failures."""
    due = list(db.scalars(select(Campaign.id).where(Campaign.tenant_id == actor.tenant_id,
                                                    Campaign.status == "scheduled",
                                                    Campaign.scheduled_at <= clock.now())))
    out = [run(db, actor, cid) for cid in due]
    retry_failed(db, actor)
    return out


def birthday_run(db: Session, actor: Actor, day: date | None = None) -> RunOut:
    """Daily: members whose birthday is today get the birthday coupon (their tier's, else the merchant's) and,
    if they agreed to marketing, a greeting (e-mail if they gave one, else SMS). Once per member and year."""
    day = day or program.today()
    s = program.settings(db, actor.tenant_id)
    tiers_map = {t.id: t for t in db.scalars(select(MemberTier).where(MemberTier.tenant_id == actor.tenant_id))}
    email = _email_channel(db, actor.tenant_id)
    dates = [(day.month, day.day)]
    if (day.month, day.day) == (2, 28) and not (day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)):
        dates.append((2, 29))
    sent = failed = skipped = 0
    for month, dom in dates:
        members = list(db.scalars(select(Member).where(Member.tenant_id == actor.tenant_id, Member.status == "active",
                                                       Member.birth_month == month, Member.birth_day == dom)))
        for m in members:
            key = f"bday:{day.year}:{m.id}"
            if db.scalar(select(CampaignSend.id).where(CampaignSend.tenant_id == actor.tenant_id,
                                                       CampaignSend.dedupe_key == key)):
                continue
            tier: MemberTier | None = tiers_map.get(m.tier_id) if m.tier_id else None
            template = (tier.birthday_coupon_template_id if tier else None) or s.birthday_coupon_template_id
            code = ""
            if template:
                code = coupons.issue_coupon(db, actor, m.id, template, f"birthday:{day.year}").code
            send = CampaignSend(tenant_id=actor.tenant_id, campaign_id=None, member_id=m.id, dedupe_key=key,
                                channel="email" if m.email else "sms", status="pending", attempts=1)
            db.add(send)
            coupon_text = f"生日券 Birthday coupon: {code}" if code else ""
            try:
                _deliver(db, actor, send, m, BIRTHDAY_SUBJECT, _render(BIRTHDAY_BODY, m, coupon_text), email)
            except channels.ChannelError as exc:
                send.status, send.error = "failed", str(exc)[:300]
            sent += send.status == "sent"
            failed += send.status == "failed"
            skipped += send.status == "skipped"
            db.commit()
    if sent or failed or skipped:
        audit.record(db, actor, "member.birthday.run", target_type="member_program", target_id=actor.tenant_id,
                     target_label=day.isoformat(), details={"sent": sent, "failed": failed, "skipped": skipped})
        db.commit()
    return RunOut(campaign_id=None, sent=sent, failed=failed, skipped=skipped)
