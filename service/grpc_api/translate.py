"""Struct <-> protobuf message through protobuf's JSON mapping and ``msgspec.convert``.

    message = to_message(report)                  # Struct (or its JSON-shaped dict) -> message
    report = from_message(message, Report)        # message -> Struct, validated as a REST body

The hand-written ``.proto`` files use the REST schema's field names, so ``json_format`` (field
names preserved) does the work; the walkers below only bridge where protobuf's JSON differs from
the REST JSON, reading the descriptors (and, towards a Struct, msgspec's type info):

- int64 travels as a JSON string and NaN/Infinity as strings: back to numbers;
- a message whose only field is ``values`` wraps a list or map nested in a list or map;
- ``repeated string`` holds null items as ``""`` where the Struct's items are nullable;
- an empty repeated/map field or an unset ``optional`` stands for null where the Struct allows it;
  a required scalar left at zero is zero;
- ``google.protobuf.Value`` numbers are doubles: whole ones become ints where the Struct takes ints;
- a bare string in place of a message fills the message's first field (REST accepts both);
- a ``Float32Matrix`` field ``<name>_f32`` (bytes + shape) fills the Struct's ``<name>_b64`` and
  ``shape`` when it has them, else ``<name>`` as rows.

``msgspec.convert`` then validates, so constraints, ``__post_init__`` checks and error paths
(``$.options.folds``) are exactly the REST ones. Protobuf maps have no order: keys come back sorted.
"""

from __future__ import annotations

import base64
import functools
import math
from typing import Any

import msgspec
import msgspec.inspect as mi
import numpy as np
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import FieldDescriptor as _FieldDescriptor
from google.protobuf.message import Message

from service.errors import InvalidInput
from service.grpc_api.gen.imagelint.v1 import dataset_quality_pb2

# Messages carry upb descriptors at run time; the stubs type them apart from the pure-Python
# classes although both have the same API, so they are named here and typed loosely.
Descriptor = Any  # a google.protobuf.descriptor.Descriptor
FieldDescriptor = Any  # a google.protobuf.descriptor.FieldDescriptor

PACKAGE = dataset_quality_pb2.DESCRIPTOR.package
MATRIX = "imagelint.v1.Float32Matrix"
VALUE = "google.protobuf.Value"
_INT64 = {_FieldDescriptor.TYPE_INT64, _FieldDescriptor.TYPE_UINT64}  # JSON strings in protobuf
_FLOATS = {_FieldDescriptor.TYPE_DOUBLE, _FieldDescriptor.TYPE_FLOAT}


class TranslationError(ValueError):
    """A value that does not fit the message (raised while building one)."""


@functools.cache
def message_class(cls: type) -> type[Message]:
    """The generated message class of a Struct (the message has the Struct's name)."""
    pool = descriptor_pool.Default()
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{cls.__name__}"))


def _is_wrapper(desc: Descriptor) -> bool:
    return len(desc.fields) == 1 and desc.fields[0].name == "values"


def _is_map(fd: FieldDescriptor) -> bool:
    return fd.message_type is not None and fd.message_type.GetOptions().map_entry


def _is_repeated(fd: FieldDescriptor) -> bool:
    return fd.is_repeated


# --- Struct / dict -> message ----------------------------------------------------------------


def to_message(value: Any, cls: type | None = None) -> Message:
    """A Struct, or the JSON-shaped dict of Struct ``cls``, as its message."""
    if cls is None:
        if not isinstance(value, msgspec.Struct):
            raise TypeError("pass the Struct type with a dict")
        cls = type(value)
    message = message_class(cls)()
    data = msgspec.to_builtins(value) if isinstance(value, msgspec.Struct) else value
    try:
        return json_format.ParseDict(_proto_json(data, message.DESCRIPTOR), message)
    except json_format.ParseError as exc:
        raise TranslationError(str(exc)) from exc


def _proto_json(data: Any, desc: Descriptor) -> Any:
    if not isinstance(data, dict):
        return data  # ParseDict names what is wrong
    out = {}
    for key, value in data.items():
        fd = desc.fields_by_name.get(key)
        out[key] = value if fd is None or value is None else _field_json(value, fd)
    return out


def _field_json(value: Any, fd: FieldDescriptor) -> Any:
    if _is_map(fd) and isinstance(value, dict):
        item = fd.message_type.fields_by_name["value"]
        return {k: _item_json(v, item) for k, v in value.items()}
    if _is_repeated(fd) and isinstance(value, list | tuple):
        return [_item_json(v, fd, in_list=True) for v in value]
    return _item_json(value, fd)


def _item_json(value: Any, fd: FieldDescriptor, in_list: bool = False) -> Any:
    if fd.type in _FLOATS and isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if fd.type == _FieldDescriptor.TYPE_STRING:
        if value is None and in_list:
            return ""  # a null item of a nullable list
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # a str | int union that travels as a string
    desc = fd.message_type
    if desc is None or desc.full_name == VALUE or value is None:
        return value
    if _is_wrapper(desc):
        return {"values": _field_json(value, desc.fields[0])}
    if isinstance(value, str):
        value = {desc.fields[0].name: value}  # REST's bare string for the message's first field
    return _proto_json(value, desc)


# --- message -> Struct -----------------------------------------------------------------------


def from_message(message: Message, cls: type) -> Any:
    """The Struct ``cls`` from its message, validated exactly as a REST body would be."""
    return msgspec.convert(to_builtins(message, cls), cls)


def to_builtins(message: Message, cls: type) -> dict[str, Any]:
    """The JSON-shaped dict of a message (what a REST body of ``cls`` would decode to)."""
    rows = {  # matrices as rows of doubles, read directly (json_format's per-number work is slow)
        fd.name: [list(row.values) for row in getattr(message, fd.name)]
        for fd in message.DESCRIPTOR.fields
        if _is_repeated(fd) and _is_double_rows(fd) and len(getattr(message, fd.name))
    }
    if rows:
        light = type(message)()
        light.CopyFrom(message)
        for name in rows:
            light.ClearField(name)
        message = light
    data = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return _struct_json(data, message.DESCRIPTOR, cls, ready=rows)


def _is_double_rows(fd: FieldDescriptor) -> bool:
    desc = fd.message_type
    return desc is not None and _is_wrapper(desc) and desc.fields[0].type in _FLOATS


@functools.cache
def _struct_fields(cls: type) -> dict[str, tuple[bool, bool, Any]]:
    """encode name -> (required, nullable, type without null) of a Struct's fields."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return {f.encode_name: (f.required, *_without_null(f.type)) for f in info.fields}


def _without_null(t: Any) -> tuple[bool, Any]:
    while isinstance(t, mi.Metadata):
        t = t.type
    if isinstance(t, mi.UnionType):
        members = [m for m in t.types if not isinstance(m, mi.NoneType)]
        if len(members) == 1:
            return len(t.types) > 1 or _without_null(members[0])[0], _without_null(members[0])[1]
        return len(members) != len(t.types), mi.UnionType(tuple(members))
    return isinstance(t, mi.AnyType), t


def _struct_json(data: dict, desc: Descriptor, cls: type, ready: dict | None = None) -> dict:
    fields = _struct_fields(cls)
    for name, (required, nullable, t) in fields.items():
        fd = desc.fields_by_name.get(name)
        if ready and name in ready:
            data[name] = ready[name]
        elif fd is not None and name in data:
            data[name] = _field_value(data[name], fd, t)
        elif fd is not None and required:  # protobuf leaves zero values (and null) out
            if nullable or fd.message_type is None or _is_repeated(fd):
                data[name] = None if nullable else _zero(fd)
    for fd in desc.fields:
        if fd.message_type is not None and fd.message_type.full_name == MATRIX and fd.name in data:
            _unpack_matrix(data, fd.name, fields)
    return data


def _zero(fd: FieldDescriptor) -> Any:
    if _is_map(fd):
        return {}
    return [] if _is_repeated(fd) else fd.default_value


def _field_value(value: Any, fd: FieldDescriptor, t: Any) -> Any:
    if _is_map(fd):
        item, t = fd.message_type.fields_by_name["value"], _member(t, mi.DictType)
        t = getattr(t, "value_type", None)
        return {k: _item_value(value[k], item, t) for k in sorted(value)}
    if _is_repeated(fd):
        t = _member(t, mi.ListType, mi.VarTupleType, mi.TupleType, mi.SetType, mi.FrozenSetType)
        t = getattr(t, "item_type", None) or next(iter(getattr(t, "item_types", ())), None)
        if fd.type in _FLOATS:  # the common large case, without a call per number
            return [float(v) if isinstance(v, str) else v for v in value]
        return [_item_value(v, fd, t) for v in value]
    return _item_value(value, fd, t)


def _item_value(value: Any, fd: FieldDescriptor, t: Any) -> Any:
    nullable, t = _without_null(t)
    if fd.type in _INT64 and isinstance(value, str):
        return int(value)
    if fd.type in _FLOATS and isinstance(value, str):
        return float(value)  # "NaN", "Infinity", "-Infinity"
    if fd.type == _FieldDescriptor.TYPE_STRING:
        return None if value == "" and nullable else value
    desc = fd.message_type
    if desc is None:
        return value
    if desc.full_name == VALUE:
        whole = isinstance(value, float) and value.is_integer() and _member(t, mi.IntType)
        return int(value) if whole else value  # Values carry numbers as doubles
    if _is_wrapper(desc):
        inner = desc.fields[0]
        return _field_value(value.get("values", {} if _is_map(inner) else []), inner, t)
    struct = _member(t, mi.StructType)
    return _struct_json(value, desc, struct.cls) if struct is not None else value


def _member(t: Any, *kinds: type) -> Any:
    """``t``, or the member of union ``t``, that is one of ``kinds`` (None if none is)."""
    for candidate in t.types if isinstance(t, mi.UnionType) else (t,):
        _, candidate = _without_null(candidate)
        if isinstance(candidate, kinds):
            return candidate
    return None


def _unpack_matrix(data: dict, name: str, fields: dict) -> None:
    """``<name>_f32`` (little-endian float32 bytes + shape) as the Struct's own fields."""
    matrix = data.pop(name)
    target = name.removesuffix("_f32")
    raw = base64.b64decode(matrix.get("data", ""))
    shape = [int(s) for s in matrix.get("shape", [])]
    if len(shape) != 2 or min(shape) < 0 or shape[0] * shape[1] * 4 != len(raw):
        raise InvalidInput(
            f"{name}: shape {shape} needs [rows, columns] with rows x columns x 4 bytes of data; "
            f"got {len(raw)} bytes",
            field=name,
        )
    if data.get(target) is not None or data.get(f"{target}_b64") is not None:
        raise InvalidInput(f"send {name} or {target}, not both", field=name)
    if f"{target}_b64" in fields:
        data[f"{target}_b64"], data["shape"] = matrix.get("data", ""), shape
    else:
        data[target] = np.frombuffer(raw, "<f4").reshape(shape).tolist()
