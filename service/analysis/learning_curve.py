"""Learning curves from linear probes: accuracy as a function of the training-set size.

A stratified evaluation split is held out once; the rest (the *pool*) is drawn from in stratified,
seeded, nested subsets at the requested fractions (default 5/10/20/35/50 %; on datasets too small
for 5 %, ``default_fractions`` starts at the smallest share they support), several times each,
plus the full pool once (training on all of it is deterministic). On every subset a linear probe
(standardised features, L2 logistic regression, ``C = CURVE_C = 0.01``) is trained and scored on
the evaluation split: accuracy, macro-F1 and per-class recall.

Cost on two cores is kept to seconds for ~2k items by three measured choices (``bench/sample_size``
prints the curve both ways):

- the embeddings are standardised on the pool and projected once on their first ``max_dims``
  (128) principal components (a rotation, so the L2 penalty is unchanged; only the least-variance
  directions are dropped) — the probe then trains on 128 instead of 2024 columns;
- within one repeat the subsets are nested and the probe is warm-started from the previous,
  smaller subset;
- BLAS runs single-threaded during the curve: on a loaded 2-core machine OpenBLAS's threads
  made the same fits 35x slower.

References
----------
.. [1] Balki et al., "Sample-Size Determination Methodologies for Machine Learning in Medical
   Imaging Research: A Systematic Review", Canadian Association of Radiologists Journal, 2019.
.. [2] J. Verster, "Estimating required sample size for model training", keras.io example, 2021.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
import numpy as np
from scipy.linalg import eigh
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from service.analysis.threads import map_on_cores, single_threaded_blas
from service.analysis.validation import (
    EvalFraction,
    Repeats,
    check_option,
    encode_labels,
    validate_embeddings,
    validate_fractions,
)
from service.errors import InvalidInput

DEFAULT_FRACTIONS: tuple[float, ...] = (0.05, 0.10, 0.20, 0.35, 0.50)
DEFAULT_REPEATS = 5
DEFAULT_EVAL_FRACTION = 0.2
# PCA dims and the probe's C, re-derived on the round-2 encoder (``python -m bench.defaults
# --only sample_size``: tuned on one half of Fashion-MNIST, reported on the other half and on the
# digits): 128 dims with C = 0.01 predicted the full pool's accuracy from the points <= 50 % with a
# mean error of 0.37 points against 0.51 for round 1's 256 dims with C = 0.1, at equal accuracy.
DEFAULT_MAX_DIMS = 128
CURVE_C = 0.01
CURVE_MAX_ITER = 300
MIN_ITEMS_PER_CLASS_IN_SMALLEST_SUBSET = 2
# Default fractions on a dataset too small for DEFAULT_FRACTIONS: the smallest subset may hold up
# to a fifth of the pool, so the curve's points still span a factor of 5 in training-set size.
MAX_SMALLEST_FRACTION = 0.2
MAX_CURVE_THREADS = 4  # repeats fitted at once (each single-threaded BLAS)


class CurvePoint(msgspec.Struct, omit_defaults=True):
    """One training-set size of the learning curve (means and standard deviations over repeats)."""

    fraction: float
    n: float  # mean training-set size over the repeats
    repeats: int
    accuracy_mean: float
    accuracy_std: float
    macro_f1_mean: float
    macro_f1_std: float
    accuracy_scores: list[float]
    class_n: list[float]  # mean training items per class, in ``LearningCurve.classes`` order
    class_recall_mean: list[float]
    class_recall_std: list[float]


class LearningCurve(msgspec.Struct):
    """The measured curve: points in increasing ``n``; the last one is the full pool."""

    classes: list[str]
    n_items: int
    n_pool: int
    n_eval: int
    dims: int
    points: list[CurvePoint]


@dataclass(frozen=True)
class CurveRun:
    """A curve with the per-item results the bootstrap resamples (not part of any response)."""

    curve: LearningCurve
    correct: list[np.ndarray]  # per point: repeats x n_eval booleans
    eval_labels: np.ndarray  # class indices of the evaluation items


def items_needed(n_classes: int, smallest_fraction: float, eval_fraction: float) -> int:
    """Items needed so the smallest subset holds ``MIN_ITEMS_PER_CLASS_IN_SMALLEST_SUBSET`` per
    class on average: ``ceil(2 K / (f_min (1 - eval_fraction)))``."""
    need_pool = MIN_ITEMS_PER_CLASS_IN_SMALLEST_SUBSET * n_classes / smallest_fraction
    return int(np.ceil(need_pool / (1.0 - eval_fraction) - 1e-9))


def default_fractions(
    n_items: int, n_classes: int, eval_fraction: float = DEFAULT_EVAL_FRACTION
) -> tuple[float, ...]:
    """The curve's fractions when the caller names none.

    ``DEFAULT_FRACTIONS`` whenever the dataset has the items they need (``items_needed``:
    500 for 10 classes), so large datasets are measured as before. A smaller dataset gets as many
    fractions, spaced geometrically from the smallest share that still holds
    ``MIN_ITEMS_PER_CLASS_IN_SMALLEST_SUBSET`` items per class on average (rounded up to a
    percent) to the default's largest, 50 %. That smallest share is capped at
    ``MAX_SMALLEST_FRACTION``: a dataset below ``items_needed(n_classes, 0.2, eval_fraction)``
    (125 items for 10 classes, 25 for 2) gets fractions its items cannot fill, and
    ``run_learning_curve`` says how many items are needed.
    """
    if n_items >= items_needed(n_classes, DEFAULT_FRACTIONS[0], eval_fraction):
        return DEFAULT_FRACTIONS
    pool = max(n_items, 1) * (1.0 - eval_fraction)
    smallest = np.ceil(100 * MIN_ITEMS_PER_CLASS_IN_SMALLEST_SUBSET * n_classes / pool - 1e-9) / 100
    smallest = float(min(smallest, MAX_SMALLEST_FRACTION))
    spaced = np.geomspace(smallest, DEFAULT_FRACTIONS[-1], len(DEFAULT_FRACTIONS))
    return tuple(round(float(f), 2) for f in spaced)


def measure_learning_curve(
    embeddings: np.ndarray,
    labels: Sequence[object] | np.ndarray,
    *,
    fractions: Sequence[float] | None = None,
    repeats: int = DEFAULT_REPEATS,
    eval_fraction: float = DEFAULT_EVAL_FRACTION,
    max_dims: int | None = DEFAULT_MAX_DIMS,
    seed: int = 0,
) -> LearningCurve:
    """Train the probe on growing stratified subsets and score it on a held-out split.

    Parameters
    ----------
    embeddings : ndarray of shape (n_items, dims)
    labels : sequence of n_items class labels (strings or integers)
    fractions : fractions of the pool (each in (0, 1)); the full pool is always added.
        ``None``: ``default_fractions`` for the dataset's size and classes.
    repeats : seeded draws per fraction.
    eval_fraction : share of every class held out for evaluation (at least one item per class).
    max_dims : principal components kept (``None``: no projection).
    seed : seed of every draw.

    Returns
    -------
    LearningCurve

    Raises
    ------
    InvalidInput
        Fewer than 2 classes, a class with fewer than 2 items, or too few items for the smallest
        fraction (the message says how many are needed).

    References
    ----------
    .. [1] Balki et al., Canadian Association of Radiologists Journal, 2019.
    """
    return run_learning_curve(
        embeddings,
        labels,
        fractions=fractions,
        repeats=repeats,
        eval_fraction=eval_fraction,
        max_dims=max_dims,
        seed=seed,
    ).curve


def _given_holdout(
    y: np.ndarray, k: int, eval_mask: np.ndarray, classes: list[str]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """(evaluation indices, pool indices per class) from the caller's evaluation items."""
    mask = np.asarray(eval_mask, dtype=bool)
    if mask.shape != y.shape:
        raise InvalidInput(
            f"eval_mask has {mask.size} entries for {y.size} items", field="eval_mask"
        )
    if not mask.any() or mask.all():
        raise InvalidInput("eval_mask must hold evaluation and training items", field="eval_mask")
    pool_by_class = [np.flatnonzero((y == c) & ~mask) for c in range(k)]
    empty = [classes[c] for c in range(k) if pool_by_class[c].size == 0]
    if empty:
        raise InvalidInput(
            f"classes with no training item outside the evaluation split: {empty[:10]}",
            field="eval_mask",
        )
    return np.flatnonzero(mask), pool_by_class


def run_learning_curve(
    embeddings: np.ndarray,
    labels: Sequence[object] | np.ndarray,
    *,
    fractions: Sequence[float] | None = None,
    repeats: int = DEFAULT_REPEATS,
    eval_fraction: float = DEFAULT_EVAL_FRACTION,
    max_dims: int | None = DEFAULT_MAX_DIMS,
    seed: int = 0,
    eval_mask: np.ndarray | None = None,
) -> CurveRun:
    """``measure_learning_curve`` plus the per-item correctness the bootstrap needs.

    ``eval_mask`` (booleans, one per item) names the evaluation items — a dataset's own
    test/val split — instead of a stratified holdout of ``eval_fraction``: the pool is then the
    other items (the training split), so the curve answers "how does accuracy on *your* test
    set grow with more training images". Every class needs a pool item.
    """
    classes, y = encode_labels(labels)
    x = validate_embeddings(embeddings, len(y)).astype(np.float64, copy=False)
    check_option(repeats, Repeats, "repeats")
    check_option(eval_fraction, EvalFraction, "eval_fraction")
    if fractions is None:
        fractions = default_fractions(len(y), len(classes), eval_fraction)
    fracs = validate_fractions(fractions)
    if max_dims is not None and max_dims < 1:
        raise InvalidInput(f"max_dims must be positive; got {max_dims}", field="max_dims")
    k = len(classes)
    if k < 2:
        raise InvalidInput(f"a learning curve needs at least 2 classes; got {k}", field="labels")
    counts = np.bincount(y, minlength=k)
    too_small = [classes[c] for c in np.flatnonzero(counts < 2)]
    if too_small:
        raise InvalidInput(
            f"every class needs at least 2 items (one to evaluate, one to train); "
            f"classes with fewer: {too_small[:10]}",
            field="labels",
        )
    needed = items_needed(k, fracs[0], eval_fraction)
    if len(y) < needed:
        raise InvalidInput(
            f"{len(y)} items are too few for the smallest fraction {fracs[0]:g} with {k} classes: "
            f"at least {needed} items are needed ({MIN_ITEMS_PER_CLASS_IN_SMALLEST_SUBSET} per class "
            f"on average in the smallest subset after holding out {eval_fraction:.0%} to evaluate)",
            field="labels",
        )

    rng = np.random.default_rng(seed)
    if eval_mask is not None:
        eval_idx, pool_by_class = _given_holdout(y, k, eval_mask, classes)
    else:
        eval_idx, pool_by_class = _stratified_holdout(y, k, eval_fraction, rng)
    pool_idx = np.concatenate(pool_by_class)
    row_of = {int(item): row for row, item in enumerate(pool_idx)}
    rows_by_class = [np.array([row_of[int(i)] for i in idx]) for idx in pool_by_class]
    y_pool, y_eval = y[pool_idx], y[eval_idx]

    with single_threaded_blas(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        features_pool, features_eval, dims = _project(x[pool_idx], x[eval_idx], max_dims)
        # the repeats are independent given their draws (drawn here, in order, from the seeded
        # generator), so they run on the machine's cores: the probe's loss releases the GIL
        orders = [[rng.permutation(rows) for rows in rows_by_class] for _ in range(repeats)]

        def one_repeat(order: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
            probe = _curve_probe(seed)
            out = []
            for frac in fracs:
                take = [o[: max(1, int(round(frac * len(o))))] for o in order]
                rows = np.concatenate(take)
                probe.fit(features_pool[rows], y_pool[rows])
                out.append(
                    (
                        np.asarray(probe.predict(features_eval)),
                        np.bincount(y_pool[rows], minlength=k),
                    )
                )
            return out

        by_repeat = map_on_cores(one_repeat, orders, most=MAX_CURVE_THREADS, name="curve")
        per_fraction = [[results[f_i] for results in by_repeat] for f_i in range(len(fracs))]
        full = _curve_probe(seed).fit(features_pool, y_pool)
        full_result = [(np.asarray(full.predict(features_eval)), np.bincount(y_pool, minlength=k))]

    points, correct = [], []
    for frac, results in zip((*fracs, 1.0), (*per_fraction, full_result), strict=True):
        point, hits = _summarise(frac, results, y_eval, k)
        points.append(point)
        correct.append(hits)
    curve = LearningCurve(
        classes=classes,
        n_items=len(y),
        n_pool=len(pool_idx),
        n_eval=len(eval_idx),
        dims=dims,
        points=points,
    )
    return CurveRun(curve=curve, correct=correct, eval_labels=y_eval)


def _curve_probe(seed: int) -> LogisticRegression:
    # L2 logistic regression (C = CURVE_C) on features already standardised and projected.
    return LogisticRegression(
        C=CURVE_C, max_iter=CURVE_MAX_ITER, warm_start=True, random_state=seed
    )


def _stratified_holdout(
    y: np.ndarray, k: int, eval_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per class: ``max(1, round(eval_fraction * n_c))`` items to evaluate (at most n_c - 1)."""
    eval_parts, pool_parts = [], []
    for c in range(k):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_eval = min(len(idx) - 1, max(1, int(round(eval_fraction * len(idx)))))
        eval_parts.append(idx[:n_eval])
        pool_parts.append(idx[n_eval:])
    return np.concatenate(eval_parts), pool_parts


def _project(
    pool: np.ndarray, held_out: np.ndarray, max_dims: int | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Standardise on the pool, then keep the first ``max_dims`` principal components."""
    scaler = StandardScaler().fit(pool)
    a, b = np.asarray(scaler.transform(pool)), np.asarray(scaler.transform(held_out))
    d = a.shape[1]
    if max_dims is None or max_dims >= min(a.shape):
        return a, b, d
    # PCA from the covariance's top eigenvectors (scaled features are centred on the pool);
    # on 1.4k x 1280 this takes 0.5 s where randomized SVD took 2.8 s single-threaded. The Gram
    # matrix in float32 (half the time of float64 on 16k x 2024; the top subspace agrees to a
    # principal-angle cosine of 1 - 1e-11), the eigenvectors and projection in float64.
    a32 = a.astype(np.float32)
    gram = (a32.T @ a32).astype(np.float64)
    _, vectors = eigh(gram, subset_by_index=(d - max_dims, d - 1), driver="evr")
    return a @ vectors, b @ vectors, max_dims


def _summarise(
    fraction: float, results: list[tuple[np.ndarray, np.ndarray]], y_eval: np.ndarray, k: int
) -> tuple[CurvePoint, np.ndarray]:
    eval_counts = np.bincount(y_eval, minlength=k)
    hits = np.stack([pred == y_eval for pred, _ in results])
    acc = hits.mean(axis=1)
    f1s, recalls = [], []
    for pred, _ in results:
        tp = np.bincount(y_eval[pred == y_eval], minlength=k).astype(float)
        predicted = np.bincount(pred, minlength=k).astype(float)
        # F1 per class = 2 TP / (2 TP + FP + FN) = 2 TP / (predicted + actual).
        f1s.append(np.mean(2 * tp / np.maximum(predicted + eval_counts, 1)))
        recalls.append(tp / eval_counts)
    recalls_arr = np.stack(recalls)
    n_train = np.stack([counts for _, counts in results]).astype(float)
    ddof = 1 if len(results) > 1 else 0
    point = CurvePoint(
        fraction=fraction,
        n=float(n_train.sum(axis=1).mean()),
        repeats=len(results),
        accuracy_mean=float(acc.mean()),
        accuracy_std=float(acc.std(ddof=ddof)),
        macro_f1_mean=float(np.mean(f1s)),
        macro_f1_std=float(np.std(f1s, ddof=ddof)),
        accuracy_scores=[float(a) for a in acc],
        class_n=[float(v) for v in n_train.mean(axis=0)],
        class_recall_mean=[float(v) for v in recalls_arr.mean(axis=0)],
        class_recall_std=[float(v) for v in recalls_arr.std(axis=0, ddof=ddof)],
    )
    return point, hits
