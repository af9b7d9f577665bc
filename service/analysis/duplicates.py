"""Duplicates: exact copies, near copies, their groups, train/test leakage and label conflicts.

Evidence, reported separately:

- **same bytes**: equal content hashes (SHA-256 of the file);
- **same pixels**: equal hashes of the decoded pixels (a lossless re-encode or a metadata edit
  has the same pixels but other bytes; same bytes imply same pixels);
- **near**: cosine similarity >= ``threshold`` between descriptors (``duplicate_descriptors``
  for images, or any embedding a caller sends), found by ``find_similar_pairs``.
  A report adds the pairs its second stage verified on their pixels (``extra_pairs``, from
  ``copy_verification``), which may lie below the threshold.

**Groups are copies, not chains.** Exact copies (same bytes or pixels) form their groups whole.
Near pairs then group by *star linkage*: the item with the most near copies (ties: the most
similar, then input order) becomes a representative and takes its not-yet-grouped near copies;
repeat. An item joins a group only as a near copy of the group's representative, so a chain
a~b~c of look-alikes is never one group — on Fashion-MNIST connected components had chained
803 different trousers into one "group". In each group one member is suggested to keep, by this
deterministic rule, in order:

1. the split whose copy is most valuable to keep: ``test`` before ``val``/``validation``/
   ``valid``/``dev`` before ``train`` before any other split before no split — so a leaked copy
   is dropped from training and the evaluation sets stay as they are;
2. a member whose label is the group's majority label (a mislabelled copy is dropped);
3. the member listed first in the input.

Members in an evaluation split (``test``, ``val``...) are never suggested for dropping: when a
group holds evaluation items, only its train/other/unsplit members are dropped.
``droppable`` counts the members to drop over all groups.

If more pairs reach the threshold than ``max_pairs``, the threshold is raised step by step until
they fit, and ``note`` says so: the check degrades to the strongest pairs instead of failing.
**Leakage**: groups whose members lie in two or more splits, with counts per pair of splits.
**Label conflicts**: groups whose labelled members carry two or more labels — strong evidence
that some copy is mislabelled.

References
----------
Barz, B., Denzler, J. (2020). Do we train on test data? Purging CIFAR of near-duplicates.
Hopcroft, J., Tarjan, R. (1973). Efficient algorithms for graph manipulation (connected
    components).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import msgspec
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from service.analysis.descriptors import DEFAULT_NEAR_DUPLICATE_THRESHOLD
from service.analysis.duplicate_calibration import ThresholdCalibration
from service.analysis.outliers import (
    DEFAULT_IQR_FACTOR,
    DEFAULT_KNN_EXACT_LIMIT,
    DEFAULT_OUTLIER_K,
    OutliersResult,
    find_outliers,
)
from service.analysis.reference import ReferenceResult
from service.analysis.similarity_search import (
    DEFAULT_EXACT_LIMIT,
    DEFAULT_MAX_PAIRS,
    DEFAULT_PROBE_MARGIN,
    find_similar_pairs,
)
from service.errors import InvalidInput

DEFAULT_MAX_LISTED_PAIRS = 10_000
# Rank of a split when choosing the copy to keep (lower keeps first); see the module docstring.
SPLIT_KEEP_RANK = {"test": 0, "val": 1, "validation": 1, "valid": 1, "dev": 1, "train": 2}
_OTHER_SPLIT_RANK = 3
_NO_SPLIT_RANK = 4


class NearPair(msgspec.Struct):
    a: str
    b: str
    similarity: float


class DuplicateGroup(msgspec.Struct, omit_defaults=True):
    group: int
    members: list[str]
    keep: str
    drop: list[str]
    evidence: list[str]  # among "same_bytes", "same_pixels", "near"
    splits: list[str] = []
    labels: list[str] = []


class SplitPairLeakage(msgspec.Struct):
    splits: list[str]  # two split names, sorted
    groups: int  # groups with members in both splits
    items: int  # members of those groups that lie in either split


class Leakage(msgspec.Struct):
    groups: list[int]  # ids of the groups spanning splits
    items: list[str]  # their members
    by_split_pair: list[SplitPairLeakage]


class LabelConflict(msgspec.Struct):
    group: int
    labels: dict[str, int]  # label -> number of members carrying it
    members: list[str]


class DuplicatesResult(msgspec.Struct, omit_defaults=True):
    n_items: int
    threshold: float
    method: str  # "exact" or "cells" (see similarity_search)
    exact_byte_groups: list[list[str]]
    exact_pixel_groups: list[list[str]]
    near_pair_count: int
    near_pairs: list[NearPair]  # most similar first, at most max_listed_pairs
    groups: list[DuplicateGroup]
    droppable: int
    leakage: Leakage
    label_conflicts: list[LabelConflict]
    outliers: OutliersResult | None = None
    calibration: ThresholdCalibration | None = None
    note: str | None = None
    reference: ReferenceResult | None = None  # copies of, and leakage into, a reference set


def _optional_column(values, n: int, field: str) -> list[str | None]:
    if values is None:
        return [None] * n
    values = list(values)
    if len(values) != n:
        raise InvalidInput(f"{field} has {len(values)} entries for {n} items", field=field)
    return [None if v is None or v == "" else str(v) for v in values]


def _ids(ids, n: int) -> list[str]:
    if ids is None:
        return [str(i) for i in range(n)]
    out = [str(i) for i in ids]
    if len(out) != n:
        raise InvalidInput(f"ids has {len(out)} entries for {n} items", field="ids")
    if len(set(out)) != n:
        dup = next(i for i, c in Counter(out).items() if c > 1)
        raise InvalidInput(f"ids must be unique; {dup!r} appears more than once", field="ids")
    return out


def exact_groups(hashes: Sequence[str | None]) -> list[list[int]]:
    """Indices sharing a hash (``None`` never matches), groups of >= 2 in input order."""
    by_hash: dict[str, list[int]] = defaultdict(list)
    for i, h in enumerate(hashes):
        if h is not None:
            by_hash[h].append(i)
    return sorted((g for g in by_hash.values() if len(g) > 1), key=lambda g: g[0])


def connected_groups(n: int, first: np.ndarray, second: np.ndarray) -> list[list[int]]:
    """Connected components (size >= 2) of the graph on ``n`` nodes with edges first[k]-second[k],
    members ascending, groups ordered by their smallest member."""
    if first.size == 0:
        return []
    graph = coo_matrix((np.ones(first.size, np.int8), (first, second)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    sizes = np.bincount(component)
    members: dict[int, list[int]] = defaultdict(list)
    for i in np.flatnonzero(sizes[component] > 1):
        members[int(component[i])].append(int(i))
    return sorted(members.values(), key=lambda g: g[0])


def exact_units(n: int, exact: Sequence[Sequence[int]]) -> np.ndarray:
    """Each item's unit: the smallest index among items it is an exact copy of (transitively,
    over all exact groups, via ``connected_groups``), or itself."""
    first = [np.asarray(g[:-1], np.int64) for g in exact if len(g) > 1]
    second = [np.asarray(g[1:], np.int64) for g in exact if len(g) > 1]
    unit = np.arange(n, dtype=np.int64)
    if first:
        for members in connected_groups(n, np.concatenate(first), np.concatenate(second)):
            unit[members] = members[0]  # members ascending: the first is the smallest
    return unit


def star_groups(
    n: int,
    first: np.ndarray,
    second: np.ndarray,
    similarity: np.ndarray,
    exact: Sequence[Sequence[int]] = (),
) -> list[list[int]]:
    """Groups of copies without chaining (see the module docstring): exact groups whole, then
    star linkage over near pairs. Members ascending, groups ordered by their smallest member."""
    unit = exact_units(n, exact)
    neighbours: dict[int, dict[int, float]] = defaultdict(dict)
    for a, b, sim in zip(
        unit[first].tolist(), unit[second].tolist(), similarity.tolist(), strict=True
    ):
        if a != b:
            neighbours[a][b] = max(sim, neighbours[a].get(b, -1.0))
            neighbours[b][a] = max(sim, neighbours[b].get(a, -1.0))
    order = sorted(neighbours, key=lambda u: (-len(neighbours[u]), -max(neighbours[u].values()), u))
    taken: dict[int, int] = {}
    for rep in order:
        if rep in taken:
            continue
        free = [u for u in neighbours[rep] if u not in taken]
        if not free:
            continue
        taken[rep] = rep
        for u in free:
            taken[u] = rep
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        u = int(unit[i])
        key = taken.get(u, u)
        members[key].append(i)
    return sorted((sorted(g) for g in members.values() if len(g) > 1), key=lambda g: g[0])


def _split_rank(split: str | None) -> int:
    if split is None:
        return _NO_SPLIT_RANK
    return SPLIT_KEEP_RANK.get(split.lower(), _OTHER_SPLIT_RANK)


def choose_keep(members: list[int], splits: list[str | None], labels: list[str | None]) -> int:
    """The member to keep: best split rank, then the majority label, then input order."""
    counts = Counter(labels[i] for i in members if labels[i] is not None)
    majority = min(counts, key=lambda lab: (-counts[lab], lab)) if counts else None
    return min(
        members,
        key=lambda i: (_split_rank(splits[i]), labels[i] != majority or majority is None, i),
    )


def droppable_members(members: list[int], keep: int, splits: list[str | None]) -> list[int]:
    """Members to drop: all but ``keep``, except evaluation-split members, which stay."""
    return [i for i in members if i != keep and _split_rank(splits[i]) > 1]


def _leakage(groups: list[DuplicateGroup], member_idx, splits) -> Leakage:
    leaking, items = [], []
    per_pair: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for g, idx in zip(groups, member_idx, strict=True):
        present = sorted({splits[i] for i in idx if splits[i] is not None})
        if len(present) < 2:
            continue
        leaking.append(g.group)
        items.extend(g.members)
        for a_pos, a in enumerate(present):
            for b in present[a_pos + 1 :]:
                per_pair[(a, b)][0] += 1
                per_pair[(a, b)][1] += sum(1 for i in idx if splits[i] in (a, b))
    by_pair = [SplitPairLeakage([a, b], c[0], c[1]) for (a, b), c in sorted(per_pair.items())]
    return Leakage(leaking, items, by_pair)


def find_duplicates(
    descriptors: np.ndarray,
    *,
    ids: Sequence[str] | None = None,
    splits: Sequence[str | None] | None = None,
    labels: Sequence[str | int | None] | None = None,
    byte_hashes: Sequence[str | None] | None = None,
    pixel_hashes: Sequence[str | None] | None = None,
    threshold: float = DEFAULT_NEAR_DUPLICATE_THRESHOLD,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
    probe_margin: float = DEFAULT_PROBE_MARGIN,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    max_listed_pairs: int = DEFAULT_MAX_LISTED_PAIRS,
    seed: int = 0,
    extra_pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> DuplicatesResult:
    """Exact and near duplicates, their groups with keep/drop suggestions, leakage, conflicts.

    Parameters
    ----------
    descriptors : ndarray, shape (n, d)
        One row per item: ``duplicate_descriptors`` output, or any embedding (rows are
        L2-normalised here; NaN, inf or all-zero rows raise ``InvalidInput``).
    ids : sequence of str, optional, keyword-only
        Unique item ids (default: row numbers as strings).
    splits, labels, byte_hashes, pixel_hashes : sequences, optional, keyword-only
        One entry per item; ``None`` or ``""`` means unknown (never matches).
    threshold : float, keyword-only
        Cosine similarity at or above which two items are near duplicates. The default is
        measured for ``duplicate_descriptors`` (``bench/near_duplicates.py``); for other
        embeddings choose your own.
    exact_limit, probe_margin, max_pairs, seed : keyword-only
        Search options, see ``find_similar_pairs``.
    max_listed_pairs : int, keyword-only
        At most this many near pairs are listed (most similar first); all are counted and used
        for grouping.
    extra_pairs : (first, second, similarity), optional, keyword-only
        Near pairs found otherwise (``copy_verification``: candidates below the threshold whose
        pixels match), added to those reaching the threshold.

    Returns
    -------
    DuplicatesResult

    References
    ----------
    Barz & Denzler (2020), on test-set near-duplicates and their effect on evaluation.
    """
    if not isinstance(descriptors, np.ndarray) or descriptors.ndim != 2:
        shape = getattr(descriptors, "shape", None)
        raise InvalidInput(f"embeddings must be a 2-D array, got shape {shape}", field="embeddings")
    if max_listed_pairs < 0:
        raise InvalidInput("max_listed_pairs must be >= 0", field="max_listed_pairs")
    n = descriptors.shape[0]
    item_ids = _ids(ids, n)
    split_col = _optional_column(splits, n, "splits")
    label_col = _optional_column(labels, n, "labels")
    byte_col = _optional_column(byte_hashes, n, "byte_hashes")
    pixel_col = _optional_column(pixel_hashes, n, "pixel_hashes")
    note = None
    if n == 0:
        pairs_first = pairs_second = np.zeros(0, np.int64)
        pairs_sim = np.zeros(0, np.float32)
        method = "exact"
    else:
        pairs, threshold, note = _pairs_within_limit(
            descriptors, threshold=threshold, exact_limit=exact_limit,
            probe_margin=probe_margin, max_pairs=max_pairs, seed=seed,
        )  # fmt: skip
        pairs_first, pairs_second, pairs_sim, method = (
            pairs.first, pairs.second, pairs.similarity, pairs.method
        )  # fmt: skip
    if extra_pairs is not None:
        pairs_first, pairs_second, pairs_sim = merge_pairs(
            (pairs_first, pairs_second, pairs_sim), extra_pairs
        )
    byte_groups, pixel_groups = exact_groups(byte_col), exact_groups(pixel_col)
    evidence_nodes: dict[str, set[int]] = {
        "same_bytes": {i for g in byte_groups for i in g},
        "same_pixels": {i for g in pixel_groups for i in g},
    }
    near_nodes = set(pairs_first.tolist()) | set(pairs_second.tolist())
    components = star_groups(n, pairs_first, pairs_second, pairs_sim, byte_groups + pixel_groups)

    groups: list[DuplicateGroup] = []
    for gid, members in enumerate(components):
        keep = choose_keep(members, split_col, label_col)
        member_set = set(members)
        evidence = [k for k in ("same_bytes", "same_pixels") if evidence_nodes[k] & member_set]
        if near_nodes & member_set:
            evidence.append("near")
        groups.append(
            DuplicateGroup(
                group=gid,
                members=[item_ids[i] for i in members],
                keep=item_ids[keep],
                drop=[item_ids[i] for i in droppable_members(members, keep, split_col)],
                evidence=evidence,
                splits=sorted({s for i in members if (s := split_col[i]) is not None}),
                labels=sorted({la for i in members if (la := label_col[i]) is not None}),
            )
        )

    conflicts = []
    for g, members in zip(groups, components, strict=True):
        counts = Counter(la for la in (label_col[i] for i in members) if la is not None)
        if len(counts) > 1:
            conflicts.append(LabelConflict(g.group, dict(sorted(counts.items())), g.members))

    listed = np.lexsort((pairs_second, pairs_first, -pairs_sim))[:max_listed_pairs]
    return DuplicatesResult(
        n_items=n,
        threshold=float(threshold),
        method=method,
        exact_byte_groups=[[item_ids[i] for i in g] for g in byte_groups],
        exact_pixel_groups=[[item_ids[i] for i in g] for g in pixel_groups],
        near_pair_count=int(pairs_first.size),
        near_pairs=[
            NearPair(item_ids[pairs_first[k]], item_ids[pairs_second[k]], float(pairs_sim[k]))
            for k in listed
        ],
        groups=groups,
        droppable=sum(len(g.drop) for g in groups),
        leakage=_leakage(groups, components, split_col),
        label_conflicts=conflicts,
        note=note,
    )


def merge_pairs(*pair_sets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The union of several (first, second, similarity) pair sets, each pair once (first <
    second, the larger similarity kept)."""
    first = np.concatenate([np.asarray(p[0], np.int64) for p in pair_sets])
    second = np.concatenate([np.asarray(p[1], np.int64) for p in pair_sets])
    sim = np.concatenate([np.asarray(p[2], np.float32) for p in pair_sets])
    lo, hi = np.minimum(first, second), np.maximum(first, second)
    keep = lo != hi
    lo, hi, sim = lo[keep], hi[keep], sim[keep]
    order = np.lexsort((-sim, hi, lo))
    lo, hi, sim = lo[order], hi[order], sim[order]
    unique = np.ones(lo.size, bool)
    unique[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    return lo[unique], hi[unique], sim[unique]


def _pairs_within_limit(descriptors: np.ndarray, *, threshold: float, max_pairs: int, **search):
    """``find_similar_pairs``, raising the threshold halfway to 1 (at most 8 times) while more
    than ``max_pairs`` pairs reach it. Returns (pairs, threshold used, note or None)."""
    asked = threshold
    for _ in range(8):
        try:
            pairs = find_similar_pairs(
                descriptors, threshold=threshold, max_pairs=max_pairs, **search
            )
        except InvalidInput as exc:
            if "pairs reach the threshold" not in exc.detail:
                raise
            threshold = threshold + (1.0 - threshold) / 2.0
            continue
        note = None
        if threshold != asked:
            note = (
                f"more than {max_pairs} pairs reach {asked:.4g}: the threshold was raised to "
                f"{threshold:.4g}, so only the strongest near pairs are reported"
            )
        return pairs, threshold, note
    raise InvalidInput(
        f"more than {max_pairs} pairs reach even {threshold:.4g}: the descriptors barely differ",
        field="threshold",
    )


def check_duplicates(
    descriptors: np.ndarray,
    *,
    embeddings: np.ndarray | None = None,
    ids: Sequence[str] | None = None,
    outlier_k: int = DEFAULT_OUTLIER_K,
    iqr_factor: float = DEFAULT_IQR_FACTOR,
    **options,
) -> DuplicatesResult:
    """``find_duplicates`` on ``descriptors`` plus ``find_outliers`` on ``embeddings``
    (default: the descriptors themselves) — the whole duplicates check in one result.

    ``options`` are ``find_duplicates``' keyword options (splits, labels, hashes, threshold,
    exact_limit, probe_margin, max_pairs, max_listed_pairs, seed).
    """
    result = find_duplicates(descriptors, ids=ids, **options)
    outlier_rows = descriptors if embeddings is None else embeddings
    if embeddings is not None and embeddings.shape[0] != descriptors.shape[0]:
        raise InvalidInput(
            f"embeddings has {embeddings.shape[0]} rows for {descriptors.shape[0]} descriptors",
            field="embeddings",
        )
    outliers = find_outliers(
        outlier_rows,
        ids=None if ids is None else list(ids),
        k=outlier_k,
        iqr_factor=iqr_factor,
        exact_limit=options.get("exact_limit", DEFAULT_KNN_EXACT_LIMIT),
        seed=options.get("seed", 0),
    )
    return msgspec.structs.replace(result, outliers=outliers)
