"""The duplicates check (REST ``POST /v1/checks/duplicates``, gRPC ``CheckDuplicates``): exact and near duplicates, their groups (keep/drop), train/test
leakage, label conflicts and k-NN outliers, from embeddings the caller already has."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

import msgspec
import numpy as np
from msgspec import Meta

from service.analysis.descriptors import DEFAULT_NEAR_DUPLICATE_THRESHOLD
from service.analysis.duplicates import DEFAULT_MAX_LISTED_PAIRS, DuplicatesResult, check_duplicates
from service.analysis.outliers import DEFAULT_IQR_FACTOR, DEFAULT_OUTLIER_K
from service.analysis.validation import IqrFactor, OutlierK, Seed
from service.checks.inputs import embedding_rows, labels_as_strings
from service.errors import InvalidInput, PayloadTooLarge

Column = list[str | None]


class DuplicatesRequest(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """Embeddings as ``embeddings`` (JSON rows) or ``embeddings_b64`` + ``shape`` (base64 of
    little-endian float32, row-major); every other list has one entry per row."""

    embeddings: (
        Annotated[list[list[float]], Meta(description="one embedding per item (JSON rows)")] | None
    ) = None
    embeddings_b64: (
        Annotated[str, Meta(description="base64 of little-endian float32, row-major, `shape`")]
        | None
    ) = None
    shape: (
        Annotated[
            list[Annotated[int, Meta(ge=1)]],
            Meta(min_length=2, max_length=2, description="[items, dimensions] of embeddings_b64"),
        ]
        | None
    ) = None
    ids: Annotated[list[str], Meta(description="unique item ids (default: row numbers)")] | None = (
        None
    )
    splits: Annotated[Column, Meta(description="split per item (train, val, test, ...)")] | None = (
        None
    )
    labels: Annotated[list[str | int | None], Meta(description="label per item")] | None = None
    byte_hashes: (
        Annotated[Column, Meta(description="content hash per item (same bytes)")] | None
    ) = None
    pixel_hashes: (
        Annotated[Column, Meta(description="decoded-pixel hash per item (same pixels)")] | None
    ) = None
    threshold: Annotated[
        float,
        Meta(
            ge=-1.0,
            le=1.0,
            description="cosine similarity at or above which items are near duplicates; the "
            "default is benchmarked for imagelint's duplicate descriptor — for other embeddings "
            "choose your own",
        ),
    ] = DEFAULT_NEAR_DUPLICATE_THRESHOLD
    outlier_k: Annotated[OutlierK, Meta(description="neighbours in the k-NN distance")] = (
        DEFAULT_OUTLIER_K
    )
    iqr_factor: Annotated[IqrFactor, Meta(description="outlier fence: Q3 + iqr_factor * IQR")] = (
        DEFAULT_IQR_FACTOR
    )
    max_listed_pairs: Annotated[int, Meta(ge=0, le=100_000)] = DEFAULT_MAX_LISTED_PAIRS
    seed: Seed = 0


def decode_embeddings(data: DuplicatesRequest) -> np.ndarray:
    """The request's embeddings as an (items x dimensions) float32 array, shape checked."""
    if (data.embeddings is None) == (data.embeddings_b64 is None):
        raise InvalidInput(
            "send exactly one of `embeddings` (JSON rows) or `embeddings_b64` (+ `shape`)",
            field="embeddings",
        )
    if data.embeddings is not None:
        if not data.embeddings:
            raise InvalidInput("embeddings is empty", field="embeddings")
        return embedding_rows(data.embeddings, dtype=np.float32)
    if data.shape is None or data.embeddings_b64 is None:
        raise InvalidInput(
            "`shape` ([items, dimensions]) is required with embeddings_b64", field="shape"
        )
    try:
        raw = base64.b64decode(data.embeddings_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("embeddings_b64 is not valid base64", field="embeddings_b64") from exc
    n, d = data.shape
    if len(raw) != n * d * 4:
        raise InvalidInput(
            f"embeddings_b64 holds {len(raw)} bytes; shape {n} x {d} float32 needs {n * d * 4}",
            field="embeddings_b64",
        )
    return np.frombuffer(raw, dtype="<f4").reshape(n, d).astype(np.float32)


def run_duplicates(data: DuplicatesRequest, max_items: int) -> DuplicatesResult:
    """Shape the request into arrays, then call ``check_duplicates`` (in a worker thread)."""
    n_declared = data.shape[0] if data.shape else len(data.embeddings or ())
    if n_declared > max_items:
        raise PayloadTooLarge(
            f"{n_declared} items; at most {max_items} per request", field="embeddings"
        )
    if data.labels is not None:  # 1 and "1" would be one label to the analysis: refused
        labels_as_strings([v for v in data.labels if v is not None], "labels")
    embeddings = decode_embeddings(data)
    return check_duplicates(
        embeddings,
        ids=data.ids,
        splits=data.splits,
        labels=data.labels,
        byte_hashes=data.byte_hashes,
        pixel_hashes=data.pixel_hashes,
        threshold=data.threshold,
        outlier_k=data.outlier_k,
        iqr_factor=data.iqr_factor,
        max_listed_pairs=data.max_listed_pairs,
        seed=data.seed,
    )
