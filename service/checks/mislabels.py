"""The mislabels check (REST ``POST /v1/checks/mislabels``, gRPC ``CheckMislabels``): ranked label issues with suggested labels, per-class noise and
confusable pairs, from labels plus embeddings (the K-fold probe) or the caller's probabilities or
logits. The agreement check (``POST /v1/checks/agreement``, ``CheckAgreement``): agreement between several annotators per item."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
import numpy as np
from msgspec import Meta

from service.analysis.agreement import AgreementResult, annotator_agreement
from service.analysis.mislabels import MislabelsResult, rank_label_issues
from service.checks.inputs import check_unique_ids, labels_as_strings
from service.datasets.model import AnnotationIn
from service.errors import InvalidInput, PayloadTooLarge

Matrix = list[list[float]]


class MislabelsRequest(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """``labels`` plus one of: ``embeddings`` (out-of-sample probe), ``probabilities`` or
    ``logits`` (your model, columns in ``class_names`` order). Embeddings given with
    probabilities/logits feed the neighbour-agreement score."""

    labels: Annotated[list[str | int], Meta(min_length=1, description="given label per item")]
    class_names: (
        Annotated[
            list[str | int],
            Meta(
                description="class order of the probability/logit columns; default: sorted labels"
            ),
        ]
        | None
    ) = None
    embeddings: Annotated[Matrix, Meta(description="one embedding per item")] | None = None
    probabilities: Annotated[Matrix, Meta(description="one row per item, summing to 1")] | None = (
        None
    )
    logits: (
        Annotated[Matrix, Meta(description="one row of unnormalised scores per item")] | None
    ) = None
    ids: Annotated[list[str], Meta(description="item ids, echoed in the candidates")] | None = None
    conflict_ids: (
        Annotated[
            list[str | int],
            Meta(description="items in duplicate groups with conflicting labels (ids or indices)"),
        ]
        | None
    ) = None
    top_fraction: Annotated[
        float, Meta(gt=0.0, le=1.0, description="share of items listed (labelfix's X)")
    ] = 0.05
    rank_by: (
        Literal["combined", "self_confidence", "normalized_margin", "neighbour_agreement"] | None
    ) = None
    k_neighbours: Annotated[int, Meta(ge=1, le=100)] = 10
    folds: Annotated[int, Meta(ge=2, le=20, description="folds of the probe")] = 5
    min_class_size: Annotated[
        int, Meta(ge=1, le=1000, description="smaller classes are reported, not judged")
    ] = 5
    seed: Annotated[int, Meta(ge=0, le=2**31 - 1)] = 0


class AgreementRequest(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    annotations: Annotated[
        list[list[AnnotationIn | str]],
        Meta(min_length=1, description="per item: {annotator?, label} objects or bare labels"),
    ]
    ids: Annotated[list[str], Meta(description="item ids")] | None = None
    labels: (
        Annotated[list[str | None], Meta(description="given label per item (breaks ties)")] | None
    ) = None
    min_overlap: Annotated[
        int, Meta(ge=1, le=100_000, description="shared items a pair needs for Cohen's kappa")
    ] = 5
    max_disputed: Annotated[int, Meta(ge=0, le=100_000)] = 1000


def _matrix(rows: Matrix | None, field: str, dtype=np.float64) -> np.ndarray | None:
    if rows is None:
        return None
    try:
        return np.asarray(rows, dtype=dtype)
    except ValueError as exc:
        raise InvalidInput(f"{field} rows must all have the same length", field=field) from exc


def _class_names(data: MislabelsRequest, labels: list[str]) -> list[str]:
    if data.class_names is not None:
        return [str(c) for c in data.class_names]
    if data.probabilities is not None or data.logits is not None:
        raise InvalidInput(
            "class_names is required with probabilities or logits: it names their columns",
            field="class_names",
        )
    distinct = set(data.labels)
    if all(isinstance(v, int) for v in distinct):
        names = [str(v) for v in sorted(distinct)]
    else:
        names = sorted(set(labels))
    if len(names) < 2:
        raise InvalidInput(
            f"at least 2 classes are needed; labels hold {len(names)}", field="labels"
        )
    return names


def run_mislabels(data: MislabelsRequest, max_items: int) -> MislabelsResult:
    """Shape the request into arrays, then call ``rank_label_issues`` (in a worker thread)."""
    if len(data.labels) > max_items:
        raise PayloadTooLarge(
            f"{len(data.labels)} items; at most {max_items} per request", field="labels"
        )
    check_unique_ids(data.ids)
    labels = labels_as_strings(data.labels, "labels")
    if data.class_names is not None:
        labels_as_strings([*data.labels, *data.class_names], "class_names")
    return rank_label_issues(
        labels,
        class_names=_class_names(data, labels),
        embeddings=_matrix(data.embeddings, "embeddings", np.float32),
        probabilities=_matrix(data.probabilities, "probabilities"),
        logits=_matrix(data.logits, "logits"),
        ids=data.ids,
        conflict_ids=data.conflict_ids or (),
        top_fraction=data.top_fraction,
        rank_by=data.rank_by,
        k_neighbours=data.k_neighbours,
        folds=data.folds,
        min_class_size=data.min_class_size,
        seed=data.seed,
    )


def run_agreement(data: AgreementRequest, max_items: int) -> AgreementResult:
    if len(data.annotations) > max_items:
        raise PayloadTooLarge(
            f"{len(data.annotations)} items; at most {max_items} per request", field="annotations"
        )
    check_unique_ids(data.ids)
    items = [
        [(None, a) if isinstance(a, str) else (a.annotator, a.label) for a in item]
        for item in data.annotations
    ]
    return annotator_agreement(
        items,
        ids=data.ids,
        given_labels=data.labels,
        min_overlap=data.min_overlap,
        max_disputed=data.max_disputed,
    )
