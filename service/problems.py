"""RFC 9457 problem details as plain dicts, for every transport and for stored jobs.

The HTTP error responses (``service.api.problems``), the NDJSON stream's ``error`` event and a
failed job's ``error`` carry these bodies; the gRPC status (``service.grpc_api.status``) says the
same ``code``, ``title`` and ``detail`` in its rich details.
"""

from __future__ import annotations

from typing import Any

from service.errors import ImagelintError

PROBLEM_TYPE_BASE = "https://imagelint.dev/problems/"
INTERNAL_ERROR_DETAIL = "The server hit an unexpected error; it has been logged."


def problem_body(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    field: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The RFC 9457 body; ``code`` is stable and also forms ``type``."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    if field:
        body["field"] = field
    if errors:
        body["errors"] = errors
    if request_id:
        body["request_id"] = request_id
    return body


def error_body(
    exc: ImagelintError, *, instance: str | None = None, request_id: str | None = None
) -> dict[str, Any]:
    """The problem body of one of the project's errors (HTTP responses and NDJSON error events)."""
    return problem_body(
        exc.status,
        exc.code,
        exc.title,
        exc.detail,
        instance=instance,
        field=exc.field,
        request_id=request_id,
    )


def internal_error_body(
    instance: str | None = None, *, request_id: str | None = None
) -> dict[str, Any]:
    return problem_body(
        500,
        "internal_error",
        "Internal error",
        INTERNAL_ERROR_DETAIL,
        instance=instance,
        request_id=request_id,
    )
