"""Cosine similarity search over unit rows: all pairs above a threshold, and k nearest neighbours.

Two engines, chosen by size:

- **exact** (``n <= exact_limit``): tiled matrix products ``X[a] @ X[b].T`` over the upper
  triangle, thresholded per tile. Finds every pair; memory is one tile (``TILE_ROWS`` squared
  floats), never ``n x n``. Cost grows as ``n^2 d``: 1.3e11 flops at 10k x 1280 (~1 s on 2
  cores), 1.3e13 at 100k (minutes) — hence the second engine.
- **cells** (``n > exact_limit``): an inverted file in a low-dimensional PCA space. Rows are
  projected on their top ``PROJECTION_DIM`` principal directions (randomised subspace iteration
  on a seeded sample), the projections clustered by k-means into ``~1.5 sqrt(n)`` cells, and each
  row compared — with exact full-dimension cosines — only with the rows of the cells it probes:
  its own cell, plus every cell whose bisecting hyperplane with its own lies within
  ``probe_margin * sqrt(2 - 2 t)`` of it (at most ``MAX_PROBES``). The chord ``sqrt(2 - 2 t)`` is
  the largest distance two rows with cosine >= t can have, and a projection never lengthens a
  distance, so ``probe_margin = 1`` (with enough probes) finds every pair; smaller margins trade
  recall for speed. Reported pairs are always exact (no false pair); only recall can drop. At
  the default margin ``bench/duplicates.py`` measures recall 1.0000 against exact search (all
  planted copies, and every true pair touching 2,000 sampled rows) at 50k and 100k; at
  threshold 0.85, where the same data holds 70k pairs, 1.0000 on 3,296 sampled pairs.

Near-duplicate partners differ by "noise" spread over all dimensions, while a dataset varies
mostly along its top principal directions, so in the projected space partners sit much closer
than the chord bound — that is why a small margin keeps recall near 1 on anisotropic (real)
embeddings. On isotropic random vectors no such gap exists; the probe cap then bounds the cost.

References
----------
Jégou, H., Douze, M., Schmid, C. (2011). Product quantization for nearest neighbor search
    (the inverted-file index, IVF).
Halko, N., Martinsson, P.-G., Tropp, J. A. (2011). Finding structure with randomness
    (randomised subspace iteration).
Lloyd, S. (1982). Least squares quantization in PCM (k-means).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from service.errors import InvalidInput

DEFAULT_EXACT_LIMIT = 20_000
DEFAULT_PROBE_MARGIN = 0.25
DEFAULT_MAX_PAIRS = 2_000_000
TILE_ROWS = 4096
PROJECTION_DIM = 16
MAX_PROBES = 16
KNN_PROBES = 4
CELLS_PER_SQRT_N = 1.5
KMEANS_ITERATIONS = 10
KMEANS_SAMPLE_PER_CELL = 64
PCA_SAMPLE = 4096
_CHUNK = 16_384  # rows per chunk when assigning cells (bounded memory)
_EPS = 1e-6  # float32 slack for threshold comparisons on recomputed cosines


@dataclass(frozen=True)
class SimilarPairs:
    """Pairs ``(first[k], second[k])`` with ``first < second`` and their cosine similarity,
    sorted by (first, second); ``method`` is ``"exact"`` or ``"cells"``."""

    first: np.ndarray  # int64
    second: np.ndarray  # int64
    similarity: np.ndarray  # float32
    method: str


def unit_rows(x: np.ndarray, *, field: str = "embeddings") -> np.ndarray:
    """Validate a 2-D float array and return it as C-contiguous float32 rows of unit L2 norm.

    Raises ``InvalidInput`` (naming ``field``) for a wrong shape, NaN/inf or an all-zero row.
    """
    if not isinstance(x, np.ndarray):
        raise InvalidInput(f"{field} must be a numpy array", field=field)
    if x.ndim != 2:
        raise InvalidInput(
            f"{field} must be 2-D (items x dimensions), got shape {x.shape}", field=field
        )
    if x.shape[1] == 0:
        raise InvalidInput(f"{field} must have at least one dimension", field=field)
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise InvalidInput(f"{field} must hold real numbers, got {x.dtype}", field=field)
    rows = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.empty(rows.shape[0], np.float64)
    for s in range(0, rows.shape[0], 4096):  # chunked: no n x d temporaries
        part = rows[s : s + 4096].astype(np.float64)
        norms[s : s + 4096] = np.sqrt(np.einsum("ij,ij->i", part, part))
    if not np.isfinite(norms).all():  # a NaN or inf makes its row's norm non-finite
        bad = np.flatnonzero(~np.isfinite(norms))
        raise InvalidInput(
            f"{field} has NaN or infinite values in {bad.size} row(s), first at row {bad[0]}",
            field=field,
        )
    if (norms == 0).any():
        bad = np.flatnonzero(norms == 0)
        raise InvalidInput(
            f"{field} has {bad.size} all-zero row(s) (no direction), first at row {bad[0]}",
            field=field,
        )
    if np.abs(norms - 1.0).max() <= 1e-6:  # already unit rows: no n x d copy
        return rows
    return (rows / norms[:, None]).astype(np.float32)


def _check_threshold(threshold: float) -> float:
    if not isinstance(threshold, (int, float)) or not -1.0 <= threshold <= 1.0:
        raise InvalidInput(
            f"threshold must be a cosine in [-1, 1], got {threshold!r}", field="threshold"
        )
    return float(threshold)


def _too_many(count: int, max_pairs: int) -> InvalidInput:
    return InvalidInput(
        f"more than {max_pairs} pairs reach the threshold ({count} so far); raise the threshold",
        field="threshold",
    )


def _exact_pairs(x: np.ndarray, threshold: float, max_pairs: int) -> SimilarPairs:
    n = x.shape[0]
    firsts, seconds, sims = [], [], []
    found = 0
    for a in range(0, n, TILE_ROWS):
        for b in range(a, n, TILE_ROWS):
            tile = x[a : a + TILE_ROWS] @ x[b : b + TILE_ROWS].T
            ii, jj = np.nonzero(tile >= threshold)
            if a == b:  # diagonal tile: the upper triangle only
                keep = jj > ii
                ii, jj = ii[keep], jj[keep]
            found += ii.size
            if found > max_pairs:
                raise _too_many(found, max_pairs)
            firsts.append(ii + a), seconds.append(jj + b), sims.append(tile[ii, jj])
    return _sorted_pairs(firsts, seconds, sims, "exact")


def _sorted_pairs(firsts, seconds, sims, method: str) -> SimilarPairs:
    first = np.concatenate(firsts).astype(np.int64) if firsts else np.zeros(0, np.int64)
    second = np.concatenate(seconds).astype(np.int64) if seconds else np.zeros(0, np.int64)
    sim = np.concatenate(sims).astype(np.float32) if sims else np.zeros(0, np.float32)
    order = np.lexsort((second, first))
    return SimilarPairs(first[order], second[order], sim[order], method)


def principal_directions(x: np.ndarray, k: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(mean, basis d x k): top-``k`` principal directions of a seeded row sample.

    Randomised subspace iteration (Halko et al. 2011) on at most ``PCA_SAMPLE`` rows; any
    orthonormal basis keeps the cell engine's pairs exact, a good one keeps its recall high.
    """
    rng = np.random.default_rng(seed)
    n, d = x.shape
    k = min(k, d, n)
    sample = x[np.sort(rng.choice(n, min(n, PCA_SAMPLE), replace=False))].astype(np.float64)
    mean = sample.mean(axis=0)
    sample -= mean
    q = rng.standard_normal((d, min(d, k + 10)))
    for _ in range(2):  # power iterations: Q <- orth(S^T S Q)
        q, _ = np.linalg.qr(sample.T @ (sample @ q))
    _, _, vt = np.linalg.svd(sample @ q, full_matrices=False)  # rotate to principal axes
    return mean.astype(np.float32), (q @ vt.T)[:, :k].astype(np.float32)


def _kmeans(points: np.ndarray, n_cells: int, rng: np.random.Generator) -> np.ndarray:
    """Lloyd's k-means on a seeded sample of ``KMEANS_SAMPLE_PER_CELL`` points per cell,
    initialised from sample points; returns centroids (float32)."""
    n = points.shape[0]
    sample = points[np.sort(rng.choice(n, min(n, KMEANS_SAMPLE_PER_CELL * n_cells), replace=False))]
    centroids = sample[rng.choice(sample.shape[0], n_cells, replace=False)].copy()
    for _ in range(KMEANS_ITERATIONS):
        nearest = _nearest_cells(sample, centroids)
        counts = np.bincount(nearest, minlength=n_cells)
        filled = counts > 0
        for dim in range(sample.shape[1]):  # per-dimension sums: fast, unlike np.add.at
            sums = np.bincount(nearest, weights=sample[:, dim], minlength=n_cells)
            centroids[filled, dim] = sums[filled] / counts[filled]
    return centroids


def _cell_distances(points: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    # squared Euclidean distance ||p - c||^2 = ||p||^2 - 2 p.c + ||c||^2
    return (
        (points**2).sum(axis=1)[:, None] - 2.0 * points @ centroids.T + (centroids**2).sum(axis=1)
    )


def _nearest_cells(points: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    out = np.empty(points.shape[0], np.int64)
    for s in range(0, points.shape[0], _CHUNK):
        out[s : s + _CHUNK] = _cell_distances(points[s : s + _CHUNK], centroids).argmin(axis=1)
    return out


@dataclass(frozen=True)
class CellIndex:
    """Rows grouped by their nearest cell (``order`` sorted by cell; cell c is
    ``order[bounds[c]:bounds[c + 1]]``) plus the projected rows and centroids."""

    projected: np.ndarray
    centroids: np.ndarray
    home: np.ndarray
    order: np.ndarray
    bounds: np.ndarray

    def members(self, cell: int) -> np.ndarray:
        return self.order[self.bounds[cell] : self.bounds[cell + 1]]


def build_cell_index(x: np.ndarray, *, seed: int = 0) -> CellIndex:
    """Project unit rows on ``PROJECTION_DIM`` principal directions and cluster them into cells."""
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    mean, basis = principal_directions(x, PROJECTION_DIM, seed=seed)
    projected = x @ basis - mean @ basis  # (x - mean) @ basis without an n x d copy
    n_cells = max(1, min(n, int(np.ceil(CELLS_PER_SQRT_N * np.sqrt(n)))))
    centroids = _kmeans(projected, n_cells, rng)
    home = _nearest_cells(projected, centroids)
    order = np.argsort(home, kind="stable")
    bounds = np.searchsorted(home[order], np.arange(n_cells + 1))
    return CellIndex(projected, centroids, home, order, bounds)


def _probes_by_margin(index: CellIndex, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """(row, cell) for each cell a row probes: its own and those whose bisector with its own
    lies within ``radius`` (at most ``MAX_PROBES`` in all, nearest bisectors first)."""
    c = index.centroids
    gap = np.sqrt(np.maximum(_cell_distances(c, c), 0.0))
    np.maximum(gap, 1e-12, out=gap)
    rows_out, cells_out = [], []
    n = index.projected.shape[0]
    for s in range(0, n, _CHUNK):
        dist = _cell_distances(index.projected[s : s + _CHUNK], c)
        home = index.home[s : s + _CHUNK]
        local = np.arange(dist.shape[0])
        # distance from a point to the bisecting hyperplane of cells A (home) and B:
        # (||p - c_B||^2 - ||p - c_A||^2) / (2 ||c_A - c_B||)
        to_bisector = (dist - dist[local, home][:, None]) / (2.0 * gap[home])
        to_bisector[local, home] = 0.0
        probe = to_bisector <= radius
        if probe.shape[1] > MAX_PROBES:
            kth = np.partition(to_bisector, MAX_PROBES - 1, axis=1)[:, MAX_PROBES - 1]
            probe &= to_bisector <= kth[:, None]
        r, cell = np.nonzero(probe)
        rows_out.append(r + s), cells_out.append(cell)
    return np.concatenate(rows_out), np.concatenate(cells_out)


def _probes_nearest(index: CellIndex, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, cell) for the ``m`` cells nearest to each row."""
    rows_out, cells_out = [], []
    m = min(m, index.centroids.shape[0])
    for s in range(0, index.projected.shape[0], _CHUNK):
        dist = _cell_distances(index.projected[s : s + _CHUNK], index.centroids)
        top = np.argpartition(dist, m - 1, axis=1)[:, :m]
        rows_out.append(np.repeat(np.arange(dist.shape[0]) + s, m))
        cells_out.append(top.ravel())
    return np.concatenate(rows_out), np.concatenate(cells_out)


def _group_by_cell(rows: np.ndarray, cells: np.ndarray, n_cells: int):
    order = np.argsort(cells, kind="stable")
    bounds = np.searchsorted(cells[order], np.arange(n_cells + 1))
    return rows[order], bounds


def _cell_pairs(
    x: np.ndarray, threshold: float, max_pairs: int, probe_margin: float, seed: int
) -> SimilarPairs:
    n = x.shape[0]
    index = build_cell_index(x, seed=seed)
    radius = probe_margin * np.sqrt(max(0.0, 2.0 - 2.0 * threshold))
    queries, qbounds = _group_by_cell(*_probes_by_margin(index, radius), index.centroids.shape[0])
    keys, sims = [], []
    found = 0
    for cell in range(index.centroids.shape[0]):
        db = index.members(cell)
        q = queries[qbounds[cell] : qbounds[cell + 1]]
        if db.size == 0 or q.size == 0:
            continue
        block = x[q] @ x[db].T
        ii, jj = np.nonzero(block >= threshold)
        a, b = q[ii], db[jj]
        keep = a != b
        a, b, s = a[keep], b[keep], block[ii[keep], jj[keep]]
        found += a.size
        if found > 2 * max_pairs:  # each pair can be seen from both sides
            raise _too_many(found // 2, max_pairs)
        keys.append(np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b)), sims.append(s)
    if not keys:
        return _sorted_pairs([], [], [], "cells")
    key, first_seen = np.unique(np.concatenate(keys), return_index=True)
    if key.size > max_pairs:
        raise _too_many(key.size, max_pairs)
    sim = np.concatenate(sims)[first_seen]
    return _sorted_pairs([key // n], [key % n], [sim], "cells")


def find_similar_pairs(
    x: np.ndarray,
    *,
    threshold: float,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
    probe_margin: float = DEFAULT_PROBE_MARGIN,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    seed: int = 0,
) -> SimilarPairs:
    """Every pair of rows whose cosine similarity is >= ``threshold``.

    Parameters
    ----------
    x : ndarray, shape (n, d)
        Vectors; rows are L2-normalised here (zero rows, NaN or inf raise ``InvalidInput``).
    threshold : float, keyword-only
        Cosine similarity in [-1, 1].
    exact_limit : int, keyword-only
        Up to this many rows the exact tiled engine runs; above it the cell engine.
    probe_margin : float in (0, 1], keyword-only
        Cell engine only: probe radius as a fraction of the threshold chord ``sqrt(2 - 2 t)``.
    max_pairs : int, keyword-only
        More pairs than this raise ``InvalidInput`` (the threshold is too low to be useful).
    seed : int, keyword-only
        Seeds the cell engine's sample and k-means (same input, same answer).

    Returns
    -------
    SimilarPairs
        Index pairs ``first < second`` with their similarity, sorted.

    References
    ----------
    See the module docstring (IVF: Jégou et al. 2011).
    """
    threshold = _check_threshold(threshold)
    if not 0.0 < probe_margin <= 1.0:
        raise InvalidInput(
            f"probe_margin must be in (0, 1], got {probe_margin}", field="probe_margin"
        )
    if max_pairs < 1:
        raise InvalidInput(f"max_pairs must be >= 1, got {max_pairs}", field="max_pairs")
    rows = unit_rows(x)
    if rows.shape[0] <= max(exact_limit, 1):
        return _exact_pairs(rows, threshold, max_pairs)
    return _cell_pairs(rows, threshold, max_pairs, probe_margin, seed)


def _merge_top_k(best_sim, best_idx, rows, cand_sim, cand_idx, k):
    """Merge candidate neighbours into the running top-k of ``rows`` (in place)."""
    sims = np.concatenate([best_sim[rows], cand_sim], axis=1)
    idx = np.concatenate([best_idx[rows], cand_idx], axis=1)
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    best_sim[rows] = np.take_along_axis(sims, top, axis=1)
    best_idx[rows] = np.take_along_axis(idx, top, axis=1)


def nearest_neighbours(
    x: np.ndarray, *, k: int, exact_limit: int = DEFAULT_EXACT_LIMIT, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most similar other rows of each row: (indices n x k, cosines n x k).

    Exact (tiled, memory ``TILE_ROWS x n``) up to ``exact_limit`` rows; above, each row's
    neighbours are searched in its ``KNN_PROBES`` nearest cells of the cell index (approximate:
    a neighbour outside those cells is missed, which can only lower the found similarities).
    Neighbours of a row are sorted by decreasing similarity; ``k`` must be < n.
    """
    rows = unit_rows(x)
    n = rows.shape[0]
    if not 1 <= k < n:
        raise InvalidInput(f"k must be in 1..{n - 1} for {n} rows, got {k}", field="k")
    best_sim = np.full((n, k), -np.inf, np.float32)
    best_idx = np.full((n, k), -1, np.int64)
    if n <= max(exact_limit, 1):
        step = max(1, min(TILE_ROWS, (64 * 1024 * 1024) // (4 * n)))  # tile of <= 64 MB
        for a in range(0, n, step):
            tile = rows[a : a + step] @ rows.T
            local = np.arange(tile.shape[0])
            tile[local, local + a] = -np.inf  # not its own neighbour
            top = np.argpartition(-tile, k - 1, axis=1)[:, :k]
            best_sim[a : a + step] = np.take_along_axis(tile, top, axis=1)
            best_idx[a : a + step] = top
    else:
        index = build_cell_index(rows, seed=seed)
        queries, qbounds = _group_by_cell(
            *_probes_nearest(index, KNN_PROBES), index.centroids.shape[0]
        )
        for cell in range(index.centroids.shape[0]):
            db = index.members(cell)
            q = queries[qbounds[cell] : qbounds[cell + 1]]
            if db.size == 0 or q.size == 0:
                continue
            block = rows[q] @ rows[db].T
            block[q[:, None] == db[None, :]] = -np.inf
            kk = min(k, db.size)
            top = np.argpartition(-block, kk - 1, axis=1)[:, :kk]
            cand_sim = np.take_along_axis(block, top, axis=1)
            cand_idx = np.where(np.isfinite(cand_sim), db[top], -1)
            _merge_top_k(best_sim, best_idx, q, cand_sim, cand_idx, k)
        short = np.flatnonzero(~np.isfinite(best_sim).all(axis=1))
        for a in range(0, short.size, TILE_ROWS):  # rare: probed cells held < k others
            part = short[a : a + TILE_ROWS]
            tile = rows[part] @ rows.T
            tile[np.arange(part.size), part] = -np.inf
            top = np.argpartition(-tile, k - 1, axis=1)[:, :k]
            best_sim[part] = np.take_along_axis(tile, top, axis=1)
            best_idx[part] = top
    order = np.argsort(-best_sim, axis=1, kind="stable")
    return np.take_along_axis(best_idx, order, axis=1), np.take_along_axis(best_sim, order, axis=1)
