"""One set of input rules for every check route, REST and gRPC alike (they share the ``run_*``
functions of ``service.checks``).

- **Item limit**: every per-item list is capped at ``IMAGELINT_MAX_ITEMS`` (413), whichever
  route it is sent to (``/v1/checks/imbalance`` used to accept 1 M labels, the others 100 k).
- **Labels** may be JSON strings or integers, but a number and a string that read the same
  (``1`` and ``"1"``) are refused instead of silently merging into one class.
- **Ids** must be unique on every route (mislabels and agreement used to accept duplicates,
  duplicates refused them).
- **Errors name what the caller sent**: an analysis may blame an internal or defaulted argument
  (``counts`` when ``labels`` were sent, ``beta`` when none was); ``blame_sent_fields`` moves the
  ``field`` of such an error to the request field the values came from.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import msgspec

from service.errors import ImagelintError, InvalidInput, PayloadTooLarge


def check_item_limit(n_items: int, max_items: int, field: str) -> None:
    if n_items > max_items:
        raise PayloadTooLarge(f"{n_items:,} items; at most {max_items:,} per request", field=field)


def labels_as_strings(values: Sequence[Any], field: str) -> list[str]:
    """Labels as strings; refuses a number and a string with the same text (``1`` and ``"1"``)."""
    numbers = {str(v) for v in values if isinstance(v, int) and not isinstance(v, bool)}
    if numbers:
        texts = {v for v in values if isinstance(v, str)}
        clash = sorted(numbers & texts)
        if clash:
            raise InvalidInput(
                f'{field} mixes the number {clash[0]} and the string "{clash[0]}"; they would '
                "merge into one class: send every label as a string (or every one as a number)",
                field=field,
            )
    return [v if isinstance(v, str) else str(v) for v in values]


def check_unique_ids(ids: Sequence[str] | None, field: str = "ids") -> None:
    if ids is None:
        return
    seen: set[str] = set()
    for position, value in enumerate(ids):
        if value in seen:
            raise InvalidInput(
                f"{field}[{position}] repeats the id {value!r}; ids must be unique", field=field
            )
        seen.add(value)


def sent_fields(data: msgspec.Struct) -> set[str]:
    """Fields of a request the caller set (not left at their default)."""
    sent = set()
    for f in msgspec.structs.fields(data):
        value = getattr(data, f.name)
        default = f.default if f.default is not msgspec.NODEFAULT else msgspec.UNSET
        if value is not None and value is not msgspec.UNSET and value != default:
            sent.add(f.name)
    return sent


@contextlib.contextmanager
def blame_sent_fields(data: msgspec.Struct, fallback: str) -> Iterator[None]:
    """Errors naming a field the caller did not send are re-pointed at ``fallback``."""
    try:
        yield
    except ImagelintError as exc:
        if exc.field:
            root = exc.field.split(".", 1)[0].split("[", 1)[0]
            if root not in sent_fields(data):
                exc.field = fallback
        raise
