"""The imbalance check (REST ``POST /v1/checks/imbalance``, gRPC ``CheckImbalance``): class skew, weights, resampling plan, split drift and (with
embeddings) a class-hierarchy suggestion, from per-item labels or from class counts."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from service.analysis.imbalance import (
    DEFAULT_MINORITY_SHARE,
    ImbalanceResult,
    analyse_class_counts,
    analyse_imbalance,
)
from service.analysis.validation import Beta, MinorityShare, ResamplingTarget
from service.checks.inputs import (
    blame_sent_fields,
    check_item_limit,
    embedding_rows,
    labels_as_strings,
)
from service.errors import InvalidInput


class ImbalanceRequest(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """Either ``labels`` (with optional ``splits``, ``embeddings``, ``classes``) or ``counts`` /
    ``split_counts``."""

    labels: Annotated[list[str | int], Meta(description="one class label per item")] | None = None
    splits: (
        Annotated[list[str | None], Meta(description="one split per item; null = unassigned")]
        | None
    ) = None
    embeddings: (
        Annotated[
            list[list[float]], Meta(description="one embedding per item; enables the hierarchy")
        ]
        | None
    ) = None
    classes: (
        Annotated[
            list[str], Meta(description="declared label set; a class without items is an error")
        ]
        | None
    ) = None
    counts: Annotated[dict[str, int], Meta(description="items per class")] | None = None
    split_counts: (
        Annotated[dict[str, dict[str, int]], Meta(description="items per class in each split")]
        | None
    ) = None
    beta: Annotated[Beta, Meta(description="effective-number beta; default (N - 1) / N")] | None = (
        None
    )
    target: ResamplingTarget = "median"
    minority_share: Annotated[
        MinorityShare, Meta(description="minority: count < share x N / K")
    ] = DEFAULT_MINORITY_SHARE


def run_imbalance(data: ImbalanceRequest, max_items: int) -> ImbalanceResult:
    """Validate the mode, then call one domain function (in a worker thread)."""
    by_counts = data.counts is not None or data.split_counts is not None
    by_items = any(v is not None for v in (data.labels, data.splits, data.embeddings, data.classes))
    options = {"beta": data.beta, "target": data.target, "minority_share": data.minority_share}
    if by_counts and by_items:
        raise InvalidInput(
            "send either per-item labels (with splits, embeddings, classes) or class counts, "
            "not both",
            field="counts",
        )
    if by_counts:
        with blame_sent_fields(data, "counts" if data.counts is not None else "split_counts"):
            return analyse_class_counts(data.counts, split_counts=data.split_counts, **options)
    if data.labels is None:
        raise InvalidInput("send labels or class counts", field="labels")
    check_item_limit(len(data.labels), max_items, "labels")
    labels = labels_as_strings(data.labels, "labels")
    if data.classes is not None:
        empty = sorted(set(map(str, data.classes)) - set(labels))
        if empty:
            raise InvalidInput(
                f"class {empty[0]!r} is declared in classes but has zero items", field="classes"
            )
    embeddings = None
    if data.embeddings is not None:
        embeddings = embedding_rows(data.embeddings)
    with blame_sent_fields(data, "labels"):
        return analyse_imbalance(
            labels, splits=data.splits, embeddings=embeddings, classes=data.classes, **options
        )
