"""Manifests: JSON Lines, CSV with a header row, or a JSON array -> ``Item``s.

Every error names where it is: ``line N`` (JSONL, CSV; 1-based physical lines) or
``item [i]`` (JSON), plus the field when the schema rejects one (``$.label`` ...).

- JSONL: one object per non-blank line.
- CSV (UTF-8, optional BOM): the header names the columns (case-insensitive; ``uri`` required;
  ``id``, ``label``, ``split``, ``annotations`` optional; other columns ignored). Every row has
  as many fields as the header. Empty cells are absent values. ``annotations`` holds a JSON
  array of ``{annotator?, label}`` objects or label strings.
- JSON: an array of objects, or an object ``{"items": [...]}``.

Format: ``manifest_format`` if given, else the URI path's extension (``.jsonl``/``.ndjson``,
``.csv``, ``.json``), else the content (``[`` -> JSON, ``{`` -> JSONL or ``{"items"}``, else CSV).
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import msgspec

from service.datasets.items import items_from_inputs
from service.datasets.model import AnnotationIn, Item, ItemIn, ManifestFormat
from service.errors import InvalidDataset, PayloadTooLarge

CSV_COLUMNS = ("uri", "id", "label", "split", "annotations")
_ITEM_DECODER = msgspec.json.Decoder(ItemIn)
_LIST_DECODER = msgspec.json.Decoder(list[ItemIn])
_ANNOTATIONS_DECODER = msgspec.json.Decoder(list[AnnotationIn | str])


class _ItemsDocument(msgspec.Struct):
    items: list[ItemIn]


_DOC_DECODER = msgspec.json.Decoder(_ItemsDocument)


def guess_manifest_format(uri: str, data: bytes) -> ManifestFormat:
    """The manifest format from the URI's extension, else from the first bytes."""
    path = urlsplit(uri).path.lower()
    if path.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if path.endswith(".csv"):
        return "csv"
    if path.endswith(".json"):
        return "json"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"[":
        return "json"
    if head == b"{":
        first_line = data.lstrip().split(b"\n", 1)[0]
        try:
            first = msgspec.json.decode(first_line)
        except msgspec.DecodeError:
            return "json"  # a pretty-printed {"items": [...]} document
        is_document = isinstance(first, dict) and "items" in first and "uri" not in first
        return "json" if is_document else "jsonl"
    return "csv"


def parse_manifest(
    data: bytes,
    *,
    fmt: ManifestFormat,
    base_uri: str | None,
    max_items: int,
    max_uri_length: int,
    field: str = "manifest_uri",
) -> list[Item]:
    """Parse and validate a manifest's bytes (CPU-bound: run it in a thread for big ones).

    Raises
    ------
    InvalidDataset
        Malformed content; the message names the line or item.
    PayloadTooLarge
        More than ``max_items`` items.
    """
    parsers = {"jsonl": _parse_jsonl, "csv": _parse_csv, "json": _parse_json}
    if fmt not in parsers:
        raise ValueError(f"unknown manifest format {fmt!r}; valid: {sorted(parsers)}")
    inputs, places = parsers[fmt](data, max_items=max_items, field=field)
    if not inputs:
        raise InvalidDataset(f"the {fmt} manifest has no items", field=field)
    return items_from_inputs(
        inputs, places=places, field=field, max_uri_length=max_uri_length, base_uri=base_uri
    )


def _too_many(max_items: int, field: str) -> PayloadTooLarge:
    return PayloadTooLarge(f"the manifest has more than {max_items:,} items", field=field)


def _parse_jsonl(data: bytes, *, max_items: int, field: str) -> tuple[list[ItemIn], list[str]]:
    inputs: list[ItemIn] = []
    places: list[str] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        if number == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        try:
            inputs.append(_ITEM_DECODER.decode(line))
        except msgspec.DecodeError as exc:
            raise InvalidDataset(f"manifest line {number}: {exc}", field=field) from exc
        places.append(f"manifest line {number}")
        if len(inputs) > max_items:
            raise _too_many(max_items, field)
    return inputs, places


def _parse_json(data: bytes, *, max_items: int, field: str) -> tuple[list[ItemIn], list[str]]:
    body = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    decoder = _DOC_DECODER if body[:1] == b"{" else _LIST_DECODER
    try:
        decoded = decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise InvalidDataset(f"JSON manifest: {exc}", field=field) from exc
    inputs = decoded.items if isinstance(decoded, _ItemsDocument) else decoded
    if len(inputs) > max_items:
        raise _too_many(max_items, field)
    return inputs, [f"manifest item [{i}]" for i in range(len(inputs))]


def _parse_csv(data: bytes, *, max_items: int, field: str) -> tuple[list[ItemIn], list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidDataset(
            f"CSV manifest is not UTF-8 (byte {exc.start}): {exc.reason}", field=field
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidDataset("CSV manifest is empty (no header row)", field=field)
        columns = [name.strip().lower() for name in header]
        if "uri" not in columns:
            raise InvalidDataset(
                f"CSV manifest line 1: the header has no 'uri' column (got {header})", field=field
            )
        index = {name: columns.index(name) for name in CSV_COLUMNS if name in columns}
        inputs: list[ItemIn] = []
        places: list[str] = []
        start_line = reader.line_num + 1
        for row in reader:
            line = start_line
            start_line = reader.line_num + 1
            if not row or all(not cell.strip() for cell in row):
                continue
            place = f"manifest line {line}"
            if len(row) != len(columns):
                raise InvalidDataset(
                    f"{place}: expected {len(columns)} fields like the header, got {len(row)}",
                    field=field,
                )
            inputs.append(_csv_item(row, index, place, field))
            places.append(place)
            if len(inputs) > max_items:
                raise _too_many(max_items, field)
    except csv.Error as exc:
        raise InvalidDataset(f"manifest line {reader.line_num}: {exc}", field=field) from exc
    return inputs, places


def _csv_item(row: list[str], index: dict[str, int], place: str, field: str) -> ItemIn:
    def cell(name: str) -> str | None:
        if name not in index:
            return None
        value = row[index[name]].strip()
        return value or None

    uri = cell("uri")
    if uri is None:
        raise InvalidDataset(f"{place}: uri is missing", field=field)
    annotations = None
    raw_annotations = cell("annotations")
    if raw_annotations is not None:
        try:
            annotations = _ANNOTATIONS_DECODER.decode(raw_annotations)
        except msgspec.DecodeError as exc:
            raise InvalidDataset(
                f"{place}: annotations is not a JSON array of labels: {exc}", field=field
            ) from exc
    return ItemIn(
        uri=uri, id=cell("id"), label=cell("label"), split=cell("split"), annotations=annotations
    )
