"""A campaign sends REAL e-mail over SMTP to a local aiosmtpd server: only members who agreed to marketing
receive it; a refused recipient does not stop the campaign and is retried later. The birthday job sends
the greeting with the birthday coupon."""

from __future__ import annotations

from datetime import date
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from cloudpos.context import system_actor
from cloudpos.members import campaigns, program, segments, service
from cloudpos.members.models import CampaignSend, SmsOutbox
from cloudpos.members.schemas import CampaignIn, MemberIn, MemberPatch, ProgramPatch, SegmentIn, TierPatch
from cloudpos.pricing import coupons as pricing_coupons
from cloudpos.pricing.schemas import CouponTemplateIn
from cloudpos.web.threaded import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], object]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd API
        if address in self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted"

    def recipients(self) -> set[str]:
        return {r for tos, _ in self.messages for r in tos}


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def _session(app, tenant_id):
    s = app.state.sessionmaker()
    s.info["tenant_id"] = tenant_id
    return s


def test_campaign_email_only_to_consenting_members(app, merchant, smtp):
    inbox, port = smtp
    tenant = merchant.tenant_id
    actor = system_actor(tenant, "marketing")
    with _session(app, tenant) as db:
        program.update_settings(db, actor, ProgramPatch(smtp_host="127.0.0.1", smtp_port=port,
                                                        smtp_from="shop@example.com"))
    people = [("yes1@example.com", True), ("yes2@example.com", True), ("refused@example.com", True),
              ("no@example.com", False), ("", True)]
    ids = {}
    for i, (email, consent) in enumerate(people):
        with _session(app, tenant) as db:
            m = service.register(db, actor, MemberIn(phone=f"1365550{1000 + i}", name=f"会员{i}", email=email,
                                                     marketing_consent=consent))
            ids[email or f"noemail{i}"] = m.id
    inbox.refuse.add("refused@example.com")
    with _session(app, tenant) as db:
        seg = segments.save(db, actor, SegmentIn(name="全部会员"))
        camp = campaigns.save(db, actor, CampaignIn(name="双十二", segment_id=seg.id, action="message",
                                                    channel="email", subject="双十二特惠",
                                                    body="{name}您好，全场八折！"))
    with _session(app, tenant) as db:
        out = campaigns.run(db, actor, camp.id)
    assert inbox.recipients() == {"yes1@example.com", "yes2@example.com"}
    assert (out.sent, out.failed, out.skipped) == (2, 1, 1)  # refused fails; no e-mail address: skipped
    _, msg = inbox.messages[0]
    assert str(make_header(decode_header(msg["Subject"]))) == "双十二特惠"
    assert "全场八折" in msg.get_payload(decode=True).decode("utf-8")
    with _session(app, tenant) as db:
        failed = db.scalar(select(CampaignSend).where(CampaignSend.tenant_id == tenant,
                                                      CampaignSend.status == "failed"))
        assert failed.member_id == ids["refused@example.com"] and "550" in failed.error and failed.attempts == 1
    inbox.refuse.clear()
    with _session(app, tenant) as db:
        assert campaigns.retry_failed(db, actor, camp.id) == 1
    assert "refused@example.com" in inbox.recipients()
    assert "no@example.com" not in inbox.recipients()
    with _session(app, tenant) as db:  # running again reaches nobody twice
        out = campaigns.run(db, actor, camp.id)
    assert len(inbox.messages) == 3 and out.sent == 3


def test_birthday_run_sends_greeting_with_coupon(app, merchant, smtp):
    inbox, port = smtp
    tenant = merchant.tenant_id
    actor = system_actor(tenant, "birthday")
    with _session(app, tenant) as db:
        template = pricing_coupons.create_template(db, actor, CouponTemplateIn(
            name="生日券", kind="amount_off", value=1000)).id
    today = program.today()
    born = date(1990, today.month, min(today.day, 28))
    with _session(app, tenant) as db:
        program.update_settings(db, actor, ProgramPatch(smtp_host="127.0.0.1", smtp_port=port))
    with _session(app, tenant) as db:
        a = service.register(db, actor, MemberIn(phone="13655510001", name="寿星", email="bday@example.com",
                                                 birthday=born, marketing_consent=True))
    with _session(app, tenant) as db:
        b = service.register(db, actor, MemberIn(phone="13655510002", name="短信寿星", birthday=born,
                                                 marketing_consent=True))
    with _session(app, tenant) as db:
        service.register(db, actor, MemberIn(phone="13655510003", name="不打扰", birthday=born))
    with _session(app, tenant) as db:
        tier_id = service.tiers.ensure_tiers(db, actor)[0].id
        db.commit()
        service.tiers.update_tier(db, actor, tier_id, TierPatch(birthday_coupon_template_id=template))
    with _session(app, tenant) as db:
        service.update(db, actor, b.id, MemberPatch(email=""))
    day = today if today.day <= 28 else today.replace(day=28)
    with _session(app, tenant) as db:
        out = campaigns.birthday_run(db, actor, day)
    assert (out.sent, out.skipped) == (2, 1)
    assert inbox.recipients() == {"bday@example.com"}
    body = inbox.messages[0][1].get_payload(decode=True).decode("utf-8")
    with _session(app, tenant) as db:
        coupons = pricing_coupons.list_coupons(db, actor, template_id=template)[0]
        assert len(coupons) == 3 and all(c.member_id for c in coupons)  # coupon for everyone
        assert all(c.issued_reason == f"birthday:{day.year}" for c in coupons)
        code = next(c.code for c in coupons if c.member_id == a.id)
        sms = list(db.scalars(select(SmsOutbox).where(SmsOutbox.tenant_id == tenant)))
        assert len(sms) == 1 and sms[0].phone == "13655510002"
    assert code in body
    with _session(app, tenant) as db:  # once a year
        assert campaigns.birthday_run(db, actor, day).sent == 0
