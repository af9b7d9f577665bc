"""load_images / iter_images: order, typed failures, bounded concurrency, archive sources."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from service.datasets.model import Item
from service.errors import ItemError
from service.fetch.fetcher import Fetcher
from service.images import loader as loader_module
from service.images.loader import FailedItem, LoadedItem, iter_images, load_images
from service.settings import Settings
from tests.fixtures import hazard_images as h

GOOD = h.encode(h.gradient(64, 48), "PNG")


class FakeFetcher:
    """Serves bytes by URI after a short delay; records the peak number of concurrent fetches."""

    def __init__(self, table: dict[str, bytes | ItemError], delay: float = 0.01):
        self.table = table
        self.delay = delay
        self.active = 0
        self.peak = 0
        self.calls: list[str] = []

    async def fetch(self, uri: str, *, max_bytes: int | None = None) -> bytes:
        self.calls.append(uri)
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(self.delay)
            value = self.table[uri]
            if isinstance(value, ItemError):
                raise value
            return value
        finally:
            self.active -= 1


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(2, thread_name_prefix="test-decode") as executor:
        yield executor


def items_for(uris: list[str]) -> list[Item]:
    return [Item(id=f"i{k}", uri=u) for k, u in enumerate(uris)]


async def test_results_keep_item_order_and_failures_are_typed(pool):
    table = {
        "mem://good1": GOOD,
        "mem://cut": h.jpeg_cut_in_half(),
        "mem://text": h.text_as_jpg(),
        "mem://gone": ItemError("not_found", "HTTP 404"),
        "mem://good2": h.encode(h.photo(), "JPEG"),
        "mem://empty": b"",
    }
    items = items_for(list(table))
    results = await load_images(items, fetcher=FakeFetcher(table), pool=pool, settings=Settings())
    assert [r.item for r in results] == items
    kinds = [r.code if isinstance(r, FailedItem) else "ok" for r in results]
    assert kinds == ["ok", "truncated", "unsupported_format", "not_found", "ok", "empty"]
    loaded = results[0]
    assert isinstance(loaded, LoadedItem)
    assert loaded.pixels.shape == (224, 224, 3) and loaded.pixels.dtype == np.uint8
    assert (loaded.facts.width, loaded.facts.height) == (64, 48)
    assert results[3].detail == "HTTP 404"


async def test_fetch_concurrency_is_bounded_and_progress_reported(pool):
    table = {f"mem://{k}": GOOD for k in range(20)}
    fetcher = FakeFetcher(table, delay=0.02)
    progress: list[tuple[str, int, int]] = []
    results = await load_images(
        items_for(list(table)),
        fetcher=fetcher,
        pool=pool,
        settings=Settings(fetch_concurrency=3),
        on_progress=lambda stage, done, total: progress.append((stage, done, total)),
    )
    assert all(isinstance(r, LoadedItem) for r in results)
    assert fetcher.peak == 3
    assert progress == [("load", k, 20) for k in range(1, 21)]


async def test_decoding_runs_in_the_pool_not_on_the_event_loop(pool, monkeypatch):
    threads: list[str] = []
    real = loader_module.decode_image

    def spy(data, **kwargs):
        threads.append(threading.current_thread().name)
        return real(data, **kwargs)

    monkeypatch.setattr(loader_module, "decode_image", spy)
    table = {f"mem://{k}": GOOD for k in range(4)}
    await load_images(
        items_for(list(table)), fetcher=FakeFetcher(table), pool=pool, settings=Settings()
    )
    assert len(threads) == 4
    assert all(name.startswith("test-decode") for name in threads)


async def test_unexpected_exceptions_fail_only_their_item(pool, monkeypatch):
    real = loader_module.decode_image

    def flaky(data, **kwargs):
        if data == b"boom":
            raise RuntimeError("a bug")
        return real(data, **kwargs)

    monkeypatch.setattr(loader_module, "decode_image", flaky)
    table = {"mem://a": GOOD, "mem://b": b"boom", "mem://c": GOOD}
    results = await load_images(
        items_for(list(table)), fetcher=FakeFetcher(table), pool=pool, settings=Settings()
    )
    assert [type(r).__name__ for r in results] == ["LoadedItem", "FailedItem", "LoadedItem"]
    assert results[1].code == "decode_error" and "RuntimeError" in results[1].detail


async def test_archive_items_are_read_from_local_files_not_fetched(pool, tmp_path):
    path = tmp_path / "0000000.png"
    path.write_bytes(GOOD)
    items = [
        Item(id="cat/a.png", uri="archive:cat/a.png"),
        Item(id="cat/big.png", uri="archive:cat/big.png"),
        Item(id="remote", uri="mem://remote"),
    ]
    local = {"cat/a.png": path, "cat/big.png": ItemError("too_large", "over the cap")}
    fetcher = FakeFetcher({"mem://remote": GOOD})
    results = await load_images(
        items, fetcher=fetcher, pool=pool, settings=Settings(), local_files=local
    )
    assert isinstance(results[0], LoadedItem) and results[0].facts.n_bytes == len(GOOD)
    assert isinstance(results[1], FailedItem) and results[1].code == "too_large"
    assert isinstance(results[2], LoadedItem)
    assert fetcher.calls == ["mem://remote"]  # archive members were never fetched


async def test_real_fetcher_refusals_become_failed_items(pool, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.png").write_bytes(GOOD)
    settings = Settings(data_root=str(root))
    items = [
        Item(id="ok", uri=f"file://{root}/a.png"),
        Item(id="ssrf", uri="http://169.254.169.254/latest/meta-data/"),
        Item(id="escape", uri=f"file://{root}/../a.png"),
        Item(id="ftp", uri="ftp://example.com/a.png"),
    ]
    async with Fetcher(settings) as fetcher:
        results = await load_images(items, fetcher=fetcher, pool=pool, settings=settings)
        assert fetcher.backend.connects == 0
    assert [getattr(r, "code", "ok") for r in results] == [
        "ok",
        "fetch_refused",
        "fetch_refused",
        "fetch_refused",
    ]


async def test_iter_images_can_stop_early(pool):
    table = {f"mem://{k}": GOOD for k in range(50)}
    fetcher = FakeFetcher(table, delay=0.01)
    seen = 0
    stream = iter_images(
        items_for(list(table)), fetcher=fetcher, pool=pool, settings=Settings(fetch_concurrency=4)
    )
    async for _index, result in stream:
        assert isinstance(result, LoadedItem)
        seen += 1
        if seen == 5:
            break
    await stream.aclose()
    await asyncio.sleep(0.05)
    assert fetcher.active == 0  # workers were cancelled
    assert len(fetcher.calls) < 50


async def test_empty_item_list(pool):
    assert await load_images([], fetcher=FakeFetcher({}), pool=pool, settings=Settings()) == []
