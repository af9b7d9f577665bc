"""The shapes of a dataset reference: what callers send (``DatasetRef``, ``ItemIn``) and what
the rest of the service works with (``Item``, ``ResolvedDataset``)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from service.errors import ItemError

ManifestFormat = Literal["jsonl", "csv", "json"]
ITEM_FIELDS = ("uri", "id", "label", "split", "annotations")


class AnnotationIn(msgspec.Struct, omit_defaults=True):
    """One annotator's label for an item."""

    label: Annotated[str, Meta(description="The label this annotator gave.")]
    annotator: Annotated[
        str | None, Meta(description="Who gave it (any stable name); null if unknown.")
    ] = None


class ItemIn(msgspec.Struct, omit_defaults=True):
    """One image of an inline dataset or of a manifest line. Unknown fields are ignored."""

    uri: Annotated[
        str,
        Meta(
            description="Where the image is: https:// or http:// (presigned URLs work), or "
            "file:// under the server's data root. In a manifest, a relative URI is resolved "
            "against the manifest's own URI."
        ),
    ]
    id: Annotated[
        str | int | None,
        Meta(description="Stable item id; generated from the position (0-based) when absent."),
    ] = None
    label: Annotated[
        str | None, Meta(description="Class label (a string); null or absent = unlabelled.")
    ] = None
    split: Annotated[
        str | None,
        Meta(
            description="Split name; train/training, val/valid/validation and test/testing "
            "are normalised to train, val and test, other names are kept."
        ),
    ] = None
    annotations: Annotated[
        list[AnnotationIn | str] | None,
        Meta(
            description="Individual annotators' labels (objects {annotator?, label}, or bare "
            "label strings), for annotator-agreement checks."
        ),
    ] = None


class DatasetRef(msgspec.Struct, omit_defaults=True):
    """A dataset: exactly one of ``items``, ``manifest_uri`` or ``archive_uri``."""

    items: Annotated[
        list[ItemIn] | None, Meta(description="Inline items: [{id?, uri, label?, split?, ...}].")
    ] = None
    manifest_uri: Annotated[
        str | None,
        Meta(
            description="URI of a manifest with the same fields as inline items: JSON Lines, "
            "CSV with a header row (an `annotations` column holds a JSON array), or a JSON "
            'array (or {"items": [...]}).'
        ),
    ] = None
    archive_uri: Annotated[
        str | None,
        Meta(
            description="URI of a zip or tar (optionally gzip/bz2/xz) archive in ImageFolder "
            "layout: label/file or split/label/file (one wrapping folder is allowed)."
        ),
    ] = None
    manifest_format: Annotated[
        ManifestFormat | None,
        Meta(description="Manifest format; guessed from the URI's extension or content if absent."),
    ] = None
    columns: Annotated[
        dict[str, str] | None,
        Meta(
            description="Which manifest column (CSV) or key (JSONL/JSON) holds each item field, "
            'e.g. {"uri": "filepath", "label": "class"}; fields: uri, id, label, split, '
            "annotations. Unmapped fields are looked for under their own name, then common "
            "aliases (uri: url, filepath, path, image, file_name, ...; label: class, category, "
            "target, ...)."
        ),
    ] = None

    def __post_init__(self) -> None:
        given = [
            name
            for name in ("items", "manifest_uri", "archive_uri")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            shown = ", ".join(given) if given else "none"
            raise ValueError(f"give exactly one of items, manifest_uri, archive_uri (got: {shown})")
        if self.manifest_format is not None and self.manifest_uri is None:
            raise ValueError("manifest_format applies only with manifest_uri")
        if self.columns is not None:
            if self.manifest_uri is None:
                raise ValueError("columns applies only with manifest_uri")
            unknown = sorted(set(self.columns) - set(ITEM_FIELDS))
            if unknown:
                raise ValueError(
                    f"columns: unknown item fields {unknown}; valid: {list(ITEM_FIELDS)}"
                )


class Item(msgspec.Struct, frozen=True, omit_defaults=True):
    """One validated item. ``annotations`` are ``(annotator or None, label)`` pairs."""

    id: str
    uri: str
    label: str | None = None
    split: str | None = None
    annotations: tuple[tuple[str | None, str], ...] = ()


# Where an archive item's bytes are: a file in the scratch dir, or why it has none.
LocalSource = Path | ItemError


@dataclass
class ResolvedDataset:
    """Items of one dataset, plus what archive items need to be read without re-fetching.

    ``local_files`` maps an archive item's id to its extracted file under ``scratch`` (or to
    the ``ItemError`` that kept it from being extracted, e.g. ``too_large``). Close the dataset
    (``close()`` or ``with``) to delete the scratch directory.
    """

    items: list[Item]
    source: Literal["items", "manifest", "archive"]
    local_files: dict[str, LocalSource] = field(default_factory=dict)
    scratch: Path | None = None

    def close(self) -> None:
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def __enter__(self) -> ResolvedDataset:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
