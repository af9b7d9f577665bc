"""RFC 9457 problem details for every error response.

One mapping for the project's ``ImagelintError`` tree, Litestar's own HTTP errors (validation
errors name the field) and anything unexpected (a generic 500 — never a stack trace or an
internal address).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from service.api.request_id import request_id_of
from service.errors import ImagelintError
from service.problems import internal_error_body, problem_body

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("imagelint.api")

_STATUS_CODES = {
    400: ("invalid_request", "Invalid request"),
    401: ("unauthorized", "Missing or invalid API key"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    413: ("payload_too_large", "Payload too large"),
    422: ("invalid_input", "Invalid input"),
    415: ("unsupported_media_type", "Unsupported media type"),
    429: ("too_many_requests", "Too many requests"),
    500: ("internal_error", "Internal error"),
    502: ("inference_failed", "Inference server returned an error"),
    503: ("unavailable", "Service unavailable"),
    504: ("timeout", "Timed out"),
}


class FieldError(msgspec.Struct):
    field: str
    message: str


class ProblemDetails(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details, as every 4xx/5xx response of this API carries them."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    field: str | None = None
    errors: list[FieldError] | None = None
    request_id: str | None = None  # also the X-Request-Id response header; quote it in reports


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries documenting problem+json responses for ``statuses``."""
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            description=_STATUS_CODES.get(status, ("", "Error"))[1],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in statuses
    }


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    retry_after: float | None = None,
    field: str | None = None,
    request_id: str | None = None,
) -> Response:
    """A problem+json response (see ``problem_body``), with Retry-After when given."""
    body = problem_body(
        status,
        code,
        title,
        detail,
        instance=instance,
        errors=errors,
        field=field,
        request_id=request_id,
    )
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_errors(extra: Any) -> list[dict[str, Any]]:
    """Litestar's validation ``extra`` as [{field, message}] (the field named, dotted path)."""
    errors: list[dict[str, Any]] = []
    for entry in extra if isinstance(extra, list) else []:
        if isinstance(entry, dict):
            key = entry.get("key") or entry.get("source") or ""
            message = str(entry.get("message", ""))
            errors.append({"field": _clean_field(str(key), message), "message": message})
    return errors


def _clean_field(key: str, message: str) -> str:
    # msgspec messages look like "Expected `int`, got `str` - at `$.options.folds`" or
    # "Object contains unknown field `bogus` - at `$.options`".
    path = key
    if "- at `" in message:
        path = message.rsplit("- at `", 1)[1].rstrip("`").removeprefix("$.").removeprefix("$")
    elif key == "data":
        path = ""
    if message.startswith(("Object contains unknown field `", "Object missing required field `")):
        unknown = message.split("`", 2)[1]
        path = f"{path}.{unknown}" if path else unknown
    return path or key


def handle_imagelint_error(request: Request, exc: ImagelintError) -> Response:
    return problem(
        exc.status,
        exc.code,
        exc.title,
        exc.detail,
        instance=request.url.path,
        retry_after=exc.retry_after,
        field=exc.field,
        request_id=request_id_of(request.scope),
    )


def handle_validation_error(request: Request, exc: ValidationException) -> Response:
    errors = _field_errors(exc.extra)
    detail = exc.detail or "Validation failed"
    if errors and errors[0]["field"]:
        detail = f"{errors[0]['field']}: {errors[0]['message']}"
    return problem(
        400,
        "validation_error",
        "Request validation failed",
        detail,
        instance=request.url.path,
        errors=errors,
        field=errors[0]["field"] if errors else None,
        request_id=request_id_of(request.scope),
    )


def handle_http_exception(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    code, title = _STATUS_CODES.get(status, ("http_error", "HTTP error"))
    detail = exc.detail if status < 500 else title
    headers_retry = None
    if exc.headers and "Retry-After" in exc.headers:
        headers_retry = float(exc.headers["Retry-After"])
    return problem(
        status,
        code,
        title,
        str(detail),
        instance=request.url.path,
        retry_after=headers_retry,
        request_id=request_id_of(request.scope),
    )


def handle_too_deep(request: Request, exc: RecursionError) -> Response:
    """A body nested deeper than the decoder's recursion limit (e.g. 1000 levels of ``[``): 400."""
    return problem(
        400,
        "invalid_request",
        "Invalid request",
        "the request body is nested too deeply",
        instance=request.url.path,
        request_id=request_id_of(request.scope),
    )


def handle_unexpected(request: Request, exc: Exception) -> Response:
    request_id = request_id_of(request.scope)
    log.error("unhandled error on %s (request %s)", request.url.path, request_id, exc_info=exc)
    return Response(
        content=internal_error_body(request.url.path, request_id=request_id),
        status_code=500,
        media_type=PROBLEM_JSON,
    )


EXCEPTION_HANDLERS = {
    ImagelintError: handle_imagelint_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_exception,
    RecursionError: handle_too_deep,
    Exception: handle_unexpected,
}

__all__ = [
    "EXCEPTION_HANDLERS",
    "PROBLEM_JSON",
    "MediaType",
    "ProblemDetails",
    "problem",
    "problem_responses",
]
