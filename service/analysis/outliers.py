"""Outliers: images that do not belong to the dataset, by k-nearest-neighbour distance.

Each item's score is its mean cosine distance ``1 - cos`` to its ``k`` nearest other items in
embedding space: an image far from everything else scores high. Items above Tukey's upper fence
``Q3 + iqr_factor * (Q3 - Q1)`` of the scores are flagged and returned ranked, highest first.

References
----------
Ramaswamy, S., Rastogi, R., Shim, K. (2000). Efficient algorithms for mining outliers from large
    data sets (the k-NN distance as an outlier score).
Angiulli, F., Pizzuti, C. (2002). Fast outlier detection in high dimensional spaces (the mean
    distance to the k nearest neighbours).
Tukey, J. W. (1977). Exploratory Data Analysis (the interquartile-range fences).
"""

from __future__ import annotations

import msgspec
import numpy as np

from service.analysis.similarity_search import nearest_neighbours, unit_rows
from service.analysis.validation import IqrFactor, OutlierK, check_option
from service.errors import InvalidInput

DEFAULT_OUTLIER_K = 10
# Exact k-NN up to this many items (an n x n product: ~7 s at 20k x 1280 on 2 cores); the cell
# index above (``nearest_neighbours``).
DEFAULT_KNN_EXACT_LIMIT = 10_000
# Tukey's outer ("far out") fence: the inner fence (1.5) flagged 2 % of clean Fashion-MNIST
# (101 of 5,060 with the multi-stage embedding; ``python -m bench.real``), mostly ordinary items
# in the tail of a skewed score distribution. k = 10 and 3 IQR re-derived on the round-2 encoder
# (``python -m bench.defaults --only outliers``: FM + planted photos and digits + a 15-item
# class): they hold — every planted photo, none of the small class; lower fences or k >= 30 flag
# the small class too.
DEFAULT_IQR_FACTOR = 3.0
MIN_ITEMS = 4  # fewer items have no meaningful quartiles


class Outlier(msgspec.Struct):
    id: str
    score: float  # mean cosine distance to the k nearest neighbours
    rank: int  # 1 = most outlying
    nearest: list[str]  # ids of its nearest neighbours, closest first (at most 3)


class OutliersResult(msgspec.Struct):
    k: int
    iqr_factor: float
    q1: float
    median: float
    q3: float
    fence: float  # scores above this are outliers
    outliers: list[Outlier]


def knn_distance_scores(
    embeddings: np.ndarray, *, k: int = DEFAULT_OUTLIER_K, exact_limit: int = DEFAULT_KNN_EXACT_LIMIT,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(scores n, neighbour indices n x k): mean cosine distance to the k nearest other rows.

    Parameters
    ----------
    embeddings : ndarray, shape (n, d)
        Item embeddings (normalised here; zero rows, NaN or inf raise ``InvalidInput``).
    k : int, keyword-only
        Neighbours per item; must be < n.
    exact_limit, seed : keyword-only
        Passed to ``nearest_neighbours`` (exact up to ``exact_limit`` rows).

    References
    ----------
    Angiulli & Pizzuti (2002).
    """
    idx, sims = nearest_neighbours(embeddings, k=k, exact_limit=exact_limit, seed=seed)
    # cosine distance 1 - cos, averaged over the k neighbours
    return (1.0 - sims.astype(np.float64)).mean(axis=1), idx


def find_outliers(
    embeddings: np.ndarray,
    *,
    ids: list[str] | None = None,
    k: int = DEFAULT_OUTLIER_K,
    iqr_factor: float = DEFAULT_IQR_FACTOR,
    exact_limit: int = DEFAULT_KNN_EXACT_LIMIT,
    seed: int = 0,
) -> OutliersResult:
    """Items whose k-NN distance is above the upper interquartile fence, most outlying first.

    Parameters
    ----------
    embeddings : ndarray, shape (n, d)
        One row per item.
    ids : list of str, optional, keyword-only
        Item ids (default: the row numbers as strings).
    k : int, keyword-only
        Neighbours per item; lowered to ``n - 1`` for small datasets.
    iqr_factor : float, keyword-only
        Fence multiplier (1.5: Tukey's "outside"; 3: "far out").

    Returns
    -------
    OutliersResult
        Quartiles of the scores, the fence and the flagged items ranked. With fewer than
        ``MIN_ITEMS`` items nothing is flagged.

    References
    ----------
    Ramaswamy et al. (2000); Angiulli & Pizzuti (2002); Tukey (1977).
    """
    check_option(k, OutlierK, "k")
    check_option(iqr_factor, IqrFactor, "iqr_factor")
    rows = unit_rows(embeddings)
    n = rows.shape[0]
    ids = [str(i) for i in range(n)] if ids is None else [str(i) for i in ids]
    if len(ids) != n:
        raise InvalidInput(f"ids has {len(ids)} entries for {n} embeddings", field="ids")
    if n < MIN_ITEMS:
        return OutliersResult(k, iqr_factor, 0.0, 0.0, 0.0, 0.0, [])
    k_used = min(k, n - 1)
    scores, neighbours = knn_distance_scores(rows, k=k_used, exact_limit=exact_limit, seed=seed)
    q1, median, q3 = (float(v) for v in np.quantile(scores, [0.25, 0.5, 0.75]))
    fence = q3 + iqr_factor * (q3 - q1)  # Tukey's upper fence
    flagged = np.flatnonzero(scores > fence)
    flagged = flagged[np.lexsort((flagged, -scores[flagged]))]  # highest score first, then index
    outliers = [
        Outlier(
            id=ids[i],
            score=float(scores[i]),
            rank=rank,
            nearest=[ids[j] for j in neighbours[i, :3] if j >= 0],
        )
        for rank, i in enumerate(flagged, start=1)
    ]
    return OutliersResult(k_used, iqr_factor, q1, median, q3, fence, outliers)
