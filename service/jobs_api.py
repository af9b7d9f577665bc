"""Jobs as operations, the same for both transports: submit (with an idempotency key), status,
report, events after a last id, cancel. ``service.api.jobs`` (REST) and ``service.grpc_api``
(gRPC) only translate their requests and answers; the rules (active-job cap per API key, the
same key with another body is refused, the report only of a succeeded job) live here.

``state`` is the app state (``job_store``, ``settings``, optionally ``job_runner`` and
``references``); ``api_key`` is the key the caller presented (jobs are counted and looked up
per key).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import msgspec

from service.errors import (
    IdempotencyKeyReused,
    InvalidRequest,
    JobNotFound,
    JobNotReady,
    JobsUnavailable,
    TooManyRequests,
)
from service.report.models import ReportRequest
from service.store.jobs import TERMINAL, JobRow, JobStore

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


def job_store(state: Any) -> JobStore:
    """The state's job store (JobsUnavailable without a database)."""
    store = getattr(state, "job_store", None)
    if store is None:
        raise JobsUnavailable("jobs need a database: set IMAGELINT_DATABASE_URL")
    return store


def parse_job_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise JobNotFound(f"no job {raw!r}") from exc


async def _now(store: JobStore) -> datetime:
    return await store.pool.fetchval("SELECT now()")


async def submit_job(
    state: Any,
    data: ReportRequest,
    *,
    api_key: str | None,
    idempotency_key: str | None,
) -> JobStatus:
    """Queue ``data`` as a job; with an idempotency key already used (same body), that job."""
    store = job_store(state)
    settings = state.settings
    if idempotency_key is not None and not (1 <= len(idempotency_key) <= 255):
        raise InvalidRequest("Idempotency-Key must be 1 to 255 characters", field="Idempotency-Key")
    if data.reference is not None:  # fail now rather than when the job runs
        from service.report.reference_audit import find_reference

        await find_reference(
            data.reference, getattr(state, "references", None), checks=data.checks, load=False
        )
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
    return job_status(job, await _now(store))


async def get_job(state: Any, job_id: str) -> JobStatus:
    store = job_store(state)
    job = await store.get(parse_job_id(job_id))
    if job is None:
        raise JobNotFound(f"no job {job_id} (never submitted, or its result expired)")
    return job_status(job, await _now(store))


async def job_report_json(state: Any, job_id: str) -> str:
    """The report of a succeeded job as stored (JSON text); JobNotReady otherwise."""
    store = job_store(state)
    job = await store.get(parse_job_id(job_id))
    if job is None:
        raise JobNotFound(f"no job {job_id} (never submitted, or its result expired)")
    if job.state != "succeeded":
        detail = f"job {job_id} is {job.state}"
        if job.error:
            detail += f": {job.error.get('detail', '')}"
        raise JobNotReady(detail, retry_after=5 if job.state not in TERMINAL else None)
    text = await store.report_json(job.id)
    if text is None:  # deleted between the two reads
        raise JobNotFound(f"no job {job_id} (its result expired)")
    return text


async def cancel_job(state: Any, job_id: str) -> JobStatus:
    """Cancel a queued or running job (a running one stops at its worker's next check-in)."""
    store = job_store(state)
    job = await store.cancel(parse_job_id(job_id), state.settings.job_ttl_s)
    if job is None:
        raise JobNotFound(f"no job {job_id}")
    return job_status(job, await _now(store))


async def watch_job(
    state: Any, job_id: str, after: int = 0
) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    """The job's events after event ``after`` as ``(id, body)``, until its final state event.

    Checks the job exists before returning (JobNotFound), so a transport can answer the error
    before it starts streaming."""
    store = job_store(state)
    jid = parse_job_id(job_id)
    if await store.get(jid) is None:
        raise JobNotFound(f"no job {job_id}")
    return _events(store, jid, max(0, after))


async def _events(
    store: JobStore, job_id: uuid.UUID, after: int
) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    while True:
        # The state first: when it is final, all the job's events are already stored (each state
        # change commits with its event), so an end between the two reads loses no event.
        job = await store.get(job_id)
        events = await store.events_after(job_id, after)
        for event_id, body in events:
            after = event_id
            yield event_id, body
            if body.get("event") == "state" and body.get("state") in TERMINAL:
                return
        if job is None or (job.state in TERMINAL and not events):
            return  # expired, or resumed after the end
        if not events:
            await asyncio.sleep(EVENT_POLL_S)
