"""Pure rules for accounts: password policy, usernames, lockout and session expiry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from cloudpos.errors import FieldError
from cloudpos.i18n import N_

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{1,39}$")
PIN_RE = re.compile(r"^[0-9]{4,6}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 128


def password_errors(password: str, field: str = "password", username: str = "") -> list[FieldError]:
    errors: list[FieldError] = []
    if len(password) < MIN_PASSWORD:
        errors.append(FieldError(field, N_("Use at least %(n)s characters."), {"n": MIN_PASSWORD}, "too_short"))
    elif len(password) > MAX_PASSWORD:
        errors.append(FieldError(field, N_("Use at most %(n)s characters."), {"n": MAX_PASSWORD}, "too_long"))
    elif password.isdigit() or password.isalpha():
        errors.append(FieldError(field, N_("Mix letters with digits or symbols."), {}, "too_simple"))
    elif username and password.lower() == username.lower():
        errors.append(FieldError(field, N_("The password must differ from the username."), {}, "too_simple"))
    return errors


def username_errors(username: str, field: str = "username") -> list[FieldError]:
    if not USERNAME_RE.match(username or ""):
        return [FieldError(field, N_("2–40 letters, digits, '.', '_' or '-', starting with a letter or digit."),
                           {}, "invalid_username")]
    return []


def pin_errors(pin: str, field: str = "pin") -> list[FieldError]:
    if not PIN_RE.match(pin or ""):
        return [FieldError(field, N_("A PIN is 4 to 6 digits."), {}, "invalid_pin")]
    return []


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int = 5
    window: timedelta = timedelta(minutes=15)
    duration: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class LoginCounters:
    failed_logins: int
    first_failed_at: datetime | None
    locked_until: datetime | None


def is_locked(c: LoginCounters, now: datetime) -> bool:
    return c.locked_until is not None and c.locked_until > now


def after_failure(c: LoginCounters, now: datetime, policy: LockoutPolicy) -> LoginCounters:
    """Count a failed login; the 5th failure within 15 minutes locks the account for 15 minutes."""
    if c.first_failed_at is None or now - c.first_failed_at > policy.window:
        c = LoginCounters(0, now, None)
    failed = c.failed_logins + 1
    locked = now + policy.duration if failed >= policy.threshold else c.locked_until
    return LoginCounters(failed, c.first_failed_at, locked)


def after_success() -> LoginCounters:
    return LoginCounters(0, None, None)


def session_alive(now: datetime, last_seen: datetime, expires_at: datetime, idle: timedelta,
                  revoked: bool) -> bool:
    return not revoked and now < expires_at and now - last_seen < idle
