"""Helpers for the HTML forms: read the posted fields, turn a Problem into inline errors,
redirect after a successful POST (303, ?flash=code) and keep ?next= on our own site."""

from __future__ import annotations

import re
import uuid
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from cloudpos.errors import Invalid, Problem
from cloudpos.i18n import N_, gettext
from cloudpos.web.problems import field_errors_from_pydantic

M = TypeVar("M", bound=BaseModel)

_SAFE_NEXT = re.compile(r"^/(?![/\\])[^\s\x00-\x1f]*$")


async def form_data(request: Request) -> FormData:
    """A dependency: the posted form (urlencoded or multipart); empty for other bodies."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        try:
            return await request.form()
        except Exception:  # noqa: BLE001 - a malformed body is treated as an empty form
            return FormData()
    return FormData()


def text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value if isinstance(value, str) else default


def texts(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str)]


def checked(form: FormData, name: str) -> bool:
    return text(form, name) in ("1", "on", "true", "yes")


def parse_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def build(model: type[M], data: dict[str, Any]) -> M:
    """Validate form fields with the API's own request model; errors become an Invalid problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = field_errors_from_pydantic(list(exc.errors()))
        for e in errors:  # an empty required text field: say so, not "too short (at least 1 characters)"
            if e.code == "string_too_short" and e.params.get("min_length") == 1:
                e.message, e.params, e.code = N_("This field is required."), {}, "missing"
        raise Invalid(errors=errors) from None


def problem_errors(p: Problem, locale: str, fields: set[str] | None = None) -> tuple[dict[str, str], str]:
    """(field → translated message, general message) for re-rendering a form.

    A field error on a field the form does not show (or any detail without field errors)
    becomes the general message shown above the form.
    """
    errors: dict[str, str] = {}
    general: list[str] = []
    for e in p.errors:
        msg = gettext(e.message, locale, **e.params) if e.params else gettext(e.message, locale)
        name = e.field.split(".")[0]
        if fields is None or name in fields:
            errors.setdefault(name, msg)
        else:
            general.append(msg)
    if not p.errors or not isinstance(p, Invalid):
        general.insert(0, gettext(p.detail, locale, **p.params) if p.params else gettext(p.detail, locale))
    return errors, " ".join(dict.fromkeys(general))


def redirect(url: str, flash: str | None = None) -> RedirectResponse:
    if flash:
        url += ("&" if "?" in url else "?") + f"flash={quote(flash)}"
    return RedirectResponse(url, status_code=303)


def safe_next(value: str | None, default: str = "/") -> str:
    """Only a relative path on this site (no scheme, no //host, no backslash tricks)."""
    if value and len(value) <= 500 and _SAFE_NEXT.match(value) and not value.startswith("/logout"):
        return value
    return default
