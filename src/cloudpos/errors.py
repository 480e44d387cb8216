"""Errors every layer can raise; the web layer renders them as application/problem+json (RFC 9457).

`detail` and field messages are English source strings (marked with N_) translated when rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FieldError:
    field: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)
    code: str = "invalid"


class Problem(Exception):
    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        errors: list[FieldError] | None = None,
        params: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.title
        if code:
            self.code = code
        if status:
            self.status = status
        self.errors = errors or []
        self.params = params or {}
        self.extra = extra or {}
        super().__init__(self.detail)


class Invalid(Problem):
    status, code, title = 422, "validation_error", "The request has invalid fields."


class Unauthorized(Problem):
    status, code, title = 401, "unauthorized", "Please log in."


class Forbidden(Problem):
    status, code, title = 403, "permission_denied", "You do not have permission to do this."


class NotFound(Problem):
    status, code, title = 404, "not_found", "Not found."


class Conflict(Problem):
    status, code, title = 409, "conflict", "The request conflicts with the current state."


class Locked(Problem):
    status, code, title = 423, "account_locked", "The account is locked."


class TooLarge(Problem):
    status, code, title = 413, "payload_too_large", "The request body is too large."


class ApprovalRequired(Problem):
    """The operation needs a manager: either their credentials now, or an approval request (see approvals)."""

    status, code, title = 403, "approval_required", "This operation needs a manager's approval."
