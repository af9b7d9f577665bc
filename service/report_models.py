"""The report request and the report itself, as msgspec Structs (the REST schema and OpenAPI are
generated from these; the gRPC layer translates to and from them)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from service.analysis.agreement import AgreementResult
from service.analysis.duplicates import DuplicatesResult
from service.analysis.image_quality import ImageQualityResult, ImageQualityThresholds
from service.analysis.imbalance import ImbalanceResult
from service.analysis.mislabels import MislabelsResult
from service.analysis.outliers import OutliersResult
from service.analysis.sample_size import SampleSizeResult
from service.datasets import DatasetRef

CheckName = Literal[
    "duplicates", "mislabels", "sample_size", "imbalance", "image_quality", "outliers", "agreement"
]
Fraction = Annotated[float, Meta(gt=0.0, lt=1.0)]


class DuplicatesOptions(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    threshold: Annotated[float, Meta(gt=0.0, le=1.0, description="cosine similarity threshold for near duplicates; default: the benchmarked one")] | None = None


class OutliersOptions(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    k: Annotated[int, Meta(ge=1, le=100, description="neighbours in the k-NN distance")] = 10


class MislabelsOptions(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    folds: Annotated[int, Meta(ge=2, le=20, description="cross-validation folds of the probe")] = 5
    top_fraction: Annotated[float, Meta(gt=0.0, le=1.0, description="share of items listed as candidates (labelfix's X)")] = 0.05
    k_neighbours: Annotated[int, Meta(ge=1, le=100)] = 10
    classifier_model: Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.\-]+$", description="a Triton model in the dataset's label space to use instead of the probe")] | None = None
    classifier_classes: Annotated[list[str], Meta(description="the classifier's output order, as dataset labels")] | None = None
    classifier_input: Annotated[str, Meta(max_length=128)] = "images"
    classifier_output: Annotated[str, Meta(max_length=128)] = "logits"


class SampleSizeOptions(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    fractions: Annotated[list[Fraction], Meta(min_length=2, max_length=12)] | None = None
    repeats: Annotated[int, Meta(ge=1, le=20)] = 5
    target_accuracy: Fraction | None = None
    target_recall: Fraction | None = None


class ImbalanceOptions(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    beta: Annotated[float, Meta(ge=0.0, lt=1.0, description="effective-number beta; default from N")] | None = None
    target: Literal["median", "max"] = "median"


class ImageQualityOptions(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    thresholds: ImageQualityThresholds | None = None


class ReportOptions(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    duplicates: DuplicatesOptions = msgspec.field(default_factory=DuplicatesOptions)
    outliers: OutliersOptions = msgspec.field(default_factory=OutliersOptions)
    mislabels: MislabelsOptions = msgspec.field(default_factory=MislabelsOptions)
    sample_size: SampleSizeOptions = msgspec.field(default_factory=SampleSizeOptions)
    imbalance: ImbalanceOptions = msgspec.field(default_factory=ImbalanceOptions)
    image_quality: ImageQualityOptions = msgspec.field(default_factory=ImageQualityOptions)
    seed: Annotated[int, Meta(ge=0, le=2**31 - 1)] = 0


class ReportRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Body of ``POST /v1/reports``."""

    dataset: Annotated[DatasetRef, Meta(description="exactly one of items, manifest_uri, archive_uri")]
    checks: Annotated[list[CheckName], Meta(description="checks to run; default: all (agreement when annotations exist)")] | None = None
    options: ReportOptions = msgspec.field(default_factory=ReportOptions)


class DatasetSummary(msgspec.Struct):
    items: int
    loaded: int
    failed: int
    labelled: int
    classes: dict[str, int]
    splits: dict[str, int]


class FailedItemOut(msgspec.Struct):
    id: str
    uri: str
    code: str
    detail: str


class ModelInfo(msgspec.Struct):
    name: str
    version: str


class CheckError(msgspec.Struct, omit_defaults=True):
    """Why one check of a report has no result (the other checks still ran)."""

    code: str  # not_applicable, invalid_input, ... or internal_error (a bug: quote request_id)
    detail: str
    request_id: str | None = None  # set for internal_error: the id the server logged it under


class Checks(msgspec.Struct, omit_defaults=True):
    """Each requested check's result (absent when not requested or not applicable)."""

    duplicates: DuplicatesResult | None = None
    mislabels: MislabelsResult | None = None
    sample_size: SampleSizeResult | None = None
    imbalance: ImbalanceResult | None = None
    image_quality: ImageQualityResult | None = None
    outliers: OutliersResult | None = None
    agreement: AgreementResult | None = None


class Report(msgspec.Struct):
    """One dataset quality report."""

    schema_version: str
    request_id: str
    model: ModelInfo
    dataset: DatasetSummary
    checks_run: list[str]
    failed_items: list[FailedItemOut]
    checks: Checks
    check_errors: dict[str, CheckError]
    timings_s: dict[str, float]
