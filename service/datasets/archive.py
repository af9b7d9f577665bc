"""ImageFolder archives (zip, or tar optionally gzip/bz2/xz) -> ``Item``s plus extracted files.

Layout: ``label/file`` or ``split/label/file``; one folder wrapping everything (the way a
folder is usually zipped) is stripped.

Hugging Face ``imagefolder`` layout: when the archive holds ``metadata.csv`` or
``metadata.jsonl`` files, the items are their rows instead. ``file_name`` (or another uri alias,
see ``manifest.FIELD_ALIASES``) is relative to the metadata file's folder; the label comes from a
``label`` column (or an alias: ``class``, ``category``, ...), else from the image's parent folder
below the metadata file; the split from a ``split`` column, else from the first folder of the
metadata file's path named like a split (``train``, ``validation``, ``test``, ...). A row naming
a file the archive lacks is an item failing with ``not_found``; images no metadata file lists
are not audited (as in ``datasets.load_dataset("imagefolder")``). Members whose extension is not an image's
(``IMAGE_EXTENSIONS``), hidden files and ``__MACOSX/`` are skipped.

Refused (the whole archive, ``InvalidDataset`` naming the member, or ``PayloadTooLarge``):
absolute names, ``..`` segments, backslashes, drive letters or NUL in member names; symbolic
or hard links, devices and FIFOs; nested archives (``NESTED_ARCHIVE_EXTENSIONS``); encrypted zip
members; two members with the same (normalised) name; more than ``max_archive_members``
members — for a zip counted by walking the central directory's fixed-size headers *before*
``zipfile`` builds an object per entry (so a 1.5 M-entry directory costs a scan, not 650 MB);
more images than ``max_items`` — before anything is extracted; more than ``max_archive_bytes``
unpacked — checked against the declared sizes first and again while extracting, byte by byte,
so a header that lies does not help a zip bomb.

Image members are extracted into the scratch directory under names made of their position
(``0000042.jpg``), never of their member name, so nothing an archive says decides where a file
is written. Items get ``id`` = the member path and ``uri`` = ``archive:<member path>``; the
loader reads the extracted file (``ResolvedDataset.local_files``), never re-fetches. A member
over ``fetch_max_bytes`` is not extracted; its item fails with ``too_large``.
"""

from __future__ import annotations

import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from service.datasets.items import SPLIT_ALIASES, normalize_split
from service.datasets.model import Item, LocalSource
from service.errors import InvalidDataset, ItemError, PayloadTooLarge

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
NESTED_ARCHIVE_EXTENSIONS = (
    ".zip", ".tar", ".tgz", ".tbz", ".tbz2", ".txz", ".gz", ".bz2", ".xz", ".zst", ".7z", ".rar",
    ".jar", ".whl",
)  # fmt: skip
_COPY_CHUNK = 1024 * 1024
_MEMBER_READ_ERRORS = (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, zlib.error)


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int
    max_unpacked_bytes: int
    max_member_bytes: int
    max_images: int | None = None  # the dataset's item limit: checked before extracting


@dataclass(frozen=True)
class _Member:
    name: str  # normalised member path
    size: int  # declared unpacked size
    handle: object  # ZipInfo or TarInfo


def extract_image_folder(
    archive: Path, dest: Path, *, limits: ArchiveLimits, field: str = "archive_uri"
) -> tuple[list[Item], dict[str, LocalSource]]:
    """Validate ``archive`` and extract its images into ``dest`` (blocking: call from a thread).

    Returns
    -------
    items : list of Item
        In member-name order.
    local_files : dict
        Item id -> extracted path, or the ``ItemError`` that kept it from being extracted.
    """
    with archive.open("rb") as head:
        magic = head.read(4)
    if magic[:2] == b"PK":
        if count_zip_entries(archive, limits.max_members, field) > limits.max_members:
            raise _too_many(limits.max_members, field)
        opened = _open_zip(archive, field)
    elif tarfile.is_tarfile(archive):
        opened = _open_tar(archive, field)
    else:
        raise InvalidDataset("the archive is neither a zip nor a tar file", field=field)
    with opened as reader:
        members = reader.members(limits.max_members)
        _refuse_duplicate_names(members, field)
        images = [m for m in members if _is_image(m.name)]
        if not images:
            raise InvalidDataset(
                "the archive holds no images (expected label/file or split/label/file)",
                field=field,
            )
        if limits.max_images is not None and len(images) > limits.max_images:
            raise PayloadTooLarge(
                f"the archive has {len(images):,} images; at most {limits.max_images:,} per dataset",
                field=field,
            )
        declared = sum(m.size for m in members)
        if declared > limits.max_unpacked_bytes:
            raise PayloadTooLarge(
                f"the archive unpacks to {declared:,} bytes; the limit is "
                f"{limits.max_unpacked_bytes:,}",
                field=field,
            )
        metadata = [m for m in members if _is_metadata(m.name)]
        local: dict[str, LocalSource] = {}
        if metadata:
            layout, missing = _metadata_layout(
                reader, metadata, {m.name for m in images}, limits, field
            )
            if not layout and not missing:
                raise InvalidDataset("the archive's metadata files list no images", field=field)
            images = [m for m in images if m.name in layout]
        else:
            layout, missing = _layout([m.name for m in images], field), {}
        items: list[Item] = []
        for name, (split, label) in missing.items():
            items.append(Item(id=name, uri=f"archive:{name}", label=label, split=split))
            local[name] = ItemError(
                "not_found", "the metadata names a file the archive does not hold"
            )
        unpacked = 0
        # Archive order: a compressed tar is read front to back once more, never seeked around.
        for position, member in enumerate(images):
            split, label = layout[member.name]
            items.append(
                Item(id=member.name, uri=f"archive:{member.name}", label=label, split=split)
            )
            suffix = PurePosixPath(member.name).suffix.lower()
            target = dest / f"{position:07d}{suffix}"
            try:
                with reader.open(member) as source:
                    written, complete = _copy_capped(source, target, limits.max_member_bytes)
            except _MEMBER_READ_ERRORS as exc:
                target.unlink(missing_ok=True)
                local[member.name] = ItemError(
                    "fetch_failed", f"archive member could not be read: {type(exc).__name__}"
                )
                continue
            unpacked += written
            if unpacked > limits.max_unpacked_bytes:
                raise PayloadTooLarge(
                    f"the archive unpacks to more than {limits.max_unpacked_bytes:,} bytes "
                    f"(at member {member.name!r})",
                    field=field,
                )
            if complete:
                local[member.name] = target
            else:
                target.unlink(missing_ok=True)
                local[member.name] = ItemError(
                    "too_large", f"archive member is over {limits.max_member_bytes:,} bytes"
                )
    items.sort(key=lambda item: item.id)
    return items, local


def _refuse_duplicate_names(members: list[_Member], field: str) -> None:
    seen: set[str] = set()
    for member in members:
        if member.name in seen:
            raise InvalidDataset(
                f"archive member {member.name!r} appears more than once; member names must be unique",
                field=field,
            )
        seen.add(member.name)


_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record (22 bytes + comment)
_ZIP64_LOCATOR = struct.Struct("<4sLQL")  # 20 bytes, just before the EOCD
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")  # 56 bytes
_CENTRAL_HEADER = struct.Struct("<4s6H3L5H2L")  # 46 bytes, then name, extra, comment
_CENTRAL_SIGNATURE = b"PK\x01\x02"


def count_zip_entries(path: Path, limit: int, field: str = "archive_uri") -> int:
    """Entries in a zip's central directory, counted up to ``limit + 1`` without parsing them.

    Reads the end-of-central-directory record (and its ZIP64 form), refuses a declared count
    over ``limit`` at once, then walks the directory's fixed 46-byte headers (a directory can
    hold more entries than its record declares: ``zipfile`` reads by size, not by count).
    Malformed input is left to ``zipfile``, which reports it as a corrupt archive.
    """
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        tail_start = max(0, size - (_EOCD.size + 65535))
        handle.seek(tail_start)
        tail = handle.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or at + _EOCD.size > len(tail):
            return 0
        _sig, _disk, _cd_disk, _on_disk, declared, cd_size, cd_offset, _comment = _EOCD.unpack_from(
            tail, at
        )
        eocd_position = tail_start + at
        locator_at = at - _ZIP64_LOCATOR.size
        if locator_at >= 0 and tail[locator_at : locator_at + 4] == b"PK\x06\x07":
            _s, _d, zip64_offset, _t = _ZIP64_LOCATOR.unpack_from(tail, locator_at)
            handle.seek(zip64_offset)
            record = handle.read(_ZIP64_EOCD.size)
            if len(record) == _ZIP64_EOCD.size and record[:4] == b"PK\x06\x06":
                fields = _ZIP64_EOCD.unpack(record)
                declared, cd_size, cd_offset = fields[7], fields[8], fields[9]
                eocd_position -= _ZIP64_LOCATOR.size + _ZIP64_EOCD.size
        if declared > limit:
            return declared
        # The directory may sit after a prefix (self-extracting archives): zipfile allows that.
        concat = max(0, eocd_position - cd_size - cd_offset)
        handle.seek(cd_offset + concat)
        count = 0
        read = 0
        while read < cd_size and count <= limit:
            header = handle.read(_CENTRAL_HEADER.size)
            if len(header) < _CENTRAL_HEADER.size or header[:4] != _CENTRAL_SIGNATURE:
                break
            fields = _CENTRAL_HEADER.unpack(header)
            name_len, extra_len, comment_len = fields[10], fields[11], fields[12]
            handle.seek(name_len + extra_len + comment_len, 1)
            read += _CENTRAL_HEADER.size + name_len + extra_len + comment_len
            count += 1
        return count


def check_member_name(raw: str, field: str) -> str:
    """The member path with ``./`` parts dropped; refuses traversal and odd characters."""
    if "\x00" in raw or "\\" in raw:
        raise InvalidDataset(
            f"archive member {raw!r} has a NUL or backslash in its name", field=field
        )
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise InvalidDataset(f"archive member {raw!r} has an absolute path", field=field)
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidDataset(f"archive member {raw!r} escapes the archive ('..')", field=field)
    return "/".join(parts)


def _is_image(name: str) -> bool:
    path = PurePosixPath(name)
    if any(part.startswith(".") or part == "__MACOSX" for part in path.parts):
        return False
    return path.suffix.lower() in IMAGE_EXTENSIONS


METADATA_NAMES = frozenset({"metadata.csv", "metadata.jsonl"})


def _is_metadata(name: str) -> bool:
    path = PurePosixPath(name)
    if any(part.startswith(".") or part == "__MACOSX" for part in path.parts):
        return False
    return path.name.lower() in METADATA_NAMES


def _metadata_rows(data: bytes, name: str, field: str) -> list[dict[str, object]]:
    import csv
    import io

    import msgspec

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidDataset(f"archive member {name!r} is not UTF-8", field=field) from exc
    if name.lower().endswith(".csv"):
        try:
            return [dict(row) for row in csv.DictReader(io.StringIO(text, newline=""), strict=True)]
        except csv.Error as exc:
            raise InvalidDataset(f"archive member {name!r}: {exc}", field=field) from exc
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                row = msgspec.json.decode(line)
            except msgspec.DecodeError as exc:
                raise InvalidDataset(
                    f"archive member {name!r} line {number}: {exc}", field=field
                ) from exc
            if not isinstance(row, dict):
                raise InvalidDataset(
                    f"archive member {name!r} line {number}: not an object", field=field
                )
            rows.append(row)
    return rows


def _metadata_layout(
    reader, metadata: list[_Member], image_names: set[str], limits: ArchiveLimits, field: str
) -> tuple[dict[str, tuple[str | None, str | None]], dict[str, tuple[str | None, str | None]]]:
    """Hugging Face imagefolder metadata -> (member name -> (split, label)) for listed images
    that exist, and the same for listed names the archive lacks."""
    from service.datasets.manifest import columns_for

    layout: dict[str, tuple[str | None, str | None]] = {}
    missing: dict[str, tuple[str | None, str | None]] = {}
    for meta in sorted(metadata, key=lambda m: m.name):
        if meta.size > limits.max_member_bytes:
            raise PayloadTooLarge(
                f"archive member {meta.name!r} is over {limits.max_member_bytes:,} bytes",
                field=field,
            )
        with reader.open(meta) as source:
            data = source.read(limits.max_member_bytes + 1)
        rows = _metadata_rows(data, meta.name, field)
        if not rows:
            continue
        base = PurePosixPath(meta.name).parent
        folder_split = next(
            (normalize_split(part) for part in base.parts if part.lower() in SPLIT_ALIASES), None
        )
        keys = list(dict.fromkeys(str(k) for row in rows for k in row))  # JSONL rows may differ
        mapping = columns_for(keys, None, where=f"archive member {meta.name!r}", field=field)
        for number, row in enumerate(rows, start=1):
            values = {str(k).strip().lower(): v for k, v in row.items()}
            file_name = values.get(mapping["uri"])
            if not isinstance(file_name, str) or not file_name.strip():
                raise InvalidDataset(
                    f"archive member {meta.name!r} row {number}: {mapping['uri']} is empty",
                    field=field,
                )
            name = check_member_name((base / file_name.strip()).as_posix(), field)
            label = values.get(mapping["label"]) if "label" in mapping else None
            if label is None or label == "":
                parent = PurePosixPath(name).parent
                label = parent.name if parent != base and parent.name else None
            split = values.get(mapping["split"]) if "split" in mapping else None
            entry = (
                normalize_split(str(split)) if split not in (None, "") else folder_split,
                None if label is None else str(label).strip() or None,
            )
            if name in layout or name in missing:
                raise InvalidDataset(
                    f"archive member {meta.name!r} row {number}: {name!r} is listed twice",
                    field=field,
                )
            (layout if name in image_names else missing)[name] = entry
    return layout, missing


def _layout(names: list[str], field: str) -> dict[str, tuple[str | None, str | None]]:
    """Member name -> (split, label) for label/file or split/label/file (+ one wrapper)."""
    parts = {name: PurePosixPath(name).parts for name in names}
    depths = {len(p) for p in parts.values()}
    tops = {p[0] for p in parts.values()}
    strip = 0
    if len(tops) == 1 and len(depths) == 1:
        depth = next(iter(depths))
        only_top = next(iter(tops))
        # One folder around everything: wrapper/label/file or wrapper/split/label/file.
        if depth == 4 or (depth == 3 and only_top.lower() not in SPLIT_ALIASES):
            strip = 1
    layout: dict[str, tuple[str | None, str | None]] = {}
    depth_seen: int | None = None
    for name, p in parts.items():
        p = p[strip:]
        if len(p) not in (2, 3):
            raise InvalidDataset(
                f"archive member {name!r} does not fit the ImageFolder layout "
                "(label/file or split/label/file)",
                field=field,
            )
        if depth_seen is not None and len(p) != depth_seen:
            raise InvalidDataset(
                f"archive member {name!r} mixes label/file and split/label/file layouts",
                field=field,
            )
        depth_seen = len(p)
        layout[name] = (None, p[0]) if len(p) == 2 else (normalize_split(p[0]), p[1])
    return layout


def _copy_capped(source: IO[bytes], target: Path, cap: int) -> tuple[int, bool]:
    """Copy at most ``cap`` bytes; (bytes read, whether the member fitted)."""
    written = 0
    with target.open("wb") as out:
        while True:
            chunk = source.read(_COPY_CHUNK)
            if not chunk:
                return written, True
            written += len(chunk)
            if written > cap:
                return written, False
            out.write(chunk)


def _refuse_nested(name: str, field: str) -> None:
    if name.lower().endswith(NESTED_ARCHIVE_EXTENSIONS):
        raise InvalidDataset(f"archive member {name!r} is a nested archive", field=field)


def _too_many(limit: int, field: str) -> PayloadTooLarge:
    return PayloadTooLarge(f"the archive has more than {limit:,} members", field=field)


class _ZipReader:
    def __init__(self, path: Path, field: str):
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise InvalidDataset(f"the zip archive is corrupt: {exc}", field=field) from exc
        self._field = field

    def __enter__(self) -> _ZipReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._zip.close()

    def members(self, limit: int) -> list[_Member]:
        infos = self._zip.infolist()
        if len(infos) > limit:
            raise _too_many(limit, self._field)
        found: list[_Member] = []
        for info in infos:
            name = check_member_name(info.filename, self._field)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise InvalidDataset(
                    f"archive member {info.filename!r} is a symbolic link", field=self._field
                )
            if info.is_dir():
                continue
            _refuse_nested(name, self._field)
            if info.flag_bits & 0x1:
                raise InvalidDataset(
                    f"archive member {info.filename!r} is encrypted", field=self._field
                )
            found.append(_Member(name, info.file_size, info))
        return found

    def open(self, member: _Member) -> IO[bytes]:
        try:
            return self._zip.open(member.handle)  # type: ignore[arg-type]
        except NotImplementedError as exc:  # unsupported compression method
            raise OSError(str(exc)) from exc


class _TarReader:
    def __init__(self, path: Path, field: str):
        try:
            self._tar = tarfile.open(path, mode="r:*")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise InvalidDataset(f"the tar archive is corrupt: {exc}", field=field) from exc
        self._field = field

    def __enter__(self) -> _TarReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._tar.close()

    def members(self, limit: int) -> list[_Member]:
        found: list[_Member] = []
        for count, info in enumerate(self._iterate(), start=1):
            if count > limit:
                raise _too_many(limit, self._field)
            name = check_member_name(info.name, self._field)
            if info.issym() or info.islnk():
                raise InvalidDataset(f"archive member {info.name!r} is a link", field=self._field)
            if info.isdir():
                continue
            if not info.isfile():
                raise InvalidDataset(
                    f"archive member {info.name!r} is not a regular file", field=self._field
                )
            _refuse_nested(name, self._field)
            found.append(_Member(name, info.size, info))
        return found

    def _iterate(self) -> Iterator[tarfile.TarInfo]:
        try:
            while (info := self._tar.next()) is not None:
                yield info
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise InvalidDataset(f"the tar archive is corrupt: {exc}", field=self._field) from exc

    def open(self, member: _Member) -> IO[bytes]:
        handle = self._tar.extractfile(member.handle)  # type: ignore[arg-type]
        if handle is None:
            raise OSError(f"archive member {member.name!r} has no data")
        return handle


def _open_zip(path: Path, field: str) -> _ZipReader:
    return _ZipReader(path, field)


def _open_tar(path: Path, field: str) -> _TarReader:
    return _TarReader(path, field)
