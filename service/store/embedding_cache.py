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
                "SELECT sha256, embedding, descriptor, used_at < now() - interval '1 hour' AS old"
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
                np.frombuffer(r["embedding"], dtype="<f4"), _vector(r["descriptor"])
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
    ) -> None:
        """Store (or complete) entries; an existing descriptor is kept when none is given.

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
            )
            for h, i in sorted(first_row.items())
        ]
        try:
            await self.pool.executemany(
                "INSERT INTO embedding_cache (sha256, model, preprocessing, embedding, descriptor)"
                " VALUES ($1, $2, $3, $4, $5)"
                " ON CONFLICT (sha256, model, preprocessing) DO UPDATE SET"
                " embedding = EXCLUDED.embedding,"
                " descriptor = coalesce(EXCLUDED.descriptor, embedding_cache.descriptor), used_at = now()",
                records,
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            log.exception("embedding cache write failed; the report goes on")


async def delete_unused(pool: asyncpg.Pool, ttl_s: float) -> int:
    """Remove entries not used for ``ttl_s`` seconds; returns how many."""
    result = await pool.execute(
        "DELETE FROM embedding_cache WHERE used_at < now() - make_interval(secs => $1)", ttl_s
    )
    return int(result.split()[-1])
