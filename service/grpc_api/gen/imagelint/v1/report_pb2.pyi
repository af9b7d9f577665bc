from service.grpc_api.gen.imagelint.v1 import analysis_pb2 as _analysis_pb2
from service.grpc_api.gen.imagelint.v1 import dataset_pb2 as _dataset_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReportRequest(_message.Message):
    __slots__ = ("dataset", "checks", "options")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    dataset: _dataset_pb2.DatasetRef
    checks: _containers.RepeatedScalarFieldContainer[str]
    options: ReportOptions
    def __init__(self, dataset: _Optional[_Union[_dataset_pb2.DatasetRef, _Mapping]] = ..., checks: _Optional[_Iterable[str]] = ..., options: _Optional[_Union[ReportOptions, _Mapping]] = ...) -> None: ...

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
    __slots__ = ("thresholds",)
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    thresholds: _analysis_pb2.ImageQualityThresholds
    def __init__(self, thresholds: _Optional[_Union[_analysis_pb2.ImageQualityThresholds, _Mapping]] = ...) -> None: ...

class Report(_message.Message):
    __slots__ = ("schema_version", "request_id", "model", "dataset", "checks_run", "failed_items", "checks", "check_errors", "timings_s")
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
    schema_version: str
    request_id: str
    model: ModelInfo
    dataset: DatasetSummary
    checks_run: _containers.RepeatedScalarFieldContainer[str]
    failed_items: _containers.RepeatedCompositeFieldContainer[FailedItemOut]
    checks: Checks
    check_errors: _containers.MessageMap[str, CheckError]
    timings_s: _containers.ScalarMap[str, float]
    def __init__(self, schema_version: _Optional[str] = ..., request_id: _Optional[str] = ..., model: _Optional[_Union[ModelInfo, _Mapping]] = ..., dataset: _Optional[_Union[DatasetSummary, _Mapping]] = ..., checks_run: _Optional[_Iterable[str]] = ..., failed_items: _Optional[_Iterable[_Union[FailedItemOut, _Mapping]]] = ..., checks: _Optional[_Union[Checks, _Mapping]] = ..., check_errors: _Optional[_Mapping[str, CheckError]] = ..., timings_s: _Optional[_Mapping[str, float]] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class DatasetSummary(_message.Message):
    __slots__ = ("items", "loaded", "failed", "labelled", "classes", "splits")
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
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    LOADED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    LABELLED_FIELD_NUMBER: _ClassVar[int]
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    items: int
    loaded: int
    failed: int
    labelled: int
    classes: _containers.ScalarMap[str, int]
    splits: _containers.ScalarMap[str, int]
    def __init__(self, items: _Optional[int] = ..., loaded: _Optional[int] = ..., failed: _Optional[int] = ..., labelled: _Optional[int] = ..., classes: _Optional[_Mapping[str, int]] = ..., splits: _Optional[_Mapping[str, int]] = ...) -> None: ...

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
