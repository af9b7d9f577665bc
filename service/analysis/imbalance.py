"""Class imbalance: how skewed the labels are, what weights or resampling fix it, how the splits
differ, and (with embeddings) which rare classes could be grouped with a frequent neighbour.

Definitions used throughout (``n_c`` items of class ``c``, ``N`` items, ``K`` classes):

- imbalance ratio ``max n_c / min n_c`` (Buda et al. 2018's rho);
- normalised entropy ``-sum p_c log p_c / log K`` (1 = balanced, 0 = one class);
- minority class: ``n_c < minority_share * N / K`` (default 0.5: fewer than half of a balanced
  share). The balanced share, unlike the median, still flags rare classes when most classes are
  rare and one dominates.

Class weights, every strategy normalised so that the weighted item count equals N
(``sum_c n_c w_c = N``; unweighted training keeps its effective loss scale):

- ``inverse_frequency``: ``N / (K n_c)`` (King & Zeng 2001; scikit-learn's ``"balanced"``);
- ``inverse_sqrt``: proportional to ``1 / sqrt(n_c)`` (Mahajan et al. 2018);
- ``effective_number``: proportional to ``(1 - beta) / (1 - beta**n_c)`` (Cui et al. 2019). As
  beta -> 1 it tends to inverse frequency, at beta = 0 it is uniform. Default
  ``beta = (N - 1) / N``: Cui et al. define beta as ``(V - 1) / V`` for the volume ``V`` of a class's
  feature space; ``V = N`` is the largest volume the data can witness, which keeps small classes
  close to inverse frequency while damping the largest ones;
- ``median_frequency``: ``median_c(f_c) / f_c`` with ``f_c = n_c / N`` (Eigen & Fergus 2015).

Resampling plan: per class the oversampling factor and the augmented images needed to reach the
target count (the median or the largest class), and the undersampling alternative (every class
down to the smallest). Drift between splits: total variation distance of the label distributions
and a chi-square test of homogeneity (classes absent from both splits dropped; flagged when an
expected count is below 5, where the test is unreliable). Hierarchy: average-linkage agglomerative
clustering of the class-mean embeddings on cosine distance; each minority class is grouped with
the smallest subtree that contains a frequent class (hierarchical classification as in the seed).

References
----------
.. [1] Y. Cui et al., "Class-Balanced Loss Based on Effective Number of Samples", CVPR 2019.
.. [2] G. King and L. Zeng, "Logistic Regression in Rare Events Data", Political Analysis, 2001.
.. [3] D. Mahajan et al., "Exploring the Limits of Weakly Supervised Pretraining", ECCV 2018.
.. [4] D. Eigen and R. Fergus, "Predicting Depth, Surface Normals and Semantic Labels with a
   Common Multi-Scale Convolutional Architecture", ICCV 2015.
.. [5] M. Buda et al., "A systematic study of the class imbalance problem in convolutional neural
   networks", Neural Networks 106, 2018.
.. [6] K. Pearson, chi-square test of homogeneity; scipy.stats.chi2_contingency.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence

import msgspec
import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform
from scipy.stats import chi2_contingency

from service.analysis.validation import (
    Beta,
    MinorityShare,
    ResamplingTarget,
    check_choice,
    check_option,
    encode_labels,
    validate_embeddings,
)
from service.errors import InvalidInput

DEFAULT_MINORITY_SHARE = 0.5
# At or below this largest/smallest class ratio the set is balanced: no resampling plan (round 1
# proposed one for Fashion-MNIST's 1.04).
BALANCED_RATIO = 1.5
EXTREME_IMBALANCE_RATIO = 10.0
MIN_EXPECTED_COUNT = 5.0
UNASSIGNED_SPLIT = "unassigned"


# --- schemas ---------------------------------------------------------------------------------


class ClassCount(msgspec.Struct):
    label: str
    count: int
    proportion: float
    minority: bool


class SplitDistribution(msgspec.Struct):
    split: str
    total: int
    counts: dict[str, int]
    proportions: dict[str, float]
    missing_classes: list[str]  # classes of the dataset with no item in this split


class ClassWeights(msgspec.Struct, omit_defaults=True):
    strategy: str
    weights: dict[str, float]
    beta: float | None = None


class ClassResampling(msgspec.Struct):
    label: str
    count: int
    oversample_factor: float  # target / count, at least 1
    augmented_needed: int  # max(0, target - count)
    undersample_keep: int  # items kept when every class is cut to the smallest


class ResamplingPlan(msgspec.Struct):
    target_rule: str
    target_count: int
    classes: list[ClassResampling]
    augmented_total: int
    total_after_oversampling: int
    undersample_to: int
    total_after_undersampling: int
    discarded_by_undersampling: int


class SplitDrift(msgspec.Struct, omit_defaults=True):
    splits: list[str]
    total_variation: float  # 0.5 * sum |p - q|, in [0, 1]
    chi2: float
    dof: int
    p_value: float | None = None  # None when fewer than 2 classes occur in these splits
    low_expected_counts: bool = False  # some expected count < 5: the p-value is approximate
    missing: dict[str, list[str]] | None = None  # split -> classes absent there, present elsewhere


class HierarchyNode(msgspec.Struct):
    id: int  # leaves are 0..K-1 in ``classes`` order; merges are K, K+1, ...
    children: list[int]
    distance: float  # cosine distance (average linkage) at which the children merge
    classes: list[str]
    count: int


class MinorityGrouping(msgspec.Struct):
    label: str
    nearest_frequent: str
    similarity: float  # cosine similarity of the class means
    group: list[str]  # classes of the smallest subtree holding a frequent class


class HierarchySuggestion(msgspec.Struct):
    recommended: bool
    reason: str
    linkage: str
    metric: str
    nodes: list[HierarchyNode]
    minority: list[MinorityGrouping]
    groups: list[list[str]]  # proposed parent classes (disjoint), each with >= 1 frequent class


class ImbalanceResult(msgspec.Struct, omit_defaults=True):
    n_items: int
    n_classes: int
    classes: list[ClassCount]
    imbalance_ratio: float
    normalised_entropy: float
    minority_rule: str
    minority_classes: list[str]
    weights: list[ClassWeights]
    beta: float
    beta_rule: str
    resampling: ResamplingPlan | None = None  # None for a balanced set (see ``balanced_note``)
    balanced_note: str | None = None
    splits: list[SplitDistribution] | None = None
    drift: list[SplitDrift] | None = None
    hierarchy: HierarchySuggestion | None = None


# --- weights ---------------------------------------------------------------------------------


def _normalise_to_n(counts: np.ndarray, raw: np.ndarray) -> np.ndarray:
    # Scale so that sum_c n_c w_c = N (the weighted item count equals the item count).
    return raw * counts.sum() / np.dot(counts, raw)


def inverse_frequency_weights(counts: np.ndarray) -> np.ndarray:
    """``N / (K n_c)`` (King & Zeng 2001); equals scikit-learn's ``"balanced"`` weights."""
    counts = _check_counts(counts)
    return counts.sum() / (len(counts) * counts)


def inverse_sqrt_weights(counts: np.ndarray) -> np.ndarray:
    """Proportional to ``1 / sqrt(n_c)`` (Mahajan et al. 2018), normalised to N."""
    counts = _check_counts(counts)
    return _normalise_to_n(counts, 1.0 / np.sqrt(counts))


def effective_number_weights(counts: np.ndarray, beta: float) -> np.ndarray:
    """Proportional to ``(1 - beta) / (1 - beta**n_c)`` (Cui et al. 2019), normalised to N.

    ``beta`` in [0, 1): 0 gives uniform weights (all 1); beta -> 1 tends to inverse frequency.
    """
    counts = _check_counts(counts)
    beta = check_beta(beta)
    if beta == 0.0:
        return np.ones_like(counts)
    # Effective number E_n = (1 - beta^n) / (1 - beta) (Cui et al. 2019), computed stably:
    # 1 - beta^n = -expm1(n log beta) and 1 - beta = -expm1(log beta).
    log_beta = np.log(beta)
    effective = np.expm1(counts * log_beta) / np.expm1(log_beta)
    return _normalise_to_n(counts, 1.0 / effective)


def median_frequency_weights(counts: np.ndarray) -> np.ndarray:
    """``median(f) / f_c`` (Eigen & Fergus 2015), normalised to N."""
    counts = _check_counts(counts)
    freq = counts / counts.sum()
    return _normalise_to_n(counts, np.median(freq) / freq)


WEIGHT_STRATEGIES: dict[str, Callable[..., np.ndarray]] = {
    "inverse_frequency": inverse_frequency_weights,
    "inverse_sqrt": inverse_sqrt_weights,
    "effective_number": effective_number_weights,
    "median_frequency": median_frequency_weights,
}


def class_weights(counts: np.ndarray, *, strategy: str, beta: float | None = None) -> np.ndarray:
    """Weights by strategy name (``WEIGHT_STRATEGIES``); ``beta`` defaults to ``default_beta(N)``."""
    if strategy not in WEIGHT_STRATEGIES:
        raise InvalidInput(
            f"unknown weight strategy {strategy!r}; valid: {sorted(WEIGHT_STRATEGIES)}",
            field="strategy",
        )
    if strategy == "effective_number":
        counts = _check_counts(counts)
        return effective_number_weights(
            counts, default_beta(int(counts.sum())) if beta is None else beta
        )
    return WEIGHT_STRATEGIES[strategy](counts)


def default_beta(n_items: int) -> float:
    """``(N - 1) / N``: Cui et al.'s ``(V - 1) / V`` with the class volume bounded by N."""
    if n_items < 1:
        raise InvalidInput(f"default beta needs at least one item; got {n_items}", field="beta")
    return (n_items - 1) / n_items


def check_beta(beta: float) -> float:
    return float(check_option(beta, Beta, "beta"))


# --- resampling ------------------------------------------------------------------------------

RESAMPLING_TARGETS: dict[str, Callable[[np.ndarray], int]] = {
    "median": lambda counts: int(np.ceil(np.median(counts))),
    "max": lambda counts: int(counts.max()),
}


def resampling_plan(
    counts: np.ndarray, classes: Sequence[str], *, target: str = "median"
) -> ResamplingPlan:
    """Oversampling to the target count (median or largest class) and undersampling to the
    smallest class, per class and in total."""
    counts = _check_counts(counts).astype(np.int64)
    check_choice(target, ResamplingTarget, "target", what="resampling target")
    goal = RESAMPLING_TARGETS[target](counts)
    smallest = int(counts.min())
    rows = [
        ClassResampling(
            label=label,
            count=int(n),
            oversample_factor=float(max(1.0, goal / n)),
            augmented_needed=int(max(0, goal - n)),
            undersample_keep=smallest,
        )
        for label, n in zip(classes, counts, strict=True)
    ]
    augmented = sum(r.augmented_needed for r in rows)
    return ResamplingPlan(
        target_rule=target,
        target_count=goal,
        classes=rows,
        augmented_total=augmented,
        total_after_oversampling=int(counts.sum()) + augmented,
        undersample_to=smallest,
        total_after_undersampling=smallest * len(counts),
        discarded_by_undersampling=int(counts.sum()) - smallest * len(counts),
    )


# --- drift between splits --------------------------------------------------------------------


def split_drift(split_counts: Mapping[str, np.ndarray], classes: Sequence[str]) -> list[SplitDrift]:
    """Every pair of splits, then all splits together when there are more than two."""
    names = list(split_counts)
    groups = [list(pair) for pair in itertools.combinations(names, 2)]
    if len(names) > 2:
        groups.append(names)
    return [
        _drift(names_, [np.asarray(split_counts[s]) for s in names_], classes) for names_ in groups
    ]


def _drift(names: list[str], tables: list[np.ndarray], classes: Sequence[str]) -> SplitDrift:
    table = np.stack(tables).astype(float)
    present = table.sum(axis=0) > 0
    proportions = table / table.sum(axis=1, keepdims=True)
    # Total variation distance 0.5 * sum |p - q| (max over pairs when more than two splits).
    tvd = max(
        0.5 * float(np.abs(proportions[i] - proportions[j]).sum())
        for i, j in itertools.combinations(range(len(tables)), 2)
    )
    missing = {
        name: [classes[int(c)] for c in np.flatnonzero((row == 0) & present)]
        for name, row in zip(names, table, strict=True)
    }
    missing = {k: v for k, v in missing.items() if v}
    drift = SplitDrift(splits=names, total_variation=tvd, chi2=0.0, dof=0, missing=missing or None)
    observed = table[:, present]
    if observed.shape[1] >= 2:
        # Pearson's chi-square test of homogeneity on the splits x classes table.
        stat, p_value, dof, expected = map(np.asarray, chi2_contingency(observed, correction=False))
        drift.chi2, drift.dof, drift.p_value = float(stat), int(dof), float(p_value)
        drift.low_expected_counts = bool((expected < MIN_EXPECTED_COUNT).any())
    return drift


# --- hierarchy -------------------------------------------------------------------------------


def suggest_hierarchy(
    embeddings: np.ndarray,
    class_index: np.ndarray,
    classes: Sequence[str],
    minority: np.ndarray,
    *,
    imbalance_ratio: float,
) -> HierarchySuggestion:
    """Average-linkage clustering of class-mean embeddings (cosine); groups for minority classes."""
    k = len(classes)
    unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    means = np.stack([unit[class_index == c].mean(axis=0) for c in range(k)])
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    # Cosine distance of the unit means; a zero mean (all-zero embeddings, or opposite vectors
    # cancelling) is orthogonal to everything (distance 1) instead of the NaN that made scipy's
    # linkage raise.
    distances = np.clip(1.0 - means @ means.T, 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    merges = linkage(squareform(distances, checks=False), method="average")
    members: dict[int, list[int]] = {c: [c] for c in range(k)}
    parent: dict[int, int] = {}
    nodes = []
    for step, (left, right, distance, count) in enumerate(merges):
        node_id, left, right = k + step, int(left), int(right)
        members[node_id] = members[left] + members[right]
        parent[left] = parent[right] = node_id
        nodes.append(
            HierarchyNode(
                id=node_id,
                children=[left, right],
                distance=float(max(distance, 0.0)),
                classes=[classes[c] for c in sorted(members[node_id])],
                count=int(count),
            )
        )
    similarity = means @ means.T
    frequent = np.flatnonzero(~minority)
    groupings, group_nodes = [], set()
    for c in np.flatnonzero(minority):
        node = int(c)
        while not (~minority[members[node]]).any():
            node = parent[node]
        group_nodes.add(node)
        nearest = int(frequent[np.argmax(similarity[c, frequent])])
        groupings.append(
            MinorityGrouping(
                label=classes[int(c)],
                nearest_frequent=classes[nearest],
                similarity=float(similarity[c, nearest]),
                group=[classes[i] for i in sorted(members[node])],
            )
        )
    # Keep the outermost proposed subtrees (tree nodes are nested or disjoint).
    outermost = [
        n for n in group_nodes if not any(_is_ancestor(m, n, parent) for m in group_nodes if m != n)
    ]
    groups = sorted(
        ([classes[i] for i in sorted(members[n])] for n in outermost), key=lambda g: g[0]
    )
    recommended = bool(minority.any() and imbalance_ratio >= EXTREME_IMBALANCE_RATIO)
    reason = (
        f"imbalance ratio {imbalance_ratio:.1f} >= {EXTREME_IMBALANCE_RATIO:g} with minority classes: "
        "train a parent classifier over the groups, then one inside each group"
        if recommended
        else f"not needed: imbalance ratio {imbalance_ratio:.1f} < {EXTREME_IMBALANCE_RATIO:g} "
        "or no minority class"
    )
    return HierarchySuggestion(
        recommended=recommended,
        reason=reason,
        linkage="average",
        metric="cosine",
        nodes=nodes,
        minority=groupings,
        groups=groups,
    )


def _is_ancestor(candidate: int, node: int, parent: Mapping[int, int]) -> bool:
    while node in parent:
        node = parent[node]
        if node == candidate:
            return True
    return False


# --- entry points ----------------------------------------------------------------------------


def analyse_class_counts(
    counts: Mapping[str, int] | None = None,
    *,
    split_counts: Mapping[str, Mapping[str, int]] | None = None,
    beta: float | None = None,
    target: str = "median",
    minority_share: float = DEFAULT_MINORITY_SHARE,
) -> ImbalanceResult:
    """Imbalance from class counts (``{class: n}``), optionally per split (``{split: {class: n}}``).

    Parameters
    ----------
    counts : items per class; every class must have at least one item. Derived from
        ``split_counts`` when omitted; must equal their sums when both are given.
    split_counts : items per class in each split (a class may be missing from a split).
    beta : effective-number beta in [0, 1); default ``(N - 1) / N``.
    target : resampling target, ``"median"`` or ``"max"``.
    minority_share : a class is a minority when ``n_c < minority_share * N / K``.

    Returns
    -------
    ImbalanceResult

    References
    ----------
    .. [1] Cui et al., CVPR 2019; King & Zeng 2001; Eigen & Fergus, ICCV 2015.
    """
    if counts is None and split_counts is None:
        raise InvalidInput("give class counts or per-split class counts", field="counts")
    counts_given = counts is not None
    splits_table: dict[str, dict[str, int]] | None = None
    summed: dict[str, int] = {}
    if split_counts is not None:
        if not isinstance(split_counts, Mapping) or not split_counts:
            raise InvalidInput(
                "split_counts must be a non-empty {split: {class: count}}", field="split_counts"
            )
        splits_table = {}
        for split, per_class in split_counts.items():
            splits_table[str(split)] = _check_count_mapping(
                per_class, f"split_counts.{split}", allow_zero=True
            )
        for per_class in splits_table.values():
            for label, n in per_class.items():
                summed[label] = summed.get(label, 0) + n
        if counts is None:
            counts = summed
    checked = _check_count_mapping(counts, "counts", allow_zero=False)
    if splits_table is not None and counts_given and checked != summed:
        raise InvalidInput("counts disagree with the sums of split_counts", field="split_counts")
    classes = sorted(checked)
    values = np.array([checked[c] for c in classes], dtype=float)
    per_split = None
    if splits_table is not None:
        per_split = {
            s: np.array([t.get(c, 0) for c in classes], dtype=float)
            for s, t in splits_table.items()
        }
    return _analyse(
        classes, values, per_split, beta=beta, target=target, minority_share=minority_share
    )


def analyse_imbalance(
    labels: Sequence[object] | np.ndarray,
    *,
    splits: Sequence[object] | np.ndarray | None = None,
    embeddings: np.ndarray | None = None,
    classes: Sequence[str] | None = None,
    beta: float | None = None,
    target: str = "median",
    minority_share: float = DEFAULT_MINORITY_SHARE,
) -> ImbalanceResult:
    """Imbalance of per-item labels, with optional per-item splits and embeddings.

    Parameters
    ----------
    labels : one class label per item (strings or integers; reported as strings).
    splits : one split name per item (``None`` counts as ``"unassigned"``).
    embeddings : ndarray (n_items, dims); enables the class-hierarchy suggestion.
    classes : the declared label set; a declared class with no item is an error (its weight would
        be infinite), and so is a label outside it.
    beta, target, minority_share : as in ``analyse_class_counts``.

    Returns
    -------
    ImbalanceResult

    Raises
    ------
    InvalidInput
        Fewer than 2 classes, a declared class with zero items, mismatched lengths, bad options.

    References
    ----------
    .. [1] Cui et al., CVPR 2019; Buda et al., Neural Networks 2018.
    """
    names, index = encode_labels(labels)
    if classes is not None:
        declared = [str(c) for c in classes]
        if len(set(declared)) != len(declared):
            raise InvalidInput("classes contains duplicates", field="classes")
        unknown = sorted(set(names) - set(declared))
        if unknown:
            raise InvalidInput(
                f"labels outside the declared classes: {unknown[:10]}", field="labels"
            )
        order = sorted(declared)
        remap = np.array([order.index(n) for n in names])
        names, index = order, remap[index]
    counts = np.bincount(index, minlength=len(names)).astype(float)
    _check_counts(counts, names)
    per_split = None
    if splits is not None:
        split_names, split_index = encode_labels(splits, field="splits", none_as=UNASSIGNED_SPLIT)
        if len(split_index) != len(index):
            raise InvalidInput(
                f"{len(split_index)} splits for {len(index)} labels; they must match",
                field="splits",
            )
        per_split = {
            name: np.bincount(index[split_index == s], minlength=len(names)).astype(float)
            for s, name in enumerate(split_names)
        }
    result = _analyse(
        names, counts, per_split, beta=beta, target=target, minority_share=minority_share
    )
    if embeddings is not None:
        x = validate_embeddings(embeddings, len(index))
        minority = np.array([c.minority for c in result.classes])
        result.hierarchy = suggest_hierarchy(
            x.astype(np.float64), index, names, minority, imbalance_ratio=result.imbalance_ratio
        )
    return result


def _analyse(
    classes: list[str],
    counts: np.ndarray,
    per_split: Mapping[str, np.ndarray] | None,
    *,
    beta: float | None,
    target: str,
    minority_share: float,
) -> ImbalanceResult:
    counts = _check_counts(counts, classes)
    check_option(minority_share, MinorityShare, "minority_share")
    check_choice(target, ResamplingTarget, "target", what="resampling target")
    n, k = float(counts.sum()), len(counts)
    beta_value = default_beta(int(n)) if beta is None else check_beta(beta)
    proportions = counts / n
    # Minority rule: fewer than minority_share of a balanced share N / K.
    minority = counts < minority_share * n / k
    # Normalised Shannon entropy H / log K.
    entropy = float(-np.sum(proportions * np.log(proportions)) / np.log(k))
    weights = [
        ClassWeights(
            strategy=name,
            weights=dict(
                zip(
                    classes,
                    map(float, class_weights(counts, strategy=name, beta=beta_value)),
                    strict=True,
                )
            ),
            beta=beta_value if name == "effective_number" else None,
        )
        for name in WEIGHT_STRATEGIES
    ]
    ratio = float(counts.max() / counts.min())
    result = ImbalanceResult(
        n_items=int(n),
        n_classes=k,
        classes=[
            ClassCount(label=c, count=int(v), proportion=float(p), minority=bool(m))
            for c, v, p, m in zip(classes, counts, proportions, minority, strict=True)
        ],
        imbalance_ratio=ratio,
        normalised_entropy=entropy,
        minority_rule=f"count < {minority_share:g} x N / K = {minority_share * n / k:.2f}",
        minority_classes=[c for c, m in zip(classes, minority, strict=True) if m],
        weights=weights,
        beta=beta_value,
        beta_rule="requested" if beta is not None else f"(N - 1) / N with N = {int(n)}",
        resampling=None
        if ratio <= BALANCED_RATIO
        else resampling_plan(counts, classes, target=target),
        balanced_note=(
            f"the classes are balanced (largest / smallest = {ratio:.2f} <= {BALANCED_RATIO:g}): "
            "no resampling is needed"
            if ratio <= BALANCED_RATIO
            else None
        ),
    )
    if per_split is not None:
        result.splits = [
            SplitDistribution(
                split=name,
                total=int(row.sum()),
                counts={c: int(v) for c, v in zip(classes, row, strict=True)},
                proportions={
                    c: float(v / row.sum()) if row.sum() else 0.0
                    for c, v in zip(classes, row, strict=True)
                },
                missing_classes=[c for c, v in zip(classes, row, strict=True) if v == 0],
            )
            for name, row in per_split.items()
        ]
        nonempty = {name: row for name, row in per_split.items() if row.sum() > 0}
        result.drift = split_drift(nonempty, classes) if len(nonempty) >= 2 else []
    return result


# --- validation ------------------------------------------------------------------------------


def _check_counts(counts: np.ndarray, classes: Sequence[str] | None = None) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 1:
        raise InvalidInput(f"counts must be a flat list; got shape {counts.shape}", field="counts")
    if len(counts) < 2:
        raise InvalidInput(f"at least 2 classes are needed; got {len(counts)}", field="counts")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise InvalidInput("counts must be non-negative integers", field="counts")
    zero = np.flatnonzero(counts == 0)
    if len(zero):
        names = [classes[int(i)] for i in zero] if classes is not None else [int(i) for i in zero]
        raise InvalidInput(
            f"classes with zero items: {names[:10]}; every class needs at least one item "
            "(its weight would be infinite)",
            field="counts",
        )
    return counts


def _check_count_mapping(counts: object, field: str, *, allow_zero: bool) -> dict[str, int]:
    if not isinstance(counts, Mapping) or not counts:
        raise InvalidInput(f"{field} must be a non-empty {{class: count}} mapping", field=field)
    out: dict[str, int] = {}
    for label, n in counts.items():
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise InvalidInput(
                f"{field}.{label} must be a non-negative integer; got {n!r}",
                field=f"{field}.{label}",
            )
        if n == 0 and not allow_zero:
            raise InvalidInput(
                f"class {label!r} has zero items; every class needs at least one (its weight would be infinite)",
                field=f"{field}.{label}",
            )
        out[str(label)] = int(n)
    return out
