"""New items against a reference set: copies of reference items, and leakage into its test split.

A reference audit compares each new item with every item of a reference set (an earlier job, or
a named collection) whose duplicate descriptors were stored when it was audited, so the
reference's images are never read again. A cross pair is:

- ``same_bytes`` / ``same_pixels``: equal SHA-256 of the file / of the decoded pixels;
- ``near``: cosine similarity of the fused descriptors ``>= threshold`` — the same descriptor
  (pixel code, weight) and threshold the duplicates check chose for the new items, applied to the
  reference's stored descriptor parts.

**Leakage**: a cross pair whose reference item lies in an evaluation split (test/val/...) while
the new item does not lie in that same split (a new item without a split counts as "not in it":
a new batch is assumed to be training data), or whose new item lies in an evaluation split while
its copy is a reference item of another named split. A reference item without a split never
counts as leakage (its role is unknown).

The search is exact: tiled products ``Q[a] @ R[b].T`` thresholded per tile (memory one tile),
``n m d`` flops — 20k new x 100k reference x 611 dims is 1.2e12 (tens of seconds on 2 cores).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
import numpy as np

from service.errors import InvalidInput

EVALUATION_SPLITS = frozenset({"test", "val", "validation", "valid", "dev"})
DEFAULT_MAX_LISTED = 1000
DEFAULT_MAX_PAIRS = 2_000_000
TILE_ROWS = 2048
_EPS = 1e-6  # float32 slack for threshold comparisons


class ReferencePair(msgspec.Struct, omit_defaults=True):
    id: str  # the new item
    reference_id: str
    reference_uri: str  # redacted like failed_items' URIs
    similarity: float
    evidence: str  # "same_bytes", "same_pixels" or "near"
    split: str | None = None
    reference_split: str | None = None
    label: str | None = None
    reference_label: str | None = None


class ReferenceLeakage(msgspec.Struct):
    items: list[str]  # new items that copy a reference item across an evaluation boundary
    by_splits: dict[str, int]  # "<new split>-><reference split>" -> leaked new items


class ReferenceResult(msgspec.Struct, omit_defaults=True):
    reference: str  # "collection:<name>" or "job:<id>"
    reference_items: int
    threshold: float
    pair_count: int
    pairs: list[ReferencePair]  # most similar first, at most max_listed
    copied: list[str]  # new items with at least one copy in the reference
    leakage: ReferenceLeakage
    label_conflicts: list[str]  # new items whose reference copy carries another label
    by_reference_split: dict[str, int] = {}  # reference split -> new items copying it


@dataclass(frozen=True)
class ReferenceColumns:
    """A reference set's stored columns, row-aligned (``descriptors``: the unweighted stacked
    parts, as the pipeline stores them; fused by the caller)."""

    ids: list[str]
    uris: list[str]
    labels: list[str | None]
    splits: list[str | None]
    byte_hashes: list[str | None]
    pixel_hashes: list[str | None]


def _norm(split: str | None) -> str | None:
    return split.lower() if split is not None else None


def is_leak(new_split: str | None, reference_split: str | None) -> bool:
    """Whether a copy between these splits leaks across an evaluation boundary (module doc)."""
    new, ref = _norm(new_split), _norm(reference_split)
    if ref is None or new == ref:
        return False
    return ref in EVALUATION_SPLITS or new in EVALUATION_SPLITS


def cross_pairs(
    queries: np.ndarray,
    base: np.ndarray,
    *,
    threshold: float,
    max_pairs: int = DEFAULT_MAX_PAIRS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (query row, base row) whose cosine is ``>= threshold``: (rows, base rows, cosines).

    Rows of both must be L2-normalised already (fused descriptors are). More than ``max_pairs``
    pairs raise ``InvalidInput`` (a threshold that low is useless).
    """
    if queries.ndim != 2 or base.ndim != 2 or queries.shape[1] != base.shape[1]:
        raise InvalidInput(
            f"descriptors must be 2-D with one width; got {queries.shape} and {base.shape}",
            field="reference",
        )
    if not -1.0 <= threshold <= 1.0:
        raise InvalidInput(f"threshold must be in [-1, 1], got {threshold}", field="threshold")
    q = np.ascontiguousarray(queries, np.float32)
    b = np.ascontiguousarray(base, np.float32)
    firsts, seconds, sims = [], [], []
    count = 0
    for a in range(0, q.shape[0], TILE_ROWS):
        for c in range(0, b.shape[0], TILE_ROWS):
            tile = q[a : a + TILE_ROWS] @ b[c : c + TILE_ROWS].T
            i, j = np.nonzero(tile >= threshold - _EPS)
            count += i.size
            if count > max_pairs:
                raise InvalidInput(
                    f"more than {max_pairs} pairs with the reference at threshold {threshold}",
                    field="options.duplicates.threshold",
                )
            firsts.append(i + a)
            seconds.append(j + c)
            sims.append(np.minimum(tile[i, j], 1.0))
    if not firsts:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, np.float32)
    return np.concatenate(firsts), np.concatenate(seconds), np.concatenate(sims)


def _exact_matches(
    new: Sequence[str | None], ref: Sequence[str | None]
) -> tuple[np.ndarray, np.ndarray]:
    where: dict[str, list[int]] = {}
    for j, h in enumerate(ref):
        if h is not None:
            where.setdefault(h, []).append(j)
    rows = [(i, j) for i, h in enumerate(new) if h is not None for j in where.get(h, ())]
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    arr = np.asarray(rows, np.int64)
    return arr[:, 0], arr[:, 1]


def match_reference(
    descriptors: np.ndarray,
    reference_descriptors: np.ndarray,
    *,
    ids: Sequence[str],
    splits: Sequence[str | None],
    labels: Sequence[str | None],
    byte_hashes: Sequence[str | None],
    pixel_hashes: Sequence[str | None],
    reference: ReferenceColumns,
    threshold: float,
    source: str,
    max_listed: int = DEFAULT_MAX_LISTED,
) -> ReferenceResult:
    """Cross pairs of the new items with a reference set, their leakage and label conflicts.

    Parameters
    ----------
    descriptors, reference_descriptors : ndarray, shapes (n, d) and (m, d)
        Fused, unit-norm duplicate descriptors of the new and the reference items.
    ids, splits, labels, byte_hashes, pixel_hashes : sequences of length n
        The new items' columns.
    reference : ReferenceColumns
        The reference's columns, length m.
    threshold : float, keyword-only
        Near-copy cut (cosine).
    source : str, keyword-only
        How the reference was named (reported as is).
    max_listed : int, keyword-only
        At most this many pairs are listed (all are counted).

    Returns
    -------
    ReferenceResult
    """
    n, m = descriptors.shape[0], reference_descriptors.shape[0]
    columns = {"ids": ids, "splits": splits, "labels": labels}
    columns.update(byte_hashes=byte_hashes, pixel_hashes=pixel_hashes)
    for name, values in columns.items():
        if len(values) != n:
            raise InvalidInput(f"{name} has {len(values)} entries for {n} items", field=name)
    if len(reference.ids) != m:
        raise InvalidInput(f"the reference lists {len(reference.ids)} items for {m} descriptors")
    best: dict[tuple[int, int], tuple[float, str]] = {}
    for evidence, (new_h, ref_h) in (
        ("same_bytes", (byte_hashes, reference.byte_hashes)),
        ("same_pixels", (pixel_hashes, reference.pixel_hashes)),
    ):
        for i, j in zip(*_exact_matches(new_h, ref_h), strict=True):
            best.setdefault((int(i), int(j)), (1.0, evidence))
    if n and m:
        rows, refs, sims = cross_pairs(descriptors, reference_descriptors, threshold=threshold)
        for i, j, s in zip(rows.tolist(), refs.tolist(), sims.tolist(), strict=True):
            best.setdefault((i, j), (round(float(s), 6), "near"))
    order = sorted(best.items(), key=lambda kv: (-kv[1][0], ids[kv[0][0]], reference.ids[kv[0][1]]))
    pairs = [
        ReferencePair(
            id=ids[i],
            reference_id=reference.ids[j],
            reference_uri=reference.uris[j],
            similarity=sim,
            evidence=evidence,
            split=splits[i],
            reference_split=reference.splits[j],
            label=labels[i],
            reference_label=reference.labels[j],
        )
        for (i, j), (sim, evidence) in order
    ]
    copied_rows = sorted({i for i, _ in best})
    leaked: dict[int, str] = {}
    conflicts: set[int] = set()
    by_ref_split: dict[int, set[str]] = {}
    for i, j in best:
        ref_split = reference.splits[j]
        by_ref_split.setdefault(i, set()).add(ref_split or "unspecified")
        if is_leak(splits[i], ref_split) and i not in leaked:
            leaked[i] = f"{splits[i] or 'unspecified'}->{ref_split}"
        if labels[i] is not None and reference.labels[j] is not None:
            if labels[i] != reference.labels[j]:
                conflicts.add(i)
    ref_split_counts = Counter(s for names in by_ref_split.values() for s in names)
    return ReferenceResult(
        reference=source,
        reference_items=m,
        threshold=float(threshold),
        pair_count=len(pairs),
        pairs=pairs[:max_listed],
        copied=[ids[i] for i in copied_rows],
        leakage=ReferenceLeakage(
            items=[ids[i] for i in sorted(leaked)],
            by_splits=dict(sorted(Counter(leaked.values()).items())),
        ),
        label_conflicts=[ids[i] for i in sorted(conflicts)],
        by_reference_split=dict(sorted(ref_split_counts.items())),
    )
