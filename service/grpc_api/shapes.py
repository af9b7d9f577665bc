"""How a msgspec type becomes a protobuf field: one mapping, read by the generator (to write the
``.proto`` files) and by the translator (to convert values), so the two cannot disagree.

=======================================  =====================================================
msgspec type                             protobuf
=======================================  =====================================================
``str``, ``int``, ``float``, ``bool``    ``string``, ``int64``, ``double``, ``bool``
``Literal[...]``, ``Enum``               ``string`` (``int64`` when every value is an integer)
``str | int``                            ``google.protobuf.Value`` (a string or a whole number)
``int | float``                          ``double``
``X | None`` (scalar X)                  ``optional X`` (unset = null)
scalar with a non-zero default           ``optional X`` (unset = the default, 0 stays 0)
``Struct``                               a message of the same name
``Struct | str``                         the message; a bare string fills its first field
``list[X]``, ``tuple[X, ...]``           ``repeated X`` (also ``tuple[X, X]``)
``list[str | None]``                     ``repeated string`` (the empty string stands for null)
``dict[str, X]``                         ``map<string, X>``
``list[list[X]]``, ``dict[str, list]``   a wrapper message (``DoubleList``, ``StringListMap``)
``list[X] | None``, ``dict | None``      ``repeated`` / ``map``: empty = not set (null)
``Any``                                  ``google.protobuf.Value``
=======================================  =====================================================

Anything else raises ``UnsupportedType`` naming the Struct and the field.
"""

from __future__ import annotations

import enum
import functools
import inspect
from dataclasses import dataclass
from typing import Any, Union

import msgspec
import msgspec.inspect as mi

from service.struct_docs import source_comments

PACKAGE = "imagelint.v1"
NODEFAULT = msgspec.NODEFAULT


class UnsupportedType(TypeError):
    """A type the mapping above does not cover."""


@dataclass(frozen=True)
class Scalar:
    proto: str  # string, int64, double, bool, bytes
    note: str = ""  # one of: ..., integers as strings, ...
    int_as_string: bool = False  # a ``str | int`` union: integers travel as decimal strings

    @property
    def zero(self) -> Any:
        return {"string": "", "int64": 0, "double": 0.0, "bool": False, "bytes": b""}[self.proto]

    @property
    def title(self) -> str:
        return {
            "string": "String",
            "int64": "Int64",
            "double": "Double",
            "bool": "Bool",
            "bytes": "Bytes",
        }[self.proto]


@dataclass(frozen=True)
class Message:
    cls: type
    promote: str | None = None  # a bare string stands for ``{promote: string}``


@dataclass(frozen=True)
class Dynamic:
    """Any JSON value (``google.protobuf.Value``); ``whole_numbers``: a ``str | int`` union, whose
    numbers (doubles in a Value) come back as ints."""

    whole_numbers: bool = False
    note: str = ""


@dataclass(frozen=True)
class Repeated:
    item: Shape
    null_items: bool = False  # null items travel as the zero value (strings only)


@dataclass(frozen=True)
class Mapping:
    key: Scalar
    value: Shape


@dataclass(frozen=True)
class Wrapper:
    """A message with one field ``values``: a list or map inside a list or map."""

    inner: Repeated | Mapping

    @property
    def name(self) -> str:
        return container_title(self.inner)


Shape = Union[Scalar, Message, Dynamic, Repeated, Mapping, Wrapper]  # noqa: UP007 (runtime alias)


def item_title(shape: Shape) -> str:
    if isinstance(shape, Scalar):
        return shape.title
    if isinstance(shape, Message):
        return message_name(shape.cls)
    if isinstance(shape, Dynamic):
        return "Value"
    if isinstance(shape, Wrapper):
        return shape.name
    raise UnsupportedType(f"no title for {shape!r}")


def container_title(inner: Repeated | Mapping) -> str:
    if isinstance(inner, Repeated):
        return ("Nullable" if inner.null_items else "") + item_title(inner.item) + "List"
    key = "" if inner.key.proto == "string" else inner.key.title + "To"
    return key + item_title(inner.value) + "Map"


@dataclass(frozen=True)
class FieldShape:
    """One Struct field as a protobuf field."""

    name: str  # the wire/JSON name (msgspec ``encode_name``): also the protobuf field name
    attr: str  # the Python attribute
    shape: Shape
    nullable: bool
    required: bool
    default: Any  # NODEFAULT when required; the factory's value for default_factory fields
    presence: bool  # scalar declared ``optional`` (unset is distinguishable from zero)
    doc: str
    documented: bool = True  # False: the comment is a generated fallback (no description found)


@dataclass(frozen=True)
class MessageShape:
    cls: type
    name: str
    fields: tuple[FieldShape, ...]
    doc: str
    forbid_unknown: bool
    oneof: str | None  # all fields in one ``oneof`` of this name (``proto_oneof`` ClassVar)


# --- names -----------------------------------------------------------------------------------

# Struct -> message name where two Structs share a class name (add an entry; the generator says so).
RENAMES: dict[str, str] = {}


def message_name(cls: type) -> str:
    return RENAMES.get(f"{cls.__module__}.{cls.__qualname__}", cls.__name__)


def full_name(cls: type) -> str:
    return f"{PACKAGE}.{message_name(cls)}"


# --- type -> shape ---------------------------------------------------------------------------


@dataclass
class _Facts:
    description: str = ""
    constraints: tuple[str, ...] = ()


def _describe_constraints(t: Any) -> list[str]:
    out = []
    for attr, text in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        value = getattr(t, attr, None)
        if value is not None:
            out.append(f"{text} {value!r}")
    if getattr(t, "multiple_of", None) is not None:
        out.append(f"multiple of {t.multiple_of!r}")
    what = "items" if isinstance(t, mi.ListType | mi.VarTupleType | mi.SetType) else "characters"
    if isinstance(t, mi.DictType):
        what = "entries"
    for attr, text in (("min_length", "at least"), ("max_length", "at most")):
        value = getattr(t, attr, None)
        if value is not None:
            out.append(f"{text} {value} {what.rstrip('s') if value == 1 else what}")
    if getattr(t, "pattern", None):
        out.append(f"matches {t.pattern}")
    return out


def _strip(t: Any, facts: _Facts) -> Any:
    """Remove ``Metadata`` layers, keeping the first description and the constraints."""
    while isinstance(t, mi.Metadata):
        description = (t.extra_json_schema or {}).get("description")
        if description and not facts.description:
            facts.description = description
        t = t.type
    facts.constraints = facts.constraints + tuple(_describe_constraints(t))
    return t


def _literal_scalar(values: tuple) -> Scalar:
    shown = ", ".join(str(v) for v in values)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return Scalar("int64", f"one of: {shown}")
    return Scalar("string", f"one of: {shown}")


def _union(members: list[Any], where: str, facts: _Facts) -> Shape:
    stripped = [_strip(m, facts) for m in members]
    if len(stripped) == 1:
        return resolve(stripped[0], where, facts)
    kinds = {type(m) for m in stripped}
    if kinds <= {mi.StrType, mi.IntType, mi.LiteralType, mi.EnumType} and mi.StrType in kinds:
        if kinds <= {mi.StrType, mi.IntType}:
            return Dynamic(whole_numbers=True, note="a string or a whole number (up to 2^53)")
        return Scalar("string", "integers travel as their decimal string", int_as_string=True)
    if kinds <= {mi.IntType, mi.FloatType}:
        return Scalar("double")
    structs = [m for m in stripped if isinstance(m, mi.StructType)]
    if len(structs) == 1 and kinds == {mi.StructType, mi.StrType}:
        first = next((f for f in structs[0].fields if f.required), None)
        if first is None or not isinstance(_strip(first.type, _Facts()), mi.StrType):
            raise UnsupportedType(f"{where}: Struct | str needs a required str first field")
        return Message(structs[0].cls, promote=first.encode_name)
    raise UnsupportedType(f"{where}: union {stripped!r} has no protobuf mapping")


def resolve(t: Any, where: str, facts: _Facts | None = None) -> Shape:
    """The shape of a non-null type (``X | None`` is split off by ``field_shape``)."""
    facts = facts or _Facts()
    t = _strip(t, facts)
    if isinstance(t, mi.StrType):
        return Scalar("string")
    if isinstance(t, mi.BoolType):
        return Scalar("bool")
    if isinstance(t, mi.IntType):
        return Scalar("int64")
    if isinstance(t, mi.FloatType):
        return Scalar("double")
    if isinstance(t, mi.BytesType | mi.ByteArrayType):
        return Scalar("bytes")
    if isinstance(t, mi.LiteralType):
        return _literal_scalar(t.values)
    if isinstance(t, mi.EnumType):
        return _literal_scalar(tuple(m.value for m in t.cls))
    if isinstance(t, mi.AnyType):
        return Dynamic()
    if isinstance(t, mi.StructType):
        return Message(t.cls)
    if isinstance(t, mi.UnionType):
        members = [m for m in t.types if not isinstance(m, mi.NoneType)]
        if len(members) != len(t.types):
            raise UnsupportedType(f"{where}: null inside a nested type has no protobuf mapping")
        return _union(members, where, facts)
    if isinstance(t, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
        item = _strip(t.item_type, _Facts())
        null_items = False
        if isinstance(item, mi.UnionType) and any(isinstance(m, mi.NoneType) for m in item.types):
            members = [m for m in item.types if not isinstance(m, mi.NoneType)]
            shape = _union(members, where, _Facts())
            if isinstance(shape, Dynamic):
                return Repeated(shape)  # a Value holds null itself
            if not (isinstance(shape, Scalar) and shape.proto == "string"):
                raise UnsupportedType(f"{where}: only lists of nullable strings are supported")
            return Repeated(shape, null_items=True)
        return Repeated(_nest(resolve(item, where), where), null_items=null_items)
    if isinstance(t, mi.TupleType):  # a fixed-length tuple of one type (a pair of ids): a list
        kinds = {repr(item) for item in t.item_types}
        if len(kinds) != 1:
            raise UnsupportedType(f"{where}: a tuple of mixed types has no protobuf mapping")
        return Repeated(_nest(resolve(t.item_types[0], where), where))
    if isinstance(t, mi.DictType):
        key = resolve(t.key_type, where)
        if not isinstance(key, Scalar) or key.proto not in {"string", "int64", "bool"}:
            raise UnsupportedType(f"{where}: map keys must be str, int or bool")
        value_type = _strip(t.value_type, _Facts())
        if isinstance(value_type, mi.UnionType) and any(
            isinstance(m, mi.NoneType) for m in value_type.types
        ):
            raise UnsupportedType(f"{where}: map values cannot be null in protobuf")
        return Mapping(Scalar(key.proto), _nest(resolve(value_type, where), where))
    raise UnsupportedType(f"{where}: {t!r} has no protobuf mapping")


def _nest(shape: Shape, where: str) -> Shape:
    """A list or map inside a list or map needs a wrapper message."""
    if isinstance(shape, Repeated | Mapping):
        return Wrapper(shape)
    return shape


# --- Structs -> message shapes ---------------------------------------------------------------


def _doc_of(cls: type) -> str:
    doc = inspect.getdoc(cls) if cls.__doc__ else ""
    if not doc or doc == inspect.getdoc(msgspec.Struct):
        return ""
    return doc


def _default_of(field: mi.Field) -> Any:
    if field.default is not NODEFAULT:
        return field.default
    if field.default_factory is not NODEFAULT:
        return field.default_factory()
    return NODEFAULT


def field_shape(cls: type, field: mi.Field) -> FieldShape:
    where = f"{cls.__module__}.{cls.__qualname__}.{field.name}"
    facts = _Facts()
    t = _strip(field.type, facts)
    nullable = False
    if isinstance(t, mi.AnyType):
        nullable = True
    if isinstance(t, mi.UnionType):
        members = [m for m in t.types if not isinstance(m, mi.NoneType)]
        nullable = len(members) != len(t.types)
        shape = _union(members, where, facts)
    else:
        shape = resolve(t, where, facts)
    default = _default_of(field)
    presence = False
    if isinstance(shape, Scalar):
        presence = nullable or (default is not NODEFAULT and default != shape.zero)
    doc = facts.description or source_comments(cls).get(field.name, "")
    documented = bool(doc)
    notes = []
    if isinstance(shape, Scalar | Dynamic) and shape.note:
        notes.append(shape.note[0].upper() + shape.note[1:])
    if isinstance(shape, Repeated) and isinstance(shape.item, Scalar | Dynamic) and shape.item.note:
        notes.append("Each item: " + shape.item.note)
    if facts.constraints:
        notes.append("Constraints: " + ", ".join(dict.fromkeys(facts.constraints)))
    if default is not NODEFAULT and default is not None and not isinstance(shape, Message):
        shown = default.value if isinstance(default, enum.Enum) else default
        if shown not in ((), [], {}, "", None):
            notes.append(f"Default: {shown!r}")
    if isinstance(shape, Message) and shape.promote:
        notes.append(f"REST also accepts a bare string here, meaning the {shape.promote}")
    if isinstance(shape, Repeated) and shape.null_items:
        notes.append("An empty string stands for null")
    if nullable and isinstance(shape, Repeated | Mapping):
        notes.append("Empty = not set (null)")
    elif nullable and isinstance(shape, Scalar | Dynamic):
        notes.append("Unset = null")
    if field.required and isinstance(shape, Message):
        notes.append("Required")
    if not doc:
        doc = f"`{field.encode_name}` of {message_name(cls)}, as in the REST schema."
    text = " ".join(part.rstrip(".") + "." for part in [doc, *notes])
    return FieldShape(
        name=field.encode_name,
        attr=field.name,
        shape=shape,
        nullable=nullable,
        required=field.required,
        default=default,
        presence=presence,
        doc=text,
        documented=documented,
    )


@functools.cache
def message_shape(cls: type) -> MessageShape:
    info = mi.type_info(cls)
    if not isinstance(info, mi.StructType):
        raise UnsupportedType(f"{cls!r} is not a msgspec Struct")
    if info.array_like or info.tag_field is not None:
        raise UnsupportedType(f"{cls.__qualname__}: array_like and tagged Structs are not mapped")
    doc = (
        _doc_of(cls)
        or f"{message_name(cls)} of the REST schema ({cls.__module__}.{cls.__qualname__})."
    )
    return MessageShape(
        cls=cls,
        name=message_name(cls),
        fields=tuple(field_shape(cls, f) for f in info.fields),
        doc=doc,
        forbid_unknown=info.forbid_unknown_fields,
        oneof=getattr(cls, "proto_oneof", None),
    )


def children(shape: Shape) -> list[Shape]:
    """The shapes directly inside ``shape`` (for walking the message graph)."""
    if isinstance(shape, Repeated):
        return [shape.item]
    if isinstance(shape, Mapping):
        return [shape.value]
    if isinstance(shape, Wrapper):
        return children(shape.inner)
    return []
