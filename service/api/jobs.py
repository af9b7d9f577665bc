"""``/v1/jobs``: a report as a server-side job — submit, poll, stream events, fetch, cancel.

The job lives in PostgreSQL, so any replica answers for any job and a client that disconnects
loses nothing. ``POST`` takes the ``/v1/reports`` body and answers 202 with ``Location``;
``Idempotency-Key`` makes a retried submit return the same job (the same key with another body
is 422). Events are NDJSON (or SSE with ``Accept: text/event-stream``), each with an ``id``;
``?after=<id>`` or ``Last-Event-ID`` resumes after that event. The stream ends after the job's
final state event.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.response import Stream

from service.api.auth import presented_key
from service.api.problems import problem_responses
from service.api.reports import NDJSON
from service.errors import (
    IdempotencyKeyReused,
    InvalidRequest,
    JobNotFound,
    JobNotReady,
    JobsUnavailable,
    TooManyRequests,
)
from service.report.models import Report, ReportRequest
from service.store.jobs import TERMINAL, JobRow, JobStore

SSE = "text/event-stream"
EVENT_POLL_S = 0.25


class JobProgress(msgspec.Struct):
    stage: str
    done: int
    total: int


class JobLinks(msgspec.Struct):
    self: str
    report: str
    events: str


class JobStatus(msgspec.Struct, omit_defaults=True):
    """A job's state. ``timings_s``: ``queued`` (submit to first start), ``running`` (first start
    to end, or to now), ``total``."""

    id: str
    state: str
    attempts: int
    created_at: str
    links: JobLinks
    progress: JobProgress | None = None
    started_at: str | None = None
    finished_at: str | None = None
    expires_at: str | None = None
    timings_s: dict[str, float] = {}
    error: dict[str, Any] | None = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def job_status(job: JobRow, now: datetime) -> JobStatus:
    base = f"/v1/jobs/{job.id}"
    timings: dict[str, float] = {}
    end = job.finished_at or now
    if job.started_at is not None:
        timings["queued"] = round((job.started_at - job.created_at).total_seconds(), 3)
        timings["running"] = round((end - job.started_at).total_seconds(), 3)
    timings["total"] = round((end - job.created_at).total_seconds(), 3)
    return JobStatus(
        id=str(job.id),
        state=job.state,
        attempts=job.attempts,
        created_at=job.created_at.isoformat(),
        started_at=_iso(job.started_at),
        finished_at=_iso(job.finished_at),
        expires_at=_iso(job.expires_at),
        progress=msgspec.convert(job.progress, JobProgress) if job.progress else None,
        timings_s=timings,
        error=job.error,
        links=JobLinks(self=base, report=f"{base}/report", events=f"{base}/events"),
    )


def _store(state: State) -> JobStore:
    store = getattr(state, "job_store", None)
    if store is None:
        raise JobsUnavailable("jobs need a database: set IMAGELINT_DATABASE_URL")
    return store


def _job_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise JobNotFound(f"no job {raw!r}") from exc


async def _now(store: JobStore) -> datetime:
    return await store.pool.fetchval("SELECT now()")


class JobsController(Controller):
    path = "/v1/jobs"
    tags = ["jobs"]

    @post(
        "/",
        summary="Submit a report as a job",
        description=(
            "The body is the `/v1/reports` body. Answers 202 with `Location: /v1/jobs/{id}`. "
            "With `Idempotency-Key`, a repeated submit (same key, same body) returns the same job."
        ),
        status_code=202,
        responses=problem_responses(400, 401, 404, 422, 429, 503),
    )
    async def submit_job(
        self,
        request: Request,
        state: State,
        data: ReportRequest,
        idempotency_key: Annotated[
            str | None, Parameter(header="Idempotency-Key", required=False)
        ] = None,
    ) -> Response[JobStatus]:
        store = _store(state)
        settings = state.settings
        if idempotency_key is not None and not (1 <= len(idempotency_key) <= 255):
            raise InvalidRequest(
                "Idempotency-Key must be 1 to 255 characters", field="Idempotency-Key"
            )
        if data.reference is not None:  # fail now rather than when the job runs
            from service.report.reference_audit import find_reference

            await find_reference(
                data.reference, getattr(state, "references", None), checks=data.checks, load=False
            )
        api_key = presented_key(request)
        body = msgspec.to_builtins(data)
        body_json = msgspec.json.encode(body, order="sorted")
        if idempotency_key is None or await store.get_by_key(api_key, idempotency_key) is None:
            active = await store.active_for_key(api_key)
            if active >= settings.job_max_active_per_key:
                raise TooManyRequests(
                    f"{active} jobs queued or running for this API key (limit "
                    f"{settings.job_max_active_per_key}); retry later",
                    retry_after=30,
                )
        job, created = await store.submit(
            body, body_json, api_key=api_key, idempotency_key=idempotency_key
        )
        if not created and not await store.request_matches(job.id, body_json):
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used with another request body", field="Idempotency-Key"
            )
        runner = getattr(state, "job_runner", None)
        if created and runner is not None:
            runner.wake()
        status = job_status(job, await _now(store))
        return Response(status, status_code=202, headers={"Location": status.links.self})

    @get(
        "/{job_id:str}",
        summary="A job's state, progress and timings",
        responses=problem_responses(400, 401, 404, 503),
    )
    async def get_job(self, state: State, job_id: str) -> JobStatus:
        store = _store(state)
        job = await store.get(_job_id(job_id))
        if job is None:
            raise JobNotFound(f"no job {job_id} (never submitted, or its result expired)")
        return job_status(job, await _now(store))

    @get(
        "/{job_id:str}/report",
        summary="The report of a succeeded job",
        description="409 `job_not_ready` while the job is queued or running, or when it failed or was cancelled.",
        responses=problem_responses(400, 401, 404, 409, 503),
    )
    async def get_job_report(self, state: State, job_id: str) -> Report:
        store = _store(state)
        job = await store.get(_job_id(job_id))
        if job is None:
            raise JobNotFound(f"no job {job_id} (never submitted, or its result expired)")
        if job.state != "succeeded":
            detail = f"job {job_id} is {job.state}"
            if job.error:
                detail += f": {job.error.get('detail', '')}"
            raise JobNotReady(detail, retry_after=5 if job.state not in TERMINAL else None)
        text = await store.report_json(job.id)
        # served as stored (the annotation documents the schema for OpenAPI)
        return Response(text.encode(), media_type="application/json")  # type: ignore[return-value]

    @delete(
        "/{job_id:str}",
        summary="Cancel a job",
        description="A queued job is cancelled at once; a running one at its worker's next check-in. Returns the job.",
        status_code=200,
        responses=problem_responses(400, 401, 404, 503),
    )
    async def cancel_job(self, state: State, job_id: str) -> JobStatus:
        store = _store(state)
        job = await store.cancel(_job_id(job_id), state.settings.job_ttl_s)
        if job is None:
            raise JobNotFound(f"no job {job_id}")
        return job_status(job, await _now(store))

    @get(
        "/{job_id:str}/events",
        summary="A job's events: state changes and progress (NDJSON or SSE), resumable",
        description=(
            'Each line is `{"id", "event": "state"|"progress", ...}`. `?after=<id>` or '
            "`Last-Event-ID` starts after that event. Ends after the final state event."
        ),
        responses=problem_responses(400, 401, 404, 503),
    )
    async def job_events(
        self,
        request: Request,
        state: State,
        job_id: str,
        after: Annotated[int | None, Parameter(query="after", ge=0, required=False)] = None,
    ) -> Stream:
        store = _store(state)
        jid = _job_id(job_id)
        if await store.get(jid) is None:
            raise JobNotFound(f"no job {job_id}")
        last = request.headers.get("last-event-id")
        start = after if after is not None else (int(last) if last and last.isdigit() else 0)
        sse = SSE in request.headers.get("accept", "")
        return Stream(
            _event_lines(store, jid, start, sse),
            media_type=SSE if sse else NDJSON,
            headers={"Cache-Control": "no-store"},
        )


async def _event_lines(
    store: JobStore, job_id: uuid.UUID, after: int, sse: bool
) -> AsyncIterator[bytes]:
    encode = msgspec.json.encode
    while True:
        events = await store.events_after(job_id, after)
        for event_id, body in events:
            after = event_id
            payload = encode({"id": event_id, **body})
            yield (b"id: %d\ndata: %s\n\n" % (event_id, payload)) if sse else payload + b"\n"
            if body.get("event") == "state" and body.get("state") in TERMINAL:
                return
        if not events:
            job = await store.get(job_id)
            if job is None or job.state in TERMINAL:  # expired, or resumed after the end
                return
            await asyncio.sleep(EVENT_POLL_S)
