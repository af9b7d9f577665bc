"""``resolve_dataset``: a ``DatasetRef`` -> ``ResolvedDataset`` (validated items, and for archives
the extracted files), fetching manifests and archives through the one guarded fetcher."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import anyio

from service.datasets.archive import ArchiveLimits, extract_image_folder
from service.datasets.items import items_from_inputs
from service.datasets.manifest import guess_manifest_format, parse_manifest
from service.datasets.model import DatasetRef, ManifestFormat, ResolvedDataset
from service.errors import InvalidDataset, ItemError, PayloadTooLarge
from service.fetch.fetcher import Fetcher, redact_uri
from service.settings import Settings


async def resolve_dataset(
    ref: DatasetRef,
    *,
    fetcher: Fetcher,
    settings: Settings,
    field_prefix: str = "dataset",
) -> ResolvedDataset:
    """Turn a dataset reference into validated items.

    Parameters
    ----------
    ref : DatasetRef
        Exactly one of inline items, a manifest URI or an archive URI.
    fetcher : Fetcher
        Fetches the manifest or archive (with ``max_manifest_bytes`` / ``max_archive_bytes``).
    settings : Settings
        Limits: ``max_items``, ``max_uri_length``, ``max_archive_members``,
        ``max_archive_bytes``, ``fetch_max_bytes`` (per archive member), ``scratch_dir``.
    field_prefix : str
        How the request names the reference; errors carry ``field=<prefix>.<name>``.

    Returns
    -------
    ResolvedDataset
        Close it when done (archives leave extracted files in a scratch directory).

    Raises
    ------
    InvalidDataset
        A malformed reference, manifest or archive (the message names the line or member), or a
        manifest/archive that could not be fetched.
    PayloadTooLarge
        Over a configured limit.
    """
    prefix = f"{field_prefix}." if field_prefix else ""
    if ref.items is not None:
        field = f"{prefix}items"
        if len(ref.items) > settings.max_items:
            raise PayloadTooLarge(
                f"{len(ref.items):,} items; at most {settings.max_items:,} per dataset", field=field
            )
        if not ref.items:
            raise InvalidDataset("the dataset has no items", field=field)
        items = items_from_inputs(
            ref.items,
            places=[f"items[{i}]" for i in range(len(ref.items))],
            field=field,
            max_uri_length=settings.max_uri_length,
        )
        return ResolvedDataset(items=items, source="items")
    if ref.manifest_uri is not None:
        return await _resolve_manifest(ref, fetcher, settings, f"{prefix}manifest_uri")
    assert ref.archive_uri is not None  # DatasetRef guarantees exactly one form
    return await _resolve_archive(ref.archive_uri, fetcher, settings, f"{prefix}archive_uri")


async def _resolve_manifest(
    ref: DatasetRef, fetcher: Fetcher, settings: Settings, field: str
) -> ResolvedDataset:
    uri = ref.manifest_uri or ""
    _check_uri_length(uri, settings, field)
    try:
        data = await fetcher.fetch(uri, max_bytes=settings.max_manifest_bytes)
    except ItemError as exc:
        raise _fetch_problem("manifest", uri, exc, settings.max_manifest_bytes, field) from exc
    fmt = ref.manifest_format or guess_manifest_format(uri, data)
    items = await asyncio.to_thread(
        parse_manifest,
        data,
        fmt=fmt,
        base_uri=uri,
        max_items=settings.max_items,
        max_uri_length=settings.max_uri_length,
        field=field,
        columns=ref.columns,
    )
    return ResolvedDataset(items=items, source="manifest")


async def _resolve_archive(
    uri: str, fetcher: Fetcher, settings: Settings, field: str
) -> ResolvedDataset:
    _check_uri_length(uri, settings, field)
    scratch = new_scratch_dir(settings)
    try:
        download = scratch / "archive.download"
        try:
            await fetcher.fetch_to_file(uri, download, max_bytes=settings.max_archive_bytes)
        except ItemError as exc:
            raise _fetch_problem("archive", uri, exc, settings.max_archive_bytes, field) from exc
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return await resolve_archive_file(
        download, scratch, settings=settings, field=field, fetcher=fetcher
    )


def new_scratch_dir(settings: Settings) -> Path:
    """A fresh directory under ``settings.scratch_dir`` (or the system temp) for one dataset."""
    scratch_root = Path(settings.scratch_dir) if settings.scratch_dir else None
    if scratch_root is not None:
        scratch_root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="imagelint-archive-", dir=scratch_root))


async def resolve_archive_file(
    download: Path, scratch: Path, *, settings: Settings, field: str, fetcher: Fetcher | None = None
) -> ResolvedDataset:
    """Extract an archive already on disk (``download``, inside ``scratch``) into items.

    The returned dataset owns ``scratch`` (deleted when it is closed); on error ``scratch`` is
    deleted here.
    """
    try:
        members = scratch / "members"
        members.mkdir()
        limits = ArchiveLimits(
            max_members=settings.max_archive_members,
            max_unpacked_bytes=settings.max_archive_bytes,
            max_member_bytes=settings.fetch_max_bytes,
            max_images=settings.max_items,
        )
        if fetcher is not None:  # on the fetcher's file-work threads, off the shared pool
            items, local = await fetcher.run_file_work(
                extract_image_folder, download, members, limits=limits, field=field
            )
        else:
            items, local = await anyio.to_thread.run_sync(
                lambda: extract_image_folder(download, members, limits=limits, field=field)
            )
        download.unlink(missing_ok=True)
        if len(items) > settings.max_items:
            raise PayloadTooLarge(
                f"the archive has {len(items):,} images; at most {settings.max_items:,} per dataset",
                field=field,
            )
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return ResolvedDataset(items=items, source="archive", local_files=local, scratch=scratch)


async def resolve_manifest_bytes(
    data: bytes,
    *,
    fmt: ManifestFormat,
    columns: dict[str, str] | None,
    settings: Settings,
    field: str,
) -> ResolvedDataset:
    """Parse an uploaded manifest (no base URI: its URIs must be absolute)."""
    items = await asyncio.to_thread(
        parse_manifest,
        data,
        fmt=fmt,
        base_uri=None,
        max_items=settings.max_items,
        max_uri_length=settings.max_uri_length,
        field=field,
        columns=columns,
    )
    return ResolvedDataset(items=items, source="manifest")


def _check_uri_length(uri: str, settings: Settings, field: str) -> None:
    if len(uri) > settings.max_uri_length:
        raise InvalidDataset(
            f"the URI is longer than {settings.max_uri_length} characters", field=field
        )


def _fetch_problem(
    what: str, uri: str, exc: ItemError, cap: int, field: str
) -> InvalidDataset | PayloadTooLarge:
    shown = redact_uri(uri)
    if exc.code == "too_large":
        return PayloadTooLarge(f"the {what} at {shown} is over {cap:,} bytes", field=field)
    return InvalidDataset(
        f"the {what} at {shown} could not be fetched ({exc.code}): {exc.detail}", field=field
    )
