"""Per-image vectors by content: (SHA-256 of the file's bytes, model, preprocessing) -> embedding
and duplicate descriptor parts.

A re-audit of an unchanged or extended dataset finds most of its images here and sends only the
new ones to Triton. The key names the model (``name:version`` plus ``embedding_cache_namespace``
— bump it when a model is replaced under the same version) and ``PREPROCESSING_VERSION`` (the
decode size and the descriptor layout: change it when either changes), plus the report's encoder
resolution when it is not 224 (``service.images.resolution``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg
import numpy as np

log = logging.getLogger("imagelint.cache")

# decode to 224 x 224 RGB; descriptor parts = 6x6 pixel code | 12x12 pixel code | grid code
# (service.analysis.descriptors.descriptor_parts) | 32x32 verification thumbnail; the
# multi-stage 2024-d embedding
PREPROCESSING_VERSION = "decode224-parts4-emb2024"


@dataclass(frozen=True)
class CachedVectors:
    embedding: np.ndarray
    descriptor: np.ndarray | None
    facts: dict | None = None  # service.images.decode.ImageFacts as a dict (decode skipped)
    thumbnail: bytes | None = None


def _vector(data: bytes | None) -> np.ndarray | None:
    return None if data is None else np.frombuffer(data, dtype="<f4")


class EmbeddingCache:
    """Lookups and writes for one model (``model``: e.g. ``image_encoder:1``)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        model: str,
        preprocessing: str = PREPROCESSING_VERSION,
        *,
        metrics=None,
    ) -> None:
        self.pool = pool
        self.metrics = metrics  # service.metrics.Metrics or None
        self.model = model
        self.preprocessing = preprocessing
        self.hits = 0
        self.misses = 0

    def preprocessing_at(self, resolution: int) -> str:
        """The key's preprocessing part for images encoded at ``resolution`` px (224: as before)."""
        return self.preprocessing if resolution == 224 else f"{self.preprocessing}-at{resolution}"

    async def get_many(
        self, sha256s: list[str], *, need_descriptor: bool, resolution: int = 224
    ) -> dict[str, CachedVectors]:
        """The entries found for these hashes (with a descriptor when ``need_descriptor``).

        The cache only saves work: a database error here is logged and counts as misses.
        """
        if not sha256s:
            return {}
        wanted = sorted(set(sha256s))
        preprocessing = self.preprocessing_at(resolution)
        try:
            rows = await self.pool.fetch(
                "SELECT sha256, embedding, descriptor, facts, thumbnail,"
                " used_at < now() - interval '1 hour' AS old"
                " FROM embedding_cache WHERE model = $1 AND preprocessing = $2"
                " AND sha256 = ANY($3::text[])"
                + (" AND descriptor IS NOT NULL" if need_descriptor else ""),
                self.model, preprocessing, wanted,
            )  # fmt: skip
            stale = sorted(r["sha256"] for r in rows if r["old"])
            if stale:  # retention counts from the last use; refreshed at most hourly
                await self.pool.execute(
                    "UPDATE embedding_cache SET used_at = now()"
                    " WHERE model = $1 AND preprocessing = $2 AND sha256 = ANY($3::text[])",
                    self.model, preprocessing, stale,
                )  # fmt: skip
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            log.exception("embedding cache lookup failed; encoding instead")
            rows = []
        found = {
            r["sha256"]: CachedVectors(
                np.frombuffer(r["embedding"], dtype="<f4"),
                _vector(r["descriptor"]),
                r["facts"],
                r["thumbnail"],
            )
            for r in rows
        }
        hits = sum(1 for h in sha256s if h in found)
        self.hits += hits
        self.misses += len(sha256s) - hits
        if self.metrics is not None:
            self.metrics.cache_lookups.labels("hit").inc(hits)
            self.metrics.cache_lookups.labels("miss").inc(len(sha256s) - hits)
        return found

    async def put_many(
        self,
        sha256s: list[str],
        embeddings: np.ndarray,
        descriptors: np.ndarray | None,
        *,
        resolution: int = 224,
        facts: list[dict] | None = None,
        thumbnails: list[bytes] | None = None,
    ) -> None:
        """Store (or complete) entries; an existing descriptor, facts or thumbnail is kept when
        none is given.

        Rows are written in key order (concurrent writers of overlapping chunks then lock in the
        same order); a database error is logged and the report goes on without caching.
        """
        if not sha256s:
            return
        emb = np.ascontiguousarray(embeddings, dtype="<f4")
        desc = None if descriptors is None else np.ascontiguousarray(descriptors, dtype="<f4")
        first_row = {h: i for i, h in reversed(list(enumerate(sha256s)))}
        records = [
            (
                h,
                self.model,
                self.preprocessing_at(resolution),
                emb[i].tobytes(),
                None if desc is None else desc[i].tobytes(),
                None if facts is None else facts[i],
                None if thumbnails is None else thumbnails[i],
            )
            for h, i in sorted(first_row.items())
        ]
        try:
            await self.pool.executemany(
                "INSERT INTO embedding_cache"
                " (sha256, model, preprocessing, embedding, descriptor, facts, thumbnail)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)"
                " ON CONFLICT (sha256, model, preprocessing) DO UPDATE SET"
                " embedding = EXCLUDED.embedding,"
                " descriptor = coalesce(EXCLUDED.descriptor, embedding_cache.descriptor),"
                " facts = coalesce(EXCLUDED.facts, embedding_cache.facts),"
                " thumbnail = coalesce(EXCLUDED.thumbnail, embedding_cache.thumbnail),"
                " used_at = now()",
                records,
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            log.exception("embedding cache write failed; the report goes on")


class CalibrationCache:
    """Descriptors of the planted calibration copies of one image, by (SHA-256, recipe): see
    migration 0004. Errors are logged and count as misses, like the embedding cache's."""

    def __init__(self, pool: asyncpg.Pool, model: str, preprocessing: str) -> None:
        self.pool = pool
        self.model = model
        self.preprocessing = preprocessing

    async def get_many(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], np.ndarray]:
        """(sha256, recipe) -> the copies' stacked descriptor parts (one row per copy kind)."""
        if not keys:
            return {}
        try:
            rows = await self.pool.fetch(
                "SELECT sha256, recipe, descriptors FROM calibration_cache"
                " WHERE model = $1 AND preprocessing = $2"
                " AND (sha256, recipe) IN (SELECT * FROM unnest($3::text[], $4::text[]))",
                self.model, self.preprocessing, [k[0] for k in keys], [k[1] for k in keys],
            )  # fmt: skip
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            log.exception("calibration cache lookup failed; planting copies instead")
            return {}
        return {
            (r["sha256"], r["recipe"]): np.frombuffer(r["descriptors"], dtype="<f4") for r in rows
        }

    async def put_many(self, keys: list[tuple[str, str]], descriptors: list[np.ndarray]) -> None:
        records = sorted(
            {
                k: (k[0], self.model, self.preprocessing, k[1],
                    np.ascontiguousarray(d, dtype="<f4").tobytes())
                for k, d in zip(keys, descriptors, strict=True)
            }.values()
        )  # fmt: skip
        try:
            await self.pool.executemany(
                "INSERT INTO calibration_cache (sha256, model, preprocessing, recipe, descriptors)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256, model, preprocessing, recipe)"
                " DO UPDATE SET descriptors = EXCLUDED.descriptors, used_at = now()",
                records,
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            log.exception("calibration cache write failed; the report goes on")


async def evict_over_caps(pool: asyncpg.Pool, *, max_rows: int = 0, max_bytes: int = 0) -> int:
    """Remove the least recently used entries beyond ``max_rows`` entries or ``max_bytes`` bytes
    of vectors (0: no cap); returns how many.

    Recency is ``used_at``, which a hit refreshes at most hourly, so the order is LRU to the hour
    (ties broken by key, so the choice is deterministic). The sizes are the stored vectors'
    (``octet_length``), not PostgreSQL's on-disk pages.
    """
    if max_rows <= 0 and max_bytes <= 0:
        return 0
    result = await pool.execute(
        "WITH ranked AS ("
        " SELECT sha256, model, preprocessing,"
        "  row_number() OVER newest AS n,"
        "  sum(octet_length(embedding) + coalesce(octet_length(descriptor), 0)) OVER newest AS bytes"
        " FROM embedding_cache"
        " WINDOW newest AS (ORDER BY used_at DESC, sha256, model, preprocessing"
        "  ROWS UNBOUNDED PRECEDING))"
        " DELETE FROM embedding_cache e USING ranked r"
        " WHERE e.sha256 = r.sha256 AND e.model = r.model AND e.preprocessing = r.preprocessing"
        " AND (($1 > 0 AND r.n > $1) OR ($2 > 0 AND r.bytes > $2))",
        max_rows, max_bytes,
    )  # fmt: skip
    return int(result.split()[-1])


async def delete_unused(pool: asyncpg.Pool, ttl_s: float) -> int:
    """Remove entries not used for ``ttl_s`` seconds; returns how many."""
    result = await pool.execute(
        "DELETE FROM embedding_cache WHERE used_at < now() - make_interval(secs => $1)", ttl_s
    )
    await pool.execute(
        "DELETE FROM calibration_cache WHERE used_at < now() - make_interval(secs => $1)", ttl_s
    )
    return int(result.split()[-1])
