"""``POST /v1/reports``: one request, one full report (JSON), or NDJSON progress then the report.

Bounded load: at most ``max_concurrent_reports`` run per replica; more get 429 with
Retry-After. The JSON form has a server-side deadline (504 ``deadline_exceeded``); a client that
disconnects cancels its report (both forms).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import anyio
import msgspec
from litestar import Controller, Request, Response, post
from litestar.datastructures import State
from litestar.response import Stream

from service.api.problems import error_body, internal_error_body, problem_responses
from service.api.request_id import request_id_of
from service.errors import DeadlineExceeded, ImagelintError, TooManyRequests
from service.pipeline import Dependencies, run_report
from service.report_models import Report, ReportRequest

NDJSON = "application/x-ndjson"
log = logging.getLogger("imagelint.reports")


class NDJSONStream(Stream):
    """A ``Stream`` that keeps ``application/x-ndjson`` (Litestar would apply the handler's JSON
    media type); like every ``Stream`` it cancels its iterator when the client disconnects."""

    def to_asgi_response(self, *args, **kwargs):
        kwargs["media_type"] = NDJSON
        return super().to_asgi_response(*args, **kwargs)


class ReportSlots:
    """A non-blocking counter of reports in flight (one event loop, so no lock is needed)."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.in_flight = 0

    def acquire(self) -> None:
        """Take a slot now, or raise ``TooManyRequests``; pair with ``release()``."""
        if self.in_flight >= self.limit:
            raise TooManyRequests(
                f"{self.in_flight} reports already running (limit {self.limit}); retry later",
                retry_after=10,
            )
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1

    @contextlib.contextmanager
    def take(self):
        self.acquire()
        try:
            yield
        finally:
            self.release()


async def _wait_for_disconnect(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


class ReportsController(Controller):
    path = "/v1/reports"
    tags = ["reports"]

    @post(
        "/",
        summary="Audit a dataset: one full quality report",
        description=(
            "Send a dataset reference (inline `items`, a `manifest_uri` or an `archive_uri`), "
            "optionally the `checks` to run and per-check `options`. With "
            "`Accept: application/x-ndjson` the response streams progress events "
            '(`{"event": "progress", "stage", "done", "total"}`) and ends with '
            '`{"event": "report", "report": {...}}`.'
        ),
        status_code=200,
        responses=problem_responses(400, 401, 413, 422, 429, 503, 504),
    )
    async def create_report(
        self, request: Request, state: State, data: ReportRequest
    ) -> Report:
        # With Accept: application/x-ndjson an ``NDJSONStream`` is returned instead; the
        # annotation documents the JSON form, which is what OpenAPI clients validate.
        slots: ReportSlots = state.report_slots
        request_id = request_id_of(request.scope)
        if NDJSON in request.headers.get("accept", ""):
            slots.acquire()  # taken now, so 429 comes back before the stream starts
            return NDJSONStream(
                self._stream(data, state, request_id),
                headers={"X-Request-Id": request_id, "Cache-Control": "no-store"},
            )
        with slots.take():
            return await self._run_json(request, data, state, request_id)

    async def _run_json(self, request: Request, data: ReportRequest, state: State, request_id: str) -> Report:
        metrics = state.metrics
        metrics.reports_in_flight.inc()
        work = asyncio.create_task(run_report(data, Dependencies.from_state(state), request_id=request_id))
        watcher = asyncio.create_task(_wait_for_disconnect(request))
        try:
            done, _ = await asyncio.wait(
                {work, watcher},
                timeout=state.settings.report_deadline_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if work in done:
                report = work.result()
                metrics.reports.labels("ok").inc()
                return report
            if watcher in done:
                # The client is gone: nothing to send, nothing to log as an error (raising here
                # made the server log a traceback per disconnect).
                metrics.reports.labels("client_disconnected").inc()
                log.info("report %s: client disconnected; cancelled", request_id)
                return Response(content=b"", status_code=499)  # type: ignore[return-value]
            metrics.reports.labels("deadline_exceeded").inc()
            raise DeadlineExceeded(
                f"report took longer than {state.settings.report_deadline_s:.0f}s; use the "
                "NDJSON stream for long datasets or raise IMAGELINT_REPORT_DEADLINE_S"
            )
        except ImagelintError as exc:
            if not isinstance(exc, DeadlineExceeded):
                metrics.reports.labels(exc.code).inc()
            raise
        finally:
            metrics.reports_in_flight.dec()
            for task in (work, watcher):
                task.cancel()
            await asyncio.gather(work, watcher, return_exceptions=True)

    async def _stream(self, data: ReportRequest, state: State, request_id: str) -> AsyncIterator[bytes]:
        """Progress lines then the report; the caller has acquired a report slot, released here."""
        metrics = state.metrics
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        encode = msgspec.json.Encoder()

        def on_progress(stage: str, done: int, total: int) -> None:
            queue.put_nowait(
                encode.encode({"event": "progress", "stage": stage, "done": done, "total": total}) + b"\n"
            )

        async def produce() -> None:
            try:
                report = await run_report(data, Dependencies.from_state(state), on_progress, request_id=request_id)
                queue.put_nowait(encode.encode({"event": "report", "report": report}) + b"\n")
                metrics.reports.labels("ok").inc()
            except ImagelintError as exc:
                metrics.reports.labels(exc.code).inc()
                problem = error_body(exc, request_id=request_id)
                queue.put_nowait(encode.encode({"event": "error", "problem": problem}) + b"\n")
            except Exception:  # reported as a problem, never a stack trace
                log.exception("report %s failed", request_id)
                metrics.reports.labels("internal_error").inc()
                problem = internal_error_body(request_id=request_id)
                queue.put_nowait(encode.encode({"event": "error", "problem": problem}) + b"\n")
            finally:
                queue.put_nowait(None)

        metrics.reports_in_flight.inc()
        task = asyncio.create_task(produce())
        try:
            while (line := await queue.get()) is not None:
                yield line
        finally:
            if not task.done():  # the stream was closed before the report: a disconnect
                metrics.reports.labels("client_disconnected").inc()
            # A disconnect cancels the stream (an anyio cancel scope, which also cancels any
            # await in this block): book-keep first, then cancel the report with it.
            metrics.reports_in_flight.dec()
            state.report_slots.release()
            task.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.gather(task, return_exceptions=True)
