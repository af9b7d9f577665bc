"""Reference audits at the edges: find the reference a request names, keep a job's material, and
match the new items with the reference (``service.analysis.reference`` does the computing).

The reference's images are never read again: its stored descriptor parts are fused with the
pixel code and weight the duplicates check chose for the new items, and compared at the same
threshold.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from service.analysis.reference import ReferenceColumns, ReferenceResult, match_reference
from service.errors import InvalidInput, JobsUnavailable, ReferenceNotFound
from service.fetch.fetcher import redact_uri
from service.store.references import LoadedReference, ReferenceMaterial

if TYPE_CHECKING:
    from service.report.context import CheckContext, Collected
    from service.report.models import ReferenceRef


def reference_label(ref: ReferenceRef) -> str:
    return f"collection:{ref.collection}" if ref.collection is not None else f"job:{ref.job}"


async def find_reference(
    ref: ReferenceRef, references: Any, *, checks: Sequence[str] | None, load: bool = True
) -> LoadedReference | None:
    """The reference set ``ref`` names, loaded; typed errors name the request field at fault.

    ``references``: a ``ReferenceStore`` (None without a database). ``checks``: the request's
    checks (None = all). With ``load=False`` only checks that it exists and fits (None).
    """
    read = references.load if load and references is not None else None
    if checks is not None and "duplicates" not in checks:
        raise InvalidInput(
            "a reference audit runs inside the duplicates check: add it to checks",
            field="reference",
        )
    if references is None:
        raise JobsUnavailable("references need a database: set IMAGELINT_DATABASE_URL")
    field = "reference.collection" if ref.collection is not None else "reference.job"
    if ref.collection is not None:
        loaded = await (read or references.info)(collection=ref.collection)
        missing = f"no collection {ref.collection!r}"
    else:
        try:
            job_id = uuid.UUID(ref.job)
        except ValueError as exc:
            raise ReferenceNotFound(f"no job {ref.job!r}", field=field) from exc
        loaded = await (read or references.info)(job=job_id)
        missing = (
            f"job {ref.job} left no reference items (it has not succeeded, its result expired, "
            "or its report did not run the duplicates check)"
        )
    if loaded is None:
        raise ReferenceNotFound(missing, field=field)
    info = loaded.info if load else loaded
    if (info.model, info.preprocessing) != (references.model, references.preprocessing):
        raise InvalidInput(
            f"{reference_label(ref)} was encoded by {info.model} ({info.preprocessing}); this "
            f"service encodes with {references.model} ({references.preprocessing}): rebuild it",
            field=field,
        )
    return loaded if load else None


def reference_material(collected: Collected) -> ReferenceMaterial | None:
    """The loaded items' material for a reference set (None when no descriptors were made)."""
    descriptors = collected.array("descriptors")
    if descriptors is None or not collected.loaded:
        return None
    items, facts = collected.loaded, collected.facts
    columns = ReferenceColumns(
        ids=[item.id for item in items],
        uris=[redact_uri(item.uri) for item in items],
        labels=[item.label for item in items],
        splits=[item.split for item in items],
        byte_hashes=[f.sha256 for f in facts],
        pixel_hashes=[f.pixel_hash for f in facts],
    )
    return ReferenceMaterial(columns, np.asarray(descriptors, np.float32))


def match_against_reference(
    ctx: CheckContext, descriptors: np.ndarray, calibration: Any
) -> ReferenceResult:
    """Cross pairs of the loaded items (fused ``descriptors``) with ``ctx.reference``, fused the
    same way (``calibration.pixel_code`` / ``pixel_weight``) and cut at its threshold."""
    from service.analysis.descriptors import fuse_descriptor_parts
    from service.report.descriptor_parts import split_descriptor_parts

    loaded: LoadedReference = ctx.reference
    material = loaded.material
    if ctx.descriptors is None:
        raise RuntimeError("the duplicates check ran without descriptors")
    if len(material) and material.descriptors.shape[1] != ctx.descriptors.shape[1]:
        raise InvalidInput(
            f"the reference's descriptors have {material.descriptors.shape[1]} values, this "
            f"service's {ctx.descriptors.shape[1]}: rebuild the reference",
            field="reference",
        )
    if len(material):
        parts = split_descriptor_parts(material.descriptors)
        ref = fuse_descriptor_parts(
            parts[calibration.pixel_code], parts["grid"], calibration.pixel_weight
        )
    else:
        ref = np.zeros((0, descriptors.shape[1]), np.float32)
    items, facts = ctx.collected.loaded, ctx.collected.facts
    info = loaded.info
    source = f"collection:{info.name}" if info.name is not None else f"job:{info.job_id}"
    return match_reference(
        descriptors,
        ref,
        ids=[item.id for item in items],
        splits=[item.split for item in items],
        labels=[item.label for item in items],
        byte_hashes=[f.sha256 for f in facts],
        pixel_hashes=[f.pixel_hash for f in facts],
        reference=material.columns,
        threshold=calibration.threshold,
        source=source,
    )
