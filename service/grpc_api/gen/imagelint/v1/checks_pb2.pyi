from google.protobuf import struct_pb2 as _struct_pb2
from service.grpc_api.gen.imagelint.v1 import analysis_pb2 as _analysis_pb2
from service.grpc_api.gen.imagelint.v1 import common_pb2 as _common_pb2
from service.grpc_api.gen.imagelint.v1 import dataset_pb2 as _dataset_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DuplicatesRequest(_message.Message):
    __slots__ = ("embeddings", "embeddings_b64", "shape", "ids", "splits", "labels", "byte_hashes", "pixel_hashes", "threshold", "outlier_k", "iqr_factor", "max_listed_pairs", "seed", "embeddings_f32")
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_B64_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    BYTE_HASHES_FIELD_NUMBER: _ClassVar[int]
    PIXEL_HASHES_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    OUTLIER_K_FIELD_NUMBER: _ClassVar[int]
    IQR_FACTOR_FIELD_NUMBER: _ClassVar[int]
    MAX_LISTED_PAIRS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_F32_FIELD_NUMBER: _ClassVar[int]
    embeddings: _containers.RepeatedCompositeFieldContainer[_common_pb2.DoubleList]
    embeddings_b64: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    splits: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Value]
    byte_hashes: _containers.RepeatedScalarFieldContainer[str]
    pixel_hashes: _containers.RepeatedScalarFieldContainer[str]
    threshold: float
    outlier_k: int
    iqr_factor: float
    max_listed_pairs: int
    seed: int
    embeddings_f32: _common_pb2.Float32Matrix
    def __init__(self, embeddings: _Optional[_Iterable[_Union[_common_pb2.DoubleList, _Mapping]]] = ..., embeddings_b64: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., ids: _Optional[_Iterable[str]] = ..., splits: _Optional[_Iterable[str]] = ..., labels: _Optional[_Iterable[_Union[_struct_pb2.Value, _Mapping]]] = ..., byte_hashes: _Optional[_Iterable[str]] = ..., pixel_hashes: _Optional[_Iterable[str]] = ..., threshold: _Optional[float] = ..., outlier_k: _Optional[int] = ..., iqr_factor: _Optional[float] = ..., max_listed_pairs: _Optional[int] = ..., seed: _Optional[int] = ..., embeddings_f32: _Optional[_Union[_common_pb2.Float32Matrix, _Mapping]] = ...) -> None: ...

class SampleSizeRequest(_message.Message):
    __slots__ = ("embeddings", "labels", "observations", "fractions", "repeats", "eval_fraction", "target_accuracy", "target_recall", "model", "bootstrap", "confidence", "seed", "embeddings_f32")
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    FRACTIONS_FIELD_NUMBER: _ClassVar[int]
    REPEATS_FIELD_NUMBER: _ClassVar[int]
    EVAL_FRACTION_FIELD_NUMBER: _ClassVar[int]
    TARGET_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    TARGET_RECALL_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAP_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_F32_FIELD_NUMBER: _ClassVar[int]
    embeddings: _containers.RepeatedCompositeFieldContainer[_common_pb2.DoubleList]
    labels: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Value]
    observations: _containers.RepeatedCompositeFieldContainer[_analysis_pb2.Observation]
    fractions: _containers.RepeatedScalarFieldContainer[float]
    repeats: int
    eval_fraction: float
    target_accuracy: float
    target_recall: float
    model: str
    bootstrap: int
    confidence: float
    seed: int
    embeddings_f32: _common_pb2.Float32Matrix
    def __init__(self, embeddings: _Optional[_Iterable[_Union[_common_pb2.DoubleList, _Mapping]]] = ..., labels: _Optional[_Iterable[_Union[_struct_pb2.Value, _Mapping]]] = ..., observations: _Optional[_Iterable[_Union[_analysis_pb2.Observation, _Mapping]]] = ..., fractions: _Optional[_Iterable[float]] = ..., repeats: _Optional[int] = ..., eval_fraction: _Optional[float] = ..., target_accuracy: _Optional[float] = ..., target_recall: _Optional[float] = ..., model: _Optional[str] = ..., bootstrap: _Optional[int] = ..., confidence: _Optional[float] = ..., seed: _Optional[int] = ..., embeddings_f32: _Optional[_Union[_common_pb2.Float32Matrix, _Mapping]] = ...) -> None: ...

class ImbalanceRequest(_message.Message):
    __slots__ = ("labels", "splits", "embeddings", "classes", "counts", "split_counts", "beta", "target", "minority_share", "embeddings_f32")
    class CountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class SplitCountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.Int64Map
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.Int64Map, _Mapping]] = ...) -> None: ...
    LABELS_FIELD_NUMBER: _ClassVar[int]
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    SPLIT_COUNTS_FIELD_NUMBER: _ClassVar[int]
    BETA_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    MINORITY_SHARE_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_F32_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Value]
    splits: _containers.RepeatedScalarFieldContainer[str]
    embeddings: _containers.RepeatedCompositeFieldContainer[_common_pb2.DoubleList]
    classes: _containers.RepeatedScalarFieldContainer[str]
    counts: _containers.ScalarMap[str, int]
    split_counts: _containers.MessageMap[str, _common_pb2.Int64Map]
    beta: float
    target: str
    minority_share: float
    embeddings_f32: _common_pb2.Float32Matrix
    def __init__(self, labels: _Optional[_Iterable[_Union[_struct_pb2.Value, _Mapping]]] = ..., splits: _Optional[_Iterable[str]] = ..., embeddings: _Optional[_Iterable[_Union[_common_pb2.DoubleList, _Mapping]]] = ..., classes: _Optional[_Iterable[str]] = ..., counts: _Optional[_Mapping[str, int]] = ..., split_counts: _Optional[_Mapping[str, _common_pb2.Int64Map]] = ..., beta: _Optional[float] = ..., target: _Optional[str] = ..., minority_share: _Optional[float] = ..., embeddings_f32: _Optional[_Union[_common_pb2.Float32Matrix, _Mapping]] = ...) -> None: ...

class MislabelsRequest(_message.Message):
    __slots__ = ("labels", "class_names", "embeddings", "probabilities", "logits", "ids", "conflict_ids", "top_fraction", "rank_by", "k_neighbours", "folds", "min_class_size", "seed", "embeddings_f32")
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAMES_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    LOGITS_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    CONFLICT_IDS_FIELD_NUMBER: _ClassVar[int]
    TOP_FRACTION_FIELD_NUMBER: _ClassVar[int]
    RANK_BY_FIELD_NUMBER: _ClassVar[int]
    K_NEIGHBOURS_FIELD_NUMBER: _ClassVar[int]
    FOLDS_FIELD_NUMBER: _ClassVar[int]
    MIN_CLASS_SIZE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_F32_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Value]
    class_names: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Value]
    embeddings: _containers.RepeatedCompositeFieldContainer[_common_pb2.DoubleList]
    probabilities: _containers.RepeatedCompositeFieldContainer[_common_pb2.DoubleList]
    logits: _containers.RepeatedCompositeFieldContainer[_common_pb2.DoubleList]
    ids: _containers.RepeatedScalarFieldContainer[str]
    conflict_ids: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Value]
    top_fraction: float
    rank_by: str
    k_neighbours: int
    folds: int
    min_class_size: int
    seed: int
    embeddings_f32: _common_pb2.Float32Matrix
    def __init__(self, labels: _Optional[_Iterable[_Union[_struct_pb2.Value, _Mapping]]] = ..., class_names: _Optional[_Iterable[_Union[_struct_pb2.Value, _Mapping]]] = ..., embeddings: _Optional[_Iterable[_Union[_common_pb2.DoubleList, _Mapping]]] = ..., probabilities: _Optional[_Iterable[_Union[_common_pb2.DoubleList, _Mapping]]] = ..., logits: _Optional[_Iterable[_Union[_common_pb2.DoubleList, _Mapping]]] = ..., ids: _Optional[_Iterable[str]] = ..., conflict_ids: _Optional[_Iterable[_Union[_struct_pb2.Value, _Mapping]]] = ..., top_fraction: _Optional[float] = ..., rank_by: _Optional[str] = ..., k_neighbours: _Optional[int] = ..., folds: _Optional[int] = ..., min_class_size: _Optional[int] = ..., seed: _Optional[int] = ..., embeddings_f32: _Optional[_Union[_common_pb2.Float32Matrix, _Mapping]] = ...) -> None: ...

class AgreementRequest(_message.Message):
    __slots__ = ("annotations", "ids", "labels", "min_overlap", "max_disputed")
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MIN_OVERLAP_FIELD_NUMBER: _ClassVar[int]
    MAX_DISPUTED_FIELD_NUMBER: _ClassVar[int]
    annotations: _containers.RepeatedCompositeFieldContainer[_dataset_pb2.AnnotationInList]
    ids: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.RepeatedScalarFieldContainer[str]
    min_overlap: int
    max_disputed: int
    def __init__(self, annotations: _Optional[_Iterable[_Union[_dataset_pb2.AnnotationInList, _Mapping]]] = ..., ids: _Optional[_Iterable[str]] = ..., labels: _Optional[_Iterable[str]] = ..., min_overlap: _Optional[int] = ..., max_disputed: _Optional[int] = ...) -> None: ...
