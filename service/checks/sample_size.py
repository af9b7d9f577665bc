"""The sample-size check (REST ``POST /v1/checks/sample-size``, gRPC ``CheckSampleSize``): learning curve and extrapolation on the caller's embeddings
and labels, or fit-only on the caller's own observations ``[{n, scores}]``."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
import numpy as np
from msgspec import Meta

from service.analysis.learning_curve import DEFAULT_FRACTIONS
from service.analysis.sample_size import (
    Observation,
    SampleSizeResult,
    estimate_sample_size,
    fit_sample_size,
)
from service.checks.inputs import blame_sent_fields, check_item_limit, labels_as_strings
from service.errors import InvalidInput

Fraction = Annotated[float, Meta(gt=0.0, lt=1.0)]


class SampleSizeRequest(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """Either ``embeddings`` + ``labels`` (a learning curve is measured) or ``observations``."""

    embeddings: (
        Annotated[list[list[float]], Meta(description="one embedding per item (items x dims)")]
        | None
    ) = None
    labels: Annotated[list[str | int], Meta(description="one class label per item")] | None = None
    observations: (
        Annotated[
            list[Observation],
            Meta(description="fit-only mode: your own runs, [{n: training size, scores: [...]}]"),
        ]
        | None
    ) = None
    fractions: (
        Annotated[
            list[Fraction],
            Meta(min_length=2, max_length=12, description="subset fractions of the pool"),
        ]
        | None
    ) = None
    repeats: Annotated[int, Meta(ge=1, le=20, description="draws per fraction")] = 5
    eval_fraction: Annotated[float, Meta(ge=0.05, le=0.5, description="held-out share")] = 0.2
    target_accuracy: Annotated[Fraction, Meta(description="accuracy to reach")] | None = None
    target_recall: (
        Annotated[Fraction, Meta(description="per-class recall to reach; default target_accuracy")]
        | None
    ) = None
    model: Literal["auto", "inverse_power_law", "power_law"] = "auto"
    bootstrap: Annotated[int, Meta(ge=0, le=1000, description="bootstrap replicates")] = 200
    confidence: Fraction = 0.95
    seed: Annotated[int, Meta(ge=0, le=2**31 - 1)] = 0


def run_sample_size(data: SampleSizeRequest, max_items: int) -> SampleSizeResult:
    """Validate the mode, then call one domain function (CPU-bound; run in a worker thread)."""
    has_items = data.embeddings is not None or data.labels is not None
    if data.observations is not None and has_items:
        raise InvalidInput(
            "send either embeddings and labels, or observations, not both", field="observations"
        )
    if data.observations is not None:
        with blame_sent_fields(data, "observations"):
            return _fit(data)
    return _estimate(data, max_items)


def _fit(data: SampleSizeRequest) -> SampleSizeResult:
    return fit_sample_size(
        data.observations,
        target_accuracy=data.target_accuracy,
        model=data.model,
        bootstrap=data.bootstrap,
        confidence=data.confidence,
        seed=data.seed,
    )


def _estimate(data: SampleSizeRequest, max_items: int) -> SampleSizeResult:
    if data.embeddings is None or data.labels is None:
        missing = "labels" if data.labels is None and data.embeddings is not None else "embeddings"
        raise InvalidInput(
            "send embeddings and labels (a learning curve is measured) or observations",
            field=missing,
        )
    check_item_limit(max(len(data.embeddings), len(data.labels)), max_items, "labels")
    labels = labels_as_strings(data.labels, "labels")
    try:
        embeddings = np.asarray(data.embeddings, dtype=np.float64)
    except ValueError as exc:
        raise InvalidInput(
            "embeddings rows must all have the same length", field="embeddings"
        ) from exc
    with blame_sent_fields(data, "labels"):
        return _curve(data, embeddings, labels)


def _curve(data: SampleSizeRequest, embeddings: np.ndarray, labels: list[str]) -> SampleSizeResult:
    return estimate_sample_size(
        embeddings,
        labels,
        fractions=data.fractions or DEFAULT_FRACTIONS,
        repeats=data.repeats,
        eval_fraction=data.eval_fraction,
        target_accuracy=data.target_accuracy,
        target_recall=data.target_recall,
        model=data.model,
        bootstrap=data.bootstrap,
        confidence=data.confidence,
        seed=data.seed,
    )
