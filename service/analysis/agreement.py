"""Agreement between annotators: consensus labels, per-item agreement, Fleiss' and Cohen's kappa,
each annotator's agreement with the others, and the disputed items.

Input: per item, the annotations it carries as ``(annotator, label)`` pairs; the annotator may be
``None`` (anonymous: counted in the consensus and in Fleiss' kappa, not in per-annotator figures).

- consensus: the majority label; a tie is flagged and resolved to the first tied label in sorted
  order (or to the given label when that is among the tied ones);
- per-item agreement: the consensus share ``max_j n_ij / n_i`` and Fleiss' ``P_i``, the share of
  agreeing annotator pairs ``(sum_j n_ij^2 - n_i) / (n_i (n_i - 1))``;
- Fleiss' kappa over the items with at least two annotations, in the usual extension to a
  varying number of annotators per item (``P_i`` per item, category shares over all annotations);
- Cohen's kappa for each pair of named annotators with at least ``min_overlap`` shared items;
- each named annotator's agreement with the consensus of the *other* annotations of the item
  (leave-one-out, so an annotator's own vote does not count in its favour; a tie among the
  others counts as ``1 / #tied`` when the annotator chose one of them);
- disputed items: at least two annotations, not unanimous; full disagreement (every annotation a
  different label) first, then by increasing agreement.

References
----------
.. [1] J. L. Fleiss, "Measuring nominal scale agreement among many raters", Psychological
   Bulletin 76(5), 378-382, 1971.
.. [2] J. Cohen, "A coefficient of agreement for nominal scales", Educational and Psychological
   Measurement 20(1), 37-46, 1960.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import combinations

import msgspec
import numpy as np

from service.errors import InvalidInput

DEFAULT_MIN_OVERLAP = 5
DEFAULT_MAX_DISPUTED = 1000

Annotation = tuple[str | None, str]


class DisputedItem(msgspec.Struct, omit_defaults=True):
    index: int
    consensus: str
    agreement: float  # share of annotations equal to the consensus
    pairwise_agreement: float  # Fleiss' P_i
    votes: dict[str, int]
    full_disagreement: bool
    tie: bool = False
    tied_labels: list[str] | None = None
    id: str | None = None
    given_label: str | None = None


class PairKappa(msgspec.Struct, omit_defaults=True):
    a: str
    b: str
    items: int  # items both annotated
    observed_agreement: float
    kappa: float | None = None  # None when undefined (both always gave the same single label)


class AnnotatorSummary(msgspec.Struct):
    annotator: str
    items: int  # items this annotator labelled that carry at least one other annotation
    agreement_with_consensus: float | None  # None when it never shared an item


class AgreementResult(msgspec.Struct, omit_defaults=True):
    n_items: int
    n_annotated: int  # items with at least one annotation
    n_multi: int  # items with at least two annotations (the ones agreement is measured on)
    labels: list[str]
    annotators: list[str]
    mean_agreement: float | None  # mean of Fleiss' P_i
    fleiss_kappa: float | None
    ties: int
    disputed_count: int
    full_disagreement_count: int
    consensus: list[str | None]  # per item; None for an item without annotations
    disputed: list[DisputedItem]
    pairwise: list[PairKappa]
    per_annotator: list[AnnotatorSummary]
    given_label_disagreements: int | None = None  # items whose given label is not the consensus


def fleiss_kappa(counts: np.ndarray) -> float | None:
    """Fleiss' kappa from an items x categories count table (rows with >= 2 ratings).

    ``kappa = (P_bar - P_e) / (1 - P_e)`` (Fleiss 1971), with ``P_i`` per row for a varying number
    of raters; ``None`` when ``P_e = 1`` (a single category used).
    """
    counts = np.asarray(counts, dtype=np.float64)
    n_i = counts.sum(axis=1)
    rows = counts[n_i >= 2]
    n_i = n_i[n_i >= 2]
    if rows.shape[0] == 0:
        return None
    # Fleiss 1971: P_i = (sum_j n_ij^2 - n_i) / (n_i (n_i - 1)); p_j = category share of ratings.
    p_i = (np.square(rows).sum(axis=1) - n_i) / (n_i * (n_i - 1))
    p_j = rows.sum(axis=0) / n_i.sum()
    p_e = float(np.square(p_j).sum())
    if p_e >= 1.0 - 1e-12:
        return None
    return float((p_i.mean() - p_e) / (1.0 - p_e))


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two annotators over the same items: ``(p_o - p_e) / (1 - p_e)``
    (Cohen 1960); ``None`` when ``p_e = 1``."""
    n = len(a)
    if n == 0:
        return None
    # Cohen 1960: p_e = sum_c p_a(c) p_b(c) from each annotator's marginal label shares.
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    p_e = sum(ca[c] * cb[c] for c in ca) / (n * n)
    if p_e >= 1.0 - 1e-12:
        return None
    return (p_o - p_e) / (1.0 - p_e)


def _validate(annotations: Sequence[Sequence[Annotation]]) -> list[list[Annotation]]:
    if isinstance(annotations, str | bytes) or not isinstance(annotations, Sequence):
        raise InvalidInput("annotations must be a list (one entry per item)", field="annotations")
    items: list[list[Annotation]] = []
    for i, entry in enumerate(annotations):
        pairs: list[Annotation] = []
        seen: set[str] = set()
        for k, pair in enumerate(entry or ()):
            if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
                raise InvalidInput(
                    f"item {i}: annotation {k} must be an (annotator, label) pair",
                    field="annotations",
                )
            annotator, label = pair
            if not isinstance(label, str) or not label:
                raise InvalidInput(f"item {i}: annotation {k} has no label", field="annotations")
            if annotator is not None:
                if not isinstance(annotator, str) or not annotator:
                    raise InvalidInput(
                        f"item {i}: annotation {k} has an invalid annotator", field="annotations"
                    )
                if annotator in seen:
                    raise InvalidInput(
                        f"item {i}: annotator {annotator!r} labels it more than once",
                        field="annotations",
                    )
                seen.add(annotator)
            pairs.append((annotator, label))
        items.append(pairs)
    return items


def _majority(votes: Counter, prefer: str | None) -> tuple[str, list[str]]:
    top = max(votes.values())
    tied = sorted(label for label, c in votes.items() if c == top)
    if len(tied) > 1 and prefer is not None and prefer in tied:
        return prefer, tied
    return tied[0], tied


def annotator_agreement(
    annotations: Sequence[Sequence[Annotation]],
    *,
    ids: Sequence[str] | None = None,
    given_labels: Sequence[str | None] | None = None,
    min_overlap: int = DEFAULT_MIN_OVERLAP,
    max_disputed: int | None = DEFAULT_MAX_DISPUTED,
) -> AgreementResult:
    """Agreement between the annotators of a dataset.

    Parameters
    ----------
    annotations : sequence (one per item) of sequences of (annotator or None, label)
    ids : sequence of str, optional
        Item ids, echoed in the disputed items.
    given_labels : sequence of str or None, optional
        The items' given labels: breaks consensus ties and counts disagreements with it.
    min_overlap : int
        Shared items a pair of annotators needs for its Cohen's kappa.
    max_disputed : int or None
        At most this many disputed items are listed (``disputed_count`` has them all).

    Returns
    -------
    AgreementResult

    References
    ----------
    .. [1] J. L. Fleiss, "Measuring nominal scale agreement among many raters", 1971.
    .. [2] J. Cohen, "A coefficient of agreement for nominal scales", 1960.
    """
    items = _validate(annotations)
    n = len(items)
    if ids is not None and len(ids) != n:
        raise InvalidInput(f"{len(ids)} ids for {n} items; they must match", field="ids")
    if given_labels is not None and len(given_labels) != n:
        raise InvalidInput(
            f"{len(given_labels)} labels for {n} items; they must match", field="labels"
        )
    if min_overlap < 1:
        raise InvalidInput(f"min_overlap must be >= 1; got {min_overlap}", field="min_overlap")
    labels = sorted({label for pairs in items for _, label in pairs})
    annotators = sorted({a for pairs in items for a, _ in pairs if a is not None})
    column = {label: j for j, label in enumerate(labels)}

    table = np.zeros((n, len(labels)), dtype=np.int64)
    consensus: list[str | None] = [None] * n
    disputed: list[tuple[tuple, DisputedItem]] = []
    ties = full = 0
    p_items: list[float] = []
    by_annotator: dict[str, dict[int, str]] = {a: {} for a in annotators}
    loo: dict[str, list[float]] = {a: [] for a in annotators}
    for i, pairs in enumerate(items):
        if not pairs:
            continue
        votes = Counter(label for _, label in pairs)
        for label, c in votes.items():
            table[i, column[label]] = c
        given = given_labels[i] if given_labels is not None else None
        label, tied = _majority(votes, given)
        consensus[i] = label
        for annotator, chosen in pairs:
            if annotator is not None:
                by_annotator[annotator][i] = chosen
        m = len(pairs)
        if m < 2:
            continue
        tie = len(tied) > 1
        ties += tie
        p_i = (sum(c * c for c in votes.values()) - m) / (m * (m - 1))
        p_items.append(p_i)
        for annotator, chosen in pairs:
            if annotator is None:
                continue
            others = votes.copy()
            others[chosen] -= 1
            top = max(others.values())
            tied_others = [lab for lab, c in others.items() if c == top and c > 0]
            loo[annotator].append(1.0 / len(tied_others) if chosen in tied_others else 0.0)
        if len(votes) > 1:
            is_full = max(votes.values()) == 1
            full += is_full
            share = votes[label] / m
            disputed.append(
                (
                    (not is_full, share, p_i, i),
                    DisputedItem(
                        index=i,
                        id=ids[i] if ids is not None else None,
                        consensus=label,
                        agreement=share,
                        pairwise_agreement=p_i,
                        votes=dict(sorted(votes.items())),
                        full_disagreement=is_full,
                        tie=tie,
                        tied_labels=tied if tie else None,
                        given_label=given,
                    ),
                )
            )
    disputed.sort(key=lambda pair: pair[0])
    pairwise = []
    for a, b in combinations(annotators, 2):
        shared = sorted(by_annotator[a].keys() & by_annotator[b].keys())
        if len(shared) < min_overlap:
            continue
        la = [by_annotator[a][i] for i in shared]
        lb = [by_annotator[b][i] for i in shared]
        pairwise.append(
            PairKappa(
                a=a,
                b=b,
                items=len(shared),
                observed_agreement=sum(x == y for x, y in zip(la, lb, strict=True)) / len(shared),
                kappa=cohen_kappa(la, lb),
            )
        )
    per_annotator = [
        AnnotatorSummary(
            annotator=a,
            items=len(loo[a]),
            agreement_with_consensus=float(np.mean(loo[a])) if loo[a] else None,
        )
        for a in annotators
    ]
    mismatches = None
    if given_labels is not None:
        mismatches = sum(
            1
            for g, c in zip(given_labels, consensus, strict=True)
            if g is not None and c is not None and g != c
        )
    listed = [d for _, d in disputed]
    return AgreementResult(
        n_items=n,
        n_annotated=sum(1 for pairs in items if pairs),
        n_multi=len(p_items),
        labels=labels,
        annotators=annotators,
        mean_agreement=float(np.mean(p_items)) if p_items else None,
        fleiss_kappa=fleiss_kappa(table),
        ties=ties,
        disputed_count=len(listed),
        full_disagreement_count=full,
        consensus=consensus,
        disputed=listed if max_disputed is None else listed[:max_disputed],
        pairwise=pairwise,
        per_annotator=per_annotator,
        given_label_disagreements=mismatches,
    )
