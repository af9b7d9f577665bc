"""Confident learning (Northcutt, Jiang & Chuang, JAIR 2021), implemented from the paper.

Given out-of-sample predicted probabilities ``p`` (n x m) and the given (noisy) labels ``y~``:

1. per-class thresholds ``t_j``: the mean self-confidence of the items labelled ``j`` (eq. 2);
2. the confident joint ``C[i][j]``: items labelled ``i`` whose probability of ``j`` reaches
   ``t_j`` — an item above several thresholds counts once, for its most probable such class (eq. 1);
3. calibration: each row rescaled to the number of items given label ``i``, then the whole
   normalised to the joint ``Q[i][j]`` = p(given ``i``, true ``j``) (eq. 3);
4. the label-issue set by *prune by noise rate*: for every off-diagonal ``(i, j)``, the
   ``round(n Q[i][j])`` items labelled ``i`` with the largest margin ``p_j - p_i`` (section 3.3);
   as in the authors' reference implementation, an item whose most probable class is its given
   label is not kept as an issue.

From ``Q``: per-class noise rate ``1 - Q[i][i] / sum_j Q[i][j]`` (share of items labelled ``i``
whose true class is another), the estimated share of correct labels ``trace(Q)``, and the class
pairs with the most estimated mix-ups ``n (Q[i][j] + Q[j][i])``.

References
----------
.. [1] C. G. Northcutt, L. Jiang, I. L. Chuang, "Confident Learning: Estimating Uncertainty in
   Dataset Labels", Journal of Artificial Intelligence Research 70, 1373-1411, 2021.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ConfidentLearning:
    """The confident-learning estimates for one dataset (classes indexed 0..m-1)."""

    thresholds: np.ndarray  # m; inf for a class nobody is labelled with
    confident_joint: np.ndarray  # m x m counts; rows given label, columns true label
    joint: np.ndarray  # m x m, Q, sums to 1
    issues: np.ndarray  # bool n: the prune-by-noise-rate label-issue set

    @property
    def noise_rates(self) -> np.ndarray:
        """Per given class: estimated share of its items whose true class is another."""
        rows = self.joint.sum(axis=1)
        diag = np.diag(self.joint)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(rows > 0, 1.0 - diag / np.where(rows > 0, rows, 1.0), 0.0)

    @property
    def label_health(self) -> float:
        """Estimated share of correct labels, ``trace(Q)``."""
        return float(np.trace(self.joint))


def per_class_thresholds(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``t_j`` = mean of ``p[i, j]`` over the items labelled ``j`` (Northcutt et al. 2021, eq. 2)."""
    m = probabilities.shape[1]
    counts = np.bincount(labels, minlength=m).astype(np.float64)
    sums = np.zeros(m)
    np.add.at(sums, labels, probabilities[np.arange(labels.shape[0]), labels])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.where(counts > 0, counts, 1.0), np.inf)


def confident_joint(
    probabilities: np.ndarray, labels: np.ndarray, thresholds: np.ndarray
) -> np.ndarray:
    """``C[i][j]`` = #{x labelled i : p_j(x) >= t_j}, each x counted once for its most probable
    class above threshold (Northcutt et al. 2021, eq. 1)."""
    m = probabilities.shape[1]
    above = probabilities >= thresholds[None, :]
    masked = np.where(above, probabilities, -np.inf)
    true_class = masked.argmax(axis=1)
    counted = above.any(axis=1)
    joint = np.zeros((m, m), dtype=np.int64)
    np.add.at(joint, (labels[counted], true_class[counted]), 1)
    return joint


def calibrate_joint(confident: np.ndarray, label_counts: np.ndarray) -> np.ndarray:
    """``Q``: rows of ``C`` rescaled to the given-label counts, then normalised to sum 1
    (Northcutt et al. 2021, eq. 3). A labelled class with an empty row keeps its items on the
    diagonal."""
    c = confident.astype(np.float64)
    rows = c.sum(axis=1)
    empty = (rows == 0) & (label_counts > 0)
    c[empty, empty] = label_counts[empty]
    rows = c.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        calibrated = np.where(rows[:, None] > 0, c / np.where(rows > 0, rows, 1.0)[:, None], 0.0)
    calibrated *= label_counts[:, None]
    total = calibrated.sum()
    return calibrated / total if total > 0 else calibrated


def prune_by_noise_rate(
    probabilities: np.ndarray, labels: np.ndarray, joint: np.ndarray
) -> np.ndarray:
    """Boolean label-issue mask: for each off-diagonal (i, j), the ``round(n Q[i][j])`` items
    labelled i with the largest ``p_j - p_i`` (Northcutt et al. 2021, section 3.3)."""
    n, m = probabilities.shape
    issues = np.zeros(n, dtype=bool)
    to_remove = np.rint(n * joint).astype(np.int64)
    np.fill_diagonal(to_remove, 0)
    for i in np.flatnonzero(to_remove.sum(axis=1)):
        members = np.flatnonzero(labels == i)
        for j in np.flatnonzero(to_remove[i]):
            count = min(int(to_remove[i, j]), members.size)
            margin = probabilities[members, j] - probabilities[members, i]
            # stable order: ties keep the lower index first
            top = members[np.argsort(-margin, kind="stable")[:count]]
            issues[top] = True
    # Reference implementation: an item predicted as its given label is not an issue.
    issues &= probabilities.argmax(axis=1) != labels
    return issues


def estimate_confident_learning(probabilities: np.ndarray, labels: np.ndarray) -> ConfidentLearning:
    """Thresholds, confident joint, calibrated joint and the prune-by-noise-rate issue set.

    Parameters
    ----------
    probabilities : ndarray of shape (n, m)
        Out-of-sample predicted probabilities, columns in class order.
    labels : ndarray of shape (n,)
        Given labels as integers in ``[0, m)``.

    Returns
    -------
    ConfidentLearning

    References
    ----------
    .. [1] C. G. Northcutt, L. Jiang, I. L. Chuang, "Confident Learning: Estimating Uncertainty
       in Dataset Labels", JAIR 70, 2021.
    """
    m = probabilities.shape[1]
    counts = np.bincount(labels, minlength=m).astype(np.float64)
    thresholds = per_class_thresholds(probabilities, labels)
    confident = confident_joint(probabilities, labels, thresholds)
    joint = calibrate_joint(confident, counts)
    issues = prune_by_noise_rate(probabilities, labels, joint)
    return ConfidentLearning(
        thresholds=thresholds, confident_joint=confident, joint=joint, issues=issues
    )


def confusable_pairs(
    joint: np.ndarray, n_items: int, *, limit: int = 10
) -> list[tuple[int, int, float, float]]:
    """Unordered class pairs ``(a, b, n Q[a][b], n Q[b][a])`` with the most estimated mix-ups
    ``n (Q[a][b] + Q[b][a])``, largest first, at most ``limit``, none below half an item."""
    both = joint + joint.T
    a, b = np.triu_indices(joint.shape[0], k=1)
    total = both[a, b] * n_items
    order = np.argsort(-total, kind="stable")
    pairs = []
    for t in order[:limit]:
        if total[t] < 0.5:
            break
        pairs.append(
            (
                int(a[t]),
                int(b[t]),
                float(n_items * joint[a[t], b[t]]),
                float(n_items * joint[b[t], a[t]]),
            )
        )
    return pairs
