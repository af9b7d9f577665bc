from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AnnotationInList(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedCompositeFieldContainer[AnnotationIn]
    def __init__(self, values: _Optional[_Iterable[_Union[AnnotationIn, _Mapping]]] = ...) -> None: ...

class DatasetRef(_message.Message):
    __slots__ = ("items", "manifest_uri", "archive_uri", "manifest_format", "columns")
    class ColumnsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_URI_FIELD_NUMBER: _ClassVar[int]
    ARCHIVE_URI_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FORMAT_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ItemIn]
    manifest_uri: str
    archive_uri: str
    manifest_format: str
    columns: _containers.ScalarMap[str, str]
    def __init__(self, items: _Optional[_Iterable[_Union[ItemIn, _Mapping]]] = ..., manifest_uri: _Optional[str] = ..., archive_uri: _Optional[str] = ..., manifest_format: _Optional[str] = ..., columns: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ItemIn(_message.Message):
    __slots__ = ("uri", "id", "label", "split", "annotations")
    URI_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    uri: str
    id: _struct_pb2.Value
    label: str
    split: str
    annotations: _containers.RepeatedCompositeFieldContainer[AnnotationIn]
    def __init__(self, uri: _Optional[str] = ..., id: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., label: _Optional[str] = ..., split: _Optional[str] = ..., annotations: _Optional[_Iterable[_Union[AnnotationIn, _Mapping]]] = ...) -> None: ...

class AnnotationIn(_message.Message):
    __slots__ = ("label", "annotator")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    ANNOTATOR_FIELD_NUMBER: _ClassVar[int]
    label: str
    annotator: str
    def __init__(self, label: _Optional[str] = ..., annotator: _Optional[str] = ...) -> None: ...
