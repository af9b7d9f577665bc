"""The sample-size check (REST ``POST /v1/checks/sample-size``, gRPC ``CheckSampleSize``): learning curve and extrapolation on the caller's embeddings
and labels, or fit-only on the caller's own observations ``[{n, scores}]``."""

from __future__ import annotations

from typing import Annotated

import msgspec
import numpy as np
from msgspec import Meta

from service.analysis.learning_curve import DEFAULT_EVAL_FRACTION, DEFAULT_REPEATS
from service.analysis.sample_size import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_CONFIDENCE,
    Observation,
    SampleSizeResult,
    estimate_sample_size,
    fit_sample_size,
)
from service.analysis.validation import (
    Bootstrap,
    Confidence,
    EvalFraction,
    Fractions,
    Repeats,
    SampleSizeModel,
    Seed,
)
from service.analysis.validation import UnitFraction as Fraction
from service.checks.inputs import (
    blame_sent_fields,
    check_item_limit,
    embedding_rows,
    labels_as_strings,
)
from service.errors import InvalidInput


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
            Fractions,
            Meta(
                description="subset fractions of the pool; default 5/10/20/35/50 %, on fewer "
                "items from the smallest share with 2 items per class on average to 50 %"
            ),
        ]
        | None
    ) = None
    repeats: Annotated[Repeats, Meta(description="draws per fraction")] = DEFAULT_REPEATS
    eval_fraction: Annotated[EvalFraction, Meta(description="held-out share")] = (
        DEFAULT_EVAL_FRACTION
    )
    target_accuracy: Annotated[Fraction, Meta(description="accuracy to reach")] | None = None
    target_recall: (
        Annotated[Fraction, Meta(description="per-class recall to reach; default target_accuracy")]
        | None
    ) = None
    model: SampleSizeModel = "auto"
    bootstrap: Annotated[Bootstrap, Meta(description="bootstrap replicates")] = DEFAULT_BOOTSTRAP
    confidence: Confidence = DEFAULT_CONFIDENCE
    seed: Seed = 0


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
    if data.observations is None:
        raise InvalidInput("send observations to fit", field="observations")
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
    embeddings = embedding_rows(data.embeddings)
    with blame_sent_fields(data, "labels"):
        return _curve(data, embeddings, labels)


def _curve(data: SampleSizeRequest, embeddings: np.ndarray, labels: list[str]) -> SampleSizeResult:
    return estimate_sample_size(
        embeddings,
        labels,
        fractions=data.fractions or None,  # None: default_fractions, adapted to small datasets
        repeats=data.repeats,
        eval_fraction=data.eval_fraction,
        target_accuracy=data.target_accuracy,
        target_recall=data.target_recall,
        model=data.model,
        bootstrap=data.bootstrap,
        confidence=data.confidence,
        seed=data.seed,
    )
