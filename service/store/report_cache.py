"""Whole reports by what determines them: a re-audit of an unchanged dataset with the same request
skips the checks.

A report is a function of the code, the model, the request and the content of its items (the
analyses are seeded: the same input gives the same report). The key is the SHA-256 of

- ``fingerprint``: the service's source files (every ``service/**/*.py`` and migration), the
  model name and version and the preprocessing version — any code change is a new key;
- the request as canonical JSON, without ``dataset`` (its URIs may be presigned and change per
  call while the content does not);
- per resolved item, in order: id, label, split, annotations, redacted URI, and the SHA-256 of
  its bytes when it loaded, or its error code when it did not.

Requests naming a reference are not cached (the reference may change under its name). Lookups
and writes never fail a report: a database error is logged and counts as a miss.
"""

from __future__ import annotations

import hashlib
import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import asyncpg
import msgspec

from service.fetch.fetcher import redact_uri

if TYPE_CHECKING:
    from service.datasets import Item
    from service.report.context import Collected
    from service.report.models import ReportRequest

log = logging.getLogger("imagelint.cache")

R = TypeVar("R", bound=msgspec.Struct)
SERVICE_DIR = Path(__file__).resolve().parents[1]


@cache
def source_fingerprint(root: Path = SERVICE_DIR) -> str:
    """SHA-256 over the service's Python sources and SQL migrations (path and bytes, sorted)."""
    digest = hashlib.sha256()
    for path in sorted([*root.rglob("*.py"), *root.rglob("*.sql")]):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def report_key(
    request: ReportRequest, items: list[Item], collected: Collected, fingerprint: str
) -> str:
    """The cache key of one report (see the module docstring)."""
    body = msgspec.to_builtins(request)
    body.pop("dataset", None)
    if collected.facts:  # images were loaded
        pairs = zip(collected.loaded, collected.facts, strict=True)
        loaded = {item.id: facts.sha256 for item, facts in pairs}
    else:  # image-free checks: labels and annotations are the content
        loaded = {item.id: "no-image" for item in collected.loaded}
    failed = {f.item.id: f.code for f in collected.failed}
    rows = [
        [item.id, item.label, item.split, msgspec.to_builtins(item.annotations),
         redact_uri(item.uri), loaded.get(item.id) or f"failed:{failed.get(item.id)}"]
        for item in items
    ]  # fmt: skip
    payload = msgspec.json.encode([fingerprint, body, rows], order="sorted")
    return hashlib.sha256(payload).hexdigest()


class ReportCache:
    def __init__(self, pool: asyncpg.Pool, fingerprint: str) -> None:
        self.pool = pool
        self.fingerprint = fingerprint

    async def get(self, key: str, report_type: type[R]) -> R | None:
        """The stored report decoded as ``report_type`` (the report stage's Struct; the store
        sits below the report stage and does not import it)."""
        try:
            text = await self.pool.fetchval(
                "UPDATE report_cache SET used_at = now() WHERE key = $1 RETURNING report::text", key
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            log.exception("report cache lookup failed; running the checks")
            return None
        if text is None:
            return None
        try:
            return msgspec.json.decode(text, type=report_type)
        except msgspec.ValidationError:  # stored by another shape of the report: recompute
            return None

    async def put(self, key: str, report: msgspec.Struct) -> None:
        try:
            await self.pool.execute(
                "INSERT INTO report_cache (key, report) VALUES ($1, $2)"
                " ON CONFLICT (key) DO UPDATE SET report = EXCLUDED.report, used_at = now()",
                key, msgspec.json.encode(report),
            )  # fmt: skip
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            log.exception("report cache write failed; the report goes on")


async def delete_unused_reports(pool: asyncpg.Pool, ttl_s: float) -> int:
    result = await pool.execute(
        "DELETE FROM report_cache WHERE used_at < now() - make_interval(secs => $1)", ttl_s
    )
    return int(result.split()[-1])
