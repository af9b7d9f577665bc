"""The job table's operations (PostgreSQL through an asyncpg pool).

A job is ``queued`` -> ``running`` -> ``succeeded`` | ``failed`` | ``cancelled``. A worker claims
the oldest claimable job with ``SELECT ... FOR UPDATE SKIP LOCKED`` (so replicas never claim the
same job twice) and then holds it by heartbeat; a ``running`` job whose heartbeat is older than
``stale_s`` is claimable again (its worker died). Every state change that ends a run is an
``UPDATE ... WHERE owner = me AND state = 'running'`` in one transaction with its event: a worker
that lost the job (reclaimed, cancelled) changes nothing, so a job finishes exactly once.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
STATES = ("queued", "running", "succeeded", "failed", "cancelled")


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


@dataclass(frozen=True)
class JobRow:
    """One job as stored (the report itself is read separately)."""

    id: uuid.UUID
    state: str
    request: dict[str, Any]
    owner: str | None
    attempts: int
    progress: dict[str, Any] | None
    error: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> JobRow:
        return cls(**{name: r[name] for name in cls.__dataclass_fields__})


_COLUMNS = ", ".join(JobRow.__dataclass_fields__)


class JobStore:
    """Jobs, events and reports in PostgreSQL."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    # --- submit / read ---------------------------------------------------------------------
    async def submit(
        self,
        request: dict[str, Any],
        request_json: bytes,
        *,
        api_key: str | None,
        idempotency_key: str | None,
    ) -> tuple[JobRow, bool]:
        """Insert a queued job; with an idempotency key already used, the existing job.

        Returns (job, created). The caller checks ``request_sha256`` on reuse via
        ``request_matches``.
        """
        job_id = uuid.uuid4()
        key_hash = sha256_hex(api_key or "")
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"INSERT INTO jobs (id, state, request, request_sha256, api_key_sha256, idempotency_key)"
                f" VALUES ($1, 'queued', $2, $3, $4, $5)"
                f" ON CONFLICT (api_key_sha256, idempotency_key) WHERE idempotency_key IS NOT NULL"
                f" DO NOTHING RETURNING {_COLUMNS}",
                job_id, request_json, sha256_hex(request_json), key_hash, idempotency_key,
            )  # fmt: skip
            if row is not None:
                await conn.execute(
                    "INSERT INTO job_events (job_id, body) VALUES ($1, $2)",
                    job_id, {"event": "state", "state": "queued"},
                )  # fmt: skip
                return JobRow.from_record(row), True
            existing = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM jobs WHERE api_key_sha256 = $1 AND idempotency_key = $2",
                key_hash, idempotency_key,
            )  # fmt: skip
            return JobRow.from_record(existing), False

    async def get_by_key(self, api_key: str | None, idempotency_key: str) -> JobRow | None:
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM jobs WHERE api_key_sha256 = $1 AND idempotency_key = $2",
            sha256_hex(api_key or ""), idempotency_key,
        )  # fmt: skip
        return JobRow.from_record(row) if row is not None else None

    async def request_matches(self, job_id: uuid.UUID, request_json: bytes) -> bool:
        stored = await self.pool.fetchval("SELECT request_sha256 FROM jobs WHERE id = $1", job_id)
        return stored == sha256_hex(request_json)

    async def active_for_key(self, api_key: str | None) -> int:
        return await self.pool.fetchval(
            "SELECT count(*) FROM jobs WHERE api_key_sha256 = $1 AND state IN ('queued', 'running')",
            sha256_hex(api_key or ""),
        )

    async def get(self, job_id: uuid.UUID) -> JobRow | None:
        row = await self.pool.fetchrow(f"SELECT {_COLUMNS} FROM jobs WHERE id = $1", job_id)
        return JobRow.from_record(row) if row is not None else None

    async def report_json(self, job_id: uuid.UUID) -> str | None:
        """The stored report as JSON text (served as is, never re-encoded)."""
        return await self.pool.fetchval("SELECT report::text FROM jobs WHERE id = $1", job_id)

    async def events_after(
        self, job_id: uuid.UUID, after: int, limit: int = 500
    ) -> list[tuple[int, dict]]:
        rows = await self.pool.fetch(
            "SELECT id, body FROM job_events WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            job_id, after, limit,
        )  # fmt: skip
        return [(r["id"], r["body"]) for r in rows]

    async def counts(self) -> dict[str, int]:
        rows = await self.pool.fetch("SELECT state, count(*) AS n FROM jobs GROUP BY state")
        counts: dict[str, int] = dict.fromkeys(STATES, 0)
        counts.update({r["state"]: r["n"] for r in rows})
        return counts

    # --- cancel ----------------------------------------------------------------------------
    async def cancel(self, job_id: uuid.UUID, ttl_s: float) -> JobRow | None:
        """Cancel a queued or running job (its worker notices at its next heartbeat)."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"UPDATE jobs SET state = 'cancelled', finished_at = now(),"
                f" expires_at = now() + make_interval(secs => $2)"
                f" WHERE id = $1 AND state IN ('queued', 'running') RETURNING {_COLUMNS}",
                job_id, ttl_s,
            )  # fmt: skip
            if row is not None:
                await conn.execute(
                    "INSERT INTO job_events (job_id, body) VALUES ($1, $2)",
                    job_id, {"event": "state", "state": "cancelled"},
                )  # fmt: skip
                return JobRow.from_record(row)
        return await self.get(job_id)

    # --- the worker's side -----------------------------------------------------------------
    async def claim(self, owner: str, *, stale_s: float, max_attempts: int) -> JobRow | None:
        """Take the oldest queued job, or a running one whose worker went silent."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"UPDATE jobs SET state = 'running', owner = $1, heartbeat_at = now(),"
                f" started_at = coalesce(started_at, now()), attempts = attempts + 1"
                f" WHERE id = (SELECT id FROM jobs WHERE (state = 'queued' OR (state = 'running'"
                f"   AND heartbeat_at < now() - make_interval(secs => $2))) AND attempts < $3"
                f"   ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)"
                f" RETURNING {_COLUMNS}",
                owner, stale_s, max_attempts,
            )  # fmt: skip
            if row is None:
                return None
            job = JobRow.from_record(row)
            await conn.execute(
                "INSERT INTO job_events (job_id, body) VALUES ($1, $2)",
                job.id, {"event": "state", "state": "running", "attempt": job.attempts},
            )  # fmt: skip
            return job

    async def fail_exhausted(self, *, stale_s: float, max_attempts: int, ttl_s: float) -> int:
        """Fail silent running jobs that have used all their attempts; returns how many."""
        error = {
            "code": "job_attempts_exhausted",
            "detail": f"the job's worker stopped {max_attempts} times",
        }
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "UPDATE jobs SET state = 'failed', finished_at = now(), error = $3,"
                " expires_at = now() + make_interval(secs => $4)"
                " WHERE state = 'running' AND heartbeat_at < now() - make_interval(secs => $1)"
                " AND attempts >= $2 RETURNING id",
                stale_s, max_attempts, error, ttl_s,
            )  # fmt: skip
            for r in rows:
                await conn.execute(
                    "INSERT INTO job_events (job_id, body) VALUES ($1, $2)",
                    r["id"], {"event": "state", "state": "failed", "error": error},
                )  # fmt: skip
        return len(rows)

    async def heartbeat(
        self, job_id: uuid.UUID, owner: str, progress: dict[str, Any] | None
    ) -> bool:
        """Check in (and record progress as an event when it changed); False: the job is no
        longer ours to run (cancelled, or reclaimed after we went silent)."""
        async with self.pool.acquire() as conn, conn.transaction():
            updated = await conn.fetchval(
                "UPDATE jobs SET heartbeat_at = now(), progress = coalesce($3, progress)"
                " WHERE id = $1 AND owner = $2 AND state = 'running' RETURNING id",
                job_id, owner, progress,
            )  # fmt: skip
            if updated is None:
                return False
            if progress is not None:
                await conn.execute(
                    "INSERT INTO job_events (job_id, body) VALUES ($1, $2)",
                    job_id, {"event": "progress", **progress},
                )  # fmt: skip
            return True

    async def finish(
        self,
        job_id: uuid.UUID,
        owner: str,
        *,
        state: str,
        ttl_s: float,
        report_json: bytes | None = None,
        error: dict[str, Any] | None = None,
        progress: dict[str, Any] | None = None,
    ) -> bool:
        """End our run of the job (succeeded or failed); False when it was not ours any more."""
        if state not in ("succeeded", "failed"):
            raise ValueError(f"finish() ends a job as succeeded or failed, not {state!r}")
        async with self.pool.acquire() as conn, conn.transaction():
            updated = await conn.fetchval(
                "UPDATE jobs SET state = $3, report = $4, error = $5, finished_at = now(),"
                " progress = coalesce($7, progress), expires_at = now() + make_interval(secs => $6)"
                " WHERE id = $1 AND owner = $2 AND state = 'running' RETURNING id",
                job_id, owner, state, report_json, error, ttl_s, progress,
            )  # fmt: skip
            if updated is None:
                return False
            body: dict[str, Any] = {"event": "state", "state": state}
            if error is not None:
                body["error"] = error
            await conn.execute(
                "INSERT INTO job_events (job_id, body) VALUES ($1, $2)", job_id, body
            )
            return True

    async def release(self, job_id: uuid.UUID, owner: str) -> bool:
        """Put our running job back in the queue (this replica is shutting down)."""
        async with self.pool.acquire() as conn, conn.transaction():
            updated = await conn.fetchval(
                "UPDATE jobs SET state = 'queued', owner = NULL, heartbeat_at = NULL"
                " WHERE id = $1 AND owner = $2 AND state = 'running' RETURNING id",
                job_id, owner,
            )  # fmt: skip
            if updated is None:
                return False
            await conn.execute(
                "INSERT INTO job_events (job_id, body) VALUES ($1, $2)",
                job_id, {"event": "state", "state": "queued", "reason": "replica_shutdown"},
            )  # fmt: skip
            return True

    # --- retention -------------------------------------------------------------------------
    async def delete_expired(self) -> int:
        """Remove finished jobs past their ``expires_at`` (events go with them)."""
        result = await self.pool.execute("DELETE FROM jobs WHERE expires_at < now()")
        return int(result.split()[-1])
