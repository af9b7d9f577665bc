from service.grpc_api.gen.imagelint.v1 import analysis_pb2 as _analysis_pb2
from service.grpc_api.gen.imagelint.v1 import dataset_pb2 as _dataset_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReportRequest(_message.Message):
    __slots__ = ("dataset", "checks", "options", "policy", "reference")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    dataset: _dataset_pb2.DatasetRef
    checks: _containers.RepeatedScalarFieldContainer[str]
    options: ReportOptions
    policy: Policy
    reference: ReferenceRef
    def __init__(self, dataset: _Optional[_Union[_dataset_pb2.DatasetRef, _Mapping]] = ..., checks: _Optional[_Iterable[str]] = ..., options: _Optional[_Union[ReportOptions, _Mapping]] = ..., policy: _Optional[_Union[Policy, _Mapping]] = ..., reference: _Optional[_Union[ReferenceRef, _Mapping]] = ...) -> None: ...

class ReportOptions(_message.Message):
    __slots__ = ("duplicates", "outliers", "mislabels", "sample_size", "imbalance", "image_quality", "seed")
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    OUTLIERS_FIELD_NUMBER: _ClassVar[int]
    MISLABELS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_SIZE_FIELD_NUMBER: _ClassVar[int]
    IMBALANCE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_QUALITY_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    duplicates: DuplicatesOptions
    outliers: OutliersOptions
    mislabels: MislabelsOptions
    sample_size: SampleSizeOptions
    imbalance: ImbalanceOptions
    image_quality: ImageQualityOptions
    seed: int
    def __init__(self, duplicates: _Optional[_Union[DuplicatesOptions, _Mapping]] = ..., outliers: _Optional[_Union[OutliersOptions, _Mapping]] = ..., mislabels: _Optional[_Union[MislabelsOptions, _Mapping]] = ..., sample_size: _Optional[_Union[SampleSizeOptions, _Mapping]] = ..., imbalance: _Optional[_Union[ImbalanceOptions, _Mapping]] = ..., image_quality: _Optional[_Union[ImageQualityOptions, _Mapping]] = ..., seed: _Optional[int] = ...) -> None: ...

class DuplicatesOptions(_message.Message):
    __slots__ = ("threshold",)
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    threshold: float
    def __init__(self, threshold: _Optional[float] = ...) -> None: ...

class OutliersOptions(_message.Message):
    __slots__ = ("k",)
    K_FIELD_NUMBER: _ClassVar[int]
    k: int
    def __init__(self, k: _Optional[int] = ...) -> None: ...

class MislabelsOptions(_message.Message):
    __slots__ = ("folds", "top_fraction", "k_neighbours", "classifier_model", "classifier_classes", "classifier_input", "classifier_output")
    FOLDS_FIELD_NUMBER: _ClassVar[int]
    TOP_FRACTION_FIELD_NUMBER: _ClassVar[int]
    K_NEIGHBOURS_FIELD_NUMBER: _ClassVar[int]
    CLASSIFIER_MODEL_FIELD_NUMBER: _ClassVar[int]
    CLASSIFIER_CLASSES_FIELD_NUMBER: _ClassVar[int]
    CLASSIFIER_INPUT_FIELD_NUMBER: _ClassVar[int]
    CLASSIFIER_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    folds: int
    top_fraction: float
    k_neighbours: int
    classifier_model: str
    classifier_classes: _containers.RepeatedScalarFieldContainer[str]
    classifier_input: str
    classifier_output: str
    def __init__(self, folds: _Optional[int] = ..., top_fraction: _Optional[float] = ..., k_neighbours: _Optional[int] = ..., classifier_model: _Optional[str] = ..., classifier_classes: _Optional[_Iterable[str]] = ..., classifier_input: _Optional[str] = ..., classifier_output: _Optional[str] = ...) -> None: ...

class SampleSizeOptions(_message.Message):
    __slots__ = ("fractions", "repeats", "target_accuracy", "target_recall")
    FRACTIONS_FIELD_NUMBER: _ClassVar[int]
    REPEATS_FIELD_NUMBER: _ClassVar[int]
    TARGET_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    TARGET_RECALL_FIELD_NUMBER: _ClassVar[int]
    fractions: _containers.RepeatedScalarFieldContainer[float]
    repeats: int
    target_accuracy: float
    target_recall: float
    def __init__(self, fractions: _Optional[_Iterable[float]] = ..., repeats: _Optional[int] = ..., target_accuracy: _Optional[float] = ..., target_recall: _Optional[float] = ...) -> None: ...

class ImbalanceOptions(_message.Message):
    __slots__ = ("beta", "target")
    BETA_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    beta: float
    target: str
    def __init__(self, beta: _Optional[float] = ..., target: _Optional[str] = ...) -> None: ...

class ImageQualityOptions(_message.Message):
    __slots__ = ("thresholds", "list_all")
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    LIST_ALL_FIELD_NUMBER: _ClassVar[int]
    thresholds: _analysis_pb2.ImageQualityThresholds
    list_all: bool
    def __init__(self, thresholds: _Optional[_Union[_analysis_pb2.ImageQualityThresholds, _Mapping]] = ..., list_all: _Optional[bool] = ...) -> None: ...

class Policy(_message.Message):
    __slots__ = ("max_failed_items", "max_failed_rate", "max_leaked_items", "max_duplicate_items", "max_label_conflicts", "max_label_issue_rate", "min_label_health", "min_probe_accuracy", "min_images_per_class", "max_imbalance_ratio", "max_outliers", "max_quality_flagged", "min_predicted_accuracy", "unevaluated")
    MAX_FAILED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    MAX_FAILED_RATE_FIELD_NUMBER: _ClassVar[int]
    MAX_LEAKED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    MAX_DUPLICATE_ITEMS_FIELD_NUMBER: _ClassVar[int]
    MAX_LABEL_CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    MAX_LABEL_ISSUE_RATE_FIELD_NUMBER: _ClassVar[int]
    MIN_LABEL_HEALTH_FIELD_NUMBER: _ClassVar[int]
    MIN_PROBE_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    MIN_IMAGES_PER_CLASS_FIELD_NUMBER: _ClassVar[int]
    MAX_IMBALANCE_RATIO_FIELD_NUMBER: _ClassVar[int]
    MAX_OUTLIERS_FIELD_NUMBER: _ClassVar[int]
    MAX_QUALITY_FLAGGED_FIELD_NUMBER: _ClassVar[int]
    MIN_PREDICTED_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    UNEVALUATED_FIELD_NUMBER: _ClassVar[int]
    max_failed_items: Threshold
    max_failed_rate: Threshold
    max_leaked_items: Threshold
    max_duplicate_items: Threshold
    max_label_conflicts: Threshold
    max_label_issue_rate: Threshold
    min_label_health: Threshold
    min_probe_accuracy: Threshold
    min_images_per_class: Threshold
    max_imbalance_ratio: Threshold
    max_outliers: Threshold
    max_quality_flagged: Threshold
    min_predicted_accuracy: AccuracyAtSize
    unevaluated: str
    def __init__(self, max_failed_items: _Optional[_Union[Threshold, _Mapping]] = ..., max_failed_rate: _Optional[_Union[Threshold, _Mapping]] = ..., max_leaked_items: _Optional[_Union[Threshold, _Mapping]] = ..., max_duplicate_items: _Optional[_Union[Threshold, _Mapping]] = ..., max_label_conflicts: _Optional[_Union[Threshold, _Mapping]] = ..., max_label_issue_rate: _Optional[_Union[Threshold, _Mapping]] = ..., min_label_health: _Optional[_Union[Threshold, _Mapping]] = ..., min_probe_accuracy: _Optional[_Union[Threshold, _Mapping]] = ..., min_images_per_class: _Optional[_Union[Threshold, _Mapping]] = ..., max_imbalance_ratio: _Optional[_Union[Threshold, _Mapping]] = ..., max_outliers: _Optional[_Union[Threshold, _Mapping]] = ..., max_quality_flagged: _Optional[_Union[Threshold, _Mapping]] = ..., min_predicted_accuracy: _Optional[_Union[AccuracyAtSize, _Mapping]] = ..., unevaluated: _Optional[str] = ...) -> None: ...

class Threshold(_message.Message):
    __slots__ = ("fail", "warn")
    FAIL_FIELD_NUMBER: _ClassVar[int]
    WARN_FIELD_NUMBER: _ClassVar[int]
    fail: float
    warn: float
    def __init__(self, fail: _Optional[float] = ..., warn: _Optional[float] = ...) -> None: ...

class AccuracyAtSize(_message.Message):
    __slots__ = ("at_images", "fail", "warn")
    AT_IMAGES_FIELD_NUMBER: _ClassVar[int]
    FAIL_FIELD_NUMBER: _ClassVar[int]
    WARN_FIELD_NUMBER: _ClassVar[int]
    at_images: int
    fail: float
    warn: float
    def __init__(self, at_images: _Optional[int] = ..., fail: _Optional[float] = ..., warn: _Optional[float] = ...) -> None: ...

class ReferenceRef(_message.Message):
    __slots__ = ("collection", "job")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    collection: str
    job: str
    def __init__(self, collection: _Optional[str] = ..., job: _Optional[str] = ...) -> None: ...

class Report(_message.Message):
    __slots__ = ("schema_version", "request_id", "model", "dataset", "checks_run", "failed_items", "checks", "check_errors", "timings_s", "summary", "verdict")
    class CheckErrorsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: CheckError
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[CheckError, _Mapping]] = ...) -> None: ...
    class TimingsSEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    CHECKS_RUN_FIELD_NUMBER: _ClassVar[int]
    FAILED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    CHECK_ERRORS_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_S_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    schema_version: str
    request_id: str
    model: ModelInfo
    dataset: DatasetSummary
    checks_run: _containers.RepeatedScalarFieldContainer[str]
    failed_items: _containers.RepeatedCompositeFieldContainer[FailedItemOut]
    checks: Checks
    check_errors: _containers.MessageMap[str, CheckError]
    timings_s: _containers.ScalarMap[str, float]
    summary: ReportSummary
    verdict: Verdict
    def __init__(self, schema_version: _Optional[str] = ..., request_id: _Optional[str] = ..., model: _Optional[_Union[ModelInfo, _Mapping]] = ..., dataset: _Optional[_Union[DatasetSummary, _Mapping]] = ..., checks_run: _Optional[_Iterable[str]] = ..., failed_items: _Optional[_Iterable[_Union[FailedItemOut, _Mapping]]] = ..., checks: _Optional[_Union[Checks, _Mapping]] = ..., check_errors: _Optional[_Mapping[str, CheckError]] = ..., timings_s: _Optional[_Mapping[str, float]] = ..., summary: _Optional[_Union[ReportSummary, _Mapping]] = ..., verdict: _Optional[_Union[Verdict, _Mapping]] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "version", "input_size")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    INPUT_SIZE_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    input_size: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., input_size: _Optional[int] = ...) -> None: ...

class DatasetSummary(_message.Message):
    __slots__ = ("items", "loaded", "failed", "labelled", "classes", "splits", "failed_classes")
    class ClassesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class SplitsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class FailedClassesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    LOADED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    LABELLED_FIELD_NUMBER: _ClassVar[int]
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    FAILED_CLASSES_FIELD_NUMBER: _ClassVar[int]
    items: int
    loaded: int
    failed: int
    labelled: int
    classes: _containers.ScalarMap[str, int]
    splits: _containers.ScalarMap[str, int]
    failed_classes: _containers.ScalarMap[str, int]
    def __init__(self, items: _Optional[int] = ..., loaded: _Optional[int] = ..., failed: _Optional[int] = ..., labelled: _Optional[int] = ..., classes: _Optional[_Mapping[str, int]] = ..., splits: _Optional[_Mapping[str, int]] = ..., failed_classes: _Optional[_Mapping[str, int]] = ...) -> None: ...

class FailedItemOut(_message.Message):
    __slots__ = ("id", "uri", "code", "detail")
    ID_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    id: str
    uri: str
    code: str
    detail: str
    def __init__(self, id: _Optional[str] = ..., uri: _Optional[str] = ..., code: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class Checks(_message.Message):
    __slots__ = ("duplicates", "mislabels", "sample_size", "imbalance", "image_quality", "outliers", "agreement")
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    MISLABELS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_SIZE_FIELD_NUMBER: _ClassVar[int]
    IMBALANCE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_QUALITY_FIELD_NUMBER: _ClassVar[int]
    OUTLIERS_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    duplicates: _analysis_pb2.DuplicatesResult
    mislabels: _analysis_pb2.MislabelsResult
    sample_size: _analysis_pb2.SampleSizeResult
    imbalance: _analysis_pb2.ImbalanceResult
    image_quality: _analysis_pb2.ImageQualityResult
    outliers: _analysis_pb2.OutliersResult
    agreement: _analysis_pb2.AgreementResult
    def __init__(self, duplicates: _Optional[_Union[_analysis_pb2.DuplicatesResult, _Mapping]] = ..., mislabels: _Optional[_Union[_analysis_pb2.MislabelsResult, _Mapping]] = ..., sample_size: _Optional[_Union[_analysis_pb2.SampleSizeResult, _Mapping]] = ..., imbalance: _Optional[_Union[_analysis_pb2.ImbalanceResult, _Mapping]] = ..., image_quality: _Optional[_Union[_analysis_pb2.ImageQualityResult, _Mapping]] = ..., outliers: _Optional[_Union[_analysis_pb2.OutliersResult, _Mapping]] = ..., agreement: _Optional[_Union[_analysis_pb2.AgreementResult, _Mapping]] = ...) -> None: ...

class CheckError(_message.Message):
    __slots__ = ("code", "detail", "request_id")
    CODE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    code: str
    detail: str
    request_id: str
    def __init__(self, code: _Optional[str] = ..., detail: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ReportSummary(_message.Message):
    __slots__ = ("schema", "items", "loaded", "failed_items", "failed_rate", "labelled", "classes", "min_class_count", "smallest_class", "imbalance_ratio", "duplicate_groups", "duplicate_items", "leaked_items", "label_conflicts", "label_issues", "label_issue_rate", "label_health", "probe_accuracy", "outliers", "quality_flagged", "predicted_accuracy_2x", "accuracy_asymptote", "images_needed", "checks_failed", "verdict")
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    LOADED_FIELD_NUMBER: _ClassVar[int]
    FAILED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    FAILED_RATE_FIELD_NUMBER: _ClassVar[int]
    LABELLED_FIELD_NUMBER: _ClassVar[int]
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    MIN_CLASS_COUNT_FIELD_NUMBER: _ClassVar[int]
    SMALLEST_CLASS_FIELD_NUMBER: _ClassVar[int]
    IMBALANCE_RATIO_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_GROUPS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_ITEMS_FIELD_NUMBER: _ClassVar[int]
    LEAKED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    LABEL_CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    LABEL_ISSUES_FIELD_NUMBER: _ClassVar[int]
    LABEL_ISSUE_RATE_FIELD_NUMBER: _ClassVar[int]
    LABEL_HEALTH_FIELD_NUMBER: _ClassVar[int]
    PROBE_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    OUTLIERS_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FLAGGED_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_ACCURACY_2X_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_ASYMPTOTE_FIELD_NUMBER: _ClassVar[int]
    IMAGES_NEEDED_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FAILED_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    schema: str
    items: int
    loaded: int
    failed_items: int
    failed_rate: float
    labelled: int
    classes: int
    min_class_count: int
    smallest_class: str
    imbalance_ratio: float
    duplicate_groups: int
    duplicate_items: int
    leaked_items: int
    label_conflicts: int
    label_issues: int
    label_issue_rate: float
    label_health: float
    probe_accuracy: float
    outliers: int
    quality_flagged: int
    predicted_accuracy_2x: float
    accuracy_asymptote: float
    images_needed: float
    checks_failed: _containers.RepeatedScalarFieldContainer[str]
    verdict: str
    def __init__(self, schema: _Optional[str] = ..., items: _Optional[int] = ..., loaded: _Optional[int] = ..., failed_items: _Optional[int] = ..., failed_rate: _Optional[float] = ..., labelled: _Optional[int] = ..., classes: _Optional[int] = ..., min_class_count: _Optional[int] = ..., smallest_class: _Optional[str] = ..., imbalance_ratio: _Optional[float] = ..., duplicate_groups: _Optional[int] = ..., duplicate_items: _Optional[int] = ..., leaked_items: _Optional[int] = ..., label_conflicts: _Optional[int] = ..., label_issues: _Optional[int] = ..., label_issue_rate: _Optional[float] = ..., label_health: _Optional[float] = ..., probe_accuracy: _Optional[float] = ..., outliers: _Optional[int] = ..., quality_flagged: _Optional[int] = ..., predicted_accuracy_2x: _Optional[float] = ..., accuracy_asymptote: _Optional[float] = ..., images_needed: _Optional[float] = ..., checks_failed: _Optional[_Iterable[str]] = ..., verdict: _Optional[str] = ...) -> None: ...

class Verdict(_message.Message):
    __slots__ = ("outcome", "failed", "warned", "rules")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    WARNED_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    outcome: str
    failed: _containers.RepeatedScalarFieldContainer[str]
    warned: _containers.RepeatedScalarFieldContainer[str]
    rules: _containers.RepeatedCompositeFieldContainer[RuleResult]
    def __init__(self, outcome: _Optional[str] = ..., failed: _Optional[_Iterable[str]] = ..., warned: _Optional[_Iterable[str]] = ..., rules: _Optional[_Iterable[_Union[RuleResult, _Mapping]]] = ...) -> None: ...

class RuleResult(_message.Message):
    __slots__ = ("rule", "check", "outcome", "measured", "fail_threshold", "warn_threshold", "detail")
    RULE_FIELD_NUMBER: _ClassVar[int]
    CHECK_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MEASURED_FIELD_NUMBER: _ClassVar[int]
    FAIL_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    WARN_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    rule: str
    check: str
    outcome: str
    measured: float
    fail_threshold: float
    warn_threshold: float
    detail: str
    def __init__(self, rule: _Optional[str] = ..., check: _Optional[str] = ..., outcome: _Optional[str] = ..., measured: _Optional[float] = ..., fail_threshold: _Optional[float] = ..., warn_threshold: _Optional[float] = ..., detail: _Optional[str] = ...) -> None: ...
