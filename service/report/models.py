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
from service.analysis.learning_curve import DEFAULT_REPEATS
from service.analysis.mislabels import (
    DEFAULT_FOLDS,
    DEFAULT_K_NEIGHBOURS,
    DEFAULT_TOP_FRACTION,
    MislabelsResult,
)
from service.analysis.outliers import DEFAULT_OUTLIER_K, OutliersResult
from service.analysis.sample_size import SampleSizeResult
from service.analysis.validation import (
    Beta,
    Folds,
    Fractions,
    KNeighbours,
    OutlierK,
    Repeats,
    ResamplingTarget,
    Seed,
    TopFraction,
)
from service.analysis.validation import UnitFraction as Fraction
from service.datasets import DatasetRef
from service.datasets.model import ManifestFormat
from service.report.policy import Policy, ReportSummary, Verdict

CheckName = Literal[
    "duplicates", "mislabels", "sample_size", "imbalance", "image_quality", "outliers", "agreement"
]


class DuplicatesOptions(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    threshold: (
        Annotated[
            float,
            Meta(
                gt=0.0,
                le=1.0,
                description="cosine similarity threshold for near duplicates; default: the benchmarked one",
            ),
        ]
        | None
    ) = None


class OutliersOptions(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    k: Annotated[OutlierK, Meta(description="neighbours in the k-NN distance")] = DEFAULT_OUTLIER_K


class MislabelsOptions(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    folds: Annotated[Folds, Meta(description="cross-validation folds of the probe")] = DEFAULT_FOLDS
    top_fraction: Annotated[
        TopFraction, Meta(description="share of items listed as candidates (labelfix's X)")
    ] = DEFAULT_TOP_FRACTION
    k_neighbours: Annotated[
        KNeighbours,
        Meta(description="neighbours whose labels are compared with each candidate's"),
    ] = DEFAULT_K_NEIGHBOURS
    classifier_model: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=128,
                pattern=r"^[A-Za-z0-9_.\-]+$",
                description="a Triton model in the dataset's label space to use instead of the probe",
            ),
        ]
        | None
    ) = None
    classifier_classes: (
        Annotated[list[str], Meta(description="the classifier's output order, as dataset labels")]
        | None
    ) = None
    classifier_input: Annotated[
        str,
        Meta(
            max_length=128,
            description="input tensor name of the caller's classifier (uint8 NHWC images)",
        ),
    ] = "images"
    classifier_output: Annotated[
        str,
        Meta(max_length=128, description="output tensor name of the caller's classifier (logits)"),
    ] = "logits"


class SampleSizeOptions(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    fractions: (
        Annotated[
            Fractions,
            Meta(
                description="training-set fractions of the learning curve; default "
                "5/10/20/35/50 %, on fewer items from the smallest share with 2 items per class "
                "on average to 50 % (at least 12.5 items per class in all)"
            ),
        ]
        | None
    ) = None
    repeats: Annotated[
        Repeats, Meta(description="probes trained per fraction (different stratified subsets)")
    ] = DEFAULT_REPEATS
    target_accuracy: (
        Annotated[Fraction, Meta(description="accuracy to estimate the number of items for")] | None
    ) = None
    target_recall: (
        Annotated[
            Fraction, Meta(description="per-class recall to estimate the number of items for")
        ]
        | None
    ) = None


class ImbalanceOptions(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    beta: Annotated[Beta, Meta(description="effective-number beta; default from N")] | None = None
    target: Annotated[
        ResamplingTarget, Meta(description="class size the resampling plan aims at")
    ] = "median"


class ImageQualityOptions(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    thresholds: (
        Annotated[
            ImageQualityThresholds, Meta(description="flag thresholds; default: the built-in ones")
        ]
        | None
    ) = None
    list_all: Annotated[
        bool,
        Meta(
            description="list every flagged item (default: the 100 most flagged; counts are always exact)"
        ),
    ] = False


class ReportOptions(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    duplicates: Annotated[
        DuplicatesOptions, Meta(description="options of the duplicates check")
    ] = msgspec.field(default_factory=DuplicatesOptions)
    outliers: Annotated[OutliersOptions, Meta(description="options of the outliers check")] = (
        msgspec.field(default_factory=OutliersOptions)
    )
    mislabels: Annotated[MislabelsOptions, Meta(description="options of the mislabels check")] = (
        msgspec.field(default_factory=MislabelsOptions)
    )
    sample_size: Annotated[
        SampleSizeOptions, Meta(description="options of the sample-size check")
    ] = msgspec.field(default_factory=SampleSizeOptions)
    imbalance: Annotated[ImbalanceOptions, Meta(description="options of the imbalance check")] = (
        msgspec.field(default_factory=ImbalanceOptions)
    )
    image_quality: Annotated[
        ImageQualityOptions, Meta(description="options of the image-quality check")
    ] = msgspec.field(default_factory=ImageQualityOptions)
    seed: Annotated[
        Seed,
        Meta(description="seed of every random choice: the same request gives the same report"),
    ] = 0


class ReferenceRef(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """A reference set to audit the dataset against: exactly one of ``collection`` and ``job``."""

    collection: (
        Annotated[
            str,
            Meta(
                pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
                description="a named collection (PUT /v1/collections/{name})",
            ),
        ]
        | None
    ) = None
    job: (
        Annotated[str, Meta(description="a succeeded job whose report ran the duplicates check")]
        | None
    ) = None

    def __post_init__(self) -> None:
        if (self.collection is None) == (self.job is None):
            raise ValueError("reference takes exactly one of collection and job")


class ReportRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Body of ``POST /v1/reports``."""

    dataset: Annotated[
        DatasetRef, Meta(description="exactly one of items, manifest_uri, archive_uri")
    ]
    checks: (
        Annotated[
            list[CheckName],
            Meta(description="checks to run; default: all (agreement when annotations exist)"),
        ]
        | None
    ) = None
    options: Annotated[
        ReportOptions, Meta(description="per-check options; every field has a default")
    ] = msgspec.field(default_factory=ReportOptions)
    policy: (
        Annotated[
            Policy,
            Meta(description="rules the dataset must meet; the report then carries a verdict"),
        ]
        | None
    ) = None
    reference: (
        Annotated[
            ReferenceRef,
            Meta(
                description="check new items for copies of, and leakage into, this reference set (needs the duplicates check and a database)"
            ),
        ]
        | None
    ) = None


class UploadReportRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The ``request`` query parameter (JSON) of ``POST /v1/reports/upload``: the report request
    without ``dataset`` (the body is the dataset), plus what the body is."""

    kind: Annotated[
        Literal["archive", "manifest"],
        Meta(
            description="archive: a zip/tar in ImageFolder (or Hugging Face imagefolder) layout; manifest: a manifest whose URIs are absolute"
        ),
    ] = "archive"
    manifest_format: (
        Annotated[
            ManifestFormat,
            Meta(description="format of an uploaded manifest; guessed from its content if absent"),
        ]
        | None
    ) = None
    columns: (
        Annotated[
            dict[str, str], Meta(description="as DatasetRef.columns, for an uploaded manifest")
        ]
        | None
    ) = None
    checks: list[CheckName] | None = None
    options: ReportOptions = msgspec.field(default_factory=ReportOptions)
    policy: Policy | None = None


class DatasetSummary(msgspec.Struct):
    """What the dataset reference resolved to."""

    items: Annotated[int, Meta(description="items in the dataset")]
    loaded: Annotated[int, Meta(description="items whose image was fetched and decoded")]
    failed: Annotated[int, Meta(description="items listed in failed_items")]
    labelled: Annotated[int, Meta(description="items with a label")]
    classes: Annotated[
        dict[str, int],
        Meta(description="label -> loaded items (the ones the checks run on)"),
    ]
    splits: Annotated[dict[str, int], Meta(description="split -> items (`unspecified` for none)")]
    failed_classes: Annotated[
        dict[str, int],
        Meta(description="label -> items that failed to load (listed in failed_items)"),
    ] = msgspec.field(default_factory=dict)


class FailedItemOut(msgspec.Struct):
    """An item that could not be loaded (the report still covers the others)."""

    id: Annotated[str, Meta(description="the item's id")]
    uri: Annotated[
        str, Meta(description="the item's URI, credentials and query signatures redacted")
    ]
    code: Annotated[
        str,
        Meta(
            description="fetch_refused, not_found, fetch_failed, timeout, too_large, unsupported_format, decode_error, truncated, ..."
        ),
    ]
    detail: Annotated[str, Meta(description="what went wrong, for people")]


class ModelInfo(msgspec.Struct):
    """The Triton model that embedded the images."""

    name: Annotated[str, Meta(description="Triton model name")]
    version: Annotated[str, Meta(description="Triton model version")]
    input_size: Annotated[
        int,
        Meta(
            description="pixels per side the images were encoded at (224, or lower for small images)"
        ),
    ] = 224


class CheckError(msgspec.Struct, omit_defaults=True):
    """Why one check of a report has no result (the other checks still ran)."""

    code: Annotated[
        str,
        Meta(
            description="not_applicable, invalid_input, ... or internal_error (a bug: quote request_id)"
        ),
    ]
    detail: Annotated[str, Meta(description="what kept the check from running, for people")]
    request_id: (
        Annotated[
            str, Meta(description="set for internal_error: the id the server logged it under")
        ]
        | None
    ) = None


class Checks(msgspec.Struct, omit_defaults=True):
    """Each requested check's result (absent when not requested or not applicable)."""

    # fmt: off
    duplicates: DuplicatesResult | None = None  # exact and near copies, leakage across splits, label conflicts
    mislabels: MislabelsResult | None = None  # label-issue candidates and per-class noise (confident learning)
    sample_size: SampleSizeResult | None = None  # learning curve, fit and extrapolation
    imbalance: ImbalanceResult | None = None  # class counts, weights, resampling plan, split drift
    image_quality: ImageQualityResult | None = None  # unreadable, tiny, dark, bright, blurry, ... images
    outliers: OutliersResult | None = None  # items far from their nearest neighbours
    agreement: AgreementResult | None = None  # annotator agreement (when items carry annotations)
    # fmt: on


class Report(msgspec.Struct):
    """One dataset quality report."""

    schema_version: Annotated[str, Meta(description="version of this report's shape")]
    request_id: Annotated[str, Meta(description="X-Request-Id of the request, or a generated one")]
    model: Annotated[ModelInfo, Meta(description="the encoder that embedded the images")]
    dataset: Annotated[DatasetSummary, Meta(description="counts of the dataset")]
    checks_run: Annotated[list[str], Meta(description="the checks requested, in canonical order")]
    failed_items: Annotated[
        list[FailedItemOut], Meta(description="items that could not be loaded, with a code")
    ]
    checks: Annotated[Checks, Meta(description="each check's result")]
    check_errors: Annotated[
        dict[str, CheckError], Meta(description="check -> why it could not run")
    ]
    timings_s: Annotated[dict[str, float], Meta(description="wall seconds per stage, and `total`")]
    summary: (
        Annotated[
            ReportSummary,
            Meta(description="headline figures; a stable schema (imagelint.summary/1)"),
        ]
        | None
    ) = None
    verdict: (
        Annotated[Verdict, Meta(description="the policy's verdict; null without a policy")] | None
    ) = None
