"""Message channels: e-mail over real SMTP (smtplib) and an SMS provider interface whose default driver
writes to the `member_sms_outbox` table (shown in the back office) until a gateway is plugged in."""

from __future__ import annotations

import os
import smtplib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloudpos.context import Actor
from cloudpos.members.models import SmsOutbox
from cloudpos.members.schemas import ProgramSettings, SmsOut


class ChannelError(Exception):
    """A send failed; the message says why (recorded on the send, which is retried)."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    user: str = ""
    password: str = ""
    sender: str = ""
    starttls: bool = False
    timeout: float = 10.0


def smtp_config(s: ProgramSettings) -> SmtpConfig | None:
    """The merchant's SMTP settings, else CLOUDPOS_SMTP_HOST/PORT/USER/PASSWORD/FROM/STARTTLS."""
    env = os.environ.get
    host = s.smtp_host or env("CLOUDPOS_SMTP_HOST", "")
    if not host:
        return None
    port = s.smtp_port if s.smtp_host else int(env("CLOUDPOS_SMTP_PORT", "25") or 25)
    return SmtpConfig(host=host, port=port, user=s.smtp_user or env("CLOUDPOS_SMTP_USER", ""),
                      password=s.smtp_password or env("CLOUDPOS_SMTP_PASSWORD", ""),
                      sender=s.smtp_from or env("CLOUDPOS_SMTP_FROM", "") or "noreply@cloudpos.local",
                      starttls=s.smtp_starttls or env("CLOUDPOS_SMTP_STARTTLS", "") in ("1", "true", "yes"))


class EmailChannel:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def send(self, to: str, subject: str, body: str) -> None:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.config.sender, to, subject
        msg["Date"], msg["Message-ID"] = formatdate(localtime=False), make_msgid(domain="cloudpos.local")
        msg.set_content(body)
        try:
            with smtplib.SMTP(self.config.host, self.config.port, timeout=self.config.timeout) as smtp:
                if self.config.starttls:
                    smtp.starttls()
                if self.config.user:
                    smtp.login(self.config.user, self.config.password)
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(f"{type(exc).__name__}: {exc}"[:300]) from exc


class SmsProvider(Protocol):
    def send(self, phone: str, body: str, member_id: uuid.UUID | None = None) -> None: ...


class OutboxSms:
    """Default SMS driver: the message is written to the outbox (in the caller's transaction)."""

    def __init__(self, db: Session, tenant_id: uuid.UUID) -> None:
        self.db, self.tenant_id = db, tenant_id

    def send(self, phone: str, body: str, member_id: uuid.UUID | None = None) -> None:
        self.db.add(SmsOutbox(tenant_id=self.tenant_id, phone=phone, body=body[:500], member_id=member_id))
        self.db.flush()


_SMS_DRIVERS: dict[str, Callable[[Session, uuid.UUID], SmsProvider]] = {"outbox": OutboxSms}


def register_sms_driver(name: str, factory: Callable[[Session, uuid.UUID], SmsProvider]) -> None:
    """A real gateway (Aliyun, Tencent Cloud…) registers here and is chosen by the `sms_driver` setting."""
    _SMS_DRIVERS[name] = factory


def sms_provider(db: Session, tenant_id: uuid.UUID, s: ProgramSettings) -> SmsProvider:
    return _SMS_DRIVERS.get(s.sms_driver, OutboxSms)(db, tenant_id)


def outbox(db: Session, actor: Actor, page: int = 1, page_size: int = 50) -> tuple[list[SmsOut], int]:
    actor.require("member.campaign")
    cond = SmsOutbox.tenant_id == actor.tenant_id
    total = db.scalar(select(func.count()).where(cond)) or 0
    rows = db.scalars(select(SmsOutbox).where(cond).order_by(SmsOutbox.created_at.desc())
                      .offset((page - 1) * page_size).limit(page_size))
    return [SmsOut(id=r.id, phone=r.phone, body=r.body, status=r.status, created_at=r.created_at) for r in rows], total
