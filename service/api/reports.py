"""``POST /v1/reports``: one request, one full report (JSON), or NDJSON progress then the report.

``POST /v1/reports/upload``: the same, for a dataset sent as the request body (a zip/tar
ImageFolder archive, e.g. a local folder the CLI zipped, or a manifest), streamed to the scratch
directory under ``max_archive_bytes`` (``max_manifest_bytes`` for a manifest); the rest of the
report request travels as JSON in the ``request`` query parameter.

Bounded load: at most ``max_concurrent_reports`` run per replica; more get 429 with
Retry-After. The JSON form has a server-side deadline (504 ``deadline_exceeded``); a client that
disconnects cancels its report (both forms).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import msgspec
from litestar import Controller, Request, Response, post
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.response import Stream

from service.api.problems import problem_responses
from service.api.request_id import request_id_of
from service.datasets import DatasetRef, ResolvedDataset
from service.datasets.manifest import guess_manifest_format
from service.datasets.resolve import new_scratch_dir, resolve_archive_file, resolve_manifest_bytes
from service.errors import (
    DeadlineExceeded,
    ImagelintError,
    InvalidDataset,
    InvalidRequest,
    PayloadTooLarge,
)
from service.problems import error_body, internal_error_body
from service.report.models import Report, ReportRequest, UploadReportRequest
from service.report.pipeline import Dependencies, run_report
from service.report.slots import ReportSlots
from service.report.stream import ReportDone, ReportProgress, stream_report
from service.review.thumbnails import ReviewMaterial
from service.settings import Settings

NDJSON = "application/x-ndjson"
log = logging.getLogger("imagelint.reports")


class NDJSONStream(Stream):
    """A ``Stream`` that keeps ``application/x-ndjson`` (Litestar would apply the handler's JSON
    media type); like every ``Stream`` it cancels its iterator when the client disconnects."""

    def to_asgi_response(self, *args, **kwargs):
        kwargs["media_type"] = NDJSON
        return super().to_asgi_response(*args, **kwargs)


async def _wait_for_disconnect(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def wants_html(request: Request) -> bool:
    """``Accept: text/html`` without JSON first: a browser, or a caller asking for the page."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept.split(",")[0]


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
    async def create_report(self, request: Request, state: State, data: ReportRequest) -> Report:
        # With Accept: application/x-ndjson an ``NDJSONStream`` is returned instead; the
        # annotation documents the JSON form, which is what OpenAPI clients validate.
        slots: ReportSlots = state.report_slots
        slots.acquire()  # taken now, so 429 comes back before the work (or the stream) starts
        return await self._respond(request, state, data, None)

    @post(
        "/upload",
        summary="Audit a dataset sent as the request body (archive or manifest)",
        description=(
            "The body is a zip or tar archive in ImageFolder layout (`label/file`, "
            "`split/label/file`, or a Hugging Face imagefolder with `metadata.csv`/`metadata.jsonl`) "
            "or, with `kind: manifest`, a manifest. The query parameter `request` holds the rest "
            "of the report request as JSON: `{kind?, manifest_format?, columns?, checks?, options?, "
            "policy?}`. Answers like `POST /v1/reports` (JSON, or NDJSON with "
            "`Accept: application/x-ndjson`)."
        ),
        status_code=200,
        request_max_body_size=None,  # capped while streaming: max_archive_bytes / max_manifest_bytes
        responses=problem_responses(400, 401, 413, 422, 429, 503, 504),
    )
    async def create_upload_report(
        self,
        request: Request,
        state: State,
        request_json: Annotated[
            str | None,
            Parameter(query="request", description="JSON: the report request without `dataset`"),
        ] = None,
    ) -> Report:
        try:
            upload = msgspec.json.decode((request_json or "{}").encode(), type=UploadReportRequest)
        except msgspec.ValidationError as exc:
            raise InvalidRequest(f"request: {exc}", field="request") from exc
        except msgspec.DecodeError as exc:
            raise InvalidRequest(f"request is not JSON: {exc}", field="request") from exc
        settings = state.settings
        slots: ReportSlots = state.report_slots
        slots.acquire()  # before the upload is read: a 429 costs the caller no upload
        try:
            resolved = await receive_upload(request, upload, settings, state.fetcher)
            if upload.kind == "archive":
                ref = DatasetRef(archive_uri="upload:archive")
            else:
                ref = DatasetRef(manifest_uri="upload:manifest", columns=upload.columns)
            data = ReportRequest(
                dataset=ref, checks=upload.checks, options=upload.options, policy=upload.policy
            )
        except BaseException:
            slots.release()
            raise
        return await self._respond(request, state, data, resolved)

    async def _respond(
        self, request: Request, state: State, data: ReportRequest, resolved: ResolvedDataset | None
    ) -> Any:
        """JSON or NDJSON; the caller has acquired a report slot, released here or by the stream.

        A ``Report`` or a ``Response`` (the NDJSON stream, the review page): ``Any`` because the
        route handlers declare ``Report``, the JSON answer, for the OpenAPI schema."""
        request_id = request_id_of(request.scope)
        if NDJSON in request.headers.get("accept", ""):
            return NDJSONStream(
                self._stream(data, state, request_id, resolved),
                headers={"X-Request-Id": request_id, "Cache-Control": "no-store"},
            )
        if wants_html(request):
            try:
                return await self._view_with_slot(request, state, data, request_id, resolved)
            finally:
                state.report_slots.release()
                if resolved is not None:
                    resolved.close()
        try:
            return await self._run_json(request, data, state, request_id, resolved)
        finally:
            state.report_slots.release()
            if resolved is not None:
                resolved.close()

    @post(
        "/view",
        summary="Audit a dataset and look at it: the review page",
        description=(
            "The same request as `POST /v1/reports` (also reached there with `Accept: text/html`); "
            "the answer is one self-contained HTML page (inline CSS, `data:` thumbnails, no script, "
            "a strict Content-Security-Policy) showing the findings with thumbnails made while "
            "loading, and the cleaned manifests and findings CSV as downloads."
        ),
        status_code=200,
        media_type="text/html",
        responses=problem_responses(400, 401, 413, 422, 429, 503, 504),
    )
    async def view_report(
        self, request: Request, state: State, data: ReportRequest
    ) -> Response[str]:
        request_id = request_id_of(request.scope)
        state.report_slots.acquire()
        try:
            return await self._view_with_slot(request, state, data, request_id, None)
        finally:
            state.report_slots.release()

    async def _view_with_slot(
        self, request: Request, state: State, data: ReportRequest, request_id: str,
        resolved: ResolvedDataset | None,
    ) -> Response[str]:  # fmt: skip
        """The review page; the caller holds a report slot."""
        from service.review import render_review_page
        from service.review.page import REVIEW_PAGE_HEADERS

        review = ReviewMaterial()
        report = await self._run_json(request, data, state, request_id, resolved, review=review)
        page = await anyio.to_thread.run_sync(
            lambda: render_review_page(report, review.items, review.thumbnails)
        )
        return Response(
            page,
            media_type="text/html",  # Litestar appends "; charset=utf-8" to text/*
            headers={**REVIEW_PAGE_HEADERS, "X-Request-Id": request_id},
        )

    async def _run_json(
        self,
        request: Request,
        data: ReportRequest,
        state: State,
        request_id: str,
        resolved: ResolvedDataset | None = None,
        *,
        review: ReviewMaterial | None = None,
    ) -> Report:
        metrics = state.metrics
        metrics.reports_in_flight.inc()
        work = asyncio.create_task(
            run_report(
                data,
                Dependencies.from_state(state),
                request_id=request_id,
                resolved=resolved,
                review=review,
            )  # fmt: skip
        )
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

    async def _stream(
        self,
        data: ReportRequest,
        state: State,
        request_id: str,
        resolved: ResolvedDataset | None = None,
    ) -> AsyncIterator[bytes]:
        """Progress lines then the report (or an error line); the caller has acquired a report
        slot, released by ``stream_report``."""
        encode = msgspec.json.Encoder()
        deps = Dependencies.from_state(state)
        async with stream_report(
            data, deps, slots=state.report_slots, request_id=request_id, resolved=resolved
        ) as events:
            async for event in events:
                if isinstance(event, ReportProgress):
                    line = {
                        "event": "progress",
                        "stage": event.stage,
                        "done": event.done,
                        "total": event.total,
                    }
                elif isinstance(event, ReportDone):
                    line = {"event": "report", "report": event.report}
                else:
                    line = {"event": "error", "problem": failure_body(event.error, request_id)}
                yield encode.encode(line) + b"\n"


def failure_body(error: Exception, request_id: str) -> dict:
    """The problem body of a failed report's error event (never a stack trace)."""
    if isinstance(error, ImagelintError):
        return error_body(error, request_id=request_id)
    log.error("report %s failed", request_id, exc_info=error)
    return internal_error_body(request_id=request_id)


async def receive_upload(
    request: Request, upload: UploadReportRequest, settings: Settings, fetcher: object = None
) -> ResolvedDataset:
    """Stream the body to the scratch directory (capped) and resolve it as an archive or manifest."""
    field = "body"
    cap = settings.max_archive_bytes if upload.kind == "archive" else settings.max_manifest_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise PayloadTooLarge(
            f"the uploaded {upload.kind} is {int(declared):,} bytes; the limit is {cap:,}",
            field=field,
        )
    scratch = new_scratch_dir(settings)
    try:
        target = scratch / "upload.download"
        written = 0
        with target.open("wb") as out:
            async for chunk in request.stream():
                written += len(chunk)
                if written > cap:
                    raise PayloadTooLarge(
                        f"the uploaded {upload.kind} is over {cap:,} bytes", field=field
                    )
                out.write(chunk)
        if written == 0:
            raise InvalidDataset(
                f"the request body is empty; send the {upload.kind} as the body", field=field
            )
        if upload.kind == "archive":
            return await resolve_archive_file(
                target,
                scratch,
                settings=settings,
                field=field,
                fetcher=fetcher,  # type: ignore[arg-type]
            )
        data = target.read_bytes()
        shutil.rmtree(scratch, ignore_errors=True)
        fmt = upload.manifest_format or guess_manifest_format("", data)
        return await resolve_manifest_bytes(
            data, fmt=fmt, columns=upload.columns, settings=settings, field=field
        )
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
