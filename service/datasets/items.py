"""Validation shared by every dataset form: inputs (``ItemIn``) -> ``Item``s.

- ids: strings (integers accepted and turned into strings); absent ids are generated from the
  position (``"0"``, ``"1"``, ...); a duplicate id is an error naming both places;
- uri: non-empty, at most ``max_uri_length`` characters; a manifest's relative URIs are joined
  to the manifest's URI;
- label: a string (validated by the schema), stripped; empty means unlabelled;
- split: ``normalize_split``;
- annotations: ``{annotator?, label}`` objects or bare label strings -> ``(annotator, label)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit

from service.datasets.model import AnnotationIn, Item, ItemIn
from service.errors import InvalidDataset

SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}


def normalize_split(split: str | None) -> str | None:
    """``train``/``val``/``test`` for their common spellings; other names kept (stripped)."""
    if split is None:
        return None
    text = split.strip()
    if not text:
        return None
    return SPLIT_ALIASES.get(text.lower(), text)


def items_from_inputs(
    inputs: Sequence[ItemIn],
    *,
    places: Sequence[str],
    field: str,
    max_uri_length: int,
    base_uri: str | None = None,
) -> list[Item]:
    """Validate and normalise ``inputs``; ``places[i]`` names input ``i`` in error messages."""
    items: list[Item] = []
    first_place: dict[str, str] = {}
    for position, (raw, place) in enumerate(zip(inputs, places, strict=True)):
        item_id = _item_id(raw.id, position, place, field)
        if item_id in first_place:
            generated = " (generated from the position)" if raw.id is None else ""
            raise InvalidDataset(
                f"duplicate id {item_id!r}{generated} at {first_place[item_id]} and {place}",
                field=field,
            )
        first_place[item_id] = place
        uri = raw.uri.strip()
        if not uri:
            raise InvalidDataset(f"{place}: uri is empty", field=field)
        if base_uri is not None and not urlsplit(uri).scheme:
            uri = urljoin(base_uri, uri)
        if len(uri) > max_uri_length:
            raise InvalidDataset(
                f"{place}: uri is longer than {max_uri_length} characters", field=field
            )
        label = raw.label.strip() if raw.label is not None else None
        items.append(
            Item(
                id=item_id,
                uri=uri,
                label=label or None,
                split=normalize_split(raw.split),
                annotations=_annotations(raw.annotations, place, field),
            )
        )
    return items


def _item_id(raw: str | int | None, position: int, place: str, field: str) -> str:
    if raw is None:
        return str(position)
    text = str(raw).strip()
    if not text:
        raise InvalidDataset(f"{place}: id is empty", field=field)
    return text


def _annotations(
    raw: list[AnnotationIn | str] | None, place: str, field: str
) -> tuple[tuple[str | None, str], ...]:
    if not raw:
        return ()
    pairs: list[tuple[str | None, str]] = []
    for k, entry in enumerate(raw):
        annotator, label = (
            (None, entry) if isinstance(entry, str) else (entry.annotator, entry.label)
        )
        label = label.strip()
        if not label:
            raise InvalidDataset(f"{place}: annotations[{k}] has an empty label", field=field)
        pairs.append((annotator.strip() or None if annotator else None, label))
    return tuple(pairs)
