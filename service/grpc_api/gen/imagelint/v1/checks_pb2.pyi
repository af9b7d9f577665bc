from service.grpc_api.gen.imagelint.v1 import analysis_pb2 as _analysis_pb2
from service.grpc_api.gen.imagelint.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SampleSizeRequest(_message.Message):
    __slots__ = ("embeddings", "labels", "observations", "fractions", "repeats", "eval_fraction", "target_accuracy", "target_recall", "model", "bootstrap", "confidence", "seed")
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
    embeddings: _containers.RepeatedCompositeFieldContainer[_common_pb2.DoubleList]
    labels: _containers.RepeatedScalarFieldContainer[str]
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
    def __init__(self, embeddings: _Optional[_Iterable[_Union[_common_pb2.DoubleList, _Mapping]]] = ..., labels: _Optional[_Iterable[str]] = ..., observations: _Optional[_Iterable[_Union[_analysis_pb2.Observation, _Mapping]]] = ..., fractions: _Optional[_Iterable[float]] = ..., repeats: _Optional[int] = ..., eval_fraction: _Optional[float] = ..., target_accuracy: _Optional[float] = ..., target_recall: _Optional[float] = ..., model: _Optional[str] = ..., bootstrap: _Optional[int] = ..., confidence: _Optional[float] = ..., seed: _Optional[int] = ...) -> None: ...

class ImbalanceRequest(_message.Message):
    __slots__ = ("labels", "splits", "embeddings", "classes", "counts", "split_counts", "beta", "target", "minority_share")
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
    labels: _containers.RepeatedScalarFieldContainer[str]
    splits: _containers.RepeatedScalarFieldContainer[str]
    embeddings: _containers.RepeatedCompositeFieldContainer[_common_pb2.DoubleList]
    classes: _containers.RepeatedScalarFieldContainer[str]
    counts: _containers.ScalarMap[str, int]
    split_counts: _containers.MessageMap[str, _common_pb2.Int64Map]
    beta: float
    target: str
    minority_share: float
    def __init__(self, labels: _Optional[_Iterable[str]] = ..., splits: _Optional[_Iterable[str]] = ..., embeddings: _Optional[_Iterable[_Union[_common_pb2.DoubleList, _Mapping]]] = ..., classes: _Optional[_Iterable[str]] = ..., counts: _Optional[_Mapping[str, int]] = ..., split_counts: _Optional[_Mapping[str, _common_pb2.Int64Map]] = ..., beta: _Optional[float] = ..., target: _Optional[str] = ..., minority_share: _Optional[float] = ...) -> None: ...
