"""``/v1/jobs``: a report as a server-side job — submit, poll, stream events, fetch, cancel.

The job lives in PostgreSQL, so any replica answers for any job and a client that disconnects
loses nothing. ``POST`` takes the ``/v1/reports`` body and answers 202 with ``Location``;
``Idempotency-Key`` makes a retried submit return the same job (the same key with another body
is 422). Events are NDJSON (or SSE with ``Accept: text/event-stream``), each with an ``id``;
``?after=<id>`` or ``Last-Event-ID`` resumes after that event. The stream ends after the job's
final state event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.response import Stream

from service import jobs_api
from service.api.auth import presented_key
from service.api.problems import problem_responses
from service.api.reports import NDJSON
from service.jobs_api import JobLinks, JobProgress, JobStatus
from service.report.models import Report, ReportRequest

__all__ = ["JobLinks", "JobProgress", "JobStatus", "JobsController"]

SSE = "text/event-stream"


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
        status = await jobs_api.submit_job(
            state, data, api_key=presented_key(request), idempotency_key=idempotency_key
        )
        return Response(status, status_code=202, headers={"Location": status.links.self})

    @get(
        "/{job_id:str}",
        summary="A job's state, progress and timings",
        responses=problem_responses(400, 401, 404, 503),
    )
    async def get_job(self, state: State, job_id: str) -> JobStatus:
        return await jobs_api.get_job(state, job_id)

    @get(
        "/{job_id:str}/report",
        summary="The report of a succeeded job",
        description="409 `job_not_ready` while the job is queued or running, or when it failed or was cancelled.",
        responses=problem_responses(400, 401, 404, 409, 503),
    )
    async def get_job_report(self, state: State, job_id: str) -> Report:
        text = await jobs_api.job_report_json(state, job_id)
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
        return await jobs_api.cancel_job(state, job_id)

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
        last = request.headers.get("last-event-id")
        start = after if after is not None else (int(last) if last and last.isdigit() else 0)
        events = await jobs_api.watch_job(state, job_id, start)
        sse = SSE in request.headers.get("accept", "")
        return Stream(
            _event_lines(events, sse),
            media_type=SSE if sse else NDJSON,
            headers={"Cache-Control": "no-store"},
        )


async def _event_lines(
    events: AsyncIterator[tuple[int, dict[str, Any]]], sse: bool
) -> AsyncIterator[bytes]:
    encode = msgspec.json.encode
    async for event_id, body in events:
        payload = encode({"id": event_id, **body})
        yield (b"id: %d\ndata: %s\n\n" % (event_id, payload)) if sse else payload + b"\n"
