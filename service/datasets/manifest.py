"""Manifests: JSON Lines, CSV with a header row, or a JSON array -> ``Item``s.

Every error names where it is: ``line N`` (JSONL, CSV; 1-based physical lines) or
``item [i]`` (JSON), plus the field when the schema rejects one (``$.label`` ...).

- JSONL: one object per non-blank line.
- CSV (UTF-8, optional BOM): the header names the columns (case-insensitive; a uri column
  required; id, label, split, annotations optional; other columns ignored). Every row has
  as many fields as the header. Empty cells are absent values. ``annotations`` holds a JSON
  array of ``{annotator?, label}`` objects or label strings.
- JSON: an array of objects, or an object ``{"items": [...]}``.

Columns (``columns_for``): a field is read from the column the caller's ``columns`` mapping names,
else from the column of its own name, else from the first of its ``FIELD_ALIASES`` present
(``filepath,class`` works as is). JSONL/JSON keys are mapped the same way (numbers in id and
label become strings).

Format: ``manifest_format`` if given, else the URI path's extension (``.jsonl``/``.ndjson``,
``.csv``, ``.json``), else the content (``[`` -> JSON, ``{`` -> JSONL or ``{"items"}``, else CSV).
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import msgspec

from service.datasets.items import items_from_inputs
from service.datasets.model import ITEM_FIELDS, AnnotationIn, Item, ItemIn, ManifestFormat
from service.errors import InvalidDataset, PayloadTooLarge

CSV_COLUMNS = ITEM_FIELDS
# Common names of each item field, in order of preference (after the field's own name).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "uri": ("url", "image_uri", "image_url", "filepath", "file_path", "path", "image_path",
            "file_name", "filename", "file", "image", "img"),
    "id": ("image_id", "item_id"),
    "label": ("class", "class_name", "category", "target", "label_name", "labels"),
    "split": ("subset", "partition", "fold"),
    "annotations": (),
}  # fmt: skip


def columns_for(
    available: list[str], columns: dict[str, str] | None, *, where: str, field: str
) -> dict[str, str]:
    """Item field -> the column (lower-cased name in ``available``) it is read from.

    Raises ``InvalidDataset`` when a mapped column is missing or no column holds the uri.
    """
    present = {name.strip().lower() for name in available}
    chosen: dict[str, str] = {}
    for name, column in (columns or {}).items():
        key = column.strip().lower()
        if key not in present:
            raise InvalidDataset(
                f"{where}: columns maps {name} to {column!r}, which is not there (got {sorted(present)})",
                field=field,
            )
        chosen[name] = key
    taken = set(chosen.values())
    for name in ITEM_FIELDS:
        if name in chosen:
            continue
        for candidate in (name, *FIELD_ALIASES[name]):
            if candidate in present and candidate not in taken:
                chosen[name] = candidate
                taken.add(candidate)
                break
    if "uri" not in chosen:
        raise InvalidDataset(
            f"{where}: no column holds the image URI (looked for uri, {', '.join(FIELD_ALIASES['uri'])}; "
            f'got {sorted(present)}); name it with columns: {{"uri": "..."}}',
            field=field,
        )
    return chosen


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
    columns: dict[str, str] | None = None,
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
    inputs, places = parsers[fmt](data, max_items=max_items, field=field, columns=columns)
    if not inputs:
        raise InvalidDataset(f"the {fmt} manifest has no items", field=field)
    return items_from_inputs(
        inputs, places=places, field=field, max_uri_length=max_uri_length, base_uri=base_uri
    )


_OBJECT_DECODER = msgspec.json.Decoder(dict)


def _first_object_has_uri(data: bytes) -> bool:
    for line in data.split(b"\n"):
        if line.strip():
            try:
                first = msgspec.json.decode(line.removeprefix(b"\xef\xbb\xbf"))
            except msgspec.DecodeError:
                return True  # the typed decoder reports the error with its line
            return not isinstance(first, dict) or "uri" in first
    return True


def _mapped_item(raw: dict, mapping: dict[str, str]) -> ItemIn:
    """An ``ItemIn`` from an object whose keys are named by ``mapping`` (field -> key)."""
    lowered = {str(key).strip().lower(): value for key, value in raw.items()}
    picked = {}
    for name, key in mapping.items():
        value = lowered.get(key)
        if (
            name in ("id", "label", "split")
            and isinstance(value, int)
            and not isinstance(value, bool)
        ):
            value = str(value)
        if value is not None and value != "":
            picked[name] = value
    return msgspec.convert(picked, ItemIn)


def _too_many(max_items: int, field: str) -> PayloadTooLarge:
    return PayloadTooLarge(f"the manifest has more than {max_items:,} items", field=field)


def _parse_jsonl(
    data: bytes, *, max_items: int, field: str, columns: dict[str, str] | None = None
) -> tuple[list[ItemIn], list[str]]:
    inputs: list[ItemIn] = []
    places: list[str] = []
    mapping: dict[str, str] | None = None
    plain = columns is None and _first_object_has_uri(data)
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        if number == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        try:
            if plain:
                inputs.append(_ITEM_DECODER.decode(line))
            else:
                raw = _OBJECT_DECODER.decode(line)
                if mapping is None:
                    mapping = columns_for(
                        list(raw), columns, where=f"manifest line {number}", field=field
                    )
                inputs.append(_mapped_item(raw, mapping))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise InvalidDataset(f"manifest line {number}: {exc}", field=field) from exc
        places.append(f"manifest line {number}")
        if len(inputs) > max_items:
            raise _too_many(max_items, field)
    return inputs, places


def _parse_json(
    data: bytes, *, max_items: int, field: str, columns: dict[str, str] | None = None
) -> tuple[list[ItemIn], list[str]]:
    body = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    try:
        raw = msgspec.json.decode(body)
        rows = raw.get("items") if isinstance(raw, dict) else raw
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise InvalidDataset(
                'JSON manifest: expected an array of objects or {"items": [...]}', field=field
            )
        if rows and (columns is not None or "uri" not in rows[0]):
            mapping = columns_for(list(rows[0]), columns, where="manifest item [0]", field=field)
            inputs = [_mapped_item(row, mapping) for row in rows]
        else:
            decoder = _DOC_DECODER if body[:1] == b"{" else _LIST_DECODER
            decoded = decoder.decode(body)
            inputs = decoded.items if isinstance(decoded, _ItemsDocument) else decoded
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidDataset(f"JSON manifest: {exc}", field=field) from exc
    if len(inputs) > max_items:
        raise _too_many(max_items, field)
    return inputs, [f"manifest item [{i}]" for i in range(len(inputs))]


def _parse_csv(
    data: bytes, *, max_items: int, field: str, columns: dict[str, str] | None = None
) -> tuple[list[ItemIn], list[str]]:
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
        names = [name.strip().lower() for name in header]
        mapping = columns_for(names, columns, where="CSV manifest line 1", field=field)
        index = {name: names.index(column) for name, column in mapping.items()}
        inputs: list[ItemIn] = []
        places: list[str] = []
        start_line = reader.line_num + 1
        for row in reader:
            line = start_line
            start_line = reader.line_num + 1
            if not row or all(not cell.strip() for cell in row):
                continue
            place = f"manifest line {line}"
            if len(row) != len(names):
                raise InvalidDataset(
                    f"{place}: expected {len(names)} fields like the header, got {len(row)}",
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
