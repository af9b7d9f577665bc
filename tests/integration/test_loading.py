"""Dataset reference -> items -> loaded images, over real loopback HTTP (allow-listed)."""

from __future__ import annotations

import io
import zipfile
from concurrent.futures import ThreadPoolExecutor

import msgspec
import pytest

from service.datasets import DatasetRef, resolve_dataset
from service.fetch.fetcher import Fetcher
from service.images.loader import FailedItem, LoadedItem, load_images
from service.settings import Settings
from tests.fixtures import hazard_images as h
from tests.fixtures.http_server import FixtureHTTPServer


@pytest.fixture(scope="module")
def server():
    srv = FixtureHTTPServer().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(2) as executor:
        yield executor


def settings_for(tmp_path, **overrides) -> Settings:
    base = {
        "allow_hosts": ("127.0.0.1",),
        "fetch_timeout_s": 3.0,
        "scratch_dir": str(tmp_path / "scratch"),
    }
    base.update(overrides)
    return Settings(**base)


async def test_manifest_over_http_to_loaded_images(server, pool, tmp_path):
    server.add("img/cat.jpg", h.encode(h.photo(), "JPEG"))
    server.add("img/dog.png", h.encode(h.gradient(), "PNG"))
    server.add("img/cut.jpg", h.jpeg_cut_in_half())
    lines = [
        {"uri": "img/cat.jpg", "label": "cat", "split": "train"},
        {"uri": "img/dog.png?sig=SECRET", "label": "dog", "split": "validation"},
        {"uri": "img/cut.jpg", "label": "cat"},
        {"uri": "img/missing.jpg", "label": "dog"},
        {"uri": "http://127.0.0.1:1/elsewhere.jpg", "label": "dog"},
        {"uri": "http://10.0.0.1/private.jpg", "label": "dog"},
    ]
    manifest_url = server.add("m.jsonl", b"\n".join(msgspec.json.encode(x) for x in lines))
    settings = settings_for(tmp_path)
    async with Fetcher(settings) as fetcher:
        resolved = await resolve_dataset(
            DatasetRef(manifest_uri=manifest_url), fetcher=fetcher, settings=settings
        )
        progress = []
        results = await load_images(
            resolved.items,
            fetcher=fetcher,
            pool=pool,
            settings=settings,
            on_progress=lambda *args: progress.append(args),
        )
    assert [r.item.id for r in results] == ["0", "1", "2", "3", "4", "5"]
    assert [getattr(r, "code", "ok") for r in results] == [
        "ok",
        "ok",
        "truncated",
        "not_found",
        "fetch_failed",  # allow-listed address, nothing listening on port 1
        "fetch_refused",
    ]
    assert results[1].item.split == "val"
    assert isinstance(results[0], LoadedItem) and results[0].facts.format == "JPEG"
    assert progress[-1] == ("load", 6, 6)
    assert all("SECRET" not in r.detail for r in results if isinstance(r, FailedItem))


async def test_zip_archive_over_http_is_fetched_once(server, pool, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("train/cat/1.jpg", h.encode(h.photo(), "JPEG"))
        archive.writestr("train/dog/2.png", h.encode(h.gradient(), "PNG"))
        archive.writestr("test/dog/3.jpg", h.text_as_jpg())
    url = server.add("ds.zip", buffer.getvalue())
    server.clear_requests()
    settings = settings_for(tmp_path)
    async with Fetcher(settings) as fetcher:
        ref = DatasetRef(archive_uri=url)
        with await resolve_dataset(ref, fetcher=fetcher, settings=settings) as resolved:
            results = await load_images(
                resolved.items,
                fetcher=fetcher,
                pool=pool,
                settings=settings,
                local_files=resolved.local_files,
            )
    assert [(r.item.id, getattr(r, "code", "ok")) for r in results] == [
        ("test/dog/3.jpg", "unsupported_format"),
        ("train/cat/1.jpg", "ok"),
        ("train/dog/2.png", "ok"),
    ]
    assert [path for path, _ in server.requests] == ["/files/ds.zip"]  # members never re-fetched
    assert list((tmp_path / "scratch").iterdir()) == []
