"""One set of input rules for every check route, REST and gRPC alike (they share the ``run_*``
functions of ``service.checks``).

- **Item limit**: every per-item list is capped at ``IMAGELINT_MAX_ITEMS`` (413), whichever
  route it is sent to (``/v1/checks/imbalance`` used to accept 1 M labels, the others 100 k).
- **Labels** may be JSON strings or integers, but a number and a string that read the same
  (``1`` and ``"1"``) are refused instead of silently merging into one class; **ids** must be
  unique on every route. Both rules, and every option range, live in
  ``service.analysis.validation`` (re-exported here), which the analyses use too.
- **Errors name what the caller sent**: an analysis may blame an internal or defaulted argument
  (``counts`` when ``labels`` were sent, ``beta`` when none was); ``blame_sent_fields`` moves the
  ``field`` of such an error to the request field the values came from.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import msgspec

from service.analysis.validation import check_unique_ids, embedding_rows
from service.analysis.validation import label_texts as labels_as_strings
from service.errors import ImagelintError, PayloadTooLarge

__all__ = [
    "blame_sent_fields",
    "check_item_limit",
    "check_unique_ids",
    "embedding_rows",
    "labels_as_strings",
    "sent_fields",
]


def check_item_limit(n_items: int, max_items: int, field: str) -> None:
    if n_items > max_items:
        raise PayloadTooLarge(f"{n_items:,} items; at most {max_items:,} per request", field=field)


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
