"""Jobs run inside the API process: a worker loop per replica, plus the retention sweep.

Each replica runs ``job_workers`` workers. A worker claims a job (``JobStore.claim``), runs it
with ``service.report.pipeline.run_report`` — the same report as ``POST /v1/reports`` — and checks in
every ``job_heartbeat_s`` with the latest progress. When the check-in says the job is no longer
its own (cancelled by ``DELETE``, or reclaimed after this worker went silent) it cancels the run.
On shutdown a replica puts its running jobs back in the queue; a replica that is killed simply
stops checking in and another replica re-runs the job after ``job_stale_s``. Re-runs are cheap
where the embedding cache holds the chunks already encoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from typing import Any

import msgspec

from service.errors import ImagelintError
from service.metrics import Metrics
from service.problems import error_body, internal_error_body
from service.report.models import ReportRequest
from service.report.pipeline import Dependencies, run_report
from service.settings import Settings
from service.store.jobs import JobRow, JobStore

log = logging.getLogger("imagelint.jobs")


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class JobRunner:
    """The workers and the retention sweep of one replica (started and stopped by the lifespan)."""

    def __init__(
        self,
        store: JobStore,
        settings: Settings,
        deps: Dependencies,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.deps = deps
        self.metrics = metrics
        self.name = worker_name()
        self._tasks: list[asyncio.Task] = []
        self._running: dict[uuid.UUID, asyncio.Task] = {}
        self._stopping = False
        self._wake = asyncio.Event()

    def start(self) -> None:
        for index in range(max(0, self.settings.job_workers)):
            self._tasks.append(asyncio.create_task(self._worker(), name=f"job-worker-{index}"))
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="job-housekeeping"))

    def wake(self) -> None:
        """A job was just submitted here: look now instead of at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop claiming, cancel the runs in progress and put their jobs back in the queue."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    # --- workers ---------------------------------------------------------------------------
    async def _worker(self) -> None:
        s = self.settings
        while not self._stopping:
            try:
                job = await self.store.claim(
                    self.name, stale_s=s.job_stale_s, max_attempts=s.job_max_attempts
                )
            except Exception:  # the database may be restarting: try again at the next poll
                log.exception("claiming a job failed")
                job = None
            if job is None:
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=s.job_poll_s)
                continue
            try:
                await self.run_job(job)
            except asyncio.CancelledError:
                raise
            except Exception:  # e.g. the database went away while finishing: the job goes
                # stale and is re-run; this worker keeps serving
                log.exception("running job %s failed", job.id)

    async def run_job(self, job: JobRow) -> str:
        """Run one claimed job to its end; returns how it ended for this worker
        (succeeded, failed, lost, released)."""
        s = self.settings
        latest: dict[str, Any] = {}
        sent: dict[str, Any] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            latest.update(stage=stage, done=done, total=total)

        started = time.perf_counter()
        try:
            request = msgspec.convert(job.request, ReportRequest)
        except msgspec.ValidationError as exc:  # stored by an older version of the service
            await self.store.finish(
                job.id, self.name, state="failed", ttl_s=s.job_ttl_s,
                error={"code": "invalid_request", "detail": f"stored request no longer valid: {exc}"},
            )  # fmt: skip
            return "failed"
        kept: list[Any] = []
        work = asyncio.create_task(
            run_report(
                request, self.deps, on_progress, request_id=job.id.hex, keep_material=kept.append
            )
        )
        self._running[job.id] = work
        if self.metrics is not None:
            self.metrics.jobs_running.inc()
        outcome = "released"
        try:
            outcome = await self._follow(job, work, latest, sent, kept)
            return outcome
        finally:
            self._running.pop(job.id, None)
            if self.metrics is not None:
                self.metrics.jobs_running.dec()
                self.metrics.job_duration.labels(outcome).observe(time.perf_counter() - started)

    async def _follow(
        self,
        job: JobRow,
        work: asyncio.Task,
        latest: dict[str, Any],
        sent: dict[str, Any],
        kept: list[Any],
    ) -> str:
        """Check in while ``work`` runs; record how it ended."""
        s = self.settings
        try:
            while True:
                done, _ = await asyncio.wait({work}, timeout=s.job_heartbeat_s)
                if done:
                    break
                progress = dict(latest) if latest != sent else None
                try:
                    mine = await self.store.heartbeat(job.id, self.name, progress)
                except Exception:
                    log.exception("heartbeat of job %s failed", job.id)
                    continue
                if progress is not None:
                    sent = progress
                if not mine:  # cancelled, or reclaimed by another replica
                    work.cancel()
                    await asyncio.gather(work, return_exceptions=True)
                    return "lost"
            final = dict(latest) or None
            try:
                report = work.result()
            except ImagelintError as exc:
                ok = await self.store.finish(
                    job.id, self.name, state="failed", ttl_s=s.job_ttl_s, error=error_body(exc),
                    progress=final,
                )  # fmt: skip
                return "failed" if ok else "lost"
            except Exception:
                log.exception("job %s failed", job.id)
                ok = await self.store.finish(
                    job.id, self.name, state="failed", ttl_s=s.job_ttl_s,
                    error=internal_error_body(), progress=final,
                )  # fmt: skip
                return "failed" if ok else "lost"
            await self._keep_reference(job.id, kept)
            ok = await self.store.finish(
                job.id, self.name, state="succeeded", ttl_s=s.job_ttl_s,
                report_json=msgspec.json.encode(report), progress=final,
            )  # fmt: skip
            return "succeeded" if ok else "lost"
        except asyncio.CancelledError:
            # this replica is stopping: hand the job back (shielded, the loop is cancelling us)
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.shield(self.store.release(job.id, self.name))
            raise

    async def _keep_reference(self, job_id: uuid.UUID, kept: list[Any]) -> None:
        """Store the job's reference material (before the job is marked succeeded, so a
        succeeded job can be referenced at once); a failure only costs later reference audits."""
        references = self.deps.references
        material = kept[0] if kept else None
        if references is None or material is None:
            return
        try:
            await references.save_job(job_id, material)
        except Exception:
            log.exception("keeping the reference items of job %s failed", job_id)

    # --- retention and gauges --------------------------------------------------------------
    async def _housekeeping(self) -> None:
        s = self.settings
        last_cleanup = 0.0
        while not self._stopping:
            try:
                await self.store.fail_exhausted(
                    stale_s=s.job_stale_s, max_attempts=s.job_max_attempts, ttl_s=s.job_ttl_s
                )
                if time.monotonic() - last_cleanup >= s.cleanup_interval_s:
                    last_cleanup = time.monotonic()
                    await self.cleanup()
                if self.metrics is not None:
                    counts = await self.store.counts()
                    for state, n in counts.items():
                        self.metrics.jobs.labels(state).set(n)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job housekeeping failed")
            await asyncio.sleep(max(s.job_poll_s, 1.0))

    async def cleanup(self) -> dict[str, int]:
        """Remove expired jobs, cache entries unused for ``embedding_cache_ttl_s``, then the least
        recently used entries over ``embedding_cache_max_rows`` / ``embedding_cache_max_bytes``."""
        from service.store.embedding_cache import delete_unused, evict_over_caps
        from service.store.report_cache import delete_unused_reports

        s = self.settings
        removed = {"jobs": await self.store.delete_expired()}
        removed["cache_entries"] = await delete_unused(self.store.pool, s.embedding_cache_ttl_s)
        removed["cached_reports"] = await delete_unused_reports(
            self.store.pool, s.embedding_cache_ttl_s
        )
        removed["cache_over_caps"] = await evict_over_caps(
            self.store.pool,
            max_rows=s.embedding_cache_max_rows,
            max_bytes=s.embedding_cache_max_bytes,
        )
        if any(removed.values()):
            log.info("retention removed %s", removed)
        return removed
