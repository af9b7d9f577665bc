"""Per-item label-quality scores: low means the given label is suspicious.

All scores lie in [0, 1]:

- ``self_confidence``: ``p[i, y_i]``, the probability of the given label (labelfix [1]).
- ``normalized_margin``: ``(p[i, y_i] - max_{j != y_i} p[i, j] + 1) / 2`` [2].
- ``neighbour_agreement``: the share of the item's k nearest neighbours (cosine, in the space
  given) that carry the same label.
- ``combined``: the geometric mean of self-confidence and the Laplace-smoothed neighbour
  agreement ``(m + 1) / (k + 2)``. On the rendered digits it ranks flipped labels better than
  either alone (``bench/mislabels``): the probe and the neighbourhood make different mistakes.

References
----------
.. [1] N. M. Müller, K. Markert, "Identifying Mislabeled Instances in Classification Datasets",
   IJCNN 2019.
.. [2] C. G. Northcutt, L. Jiang, I. L. Chuang, "Confident Learning: Estimating Uncertainty in
   Dataset Labels", JAIR 70, 2021; the margin score as in the authors' reference implementation.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

NEIGHBOUR_BLOCK_ROWS = 256


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, computed stably."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def self_confidence(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``p[i, y_i]`` (labelfix, Müller & Markert 2019)."""
    return probabilities[np.arange(labels.shape[0]), labels]


def normalized_margin(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``(p[i, y_i] - max_{j != y_i} p[i, j] + 1) / 2`` (Northcutt et al. 2021, reference code)."""
    rows = np.arange(labels.shape[0])
    given = probabilities[rows, labels]
    others = probabilities.copy()
    others[rows, labels] = -np.inf
    return (given - others.max(axis=1) + 1.0) / 2.0


def nearest_neighbours(points: np.ndarray, k: int, *, workers: int | None = None) -> np.ndarray:
    """Indices (n x k) of each row's k most cosine-similar other rows (exact, blocked search).

    Blocks of rows are searched in ``workers`` threads (default: the core count, at most 4);
    numpy releases the GIL in the product and the partition, so run it with single-threaded BLAS.
    """
    n = points.shape[0]
    k = min(k, n - 1)
    norms = np.linalg.norm(points, axis=1, keepdims=True)
    unit = (points / np.maximum(norms, 1e-12)).astype(np.float32)
    out = np.empty((n, k), dtype=np.int64)

    def search(start: int) -> None:
        stop = min(start + NEIGHBOUR_BLOCK_ROWS, n)
        dist = unit[start:stop] @ unit.T
        np.negative(dist, out=dist)  # smallest = most similar
        dist[np.arange(stop - start), np.arange(start, stop)] = np.inf  # never its own neighbour
        out[start:stop] = np.argpartition(dist, k - 1, axis=1)[:, :k]

    starts = range(0, n, NEIGHBOUR_BLOCK_ROWS)
    workers = workers or min(4, os.cpu_count() or 1)
    if workers <= 1 or n <= NEIGHBOUR_BLOCK_ROWS:
        for start in starts:
            search(start)
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="knn") as pool:
            list(pool.map(search, starts))
    return out


def neighbour_agreement(neighbours: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Share of each item's neighbours (rows of indices) that carry its label."""
    return (labels[neighbours] == labels[:, None]).mean(axis=1)


def combined_score(self_conf: np.ndarray, agreement: np.ndarray, k: int) -> np.ndarray:
    """``sqrt(p[i, y_i] * (m_i + 1) / (k + 2))``, m_i = neighbours agreeing (Laplace-smoothed)."""
    smoothed = (agreement * k + 1.0) / (k + 2.0)
    return np.sqrt(self_conf * smoothed)
