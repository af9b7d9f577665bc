"""What ``imagelint audit TARGET`` sends for each kind of target.

- a local **folder** (ImageFolder ``label/file`` or ``split/label/file``, or a Hugging Face
  imagefolder with ``metadata.csv``/``metadata.jsonl``): zipped into a temporary file (images
  stored, not recompressed; hidden files skipped; symbolic links refused) and uploaded to
  ``POST /v1/reports/upload``. The server needs no access to this machine's disk.
- a local **archive** (``.zip``, ``.tar``, ``.tar.gz``/``.tgz``, ...): uploaded as is.
- a local **manifest** (``.csv``, ``.jsonl``/``.ndjson``, ``.json``): uploaded; its URIs must be
  absolute (``https://...``, or ``file://`` under the server's data root).
- a **URI** (``https://``, ``http://``, ``file://``, ...): sent as a reference; archives by
  their extension (``archive_uri``), anything else as ``manifest_uri``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
MANIFEST_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
METADATA_NAMES = frozenset({"metadata.csv", "metadata.jsonl"})


class TargetError(ValueError):
    """The target cannot be audited (missing, empty, unsupported)."""


@dataclass
class Target:
    """``kind``: ``reference`` (a dataset reference sent as JSON), ``archive`` or ``manifest``
    (a body to upload; ``path`` or a folder zipped when opened)."""

    kind: Literal["reference", "archive", "manifest"]
    reference: dict[str, Any] | None = None
    path: Path | None = None
    folder: Path | None = None
    manifest_format: str | None = None

    @contextlib.contextmanager
    def open(self) -> Iterator[IO[bytes] | None]:
        """The body to upload (``None`` for a reference); a folder is zipped first."""
        if self.kind == "reference":
            yield None
            return
        if self.folder is not None:
            with tempfile.TemporaryDirectory(prefix="imagelint-") as scratch:
                archive = Path(scratch) / "dataset.zip"
                zip_folder(self.folder, archive)
                with archive.open("rb") as handle:
                    yield handle
            return
        assert self.path is not None
        with self.path.open("rb") as handle:
            yield handle


def resolve_target(target: str) -> Target:
    """Decide how ``target`` is sent (see the module docstring)."""
    if "://" in target:
        path = target.split("?", 1)[0].lower()
        key = "archive_uri" if path.endswith(ARCHIVE_SUFFIXES) else "manifest_uri"
        return Target(kind="reference", reference={key: target})
    path = Path(target).expanduser()
    if path.is_dir():
        return Target(kind="archive", folder=path)
    if path.is_file():
        name = path.name.lower()
        if name.endswith(ARCHIVE_SUFFIXES):
            return Target(kind="archive", path=path)
        fmt = MANIFEST_FORMATS.get(path.suffix.lower())
        if fmt is not None:
            return Target(kind="manifest", path=path, manifest_format=fmt)
        raise TargetError(
            f"{target}: not a folder, an archive ({', '.join(ARCHIVE_SUFFIXES)}) or a manifest "
            f"({', '.join(MANIFEST_FORMATS)})"
        )
    raise TargetError(f"{target}: no such file or folder (and not a URI)")


def zip_folder(folder: Path, archive: Path) -> int:
    """Write the images (and Hugging Face ``metadata.csv``/``.jsonl`` files) under ``folder``
    into ``archive`` with paths relative to ``folder``; returns the number of images."""
    folder = folder.resolve()
    images = 0
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as out:
        for root, dirs, files in os.walk(folder, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                path = Path(root) / name
                suffix = path.suffix.lower()
                is_metadata = name.lower() in METADATA_NAMES
                if suffix not in IMAGE_SUFFIXES and not is_metadata:
                    continue
                if path.is_symlink():
                    raise TargetError(f"{path}: symbolic links are not uploaded; copy the file")
                relative = path.relative_to(folder).as_posix()
                # Images are already compressed; metadata is text.
                kind = zipfile.ZIP_DEFLATED if is_metadata else zipfile.ZIP_STORED
                out.write(path, relative, compress_type=kind)
                images += 0 if is_metadata else 1
    if images == 0:
        raise TargetError(
            f"{folder}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    return images
