"""What a valid input is, decided in one place (cleanlab's ``internal/validation.py``, scikit-learn's
``@validate_params``).

Options
    Each option's range is declared once, as a msgspec ``Annotated`` type (``TopFraction``,
    ``KNeighbours``, ...). The REST request structs and the report options annotate their fields
    with these types, so msgspec enforces them when a JSON body or a gRPC message (converted to the
    same structs) is decoded, and the OpenAPI document and the ``.proto`` comments show them. The
    analyses check the same declaration with ``check_option`` / ``check_choice`` when called
    directly from Python. Defaults stay beside the analysis that uses them (``DEFAULT_*``); the
    request structs import them.
Labels
    ``label_texts``: each label is a string or an integer, and a number and a string with the same
    text (``1`` and ``"1"``) are refused instead of silently merging into one class.
    ``encode_labels``: (class names, index per item); classes are ordered numerically when every
    label is an integer, else by their text. ``index_labels``: labels as names of, or indices
    into, declared ``class_names`` (``validate_class_names``).
Embeddings, scores, probabilities
    ``embedding_rows``: JSON rows to an array (a ragged row is named). ``validate_embeddings``: a
    finite ``(n_items, d)`` float array. ``validate_scores`` / ``validate_probabilities``: per-item
    class scores in class order.
Ids
    ``check_unique_ids``.

Every failure is an ``InvalidInput`` naming the offending field.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import numpy as np
from msgspec import Meta

from service.errors import InvalidInput

# --- option ranges (declared once) ----------------------------------------------------------

Seed = Annotated[int, Meta(ge=0, le=2**31 - 1)]
UnitFraction = Annotated[float, Meta(gt=0.0, lt=1.0)]  # strictly between 0 and 1
TopFraction = Annotated[float, Meta(gt=0.0, le=1.0)]
ConflictPenalty = Annotated[float, Meta(gt=0.0, le=1.0)]
TargetPrecision = UnitFraction
KNeighbours = Annotated[int, Meta(ge=1, le=100)]
Folds = Annotated[int, Meta(ge=2, le=20)]
MinClassSize = Annotated[int, Meta(ge=1, le=1000)]
Repeats = Annotated[int, Meta(ge=1, le=20)]
EvalFraction = Annotated[float, Meta(ge=0.05, le=0.5)]
Fractions = Annotated[list[UnitFraction], Meta(min_length=2, max_length=12)]
Bootstrap = Annotated[int, Meta(ge=0, le=1000)]
Confidence = UnitFraction
Beta = Annotated[float, Meta(ge=0.0, lt=1.0)]
MinorityShare = Annotated[float, Meta(gt=0.0, le=1.0)]
OutlierK = Annotated[int, Meta(ge=1, le=100)]
IqrFactor = Annotated[float, Meta(ge=0.0, le=10.0)]

RankBy = Literal["combined", "self_confidence", "normalized_margin", "neighbour_agreement"]
ResamplingTarget = Literal["median", "max"]
SampleSizeModel = Literal["auto", "inverse_power_law", "power_law"]


def _base_and_meta(constraint: Any) -> tuple[type, Meta]:
    base, *extras = typing.get_args(constraint)
    metas = [m for m in extras if isinstance(m, Meta)]
    if not metas:
        raise TypeError(f"{constraint!r} declares no msgspec Meta")
    return base, metas[0]


def _requirement(base: type, meta: Meta) -> str:
    """What ``meta`` asks, in words: "must lie in (0, 1]", "must be a positive integer"."""
    if base is int and meta.ge in (0, 1) and meta.gt is None:
        text = "must be a positive integer" if meta.ge == 1 else "must be a non-negative integer"
        return text if meta.le is None else f"{text} at most {meta.le:g}"
    low = f"[{meta.ge:g}" if meta.ge is not None else f"({meta.gt:g}" if meta.gt is not None else ""
    high = (
        f"{meta.le:g}]" if meta.le is not None else f"{meta.lt:g})" if meta.lt is not None else ""
    )
    if low and high:
        return (
            f"must be an integer in {low}, {high}" if base is int else f"must lie in {low}, {high}"
        )
    if low:
        return f"must be {'>=' if meta.ge is not None else '>'} {low[1:]}"
    return f"must be {'<=' if meta.le is not None else '<'} {high[:-1]}"


def check_option(value: Any, constraint: Any, field: str) -> Any:
    """``value`` if it meets ``constraint`` (one of the ``Annotated`` ranges above), else
    ``InvalidInput`` saying the range. Integers may be numpy integers; bools are refused."""
    base, meta = _base_and_meta(constraint)
    ok_type = (int, np.integer) if base is int else (int, float, np.integer, np.floating)
    bounds = [
        (meta.ge, lambda v, b: v >= b),
        (meta.gt, lambda v, b: v > b),
        (meta.le, lambda v, b: v <= b),
        (meta.lt, lambda v, b: v < b),
    ]
    ok = isinstance(value, ok_type) and not isinstance(value, bool | np.bool_)
    if ok:
        number = float(value)
        ok = bool(np.isfinite(number)) and all(b is None or test(number, b) for b, test in bounds)
    if not ok:
        raise InvalidInput(f"{field} {_requirement(base, meta)}; got {value!r}", field=field)
    return value


def check_choice(value: Any, choices: Any, field: str, *, what: str | None = None) -> str:
    """``value`` if it is one of the ``Literal`` ``choices``; else ``InvalidInput`` listing them."""
    valid = typing.get_args(choices)
    if value not in valid:
        raise InvalidInput(
            f"unknown {what or field} {value!r}; valid: {sorted(valid)}", field=field
        )
    return value


def validate_fractions(values: Sequence[float], field: str = "fractions") -> tuple[float, ...]:
    """Sorted, distinct fractions, each strictly between 0 and 1 (``Fractions``: 2 to 12)."""
    _, meta = _base_and_meta(Fractions)
    fractions = [float(f) for f in values]
    if len(fractions) < (meta.min_length or 0):
        raise InvalidInput(
            f"at least {meta.min_length} fractions are needed; got {len(fractions)}", field=field
        )
    if meta.max_length is not None and len(fractions) > meta.max_length:
        raise InvalidInput(
            f"at most {meta.max_length} fractions; got {len(fractions)}", field=field
        )
    bad = [f for f in fractions if not (0.0 < f < 1.0)]
    if bad:
        raise InvalidInput(f"fractions must lie in (0, 1); got {bad}", field=field)
    if len(set(fractions)) != len(fractions):
        raise InvalidInput(f"fractions must be distinct; got {fractions}", field=field)
    return tuple(sorted(fractions))


# --- labels -----------------------------------------------------------------------------------


def label_texts(values: Sequence[Any] | np.ndarray, field: str = "labels") -> list[str]:
    """Labels as strings: each a string or an integer (not a bool); a number and a string with
    the same text (``1`` and ``"1"``) are refused, they would merge into one class."""
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    numbers: set[str] = set()
    texts: set[str] = set()
    out: list[str] = []
    for v in items:
        if isinstance(v, str):
            texts.add(v)
            out.append(v)
        elif isinstance(v, int | np.integer) and not isinstance(v, bool):
            text = str(int(v))
            numbers.add(text)
            out.append(text)
        else:
            raise InvalidInput(f"{field} must be strings or integers; got {v!r}", field=field)
    clash = sorted(numbers & texts)
    if clash:
        raise InvalidInput(
            f'{field} mixes the number {clash[0]} and the string "{clash[0]}"; they would '
            "merge into one class: send every label as a string (or every one as a number)",
            field=field,
        )
    return out


def encode_labels(
    values: Sequence[Any] | np.ndarray, *, field: str = "labels", none_as: str | None = None
) -> tuple[list[str], np.ndarray]:
    """(class names, int64 class index per item) of a non-empty flat list of labels.

    Labels follow ``label_texts``; ``None`` is refused unless ``none_as`` names it. Classes are
    ordered numerically when every label is an integer, else by their text.
    """
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise InvalidInput(f"{field} must be a flat list; got shape {values.shape}", field=field)
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if not items:
        raise InvalidInput(f"{field} is empty", field=field)
    if none_as is not None:
        items = [none_as if v is None else v for v in items]
    text = label_texts(items, field)
    numeric = all(isinstance(v, int | np.integer) for v in items)
    if numeric:
        classes, index = np.unique(np.array([int(v) for v in items]), return_inverse=True)
    else:
        classes, index = np.unique(np.array(text), return_inverse=True)
    return [str(c) for c in classes.tolist()], index.astype(np.int64)


def validate_class_names(
    class_names: Sequence[str] | None, field: str = "class_names"
) -> list[str]:
    """At least two distinct, non-empty strings."""
    names = list(class_names) if class_names is not None else []
    if any(not isinstance(c, str) or not c for c in names):
        raise InvalidInput(f"{field} must be non-empty strings", field=field)
    if len(set(names)) != len(names):
        raise InvalidInput(f"{field} must be distinct", field=field)
    if len(names) < 2:
        raise InvalidInput(f"at least 2 classes are needed; got {len(names)}", field=field)
    return names


def index_labels(labels: object, class_names: Sequence[str], field: str = "labels") -> np.ndarray:
    """Integer class index per item; labels are class names or indices into ``class_names``."""
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidInput(
            f"{field} must be a non-empty flat list; got shape {arr.shape}", field=field
        )
    m = len(class_names)
    if arr.dtype.kind in "iu":
        bad = np.flatnonzero((arr < 0) | (arr >= m))
        if bad.size:
            raise InvalidInput(
                f"label index {int(arr[bad[0]])} (item {int(bad[0])}) is outside the {m} classes",
                field=field,
            )
        return arr.astype(np.int64)
    if arr.dtype.kind not in "UO":
        raise InvalidInput(
            f"{field} must be class names or class indices; got {arr.dtype}", field=field
        )
    position = {name: i for i, name in enumerate(class_names)}
    out = np.empty(arr.size, dtype=np.int64)
    for i, label in enumerate(arr.tolist()):
        j = position.get(label) if isinstance(label, str) else None
        if j is None:
            raise InvalidInput(f"label {label!r} of item {i} is not in class_names", field=field)
        out[i] = j
    return out


def check_unique_ids(ids: Sequence[str] | None, field: str = "ids") -> None:
    """Every id once."""
    if ids is None:
        return
    seen: set[str] = set()
    for position, value in enumerate(ids):
        if value in seen:
            raise InvalidInput(
                f"{field}[{position}] repeats the id {value!r}; ids must be unique", field=field
            )
        seen.add(value)


# --- embeddings, scores, probabilities ------------------------------------------------------

PROBABILITY_TOLERANCE = 1e-3


def embedding_rows(
    rows: Sequence[Sequence[float]], *, field: str = "embeddings", dtype: Any = np.float64
) -> np.ndarray:
    """JSON rows as a 2-D array; a row whose length differs from row 0's is named."""
    if rows:
        width = len(rows[0])
        for row, values in enumerate(rows):
            if len(values) != width:
                raise InvalidInput(
                    f"{field} rows must all have the same length: row {row} has {len(values)} "
                    f"values; row 0 has {width}",
                    field=field,
                )
    return np.asarray(rows, dtype=dtype)


def validate_embeddings(
    values: object, n_items: int | None = None, *, field: str = "embeddings"
) -> np.ndarray:
    """A finite float array of shape (n_items, d), d >= 1; float32 stays float32 (half the
    memory), other numbers become float64."""
    arr = np.asarray(values)
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise InvalidInput(
            f"{field} must be a 2-D array (one row per item); got shape {arr.shape}", field=field
        )
    if n_items is not None and arr.shape[0] != n_items:
        raise InvalidInput(
            f"{field} has shape {arr.shape}: {arr.shape[0]} rows for {n_items} labels; they "
            "must match",
            field=field,
        )
    if arr.dtype.kind not in "fiu":
        raise InvalidInput(f"{field} must be numbers; got {arr.dtype}", field=field)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise InvalidInput(f"{field} contain NaN or infinite values", field=field)
    return arr


def validate_scores(values: object, n_items: int, n_classes: int, *, field: str) -> np.ndarray:
    """A finite float64 array of shape (n_items, n_classes): ``validate_embeddings`` plus one
    column per class."""
    arr = validate_embeddings(values, n_items, field=field)
    if arr.shape[1] != n_classes:
        raise InvalidInput(
            f"{field} has {arr.shape[1]} columns but there are {n_classes} classes; "
            "columns must follow the class order",
            field=field,
        )
    return arr.astype(np.float64, copy=False)


def validate_probabilities(
    values: object, n_items: int, n_classes: int, *, field: str = "probabilities"
) -> np.ndarray:
    """Probabilities: non-negative rows summing to 1 (within ``PROBABILITY_TOLERANCE``),
    renormalised exactly."""
    p = validate_scores(values, n_items, n_classes, field=field)
    if np.any(p < 0.0) or np.any(p > 1.0 + PROBABILITY_TOLERANCE):
        raise InvalidInput(
            f"{field} must lie in [0, 1]; send logits instead if these are scores", field=field
        )
    sums = p.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > PROBABILITY_TOLERANCE)
    if bad.size:
        raise InvalidInput(
            f"each row of {field} must sum to 1; row {int(bad[0])} sums to {sums[bad[0]]:.4g} "
            f"({bad.size} rows off); send logits instead if these are unnormalised scores",
            field=field,
        )
    return p / sums[:, None]
