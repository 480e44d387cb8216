"""Render errors as application/problem+json (RFC 9457), translated into the request's locale."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from cloudpos.errors import FieldError, Invalid, Problem
from cloudpos.i18n import gettext

PROBLEM_JSON = "application/problem+json"


def problem_body(p: Problem, locale: str, instance: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://cloudpos.dev/problems/{p.code}",
        "title": gettext(p.title, locale),
        "status": p.status,
        "code": p.code,
        "detail": gettext(p.detail, locale, **p.params) if p.params else gettext(p.detail, locale),
        "errors": [
            {"field": e.field, "code": e.code,
             "message": gettext(e.message, locale, **e.params) if e.params else gettext(e.message, locale)}
            for e in p.errors
        ],
    }
    if instance:
        body["instance"] = instance
    body.update(p.extra)
    return body


def problem_response(p: Problem, request: Request) -> JSONResponse:
    locale = getattr(request.state, "locale", "zh_CN")
    headers = {"WWW-Authenticate": "Bearer"} if p.status == 401 else None
    return JSONResponse(problem_body(p, locale, request.url.path), status_code=p.status,
                        media_type=PROBLEM_JSON, headers=headers)


_PYDANTIC_MESSAGES = {
    "missing": "This field is required.",
    "extra_forbidden": "Unknown field.",
    "string_too_short": "Too short (at least %(min_length)s characters).",
    "string_too_long": "Too long (at most %(max_length)s characters).",
    "string_type": "Must be text.",
    "int_type": "Must be a whole number.",
    "int_parsing": "Must be a whole number.",
    "bool_type": "Must be true or false.",
    "bool_parsing": "Must be true or false.",
    "uuid_parsing": "Must be a valid id.",
    "uuid_type": "Must be a valid id.",
    "list_type": "Must be a list.",
    "dict_type": "Must be an object.",
    "model_attributes_type": "Must be an object.",
    "greater_than_equal": "Must be at least %(ge)s.",
    "less_than_equal": "Must be at most %(le)s.",
    "greater_than": "Must be more than %(gt)s.",
    "less_than": "Must be less than %(lt)s.",
    "string_pattern_mismatch": "Has the wrong format.",
    "too_long": "Too many items (at most %(max_length)s).",
    "too_short": "Too few items (at least %(min_length)s).",
    "json_invalid": "The body is not valid JSON.",
    "datetime_parsing": "Must be a date and time (ISO 8601).",
    "datetime_from_date_parsing": "Must be a date and time (ISO 8601).",
    "date_parsing": "Must be a date (YYYY-MM-DD).",
    "date_from_datetime_parsing": "Must be a date (YYYY-MM-DD).",
    "enum": "Must be one of: %(expected)s.",
    "literal_error": "Must be one of: %(expected)s.",
    "int_from_float": "Must be a whole number.",
    "decimal_parsing": "Must be a decimal number.",
    "value_error": "Invalid value.",
}


def field_errors_from_pydantic(errors: list[dict[str, Any]]) -> list[FieldError]:
    out = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header", "cookie")]
        etype = e.get("type", "value_error")
        template = _PYDANTIC_MESSAGES.get(etype)
        ctx = {k: (v if isinstance(v, int | str) else str(v)) for k, v in (e.get("ctx") or {}).items()}
        if template is None:
            template, ctx = "Invalid value.", {}
        out.append(FieldError(".".join(loc) or "body", template, ctx, etype))
    return out


def validation_problem(exc: RequestValidationError) -> Invalid:
    return Invalid(errors=field_errors_from_pydantic(list(exc.errors())))
