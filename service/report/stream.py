"""One report as a stream of events, for every transport.

The REST NDJSON stream (``service.api.reports``) and the gRPC Analyze stream
(``service.grpc_api.server``) both write what ``stream_report`` yields, each in its own format::

    slots.acquire()  # before the stream: 429 / RESOURCE_EXHAUSTED come back before any work
    async with stream_report(request, deps, slots=slots, request_id=rid) as events:
        async for event in events:  # ReportProgress ..., then one ReportDone or ReportFailed
            ...

Leaving the ``async with`` block, however it is left (the report finished or failed, the client
went away, the call was cancelled, the transport failed before the first event), counts the
outcome in ``imagelint_reports_total``, releases the slot, cancels the report if it still runs
and closes an uploaded dataset: once, here, for both transports.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio

from service.datasets import ResolvedDataset
from service.errors import ImagelintError
from service.report.models import Report, ReportRequest
from service.report.pipeline import Dependencies, run_report
from service.report.slots import ReportSlots


@dataclass(frozen=True)
class ReportProgress:
    """A stage advanced: ``done`` of ``total`` units (items, or checks finished)."""

    stage: str
    done: int
    total: int


@dataclass(frozen=True)
class ReportDone:
    """The finished report: the last event."""

    report: Report


@dataclass(frozen=True)
class ReportFailed:
    """The report failed: the last event. ``error`` is an ``ImagelintError`` (a typed problem) or
    any other exception (an internal error: the transport logs it and hides its text)."""

    error: Exception


ReportEvent = ReportProgress | ReportDone | ReportFailed


def outcome_of(event: ReportEvent) -> str | None:
    """The ``imagelint_reports_total`` outcome a terminal event stands for (``None``: progress)."""
    if isinstance(event, ReportDone):
        return "ok"
    if isinstance(event, ReportFailed):
        return event.error.code if isinstance(event.error, ImagelintError) else "internal_error"
    return None


PROGRESS_STEPS = 100  # progress events per stage at most, besides its first and its last


def progress_filter(steps: int = PROGRESS_STEPS):
    """A filter of a report's progress calls, (stage, done, total) -> whether to send it: each
    stage's first call, its last (``done >= total``) and calls that advanced by ``total / steps``
    since the last one sent — a 20k-image report streams a few hundred events, not 40,000."""
    sent: dict[str, int] = {}

    def wanted(stage: str, done: int, total: int) -> bool:
        before = sent.get(stage)
        if before is None or done >= total or done - before >= max(1, total // steps):
            sent[stage] = done
            return True
        return False

    return wanted


@contextlib.asynccontextmanager
async def stream_report(
    request: ReportRequest,
    deps: Dependencies,
    *,
    slots: ReportSlots,
    request_id: str,
    resolved: ResolvedDataset | None = None,
) -> AsyncIterator[AsyncIterator[ReportEvent]]:
    """Run one report and give its events; the caller has taken a slot of ``slots``.

    The report starts on entering the block and runs while the caller reads the events; the
    slot is released (and the report cancelled) on leaving it. An outcome without a terminal
    event read by the caller is ``client_disconnected``.
    """
    metrics = deps.metrics
    queue: asyncio.Queue[ReportEvent] = asyncio.Queue()
    outcome = "client_disconnected"
    wanted = progress_filter()

    def on_progress(stage: str, done: int, total: int) -> None:
        if wanted(stage, done, total):
            queue.put_nowait(ReportProgress(stage=stage, done=done, total=total))

    async def produce() -> None:
        try:
            report = await run_report(
                request, deps, on_progress, request_id=request_id, resolved=resolved
            )
            queue.put_nowait(ReportDone(report))
        except Exception as exc:  # the transport turns it into a problem / a status
            queue.put_nowait(ReportFailed(exc))

    async def events() -> AsyncIterator[ReportEvent]:
        nonlocal outcome
        while True:
            event = await queue.get()
            final = outcome_of(event)
            if final is not None:
                outcome = final
            yield event
            if final is not None:
                return

    if metrics is not None:
        metrics.reports_in_flight.inc()
    task = asyncio.create_task(produce())
    try:
        yield events()
    finally:
        # A disconnect may arrive as a cancellation (REST: an anyio cancel scope, which also
        # cancels any await in this block): book-keep first, then cancel the report.
        if metrics is not None:
            metrics.reports.labels(outcome).inc()
            metrics.reports_in_flight.dec()
        slots.release()
        task.cancel()
        try:
            with anyio.CancelScope(shield=True):
                await asyncio.gather(task, return_exceptions=True)
        finally:
            if resolved is not None:
                resolved.close()
