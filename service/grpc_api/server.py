"""The gRPC server: ``grpc.aio`` in the API's process and event loop, started by the app lifespan.

    lifespan=[lifespan, grpc_lifespan]     # in service.app.create_app (after the Triton client)

Serves ``imagelint.v1.DatasetQuality`` (handlers dispatched from ``contract.RPCS``), the standard
health service ``grpc.health.v1.Health`` (SERVING only while Triton's model is ready, polled every
``ready_cache_s`` with the same readiness check as ``/health/ready``) and server reflection. Two
interceptors: API keys (the same ``IMAGELINT_API_KEYS`` as REST, as ``x-api-key`` or
``authorization: Bearer`` metadata; health and reflection stay open like ``/health``) and metrics
(calls by method and status code, latency). Reports take a slot of the same ``ReportSlots`` as
REST, so the concurrency limit holds across both transports.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import grpc
import msgspec
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from service import jobs_api
from service.admission import check_request_cost
from service.auth import key_matches
from service.errors import InvalidRequest
from service.grpc_api.contract import (
    ANALYZE,
    CANCEL_JOB,
    CHECK_RPCS,
    GET_JOB,
    GET_JOB_REPORT,
    SERVICE_FULL_NAME,
    SUBMIT_JOB,
    WATCH_JOB,
    AnalyzeEvent,
    JobEvent,
    JobRef,
    Progress,
    Rpc,
    SubmitJobRequest,
)
from service.grpc_api.status import abort
from service.grpc_api.translate import from_message, message_class, to_message
from service.report.models import Report
from service.report.pipeline import Dependencies
from service.report.stream import ReportDone, ReportProgress, stream_report
from service.request_ids import REQUEST_ID_HEADER, well_formed_request_id

log = logging.getLogger("imagelint.grpc")
HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
STOP_GRACE_S = 5.0
MAX_REPORT_MESSAGE_BYTES = 512 * 1024 * 1024
# The memory budget is calibrated on JSON bodies (~19 bytes per float); protobuf carries a float in
# 4 (embeddings_f32) or 8 bytes and the check works on the same Python floats: count it as JSON.
JSON_BYTES_PER_WIRE_BYTE = 4


def _serialize(message: Any) -> bytes:
    return message.SerializeToString()


def _metadata(context: grpc.aio.ServicerContext) -> dict[str, str]:
    return {k.lower(): v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}


def presented_key(metadata: dict[str, str]) -> str | None:
    """The API key of a call: ``x-api-key``, else ``authorization: Bearer <key>`` (as REST)."""
    key = metadata.get("x-api-key")
    if key:
        return key
    scheme, _, value = metadata.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _request_id(context: grpc.aio.ServicerContext) -> str:
    """The caller's well-formed ``x-request-id`` metadata, or a fresh id; sent back as trailing
    metadata on every outcome (and in the ErrorInfo of an error status)."""
    return well_formed_request_id(_metadata(context).get(REQUEST_ID_HEADER))


def _raw(data: bytes) -> bytes:
    # Requests are parsed in the handler, where a malformed message becomes INVALID_ARGUMENT
    # (and is counted) instead of the UNKNOWN that a failing deserializer gives.
    return data


def _parse(message_type: Any, data: bytes) -> Any:
    from google.protobuf.message import DecodeError

    from service.errors import InvalidRequest

    try:
        return message_type.FromString(data)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise InvalidRequest(
            f"the request is not a valid {message_type.DESCRIPTOR.full_name} message"
        ) from exc


class DatasetQualityServicer:
    """The RPCs of ``contract.RPCS``; translation only, the work is ``run_report`` and the checks."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def generic_handler(self) -> grpc.GenericRpcHandler:
        handlers = {
            ANALYZE.method: grpc.unary_stream_rpc_method_handler(
                self.analyze,
                request_deserializer=_raw,
                response_serializer=_serialize,
            )
        }
        for rpc in CHECK_RPCS:
            handlers[rpc.method] = grpc.unary_unary_rpc_method_handler(
                functools.partial(self.check, rpc),
                request_deserializer=_raw,
                response_serializer=_serialize,
            )
        jobs: tuple[tuple[Rpc, Callable[[Any, grpc.aio.ServicerContext], Any]], ...] = (
            (SUBMIT_JOB, self.submit_job),
            (GET_JOB, self.get_job),
            (GET_JOB_REPORT, self.get_job_report),
            (CANCEL_JOB, self.cancel_job),
        )
        for rpc, run in jobs:
            handlers[rpc.method] = grpc.unary_unary_rpc_method_handler(
                functools.partial(self.job_call, rpc, run),
                request_deserializer=_raw,
                response_serializer=_serialize,
            )
        handlers[WATCH_JOB.method] = grpc.unary_stream_rpc_method_handler(
            self.watch_job, request_deserializer=_raw, response_serializer=_serialize
        )
        return grpc.method_handlers_generic_handler(SERVICE_FULL_NAME, handlers)

    def dependencies(self) -> Dependencies:
        return Dependencies.from_state(self.state)

    async def check(self, rpc: Rpc, request: bytes, context: grpc.aio.ServicerContext) -> Any:
        request_id = _request_id(context)
        context.set_trailing_metadata(((REQUEST_ID_HEADER, request_id),))
        budget = getattr(self.state, "memory_budget", None)
        taken = 0
        try:
            # The same memory budget as /v1/checks/* (RESOURCE_EXHAUSTED when it is in use).
            if budget is not None:
                as_json = JSON_BYTES_PER_WIRE_BYTE
                limit = self.state.settings.max_body_bytes * as_json
                cost = check_request_cost(len(request) * as_json, limit)
                taken = budget.try_take(cost, what="check request")
            data = from_message(_parse(message_class(rpc.request), request), rpc.request)
            if rpc.run is None:
                raise InvalidRequest(f"{rpc.method} is not a check RPC")
            result = await anyio.to_thread.run_sync(rpc.run, data, self.state.settings)
            return to_message(result, rpc.response)
        except Exception as exc:  # every error becomes a status, never a stack trace
            await abort(context, exc, request_id=request_id)
        finally:
            if taken and budget is not None:
                budget.release(taken)

    async def analyze(
        self, request: bytes, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        """Progress events, then the report; a failure ends the stream with its status."""
        state = self.state
        request_id = _request_id(context)
        context.set_trailing_metadata(((REQUEST_ID_HEADER, request_id),))
        try:
            report_request = from_message(
                _parse(message_class(ANALYZE.request), request), ANALYZE.request
            )
            deps = self.dependencies()
            state.report_slots.acquire()
        except Exception as exc:
            await abort(context, exc, request_id=request_id)
            return
        async with stream_report(
            report_request, deps, slots=state.report_slots, request_id=request_id
        ) as events:
            # Inside the block: the slot is released even if the client is already gone.
            await context.send_initial_metadata(((REQUEST_ID_HEADER, request_id),))
            async for event in events:
                if isinstance(event, ReportProgress):
                    progress = Progress(stage=event.stage, done=event.done, total=event.total)
                    yield to_message(AnalyzeEvent(progress=progress))
                elif isinstance(event, ReportDone):
                    yield to_message(AnalyzeEvent(report=event.report))
                else:
                    await abort(context, event.error, request_id=request_id)

    # --- jobs: the operations of service.jobs_api, as /v1/jobs does them ---------------------

    async def job_call(
        self,
        rpc: Rpc,
        run: Callable[[Any, grpc.aio.ServicerContext], Any],
        request: bytes,
        context: grpc.aio.ServicerContext,
    ) -> Any:
        request_id = _request_id(context)
        context.set_trailing_metadata(((REQUEST_ID_HEADER, request_id),))
        try:
            data = from_message(_parse(message_class(rpc.request), request), rpc.request)
            result = await run(data, context)
            if isinstance(result, dict):  # a JSON-shaped response (the stored report)
                return to_message(result, rpc.response)
            return to_message(result)
        except Exception as exc:  # every error becomes a status, never a stack trace
            await abort(context, exc, request_id=request_id)

    async def submit_job(self, data: SubmitJobRequest, context: grpc.aio.ServicerContext) -> Any:
        return await jobs_api.submit_job(
            self.state,
            data.request,
            api_key=presented_key(_metadata(context)),
            idempotency_key=data.idempotency_key,
        )

    async def get_job(self, data: JobRef, _context: grpc.aio.ServicerContext) -> Any:
        return await jobs_api.get_job(self.state, data.id)

    async def get_job_report(self, data: JobRef, _context: grpc.aio.ServicerContext) -> Any:
        text = await jobs_api.job_report_json(self.state, data.id)
        report = msgspec.json.decode(text)  # the stored JSON, as REST serves it
        if not isinstance(report, dict):
            raise TypeError(f"job {data.id}: the stored report is not a {Report.__name__}")
        return report

    async def cancel_job(self, data: JobRef, _context: grpc.aio.ServicerContext) -> Any:
        return await jobs_api.cancel_job(self.state, data.id)

    async def watch_job(
        self, request: bytes, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        """The job's events after ``last_event_id``, until its final state event."""
        request_id = _request_id(context)
        context.set_trailing_metadata(((REQUEST_ID_HEADER, request_id),))
        try:
            data = from_message(
                _parse(message_class(WATCH_JOB.request), request), WATCH_JOB.request
            )
            events = await jobs_api.watch_job(self.state, data.id, data.last_event_id)
        except Exception as exc:
            await abort(context, exc, request_id=request_id)
            return
        await context.send_initial_metadata(((REQUEST_ID_HEADER, request_id),))
        try:
            async for event_id, body in events:
                yield to_message(msgspec.convert({**body, "id": event_id}, JobEvent))
        except Exception as exc:  # the database went away mid-stream
            await abort(context, exc, request_id=request_id)


# --- interceptors ----------------------------------------------------------------------------


def _replace_behaviour(
    handler: grpc.RpcMethodHandler, wrap: Callable[[Callable, bool], Callable]
) -> grpc.RpcMethodHandler:
    """The same handler with its behaviour wrapped (``wrap(behaviour, streams_responses)``)."""
    kinds = (
        ("unary_unary", grpc.unary_unary_rpc_method_handler, False),
        ("unary_stream", grpc.unary_stream_rpc_method_handler, True),
        ("stream_unary", grpc.stream_unary_rpc_method_handler, False),
        ("stream_stream", grpc.stream_stream_rpc_method_handler, True),
    )
    for attr, build, streaming in kinds:
        behaviour = getattr(handler, attr)
        if behaviour is not None:
            return build(
                wrap(behaviour, streaming),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
    return handler


async def _drain(result: Any) -> AsyncIterator[Any]:
    """Yield what a streaming behaviour produces (async generator, or ``context.write`` style)."""
    if hasattr(result, "__aiter__"):
        async for item in result:
            yield item
    else:
        await result


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts calls by method and status code and times them (``imagelint_grpc_*``)."""

    def __init__(self, metrics: Any) -> None:
        self.metrics = metrics

    async def intercept_service(self, continuation, handler_call_details):
        details = handler_call_details
        handler = await continuation(details)
        if handler is None:
            return None  # unknown method: gRPC answers UNIMPLEMENTED, nothing to label
        method = details.method.lstrip("/")
        record = self._record

        def wrap(behaviour: Callable, streaming: bool) -> Callable:
            if streaming:

                async def streamed(request: Any, context: grpc.aio.ServicerContext):
                    started = time.perf_counter()
                    code = grpc.StatusCode.UNKNOWN
                    try:
                        async for item in _drain(behaviour(request, context)):
                            yield item
                        code = context.code() or grpc.StatusCode.OK
                    except grpc.aio.AbortError:
                        code = context.code() or grpc.StatusCode.UNKNOWN
                        raise
                    except asyncio.CancelledError:
                        code = grpc.StatusCode.CANCELLED
                        raise
                    except GeneratorExit:
                        code = grpc.StatusCode.CANCELLED
                        raise
                    finally:
                        record(method, code, time.perf_counter() - started)

                return streamed

            async def unary(request: Any, context: grpc.aio.ServicerContext):
                started = time.perf_counter()
                code = grpc.StatusCode.UNKNOWN
                try:
                    response = await behaviour(request, context)
                    code = context.code() or grpc.StatusCode.OK
                    return response
                except grpc.aio.AbortError:
                    code = context.code() or grpc.StatusCode.UNKNOWN
                    raise
                except asyncio.CancelledError:
                    code = grpc.StatusCode.CANCELLED
                    raise
                finally:
                    record(method, code, time.perf_counter() - started)

            return unary

        return _replace_behaviour(handler, wrap)

    def _record(self, method: str, code: Any, seconds: float) -> None:
        name = code.name if isinstance(code, grpc.StatusCode) else str(code)
        self.metrics.observe_grpc_call(method, name, seconds)


class ApiKeyInterceptor(grpc.aio.ServerInterceptor):
    """Requires one of ``keys`` on the DatasetQuality service (UNAUTHENTICATED otherwise)."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys

    async def intercept_service(self, continuation, handler_call_details):
        details = handler_call_details
        handler = await continuation(details)
        if (
            handler is None
            or not self.keys
            or not details.method.startswith(f"/{SERVICE_FULL_NAME}/")
        ):
            return handler
        metadata = {
            k.lower(): v for k, v in (details.invocation_metadata or ()) if isinstance(v, str)
        }
        if key_matches(presented_key(metadata), self.keys):
            return handler

        def wrap(_behaviour: Callable, streaming: bool) -> Callable:
            async def refuse(_request: Any, context: grpc.aio.ServicerContext):
                await context.abort(
                    grpc.StatusCode.UNAUTHENTICATED,
                    "missing or invalid API key (send it as x-api-key metadata)",
                    ((REQUEST_ID_HEADER, _request_id(context)),),
                )

            if streaming:

                async def refuse_stream(request: Any, context: grpc.aio.ServicerContext):
                    await refuse(request, context)
                    yield  # pragma: no cover (abort raised)

                return refuse_stream
            return refuse

        return _replace_behaviour(handler, wrap)


# --- server and lifespan ---------------------------------------------------------------------


@dataclass
class GrpcServer:
    """A running gRPC server and what it owns."""

    server: grpc.aio.Server
    port: int
    health: Any
    tasks: list[asyncio.Task] = field(default_factory=list)

    async def stop(self, grace: float = STOP_GRACE_S) -> None:
        await self.health.enter_graceful_shutdown()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.server.stop(grace)


async def watch_readiness(state: Any, health_servicer: Any, interval_s: float) -> None:
    """Keep the health status in step with Triton's model readiness (SERVING only when ready)."""
    last = None
    while True:
        try:
            ready = await state.readiness.ready(state.encoder)
        except Exception:  # readiness must never take the server down
            log.exception("readiness check failed")
            ready = False
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if ready
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        if status != last:
            for service in ("", SERVICE_FULL_NAME):
                await health_servicer.set(service, status)
            last = status
        await asyncio.sleep(interval_s)


def bind_address(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"{host}:{port}"


async def start_grpc_server(state: Any, *, port: int | None = None) -> GrpcServer:
    """Start the gRPC server on ``settings.host`` and ``port`` (default ``settings.grpc_port``)."""
    settings = state.settings
    server = grpc.aio.server(
        interceptors=[
            MetricsInterceptor(state.metrics),
            ApiKeyInterceptor(tuple(settings.api_keys)),
        ],
        options=[
            ("grpc.max_receive_message_length", settings.max_body_bytes),
            ("grpc.max_send_message_length", MAX_REPORT_MESSAGE_BYTES),
            # gRPC enables SO_REUSEPORT by default: a second server on a taken port would bind
            # too and the kernel would split calls between the two processes
            ("grpc.so_reuseport", 0),
        ],
    )
    server.add_generic_rpc_handlers((DatasetQualityServicer(state).generic_handler(),))
    # grpc_health exposes ``aio`` behind a sys.version_info[1] check pyright does not evaluate
    health_servicer = health.aio.HealthServicer()  # pyright: ignore[reportAttributeAccessIssue]
    for service in ("", SERVICE_FULL_NAME):
        await health_servicer.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_FULL_NAME, HEALTH_SERVICE, reflection.SERVICE_NAME), server
    )
    address = bind_address(settings.host, settings.grpc_port if port is None else port)
    bound = server.add_insecure_port(address)
    if not bound:
        raise RuntimeError(
            f"gRPC server could not bind {address}: the port is taken (another imagelint?); "
            "set IMAGELINT_GRPC_PORT to a free port, or 0 to turn the gRPC API off"
        )
    await server.start()
    interval = max(0.2, settings.ready_cache_s)
    poller = asyncio.create_task(
        watch_readiness(state, health_servicer, interval), name="grpc-health"
    )
    log.info("gRPC API on %s", bind_address(settings.host, bound))
    return GrpcServer(server=server, port=bound, health=health_servicer, tasks=[poller])


@contextlib.asynccontextmanager
async def grpc_lifespan(app: Any) -> AsyncIterator[None]:
    """Litestar lifespan: the gRPC server runs while the app does (off when grpc_port is 0).

    Listed after the lifespan that creates the Triton client, so it starts after it and stops
    before it. The running server is ``app.state.grpc`` (``None`` when off).
    """
    app.state.grpc = None
    if not app.state.settings.grpc_port:
        yield
        return
    running = await start_grpc_server(app.state)
    app.state.grpc = running
    try:
        yield
    finally:
        await running.stop()
        app.state.grpc = None
