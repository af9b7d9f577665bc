"""Errors -> gRPC status, consistently with the HTTP problem details.

The code follows the error's HTTP status (``HTTP_TO_GRPC``: 400 and 422 -> INVALID_ARGUMENT,
429 -> RESOURCE_EXHAUSTED, 503 -> UNAVAILABLE, 504 -> DEADLINE_EXCEEDED, ...), so a new error
class maps the same way on both transports; ``REASON_TO_GRPC`` names the few exceptions
(``job_not_ready`` -> FAILED_PRECONDITION). The status carries rich details
(``grpc-status-details-bin``, read with ``grpc_status.rpc_status.from_call``):

- ``google.rpc.ErrorInfo``: ``reason`` = the problem's ``code`` (``invalid_input``,
  ``too_many_requests``, ...), ``domain`` = ``imagelint.dev``, metadata ``title``, ``http_status``
  and ``field`` when known;
- ``google.rpc.BadRequest`` naming the field (``options.mislabels.folds``) for INVALID_ARGUMENT;
- ``google.rpc.RetryInfo`` when the caller should retry later (plus a plain ``retry-after``
  trailing metadata entry, in seconds, for clients without grpcio-status).
"""

from __future__ import annotations

import logging
import math
import re

import grpc
import msgspec
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from service.errors import ImagelintError, InvalidRequest
from service.problems import INTERNAL_ERROR_DETAIL

log = logging.getLogger("imagelint.grpc")
DOMAIN = "imagelint.dev"

HTTP_TO_GRPC: dict[int, grpc.StatusCode] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ABORTED,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,  # as gRPC itself answers a message over the size limit
    422: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    499: grpc.StatusCode.CANCELLED,
    500: grpc.StatusCode.INTERNAL,
    501: grpc.StatusCode.UNIMPLEMENTED,
    502: grpc.StatusCode.INTERNAL,  # Triton answered with an error: not worth retrying
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}

# Where gRPC has a closer code than the HTTP status's: a job's report asked for before the job
# succeeded is a precondition of the call, not a concurrency conflict (ABORTED) to retry at once.
REASON_TO_GRPC: dict[str, grpc.StatusCode] = {
    "job_not_ready": grpc.StatusCode.FAILED_PRECONDITION,
}


def validation_field(message: str) -> str:
    """The dotted field path in a msgspec validation message (``$.options.folds`` -> ...)."""
    path = ""
    if "- at `" in message:
        path = message.rsplit("- at `", 1)[1].rstrip("`").removeprefix("$").removeprefix(".")
    match = re.match(r"Object (?:missing required|contains unknown) field `([^`]+)`", message)
    if match:
        path = f"{path}.{match.group(1)}" if path else match.group(1)
    return path


def as_imagelint_error(exc: BaseException, *, request_id: str | None = None) -> ImagelintError:
    """Any exception as the error the REST API would report for it."""
    if isinstance(exc, ImagelintError):
        return exc
    if isinstance(exc, RecursionError):
        return InvalidRequest("the request is nested too deeply")
    if isinstance(exc, msgspec.ValidationError):
        error = InvalidRequest(str(exc), field=validation_field(str(exc)) or None)
        error.code = "validation_error"
        error.title = "Request validation failed"
        return error
    log.error("unexpected error in a gRPC call (request %s)", request_id, exc_info=exc)
    return ImagelintError(INTERNAL_ERROR_DETAIL)


def _pack(message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def status_for(exc: BaseException, *, request_id: str | None = None) -> grpc.Status:
    """The gRPC status (code, message, rich details in trailing metadata) of an exception;
    ``request_id`` goes into the ErrorInfo metadata and an ``x-request-id`` trailing entry."""
    error = as_imagelint_error(exc, request_id=request_id)
    code = REASON_TO_GRPC.get(error.code) or HTTP_TO_GRPC.get(
        error.status, grpc.StatusCode.INTERNAL
    )
    message = f"{error.field}: {error.detail}" if error.field else error.detail
    info = error_details_pb2.ErrorInfo(reason=error.code, domain=DOMAIN)
    info.metadata["title"] = error.title
    info.metadata["http_status"] = str(error.status)
    if error.field:
        info.metadata["field"] = error.field
    if request_id:
        info.metadata["request_id"] = request_id
    details = [_pack(info)]
    if code == grpc.StatusCode.INVALID_ARGUMENT and error.field:
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=error.field, description=error.detail
        )
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[violation])))
    retry_after = error.retry_after
    seconds = max(1, math.ceil(retry_after)) if retry_after is not None else None
    if seconds is not None:
        details.append(
            _pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=seconds)))
        )
    status = rpc_status.to_status(
        status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=details)
    )
    extra: tuple[tuple[str, str], ...] = ()
    if seconds is not None:
        extra += (("retry-after", str(seconds)),)
    if request_id:
        extra += (("x-request-id", request_id),)
    if extra:
        return _Status(status.code, status.details, (*status.trailing_metadata, *extra))
    return status


class _Status(grpc.Status):
    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: tuple) -> None:
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


async def abort(
    context: grpc.aio.ServicerContext, exc: BaseException, *, request_id: str | None = None
) -> None:
    """End the call with the status of ``exc`` (raises ``grpc.aio.AbortError``)."""
    status = status_for(exc, request_id=request_id)
    await context.abort(status.code, status.details, status.trailing_metadata)
