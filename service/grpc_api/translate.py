"""Struct <-> protobuf message, generically, from the shapes the ``.proto`` files were written from.

    message = to_message(report)                  # a Struct (or its JSON-shaped dict) -> message
    report = from_message(message, Report)        # message -> validated Struct (msgspec.convert)

``from_message`` builds the same dict a JSON body would decode to, then lets ``msgspec.convert``
validate it, so constraints, ``__post_init__`` checks and error paths (``$.options.folds``) are
exactly the REST ones. Values are walked directly (no JSON round trip): int64 stays int, NaN and
infinities stay floats, and large arrays are copied with ``extend``. Protobuf maps have no order,
so map keys come back sorted (the same message always gives the same JSON).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import Any

import msgspec
from google.protobuf import descriptor_pool, message_factory, struct_pb2
from google.protobuf.message import Message as ProtoMessage

from service.grpc_api.shapes import (
    PACKAGE,
    Dynamic,
    FieldShape,
    Mapping,
    Message,
    MessageShape,
    Repeated,
    Scalar,
    Shape,
    Wrapper,
    message_name,
    message_shape,
)

GEN_PACKAGE = "service.grpc_api.gen.imagelint.v1"


class TranslationError(ValueError):
    """A value that does not fit the contract (raised while building a message)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field or 'request'}: {message}")
        self.field = field
        self.detail = message


@functools.cache
def load_stubs() -> None:
    """Import every generated ``*_pb2`` module (registers the messages in the default pool)."""
    package = importlib.import_module(GEN_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.endswith("_pb2"):
            importlib.import_module(f"{GEN_PACKAGE}.{info.name}")


@functools.cache
def message_class(cls: type) -> type[ProtoMessage]:
    """The generated message class of a Struct."""
    load_stubs()
    descriptor = descriptor_pool.Default().FindMessageTypeByName(f"{PACKAGE}.{message_name(cls)}")
    return message_factory.GetMessageClass(descriptor)


# --- Struct / dict -> message ----------------------------------------------------------------


def to_message(value: Any, cls: type | None = None) -> ProtoMessage:
    """A Struct instance, or the JSON-shaped dict of Struct ``cls``, as its protobuf message."""
    if cls is None:
        if not isinstance(value, msgspec.Struct):
            raise TypeError("pass the Struct type with a dict")
        cls = type(value)
    message = message_class(cls)()
    data = msgspec.to_builtins(value) if isinstance(value, msgspec.Struct) else value
    _fill(message, data, message_shape(cls), "")
    return message


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _fill(message: ProtoMessage, data: Any, shape: MessageShape, path: str) -> None:
    if not isinstance(data, dict):
        raise TranslationError(
            path, f"expected an object for {shape.name}, got {type(data).__name__}"
        )
    if shape.forbid_unknown:
        unknown = sorted(set(data) - {f.name for f in shape.fields})
        if unknown:
            raise TranslationError(_join(path, str(unknown[0])), "unknown field")
    for f in shape.fields:
        value = data.get(f.name)
        if value is None:
            if f.name in data and not f.nullable:
                raise TranslationError(_join(path, f.name), "null is not allowed here")
            continue
        _set(message, f.name, f.shape, value, _join(path, f.name))


def _scalar(shape: Scalar, value: Any, path: str) -> Any:
    if shape.int_as_string and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # str | int unions travel as strings
    if shape.proto == "double" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    expected = {"string": str, "int64": int, "double": float, "bool": bool, "bytes": bytes}[
        shape.proto
    ]
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise TranslationError(path, f"expected {shape.proto}, got {type(value).__name__}")
    return value


def _set(message: ProtoMessage, name: str, shape: Shape, value: Any, path: str) -> None:
    if isinstance(shape, Scalar):
        setattr(message, name, _scalar(shape, value, path))
    elif isinstance(shape, Message):
        _fill_message(getattr(message, name), shape, value, path)
    elif isinstance(shape, Dynamic):
        _to_value(value, getattr(message, name))
    elif isinstance(shape, Wrapper):
        inner = getattr(message, name)
        inner.SetInParent()
        _set(inner, "values", shape.inner, value, path)
    elif isinstance(shape, Repeated):
        _extend(getattr(message, name), shape, value, path)
    elif isinstance(shape, Mapping):
        _update(getattr(message, name), shape, value, path)


def _fill_message(target: ProtoMessage, shape: Message, value: Any, path: str) -> None:
    target.SetInParent()
    if isinstance(value, str) and shape.promote:
        value = {shape.promote: value}
    _fill(target, value, message_shape(shape.cls), path)


def _extend(container: Any, shape: Repeated, values: Any, path: str) -> None:
    if not isinstance(values, list | tuple):
        raise TranslationError(path, f"expected a list, got {type(values).__name__}")
    item = shape.item
    if isinstance(item, Scalar):
        if shape.null_items:
            values = ["" if v is None else v for v in values]
        try:
            container.extend(values)  # fast path: the whole list at once
        except (TypeError, ValueError):
            container.extend(_scalar(item, v, f"{path}[{i}]") for i, v in enumerate(values))
        return
    for index, value in enumerate(values):
        where = f"{path}[{index}]"
        if value is None and not isinstance(item, Dynamic):
            raise TranslationError(where, "null is not allowed in this list")
        if isinstance(item, Message):
            _fill_message(container.add(), item, value, where)
        elif isinstance(item, Wrapper):
            _set(container.add(), "values", item.inner, value, where)
        elif isinstance(item, Dynamic):
            _to_value(value, container.add())


def _update(container: Any, shape: Mapping, values: Any, path: str) -> None:
    if not isinstance(values, dict):
        raise TranslationError(path, f"expected an object, got {type(values).__name__}")
    for key, value in values.items():
        where = _join(path, str(key))
        if value is None:
            raise TranslationError(where, "null is not allowed as a map value")
        key = _scalar(shape.key, key, where)
        item = shape.value
        if isinstance(item, Scalar):
            container[key] = _scalar(item, value, where)
        elif isinstance(item, Message):
            _fill_message(container[key], item, value, where)
        elif isinstance(item, Wrapper):
            _set(container[key], "values", item.inner, value, where)
        elif isinstance(item, Dynamic):
            _to_value(value, container[key])


def _to_value(value: Any, out: struct_pb2.Value) -> None:
    if value is None:
        out.null_value = struct_pb2.NULL_VALUE
    elif isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int | float):
        out.number_value = float(value)
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, dict):
        out.struct_value.SetInParent()
        for key, item in value.items():
            _to_value(item, out.struct_value.fields[str(key)])
    elif isinstance(value, list | tuple):
        out.list_value.SetInParent()
        for item in value:
            _to_value(item, out.list_value.values.add())
    else:
        raise TypeError(f"not a JSON value: {type(value).__name__}")


# --- message -> Struct -----------------------------------------------------------------------

_UNSET = object()


def from_message(message: ProtoMessage, cls: type) -> Any:
    """The Struct ``cls`` from its message, validated exactly as a REST body would be."""
    return msgspec.convert(to_builtins(message, cls), cls)


def to_builtins(message: ProtoMessage, cls: type) -> dict[str, Any]:
    """The JSON-shaped dict of a message (what a REST body of ``cls`` would decode to)."""
    return _read(message, message_shape(cls))


def _read(message: ProtoMessage, shape: MessageShape) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in shape.fields:
        value = _read_field(message, f)
        if value is _UNSET:
            if f.required and f.nullable:
                out[f.name] = None
            continue
        out[f.name] = value
    return out


def _read_field(message: ProtoMessage, f: FieldShape) -> Any:
    shape = f.shape
    if isinstance(shape, Scalar):
        if f.presence and not message.HasField(f.name):
            return _UNSET
        return getattr(message, f.name)
    if isinstance(shape, Message | Dynamic | Wrapper):
        if not message.HasField(f.name):
            return _UNSET
        return _read_shape(getattr(message, f.name), shape)
    value = _read_shape(getattr(message, f.name), shape)
    if not value and f.nullable:
        return _UNSET  # an empty repeated or map field stands for null
    return value


def _read_shape(value: Any, shape: Shape) -> Any:
    if isinstance(shape, Scalar):
        return value
    if isinstance(shape, Message):
        return _read(value, message_shape(shape.cls))
    if isinstance(shape, Dynamic):
        found = _from_value(value)
        if shape.whole_numbers and isinstance(found, float) and found.is_integer():
            return int(found)  # a str | int union: Values carry numbers as doubles
        return found
    if isinstance(shape, Wrapper):
        return _read_shape(value.values, shape.inner)
    if isinstance(shape, Repeated):
        if isinstance(shape.item, Scalar):
            items = list(value)
            return [None if v == "" else v for v in items] if shape.null_items else items
        return [_read_shape(v, shape.item) for v in value]
    if isinstance(shape, Mapping):  # protobuf maps have no order: keys come back sorted
        if isinstance(shape.value, Scalar):
            return dict(sorted(value.items()))
        return {k: _read_shape(value[k], shape.value) for k in sorted(value)}
    raise TypeError(repr(shape))


def _from_value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind is None or kind == "null_value":
        return None
    if kind == "struct_value":
        return {k: _from_value(v) for k, v in value.struct_value.fields.items()}
    if kind == "list_value":
        return [_from_value(v) for v in value.list_value.values]
    return getattr(value, kind)
