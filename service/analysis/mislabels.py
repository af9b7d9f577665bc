"""Mislabel ranking: which labels are most likely wrong, what the right label probably is, and how
noisy each class is.

One entry point, ``rank_label_issues``, takes the given labels and one source of predicted
probabilities — all three enter the same function:

1. ``embeddings`` only: out-of-sample probabilities from the K-fold linear probe
   (``service.analysis.probe.out_of_sample_probabilities``);
2. ``probabilities`` or ``logits`` from the caller's own model, columns in ``class_names`` order;
3. logits of a Triton classifier fetched by the pipeline, passed as ``logits`` (reorder its
   columns with ``align_class_columns`` first) with ``probability_source="triton:<model>"``.

Embeddings, when given, also feed the neighbour-agreement score. Each item gets the scores of
``service.analysis.label_scores``; the ranking score (``rank_by``) orders the candidates,
confident learning (``service.analysis.confident_learning``) marks the estimated label-issue set
and gives per-class noise rates and the confusable class pairs. Items in duplicate groups whose
copies disagree on the label (``conflict_ids``) are always listed and their ranking score is scaled
by ``conflict_penalty``.

References
----------
.. [1] N. M. Müller, K. Markert, "Identifying Mislabeled Instances in Classification Datasets",
   IJCNN 2019 (labelfix: review the X % with the lowest ``p[i, y_i]``).
.. [2] C. G. Northcutt, L. Jiang, I. L. Chuang, "Confident Learning: Estimating Uncertainty in
   Dataset Labels", JAIR 70, 2021.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import msgspec
import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from service.analysis import label_scores as scores_mod
from service.analysis.confident_learning import confusable_pairs, estimate_confident_learning
from service.analysis.probe import (
    OOS_MAX_COMPONENTS,
    auto_components,
    out_of_sample_probabilities,
    whitened_projection,
)
from service.analysis.threads import single_threaded_blas
from service.analysis.validation import (
    ConflictPenalty,
    Folds,
    KNeighbours,
    MinClassSize,
    RankBy,
    TargetPrecision,
    TopFraction,
    check_choice,
    check_option,
    index_labels,
    validate_class_names,
    validate_embeddings,
    validate_probabilities,
    validate_scores,
)
from service.errors import InvalidInput

DEFAULT_TOP_FRACTION = 0.05
DEFAULT_K_NEIGHBOURS = 10
DEFAULT_FOLDS = 5
DEFAULT_MIN_CLASS_SIZE = 5
DEFAULT_CONFLICT_PENALTY = 0.5
DEFAULT_MAX_PAIRS = 10
DEFAULT_TARGET_PRECISION = 0.8
# Below this out-of-sample accuracy the noise estimate is said to be bounded by the model's.
WEAK_MODEL_ACCURACY = 0.9
RANKINGS: tuple[str, ...] = typing.get_args(RankBy)
NEEDS_EMBEDDINGS = frozenset({"combined", "neighbour_agreement"})


class LabelIssue(msgspec.Struct, omit_defaults=True):
    """One candidate for review; ``score`` (the ``rank_by`` score, after the conflict penalty) is
    low for suspicious labels; the list is ordered by it."""

    index: int
    given_label: str
    suggested_label: str  # the most probable class (equal to given_label when the model agrees)
    suggested_probability: float
    score: float
    self_confidence: float
    normalized_margin: float
    confident_learning: bool  # in confident learning's prune-by-noise-rate issue set
    id: str | None = None
    neighbour_agreement: float | None = None
    duplicate_conflict: bool = False


class ClassLabelNoise(msgspec.Struct, omit_defaults=True):
    """Per class: size, estimated noise, and how well the model predicts it."""

    label: str
    count: int
    judged: bool  # False: fewer than min_class_size items, not judged
    issues: int  # confident-learning issues among items given this label
    precision: float
    recall: float
    f1: float
    # share of the items given this label whose true class is another
    estimated_noise_rate: float | None = None
    estimated_true_count: float | None = None  # n * sum_i Q[i][this]
    threshold: float | None = None  # confident learning's t_j


class ConfusablePair(msgspec.Struct):
    """Two classes often mixed up: estimated items labelled one but belonging to the other."""

    a: str
    b: str
    estimated_mixups: float
    labelled_a_truly_b: float
    labelled_b_truly_a: float


class Learnability(msgspec.Struct, omit_defaults=True):
    """How well the probabilities' argmax reproduces the given labels (out of sample for the
    probe; for caller or Triton probabilities, whatever their model saw)."""

    source: str  # "probe", "probabilities", "logits", "triton:<model>", ...
    accuracy: float
    macro_f1: float
    folds: int | None = None
    components: int | None = None
    penalty: float | None = None  # the probe's L2 penalty per training item


class LabelIssueList(msgspec.Struct, omit_defaults=True):
    """The list to act on: relabel or review these items.

    Built from the ranking: items whose predicted class differs from the given label, most
    suspicious first, down to the loosest cut whose expected precision reaches
    ``target_precision``. With the built-in probe the precision is estimated from label errors
    planted and scored like real ones (``act_on_list_from_planted``; measured on Fashion-MNIST,
    the model's own probabilities promised 0.84 where 0.13 was true); with the caller's
    probabilities it is their mean ``1 - p[i, given]``, which assumes they are calibrated.
    ``basis`` says which.
    """

    ids: list[str]  # item ids (row numbers as strings when no ids were given)
    count: int
    expected_precision: float | None
    target_precision: float
    suggested_labels: list[str] = []
    note: str | None = None
    basis: str = "the model's probabilities (assumed calibrated)"


class MislabelsResult(msgspec.Struct, omit_defaults=True):
    n_items: int
    n_judged: int
    rank_by: str
    top_fraction: float
    label_health: float  # confident learning's estimated share of correct labels, trace(Q)
    issue_count: int  # size of the confident-learning issue set
    candidates: list[LabelIssue]
    classes: list[ClassLabelNoise]
    confusable_pairs: list[ConfusablePair]
    learnability: Learnability
    too_small_classes: list[str] = msgspec.field(default_factory=list)
    k_neighbours: int | None = None
    label_issues: LabelIssueList | None = None
    noise_note: str | None = None


def align_class_columns(
    scores: np.ndarray,
    model_classes: Sequence[str],
    class_names: Sequence[str],
    *,
    field: str = "classifier_classes",
) -> np.ndarray:
    """Reorder a model's output columns (``model_classes`` order) into ``class_names`` order.

    Columns of classes the dataset does not use are dropped (apply this to logits, not to
    probabilities, so the softmax renormalises over the kept classes). Every dataset class must
    be among the model's.
    """
    arr = np.asarray(scores)
    model_classes = [str(c) for c in model_classes]
    if arr.ndim != 2 or arr.shape[1] != len(model_classes):
        raise InvalidInput(
            f"the model returned {arr.shape[-1] if arr.ndim else 0} columns but {len(model_classes)} "
            "class names were given for them",
            field=field,
        )
    if len(set(model_classes)) != len(model_classes):
        raise InvalidInput("the model's class names must be distinct", field=field)
    position = {name: i for i, name in enumerate(model_classes)}
    missing = [c for c in class_names if str(c) not in position]
    if missing:
        raise InvalidInput(
            f"dataset classes missing from the model's classes: {missing[:10]}", field=field
        )
    return arr[:, [position[str(c)] for c in class_names]]


def _conflict_mask(
    conflicts: Collection[int | str], n: int, ids: Sequence[str] | None
) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    position = {item_id: i for i, item_id in enumerate(ids)} if ids is not None else None
    for entry in conflicts:
        if isinstance(entry, str):
            if position is None or entry not in position:
                raise InvalidInput(
                    f"conflict id {entry!r} is not among the item ids", field="conflict_ids"
                )
            mask[position[entry]] = True
        elif isinstance(entry, int | np.integer) and 0 <= int(entry) < n:
            mask[int(entry)] = True
        else:
            raise InvalidInput(
                f"conflict index {entry!r} is outside 0..{n - 1}", field="conflict_ids"
            )
    return mask


# --- 1. probabilities ------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelProbabilities:
    """Predicted class probabilities (n x m, class order) and where they came from (the
    ``Learnability`` fields)."""

    probabilities: np.ndarray
    source: str  # "probe", "probabilities", "logits", "triton:<model>", ...
    folds: int | None = None
    components: int | None = None
    penalty: float | None = None


def given_probabilities(
    n: int,
    m: int,
    *,
    probabilities: np.ndarray | None = None,
    logits: np.ndarray | None = None,
    source: str | None = None,
) -> LabelProbabilities | None:
    """The caller's probabilities (rows renormalised) or the softmax of its logits; ``None``
    when neither is given."""
    if probabilities is not None:
        p = validate_probabilities(probabilities, n, m)
        return LabelProbabilities(p, source or "probabilities")
    if logits is not None:
        p = scores_mod.softmax(validate_scores(logits, n, m, field="logits"))
        return LabelProbabilities(p, source or "logits")
    return None


def label_space(embeddings: np.ndarray, *, max_components: int = OOS_MAX_COMPONENTS) -> np.ndarray:
    """The whitened space of the probe and the neighbour search: ``min(max_components,
    3 sqrt(n))`` principal components (0: the raw embeddings)."""
    n = embeddings.shape[0]
    components = auto_components(n, max_components=max_components) if max_components else 0
    return whitened_projection(embeddings, components=components) if components else embeddings


def probe_probabilities(
    space: np.ndarray, y: np.ndarray, m: int, *, folds: int = DEFAULT_FOLDS, seed: int = 0
) -> LabelProbabilities:
    """Out-of-sample probabilities of the K-fold linear probe on ``space``."""
    oos = out_of_sample_probabilities(
        space, y, n_classes=m, folds=folds, seed=seed, components=None
    )
    return LabelProbabilities(
        oos.probabilities, "probe", folds=oos.folds, components=oos.components, penalty=oos.penalty
    )


# --- 2. per-item scores ----------------------------------------------------------------------


def label_quality_scores(
    p: np.ndarray, y: np.ndarray, *, neighbours: np.ndarray | None = None, k: int | None = None
) -> dict[str, np.ndarray]:
    """Every score of ``service.analysis.label_scores`` per item, by ``RANKINGS`` name (low:
    suspicious); the neighbour scores only with ``neighbours`` (n x k indices)."""
    self_conf = scores_mod.self_confidence(p, y)
    scores = {
        "self_confidence": self_conf,
        "normalized_margin": scores_mod.normalized_margin(p, y),
    }
    if neighbours is not None and k is not None:
        agreement = scores_mod.neighbour_agreement(neighbours, y)
        scores["neighbour_agreement"] = agreement
        scores["combined"] = scores_mod.combined_score(self_conf, agreement, k)
    return scores


def ranking_score(
    scores: dict[str, np.ndarray],
    rank_by: str,
    conflict: np.ndarray,
    *,
    conflict_penalty: float = DEFAULT_CONFLICT_PENALTY,
) -> np.ndarray:
    """The ``rank_by`` score, scaled by ``conflict_penalty`` where ``conflict`` is set."""
    if rank_by not in scores:
        raise InvalidInput(f"rank_by={rank_by!r} needs at least 2 items", field="rank_by")
    return scores[rank_by] * np.where(conflict, conflict_penalty, 1.0)


# --- 3. issues -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassNoise:
    """Confident learning on the classes with at least ``min_class_size`` given labels."""

    judged_class: np.ndarray  # bool m
    issues: np.ndarray  # bool n: the prune-by-noise-rate issue set
    noise_rates: np.ndarray  # m; NaN for classes not judged
    true_counts: np.ndarray  # m; NaN for classes not judged
    thresholds: np.ndarray  # m; NaN for classes not judged
    label_health: float
    pairs: list[ConfusablePair]


def estimate_class_noise(
    p: np.ndarray,
    y: np.ndarray,
    names: list[str],
    *,
    min_class_size: int = DEFAULT_MIN_CLASS_SIZE,
    max_pairs: int = DEFAULT_MAX_PAIRS,
) -> ClassNoise:
    """Confident learning (``service.analysis.confident_learning``) restricted to the classes
    large enough to judge; the others keep NaN estimates and no issues."""
    n, m = p.shape
    judged_class = np.bincount(y, minlength=m) >= min_class_size
    judged_idx = np.flatnonzero(judged_class)
    issues = np.zeros(n, dtype=bool)
    noise = np.full(m, np.nan)
    true_count = np.full(m, np.nan)
    thresholds = np.full(m, np.nan)
    health, pairs = 1.0, []
    if judged_idx.size:
        remap = np.full(m, -1)
        remap[judged_idx] = np.arange(judged_idx.size)
        rows = np.flatnonzero(judged_class[y])
        cl = estimate_confident_learning(p[np.ix_(rows, judged_idx)], remap[y[rows]])
        issues[rows] = cl.issues
        noise[judged_idx] = cl.noise_rates
        true_count[judged_idx] = rows.size * cl.joint.sum(axis=0)
        thresholds[judged_idx] = cl.thresholds
        health = cl.label_health
        pairs = [
            ConfusablePair(names[judged_idx[a]], names[judged_idx[b]], ab + ba, ab, ba)
            for a, b, ab, ba in confusable_pairs(cl.joint, rows.size, limit=max_pairs)
        ]
    return ClassNoise(judged_class, issues, noise, true_count, thresholds, health, pairs)


def candidate_rows(
    ranking: np.ndarray, judged_item: np.ndarray, always: np.ndarray, *, top_fraction: float
) -> np.ndarray:
    """Rows to list, most suspicious first: the ``top_fraction`` lowest-ranking judged items
    (labelfix's X %) plus every row marked in ``always``."""
    judged_rows = np.flatnonzero(judged_item)
    take = math.ceil(top_fraction * judged_rows.size)
    lowest = judged_rows[np.argsort(ranking[judged_rows], kind="stable")[:take]]
    listed = always.copy()
    listed[lowest] = True
    order = np.flatnonzero(listed)
    return order[np.argsort(ranking[order], kind="stable")]


def _class_reports(
    y: np.ndarray,
    predicted: np.ndarray,
    names: list[str],
    noise: ClassNoise,
    fit: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> list[ClassLabelNoise]:
    m = len(names)
    counts = np.bincount(y, minlength=m)
    issues_per_class = np.bincount(y[noise.issues], minlength=m)
    precision, recall, f1 = fit
    return [
        ClassLabelNoise(
            label=names[j],
            count=int(counts[j]),
            judged=bool(noise.judged_class[j]),
            issues=int(issues_per_class[j]),
            precision=float(precision[j]),
            recall=float(recall[j]),
            f1=float(f1[j]),
            estimated_noise_rate=_maybe(noise.noise_rates[j]),
            estimated_true_count=_maybe(noise.true_counts[j]),
            threshold=_maybe(noise.thresholds[j]),
        )
        for j in range(m)
    ]


def rank_label_issues(
    labels: Sequence[str] | Sequence[int] | np.ndarray,
    *,
    class_names: Sequence[str],
    probabilities: np.ndarray | None = None,
    logits: np.ndarray | None = None,
    embeddings: np.ndarray | None = None,
    ids: Sequence[str] | None = None,
    probability_source: str | None = None,
    top_fraction: float = DEFAULT_TOP_FRACTION,
    rank_by: str | None = None,
    conflict_ids: Collection[int | str] = (),
    conflict_penalty: float = DEFAULT_CONFLICT_PENALTY,
    k_neighbours: int = DEFAULT_K_NEIGHBOURS,
    folds: int = DEFAULT_FOLDS,
    min_class_size: int = DEFAULT_MIN_CLASS_SIZE,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    max_components: int = OOS_MAX_COMPONENTS,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    seed: int = 0,
) -> MislabelsResult:
    """Rank items by how likely their label is wrong, with suggested labels and noise estimates.

    The cleanlab way, one step per function: probabilities (``given_probabilities`` or
    ``probe_probabilities`` on ``label_space``) -> per-item scores (``label_quality_scores``,
    ``ranking_score``) -> issues (``estimate_class_noise``, ``candidate_rows``, ``act_on_list*``).
    This function validates the inputs and composes the steps.

    Parameters
    ----------
    labels : sequence of str or int, length n
        Given labels: names from ``class_names`` or integer indices into it.
    class_names : sequence of str
        The classes (at least 2), in the column order of ``probabilities``/``logits``.
    probabilities, logits : ndarray of shape (n, m), optional
        At most one: the caller's (or a Triton classifier's) predictions. Without either, the
        K-fold probe on ``embeddings`` computes out-of-sample probabilities.
    embeddings : ndarray of shape (n, d), optional
        Needed for the probe and for the neighbour-agreement and combined scores.
    ids : sequence of str, optional
        Item ids, echoed in the candidates and used to resolve string ``conflict_ids``.
    probability_source : str, optional
        Name reported in ``learnability.source`` for given probabilities/logits.
    top_fraction : float in (0, 1]
        Share of the judged items with the lowest score listed as candidates (labelfix's X %);
        confident-learning issues and duplicate conflicts are listed in any case.
    rank_by : {"combined", "self_confidence", "normalized_margin", "neighbour_agreement"}
        Default: "combined" with embeddings, else "self_confidence".
    conflict_ids : collection of int or str
        Items (indices, or ids) in duplicate groups whose copies disagree on the label.
    conflict_penalty : float in (0, 1]
        Factor applied to a conflicting item's ranking score.
    k_neighbours : int in [1, 100]
        Neighbours of the neighbour-agreement score.
    folds : int in [2, 20]
        Folds of the probe (fewer when no class has that many items).
    min_class_size : int in [1, 1000]
        Classes with fewer given labels are reported as too small and not judged.
    max_pairs : int
        Confusable pairs listed.
    max_components : int
        Cap on the principal components of the whitened space the probe and the neighbour
        search use (``min(max_components, 3 sqrt(n))``; 0 uses the raw embeddings).
    target_precision : float in (0, 1)
        Expected precision the act-on list (``label_issues``) must keep.
    seed : int
        Seed of the probe's folds and solver.

    Returns
    -------
    MislabelsResult

    References
    ----------
    .. [1] N. M. Müller, K. Markert, "Identifying Mislabeled Instances in Classification
       Datasets", IJCNN 2019.
    .. [2] C. G. Northcutt, L. Jiang, I. L. Chuang, "Confident Learning: Estimating Uncertainty
       in Dataset Labels", JAIR 70, 2021.
    """
    names = validate_class_names(class_names)
    y = index_labels(labels, names)
    n, m = y.shape[0], len(names)
    if ids is not None and len(ids) != n:
        raise InvalidInput(f"{len(ids)} ids for {n} labels; they must match", field="ids")
    if probabilities is not None and logits is not None:
        raise InvalidInput("give probabilities or logits, not both", field="logits")
    check_option(top_fraction, TopFraction, "top_fraction")
    check_option(conflict_penalty, ConflictPenalty, "conflict_penalty")
    check_option(k_neighbours, KNeighbours, "k_neighbours")
    check_option(folds, Folds, "folds")
    check_option(target_precision, TargetPrecision, "target_precision")
    check_option(min_class_size, MinClassSize, "min_class_size")
    if rank_by is None:
        rank_by = "combined" if embeddings is not None else "self_confidence"
    check_choice(rank_by, RankBy, "rank_by")
    if rank_by in NEEDS_EMBEDDINGS and embeddings is None:
        raise InvalidInput(f"rank_by={rank_by!r} needs embeddings", field="rank_by")
    if embeddings is None and probabilities is None and logits is None:
        raise InvalidInput(
            "give embeddings (for the probe), probabilities or logits", field="embeddings"
        )
    x = validate_embeddings(embeddings, n) if embeddings is not None else None
    conflict = _conflict_mask(conflict_ids, n, ids)
    given = given_probabilities(
        n, m, probabilities=probabilities, logits=logits, source=probability_source
    )

    # 1. probabilities, the neighbours, planted errors (one BLAS thread: measured faster on
    # shared cores, and the neighbour search runs its own threads)
    neighbours, k, planted = None, None, None
    with single_threaded_blas():
        space = label_space(x, max_components=max_components) if x is not None else None
        if given is not None:
            origin = given
        else:
            assert space is not None  # embeddings are required without probabilities
            origin = probe_probabilities(space, y, m, folds=folds, seed=seed)
        if space is not None and n > 1:
            k = min(k_neighbours, n - 1)
            neighbours = scores_mod.nearest_neighbours(space, k)
        if origin.source == "probe" and space is not None:
            planted = planted_flip_run(
                space, y, m, neighbours=neighbours, k=k, folds=folds, seed=seed, rank_by=rank_by
            )
    p = origin.probabilities

    # 2. per-item scores
    scores = label_quality_scores(p, y, neighbours=neighbours, k=k)
    ranking = ranking_score(scores, rank_by, conflict, conflict_penalty=conflict_penalty)

    # 3. issues: confident learning on the judged classes, candidates, the act-on list
    noise = estimate_class_noise(p, y, names, min_class_size=min_class_size, max_pairs=max_pairs)
    judged_item = noise.judged_class[y]
    predicted = p.argmax(axis=1)
    # sklearn is unannotated: pyright infers ``zero_division: str`` from its default "warn".
    fit = precision_recall_fscore_support(
        y,
        predicted,
        labels=np.arange(m),
        zero_division=0,  # pyright: ignore[reportArgumentType]
    )
    precision, recall, f1 = (np.asarray(a) for a in fit[:3])
    present = np.bincount(y, minlength=m) > 0
    learn = Learnability(
        source=origin.source,
        accuracy=float(np.mean(predicted == y)),
        macro_f1=float(f1[present].mean()),
        folds=origin.folds,
        components=origin.components,
        penalty=origin.penalty,
    )
    agreement = scores.get("neighbour_agreement")
    candidates = [
        LabelIssue(
            index=int(i),
            id=ids[int(i)] if ids is not None else None,
            given_label=names[y[i]],
            suggested_label=names[predicted[i]],
            suggested_probability=float(p[i, predicted[i]]),
            score=float(ranking[i]),
            self_confidence=float(scores["self_confidence"][i]),
            normalized_margin=float(scores["normalized_margin"][i]),
            neighbour_agreement=float(agreement[i]) if agreement is not None else None,
            confident_learning=bool(noise.issues[i]),
            duplicate_conflict=bool(conflict[i]),
        )
        for i in candidate_rows(
            ranking, judged_item, noise.issues | conflict, top_fraction=top_fraction
        )
    ]
    if planted is not None:
        issue_list = act_on_list_from_planted(
            p, y, ranking, judged_item, planted, names=names, ids=ids,
            target_precision=target_precision,
        )  # fmt: skip
    else:
        issue_list = act_on_list(
            p, y, ranking, judged_item, names=names, ids=ids, target_precision=target_precision
        )
    noise_note = None
    if learn.accuracy < WEAK_MODEL_ACCURACY:
        noise_note = (
            f"the {origin.source} reproduces {learn.accuracy:.1%} of the given labels: label "
            f"errors and its own mistakes look alike, so the estimated noise "
            f"(1 - label_health = {1 - noise.label_health:.3f}) is an upper bound, and the "
            "act-on list keeps only the items it is most sure of"
        )
    if issue_list.note is None and noise_note is not None:
        issue_list = msgspec.structs.replace(issue_list, note=noise_note)
    return MislabelsResult(
        label_issues=issue_list,
        noise_note=noise_note,
        n_items=n,
        n_judged=int(judged_item.sum()),
        rank_by=rank_by,
        top_fraction=float(top_fraction),
        label_health=float(noise.label_health),
        issue_count=int(noise.issues.sum()),
        candidates=candidates,
        classes=_class_reports(y, predicted, names, noise, (precision, recall, f1)),
        confusable_pairs=noise.pairs,
        learnability=learn,
        too_small_classes=[names[j] for j in range(m) if present[j] and not noise.judged_class[j]],
        k_neighbours=k,
    )


PLANTED_FLIP_SHARE = 0.02
MIN_PLANTED_FLIPS = 20


def planted_flip_run(
    space: np.ndarray,
    y: np.ndarray,
    m: int,
    *,
    neighbours: np.ndarray | None,
    k: int | None,
    folds: int,
    seed: int,
    rank_by: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Plant label errors and score them the way real ones are scored.

    ``max(20, 2 %)`` of the items get a random other class; the probe is refitted out of sample
    on those labels and the ranking score recomputed. Returns (planted indices, their scores):
    where known errors land on the ranking score, the calibration ``act_on_list_from_planted``
    needs. Seeded; costs one more K-fold probe.
    """
    n = y.shape[0]
    rng = np.random.default_rng([seed, 7])
    count = min(n, max(MIN_PLANTED_FLIPS, int(round(PLANTED_FLIP_SHARE * n))))
    planted = np.sort(rng.choice(n, size=count, replace=False))
    flipped = y.copy()
    flipped[planted] = (y[planted] + rng.integers(1, m, size=count)) % m
    p = probe_probabilities(space, flipped, m, folds=folds, seed=seed).probabilities
    scores = label_quality_scores(p, flipped, neighbours=neighbours, k=k)
    score = scores.get(rank_by, scores["self_confidence"])
    return planted, score[planted]


def act_on_list_from_planted(
    p: np.ndarray,
    y: np.ndarray,
    ranking: np.ndarray,
    judged: np.ndarray,
    planted: tuple[np.ndarray, np.ndarray],
    *,
    names: list[str],
    ids: Sequence[str] | None,
    target_precision: float = DEFAULT_TARGET_PRECISION,
) -> LabelIssueList:
    """The act-on list with a precision estimated from planted errors.

    ``G(t)``: share of planted errors scoring <= t; ``H(t)``: share of all items scoring <= t.
    In the lowest-scoring quarter of planted errors (``t0``) correct labels are assumed absent,
    so the share of real errors is ``pi = H(t0) / G(t0)``, and a cut ``t`` has an estimated
    precision ``pi G(t) / H(t)``. The list is every disagreeing item at or below the loosest cut
    whose estimated precision reaches ``target_precision``.
    """
    _, planted_scores = planted
    predicted = p.argmax(axis=1)
    scores = ranking[judged]
    if planted_scores.size == 0 or scores.size == 0:
        return act_on_list(
            p, y, ranking, judged, names=names, ids=ids, target_precision=target_precision
        )

    def share_below(values: np.ndarray, t: float) -> float:
        return float(np.mean(values <= t))

    t0 = float(np.quantile(planted_scores, 0.25))
    error_rate = min(1.0, share_below(scores, t0) / max(share_below(planted_scores, t0), 1e-9))
    best_t, best_precision = None, None
    for t in np.unique(planted_scores):
        below = share_below(scores, float(t))
        precision = (
            1.0
            if below == 0
            else min(1.0, error_rate * share_below(planted_scores, float(t)) / below)
        )
        if precision >= target_precision:
            best_t, best_precision = float(t), precision
    rows = np.flatnonzero(judged & (predicted != y))
    rows = rows[np.argsort(ranking[rows], kind="stable")]
    chosen = rows[ranking[rows] <= best_t] if best_t is not None else rows[:0]
    note = None
    if best_t is None:
        note = (
            f"no cut reaches the target precision {target_precision:g} "
            f"(estimated label-error rate {error_rate:.3f}): review the candidates instead"
        )
    elif chosen.size == 0:
        # only a cut below every real item "reached" the target: an empty list promises nothing
        # (a 364-item upload of the demo listed 0 items at expected precision 1.0 while its top
        # 3 candidates were its planted flips)
        best_precision = None
        note = (
            f"no item scores as low as the lowest quarter of the {planted_scores.size} planted "
            f"errors (estimated label-error rate {error_rate:.3f}): too few items to estimate "
            "a precision; review the candidates instead"
        )
    return LabelIssueList(
        ids=[ids[int(i)] if ids is not None else str(int(i)) for i in chosen],
        count=int(chosen.size),
        expected_precision=None if best_precision is None else round(best_precision, 4),
        target_precision=target_precision,
        suggested_labels=[names[predicted[i]] for i in chosen],
        note=note,
        basis=f"planted errors ({planted_scores.size}); estimated label-error rate {error_rate:.4f}",
    )


def act_on_list(
    p: np.ndarray,
    y: np.ndarray,
    ranking: np.ndarray,
    judged: np.ndarray,
    *,
    names: list[str],
    ids: Sequence[str] | None,
    target_precision: float = DEFAULT_TARGET_PRECISION,
) -> LabelIssueList:
    """The longest most-suspicious-first prefix of disagreeing items whose expected precision
    (mean ``1 - p[i, y_i]``) is at least ``target_precision`` (see ``LabelIssueList``)."""
    predicted = p.argmax(axis=1)
    rows = np.flatnonzero(judged & (predicted != y))
    rows = rows[np.argsort(ranking[rows], kind="stable")]
    wrong = 1.0 - p[rows, y[rows]]
    running = np.cumsum(wrong) / np.arange(1, rows.size + 1) if rows.size else np.zeros(0)
    ok = np.flatnonzero(running >= target_precision)
    take = int(ok[-1]) + 1 if ok.size else 0
    chosen = rows[:take]
    return LabelIssueList(
        ids=[ids[int(i)] if ids is not None else str(int(i)) for i in chosen],
        count=int(take),
        expected_precision=round(float(running[take - 1]), 4) if take else None,
        target_precision=target_precision,
        suggested_labels=[names[predicted[i]] for i in chosen],
        note=None if take else "no item is suspicious enough for the target precision",
    )


def _maybe(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)
