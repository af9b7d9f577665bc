"""The repository's clients: REST from the installable package ``imagelint_client``
(``clients/python``; the tests and ``make demo`` use it from the checkout), and the gRPC twin,
which needs the server's message translation and so lives here.

    from devtools.client import GrpcClient, RestClient
    with RestClient("http://127.0.0.1:8000") as client:
        report = client.report({"manifest_uri": "file:///data/manifest.jsonl"},
                               on_progress=lambda e: print(e))
    with GrpcClient("127.0.0.1:50051") as client:
        report = client.report({"manifest_uri": "file:///data/manifest.jsonl"})
        weights = client.check("imbalance", {"labels": ["cat", "dog", "dog"]})
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from imagelint_client.rest import ApiError, RestClient

__all__ = ["ApiError", "GrpcApiError", "GrpcClient", "RestClient", "grpc_error"]

# --- gRPC ------------------------------------------------------------------------------------

GRPC_TO_HTTP = {
    "INVALID_ARGUMENT": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
GRPC_MAX_MESSAGE_BYTES = 512 * 1024 * 1024


def _serialize(message: Any) -> bytes:
    """A protobuf message's wire bytes."""
    return message.SerializeToString()


class GrpcApiError(ApiError):
    """A non-OK gRPC status, with the same ``problem`` dict as the REST problem details
    (``code``, ``title``, ``status``, ``detail``, ``field``) read from its rich details."""

    def __init__(self, grpc_code: Any, problem: dict[str, Any], retry_after: float | None = None):
        super().__init__(problem.get("status", 500), problem)
        self.grpc_code = grpc_code
        self.retry_after = retry_after


def grpc_error(error: Any) -> GrpcApiError:
    """A ``grpc.RpcError`` as ``GrpcApiError`` (rich details when the server sent them)."""
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    code = error.code()
    problem: dict[str, Any] = {
        "status": GRPC_TO_HTTP.get(code.name, 500),
        "code": code.name.lower(),
        "title": code.name.replace("_", " ").capitalize(),
        "detail": error.details() or "",
    }
    retry_after = None
    status = rpc_status.from_call(error)
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            problem["code"] = info.reason
            problem["title"] = info.metadata.get("title", problem["title"])
            problem["status"] = int(info.metadata.get("http_status", problem["status"]))
            if "field" in info.metadata:
                problem["field"] = info.metadata["field"]
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            if bad.field_violations:
                problem["field"] = bad.field_violations[0].field
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            retry_after = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
    problem["type"] = f"https://imagelint.dev/problems/{problem['code']}"
    return GrpcApiError(code, problem, retry_after)


def _request_message(payload: dict[str, Any], cls: type) -> Any:
    """A check request's message; ``embeddings`` rows travel as ``embeddings_f32`` (little-endian
    float32 bytes + shape) where the message has it (ragged rows go as rows: the server names them).
    """
    import numpy as np

    from service.grpc_api.translate import message_class, to_message

    rows = payload.get("embeddings")
    fields = message_class(cls).DESCRIPTOR.fields_by_name
    if rows is None or "embeddings_f32" not in fields or payload.get("embeddings_b64") is not None:
        return to_message(payload, cls)
    try:
        matrix = np.asarray(rows)
    except (TypeError, ValueError):
        matrix = None
    if matrix is None or matrix.ndim != 2 or matrix.dtype.kind not in "fiu":
        return to_message(payload, cls)
    matrix = matrix.astype("<f4")
    message = to_message({k: v for k, v in payload.items() if k != "embeddings"}, cls)
    message.embeddings_f32.data = matrix.tobytes()
    message.embeddings_f32.shape[:] = matrix.shape
    return message


def _json_shaped(value: Any) -> Any:
    """What the REST API would send for ``value`` (NaN -> null, and so on)."""
    return msgspec.json.decode(msgspec.json.encode(value))


class GrpcClient:
    """The gRPC twin of ``RestClient`` (``target`` is ``host:port``; plaintext)."""

    def __init__(
        self,
        target: str,
        *,
        api_key: str | None = None,
        timeout: float = 900.0,
        max_message_bytes: int = GRPC_MAX_MESSAGE_BYTES,
    ):
        import grpc

        self._channel = grpc.insecure_channel(
            target,
            options=[
                ("grpc.max_receive_message_length", max_message_bytes),
                ("grpc.max_send_message_length", max_message_bytes),
            ],
        )
        self._metadata = (("x-api-key", api_key),) if api_key else ()
        self._timeout = timeout

    def __enter__(self) -> GrpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _method(self, rpc: Any, *, streaming: bool = False) -> Any:
        from service.grpc_api.contract import SERVICE_FULL_NAME
        from service.grpc_api.translate import message_class

        factory = self._channel.unary_stream if streaming else self._channel.unary_unary
        return factory(
            f"/{SERVICE_FULL_NAME}/{rpc.method}",
            request_serializer=_serialize,
            response_deserializer=message_class(rpc.response).FromString,
        )

    def ready(self) -> bool:
        """The server's health status for the service is SERVING (Triton's model is ready)."""
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        from service.grpc_api.contract import SERVICE_FULL_NAME

        try:
            # grpcio-health-checking's stub sets Check in __init__ with no type pyright can see
            answer = health_pb2_grpc.HealthStub(self._channel).Check(  # pyright: ignore[reportAttributeAccessIssue]
                health_pb2.HealthCheckRequest(service=SERVICE_FULL_NAME), timeout=5.0
            )
        except grpc.RpcError:
            return False
        return answer.status == health_pb2.HealthCheckResponse.SERVING

    def report(
        self,
        dataset: dict[str, Any],
        *,
        checks: Iterable[str] | None = None,
        options: dict[str, Any] | None = None,
        policy: dict[str, Any] | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Run a full report over the ``Analyze`` stream; each progress event (the same dict as
        REST's NDJSON ``progress`` event) goes to ``on_progress``; returns the report."""
        import grpc

        from service.grpc_api.contract import ANALYZE, Progress
        from service.grpc_api.translate import from_message, to_message
        from service.report.models import Report

        body: dict[str, Any] = {"dataset": dataset}
        if checks is not None:
            body["checks"] = list(checks)
        if options:
            body["options"] = options
        if policy is not None:
            body["policy"] = policy
        request = to_message(body, ANALYZE.request)
        report = None
        try:
            for event in self._method(ANALYZE, streaming=True)(
                request, timeout=self._timeout, metadata=self._metadata
            ):
                kind = event.WhichOneof("event")
                if kind == "report":
                    report = _json_shaped(from_message(event.report, Report))
                elif kind == "progress" and on_progress is not None:
                    progress = msgspec.to_builtins(from_message(event.progress, Progress))
                    on_progress({"event": "progress", **progress})
        except grpc.RpcError as exc:
            raise grpc_error(exc) from None
        if report is None:
            raise ApiError(502, {"code": "stream_ended", "detail": "stream ended without a report"})
        return report

    def check(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        """One check RPC, named like the REST route (``sample-size``, ``imbalance``, ...)."""
        import grpc

        from service.grpc_api.contract import CHECKS_BY_ROUTE
        from service.grpc_api.translate import from_message

        rpc = CHECKS_BY_ROUTE.get(name)
        if rpc is None:
            raise ValueError(f"unknown check {name!r}; valid: {sorted(CHECKS_BY_ROUTE)}")
        try:
            answer = self._method(rpc)(
                _request_message(payload, rpc.request),
                timeout=self._timeout,
                metadata=self._metadata,
            )
        except grpc.RpcError as exc:
            raise grpc_error(exc) from None
        return _json_shaped(from_message(answer, rpc.response))
