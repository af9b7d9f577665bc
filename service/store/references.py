"""Reference sets in PostgreSQL: what later audits compare new items with (``reference_sets`` and
``reference_items``, migration 0003).

A succeeded job whose report ran the duplicates check leaves its items' material here under its
id (removed with the job when its result expires); ``PUT /v1/collections/{name}`` keeps a named
copy — from such a job (copied inside the database) or from a dataset audited once for it. The
material is per loaded item: id, redacted URI, label, split, SHA-256 of the bytes and of the
pixels, and the unweighted duplicate descriptor parts (``pipeline.stacked_descriptor_parts``,
754 float32 = 3 KB an item). Pooled embeddings are not kept (8 KB an item, and no reference
check needs them yet).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import numpy as np

from service.analysis.reference import ReferenceColumns

COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_ITEM_COLUMNS = (
    "set_id", "row", "item_id", "uri", "label", "split", "sha256", "pixel_hash", "descriptor",
)  # fmt: skip


@dataclass(frozen=True)
class ReferenceMaterial:
    """Per loaded item, row-aligned: what a reference audit needs of a dataset."""

    columns: ReferenceColumns
    descriptors: np.ndarray  # (m, parts) float32, unweighted stacked parts

    def __len__(self) -> int:
        return len(self.columns.ids)


@dataclass(frozen=True)
class ReferenceInfo:
    name: str | None
    job_id: uuid.UUID | None
    model: str
    preprocessing: str
    source: dict[str, Any]
    items: int
    created_at: datetime
    splits: dict[str, int]


@dataclass(frozen=True)
class LoadedReference:
    info: ReferenceInfo
    material: ReferenceMaterial


class ReferenceStore:
    """Reference sets of one model and preprocessing (others are invisible to lookups)."""

    def __init__(self, pool: asyncpg.Pool, model: str, preprocessing: str) -> None:
        self.pool = pool
        self.model = model
        self.preprocessing = preprocessing

    # --- write -----------------------------------------------------------------------------
    async def _insert(
        self,
        conn: Any,  # an asyncpg connection (or the pool's proxy of one)
        *,
        name: str | None,
        job_id: uuid.UUID | None,
        source: dict[str, Any],
        material: ReferenceMaterial,
    ) -> int:
        set_id = await conn.fetchval(
            "INSERT INTO reference_sets (name, job_id, model, preprocessing, source, items)"
            " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            name, job_id, self.model, self.preprocessing, source, len(material),
        )  # fmt: skip
        c = material.columns
        desc = np.ascontiguousarray(material.descriptors, dtype="<f4")
        records = [
            (set_id, row, c.ids[row], c.uris[row], c.labels[row], c.splits[row],
             c.byte_hashes[row], c.pixel_hashes[row], desc[row].tobytes())
            for row in range(len(material))
        ]  # fmt: skip
        await conn.copy_records_to_table("reference_items", records=records, columns=_ITEM_COLUMNS)
        return int(set_id)

    async def save_job(self, job_id: uuid.UUID, material: ReferenceMaterial) -> None:
        """Keep a job's material (replacing what an earlier attempt of the job left)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM reference_sets WHERE job_id = $1", job_id)
            await self._insert(
                conn, name=None, job_id=job_id, source={"job": str(job_id)}, material=material
            )

    async def save_collection(
        self, name: str, material: ReferenceMaterial, source: dict[str, Any]
    ) -> tuple[ReferenceInfo, bool]:
        """Create or replace the collection ``name``; returns (info, created)."""
        async with self.pool.acquire() as conn, conn.transaction():
            old = await conn.fetchval(
                "DELETE FROM reference_sets WHERE name = $1 RETURNING id", name
            )
            await self._insert(conn, name=name, job_id=None, source=source, material=material)
        info = await self.info(collection=name)
        assert info is not None
        return info, old is None

    async def collection_from_job(
        self, name: str, job_id: uuid.UUID
    ) -> tuple[ReferenceInfo, bool] | None:
        """Copy a job's material into the collection ``name`` (inside the database); None when
        the job left none (of this model)."""
        async with self.pool.acquire() as conn, conn.transaction():
            src = await conn.fetchrow(
                "SELECT id, items FROM reference_sets WHERE job_id = $1 AND model = $2"
                " AND preprocessing = $3",
                job_id, self.model, self.preprocessing,
            )  # fmt: skip
            if src is None:
                return None
            old = await conn.fetchval(
                "DELETE FROM reference_sets WHERE name = $1 RETURNING id", name
            )
            set_id = await conn.fetchval(
                "INSERT INTO reference_sets (name, model, preprocessing, source, items)"
                " VALUES ($1, $2, $3, $4, $5) RETURNING id",
                name, self.model, self.preprocessing, {"job": str(job_id)}, src["items"],
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO reference_items"
                " SELECT $1, row, item_id, uri, label, split, sha256, pixel_hash, descriptor"
                " FROM reference_items WHERE set_id = $2",
                set_id, src["id"],
            )  # fmt: skip
        info = await self.info(collection=name)
        assert info is not None
        return info, old is None

    async def delete_collection(self, name: str) -> bool:
        result = await self.pool.execute("DELETE FROM reference_sets WHERE name = $1", name)
        return result.split()[-1] != "0"

    # --- read ------------------------------------------------------------------------------
    async def _set_row(
        self, conn, *, collection: str | None = None, job: uuid.UUID | None = None
    ) -> asyncpg.Record | None:
        if collection is not None:
            where, key = "name = $1", collection
        else:
            where, key = "job_id = $1", job
        return await conn.fetchrow(
            "SELECT id, name, job_id, model, preprocessing, source, items, created_at"
            f" FROM reference_sets WHERE {where}",
            key,
        )

    async def _info(self, conn, row: asyncpg.Record) -> ReferenceInfo:
        splits = await conn.fetch(
            "SELECT coalesce(split, 'unspecified') AS split, count(*) AS n FROM reference_items"
            " WHERE set_id = $1 GROUP BY 1 ORDER BY 1",
            row["id"],
        )
        return ReferenceInfo(
            name=row["name"],
            job_id=row["job_id"],
            model=row["model"],
            preprocessing=row["preprocessing"],
            source=row["source"],
            items=row["items"],
            created_at=row["created_at"],
            splits={r["split"]: r["n"] for r in splits},
        )

    async def info(
        self, *, collection: str | None = None, job: uuid.UUID | None = None
    ) -> ReferenceInfo | None:
        """The set named ``collection`` or left by ``job`` (any model), or None."""
        async with self.pool.acquire() as conn:
            row = await self._set_row(conn, collection=collection, job=job)
            return None if row is None else await self._info(conn, row)

    async def load(
        self, *, collection: str | None = None, job: uuid.UUID | None = None
    ) -> LoadedReference | None:
        """A set with its items, in row order; None when there is none."""
        async with self.pool.acquire() as conn:
            row = await self._set_row(conn, collection=collection, job=job)
            if row is None:
                return None
            info = await self._info(conn, row)
            items = await conn.fetch(
                "SELECT item_id, uri, label, split, sha256, pixel_hash, descriptor"
                " FROM reference_items WHERE set_id = $1 ORDER BY row",
                row["id"],
            )
        columns = ReferenceColumns(
            ids=[r["item_id"] for r in items],
            uris=[r["uri"] for r in items],
            labels=[r["label"] for r in items],
            splits=[r["split"] for r in items],
            byte_hashes=[r["sha256"] for r in items],
            pixel_hashes=[r["pixel_hash"] for r in items],
        )
        if items:
            blob = b"".join(r["descriptor"] for r in items)
            descriptors = np.frombuffer(blob, dtype="<f4").reshape(len(items), -1)
        else:
            descriptors = np.zeros((0, 0), np.float32)
        return LoadedReference(info, ReferenceMaterial(columns, descriptors))
