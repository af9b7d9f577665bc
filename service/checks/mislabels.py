"""The mislabels check (REST ``POST /v1/checks/mislabels``, gRPC ``CheckMislabels``): ranked label issues with suggested labels, per-class noise and
confusable pairs, from labels plus embeddings (the K-fold probe) or the caller's probabilities or
logits. The agreement check (``POST /v1/checks/agreement``, ``CheckAgreement``): agreement between several annotators per item."""

from __future__ import annotations

from typing import Annotated

import msgspec
import numpy as np
from msgspec import Meta

from service.analysis.agreement import (
    DEFAULT_MAX_DISPUTED,
    DEFAULT_MIN_OVERLAP,
    AgreementResult,
    annotator_agreement,
)
from service.analysis.mislabels import (
    DEFAULT_FOLDS,
    DEFAULT_K_NEIGHBOURS,
    DEFAULT_MIN_CLASS_SIZE,
    DEFAULT_TOP_FRACTION,
    MislabelsResult,
    rank_label_issues,
)
from service.analysis.validation import (
    Folds,
    KNeighbours,
    MinClassSize,
    RankBy,
    Seed,
    TopFraction,
    encode_labels,
)
from service.checks.inputs import check_unique_ids, embedding_rows, labels_as_strings
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
        TopFraction, Meta(description="share of items listed (labelfix's X)")
    ] = DEFAULT_TOP_FRACTION
    rank_by: RankBy | None = None
    k_neighbours: KNeighbours = DEFAULT_K_NEIGHBOURS
    folds: Annotated[Folds, Meta(description="folds of the probe")] = DEFAULT_FOLDS
    min_class_size: Annotated[
        MinClassSize, Meta(description="smaller classes are reported, not judged")
    ] = DEFAULT_MIN_CLASS_SIZE
    seed: Seed = 0


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
    ] = DEFAULT_MIN_OVERLAP
    max_disputed: Annotated[int, Meta(ge=0, le=100_000)] = DEFAULT_MAX_DISPUTED


def _matrix(rows: Matrix | None, field: str, dtype: type = np.float64) -> np.ndarray | None:
    return None if rows is None else embedding_rows(rows, field=field, dtype=dtype)


def _class_names(data: MislabelsRequest) -> list[str]:
    if data.class_names is not None:
        return [str(c) for c in data.class_names]
    if data.probabilities is not None or data.logits is not None:
        raise InvalidInput(
            "class_names is required with probabilities or logits: it names their columns",
            field="class_names",
        )
    names = encode_labels(data.labels)[0]  # the one class-order rule
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
        class_names=_class_names(data),
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
