"""Items -> decoded pixels and facts, concurrently, one typed result per item.

``load_images`` keeps item order and returns ``LoadedItem`` or ``FailedItem`` per item;
``iter_images`` yields ``(index, result)`` as items complete, for callers that consume results
in batches (the report pipeline) and want to drop pixels early.

- At most ``settings.fetch_concurrency`` items are in flight (fetch + decode); a worker holds
  its slot until its item is decoded, so at most that many raw files are in memory at once, and
  raw bytes are dropped as soon as they are decoded.
- Decoding (and reading extracted archive members) runs in the given ``concurrent.futures``
  pool, never on the event loop; only the header of a file of at most ``INLINE_COST_BYTES`` is
  read there, for its decode cost.
- With a ``budget`` (``service.admission.MemoryBudget``), each decode first takes the memory
  its decoded pixels will need (``decode_cost_bytes``, from the header) and gives it back when
  done: the peak is bounded by the budget, not by the number of decode threads.
- Archive items are read from ``local_files`` (``ResolvedDataset.local_files``), never fetched.
- Any exception for one item becomes that item's ``FailedItem`` (``ItemError`` codes as they
  are; anything unexpected as ``decode_error``/``fetch_failed``); other items are unaffected.
  Cancellation still propagates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from service.datasets.model import Item, LocalSource
from service.errors import ItemError
from service.fetch.fetcher import Fetcher
from service.fetch.local_files import read_confined_file
from service.images.decode import DecodedImage, ImageFacts, decode_cost_bytes, decode_image
from service.settings import Settings

if TYPE_CHECKING:
    from service.admission import MemoryBudget

log = logging.getLogger("imagelint.images")
Progress = Callable[[str, int, int], None]
PROGRESS_STAGE = "load"
# Files up to this size have their decode cost read from the header on the event loop (tens of
# microseconds, bounded by the bytes): a thread hop costs more than that, and for small images
# (28 px PNGs: 1.1 ms to decode) the hops were half of the load stage's CPU
INLINE_COST_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class LoadedItem:
    """An item whose image decoded: ``pixels`` uint8 ``size x size x 3``, ``facts``."""

    item: Item
    pixels: np.ndarray
    facts: ImageFacts


@dataclass(frozen=True, slots=True)
class FailedItem:
    """An item that could not be loaded; ``code`` is one of ``service.errors.ITEM_ERROR_CODES``."""

    item: Item
    code: str
    detail: str


LoadResult = LoadedItem | FailedItem


async def load_images(
    items: Sequence[Item],
    *,
    fetcher: Fetcher,
    pool: Executor,
    settings: Settings,
    on_progress: Progress | None = None,
    local_files: Mapping[str, LocalSource] | None = None,
    size: int = 224,
    budget: MemoryBudget | None = None,
) -> list[LoadResult]:
    """Load every item; the result list is in item order (see the module docstring).

    Parameters
    ----------
    items : sequence of Item
    fetcher : Fetcher
        The guarded fetcher (for http(s) and file:// items).
    pool : concurrent.futures.Executor
        Where decoding runs (the app's ``decode_pool``).
    settings : Settings
        ``fetch_concurrency``, ``max_image_pixels``, ``fetch_max_bytes``.
    on_progress : callable, optional
        ``on_progress("load", done, total)`` on the event loop as each item completes.
    local_files : mapping, optional
        Item id -> extracted archive member (or its ``ItemError``).
    size : int
        Output side in pixels.
    budget : MemoryBudget, optional
        Admits each decode by its memory (see the module docstring); None: unbounded.
    """
    results: list[LoadResult | None] = [None] * len(items)
    async for index, result in iter_images(
        items,
        fetcher=fetcher,
        pool=pool,
        settings=settings,
        on_progress=on_progress,
        local_files=local_files,
        size=size,
        budget=budget,
    ):
        results[index] = result
    return results  # type: ignore[return-value]  # every slot is filled


async def iter_images(
    items: Sequence[Item],
    *,
    fetcher: Fetcher,
    pool: Executor,
    settings: Settings,
    on_progress: Progress | None = None,
    local_files: Mapping[str, LocalSource] | None = None,
    size: int = 224,
    budget: MemoryBudget | None = None,
) -> AsyncIterator[tuple[int, LoadResult]]:
    """Yield ``(index, result)`` for every item, in completion order (same options)."""
    total = len(items)
    if total == 0:
        return
    workers = max(1, min(settings.fetch_concurrency, total))
    positions = iter(range(total))
    done_queue: asyncio.Queue[tuple[int, LoadResult]] = asyncio.Queue(maxsize=workers)
    local = local_files or {}

    async def worker() -> None:
        for index in positions:
            result = await _load_one(items[index], fetcher, pool, settings, local, size, budget)
            await done_queue.put((index, result))

    tasks = [asyncio.create_task(worker(), name=f"load-{k}") for k in range(workers)]
    try:
        for done in range(1, total + 1):
            index, result = await done_queue.get()
            if on_progress is not None:
                on_progress(PROGRESS_STAGE, done, total)
            yield index, result
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _load_one(
    item: Item,
    fetcher: Fetcher,
    pool: Executor,
    settings: Settings,
    local: Mapping[str, LocalSource],
    size: int,
    budget: MemoryBudget | None = None,
) -> LoadResult:
    max_pixels = settings.max_image_pixels
    try:
        data = await fetch_item_bytes(item, fetcher, pool, settings, local)
        decoded = await decode_admitted(
            data, pool=pool, budget=budget, max_pixels=max_pixels, size=size
        )
        del data
    except ItemError as exc:
        return FailedItem(item, exc.code, exc.detail)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - one item never breaks the report
        log.exception("unexpected error loading item %r", item.id)
        return FailedItem(item, "decode_error", f"unexpected {type(exc).__name__}")
    return LoadedItem(item, decoded.pixels, decoded.facts)


async def fetch_item_bytes(
    item: Item,
    fetcher: Fetcher,
    pool: Executor,
    settings: Settings,
    local: Mapping[str, LocalSource],
) -> bytes:
    """The item's file: an extracted archive member (read in ``pool``) or fetched; ``ItemError``
    when it cannot be had."""
    source = local.get(item.id)
    if isinstance(source, ItemError):
        raise source
    if isinstance(source, Path):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, _read_member, source, settings.fetch_max_bytes)
    return await fetcher.fetch(item.uri)


async def decode_admitted(
    data: bytes,
    *,
    pool: Executor,
    budget: MemoryBudget | None,
    max_pixels: int,
    size: int = 224,
) -> DecodedImage:
    """``decode_image`` in ``pool`` once ``budget`` has room for its peak memory (from the header)."""
    loop = asyncio.get_running_loop()
    if budget is None:
        return await loop.run_in_executor(pool, _decode, data, max_pixels, size)
    if len(data) <= INLINE_COST_BYTES:  # a header read bounded by the file: no thread hop
        cost = _cost(data, max_pixels, size)
    else:
        cost = await loop.run_in_executor(pool, _cost, data, max_pixels, size)
    async with budget.hold(cost):
        return await loop.run_in_executor(pool, _decode, data, max_pixels, size)


def _cost(data: bytes, max_pixels: int, size: int) -> int:
    return decode_cost_bytes(data, max_pixels=max_pixels, size=size)


def _decode(data: bytes, max_pixels: int, size: int) -> DecodedImage:
    return decode_image(data, max_pixels=max_pixels, size=size)


def _read_member(path: Path, max_bytes: int) -> bytes:
    try:
        return read_confined_file(path, max_bytes=max_bytes)
    except ItemError:
        raise
    except OSError as exc:
        raise ItemError("fetch_failed", "extracted archive member could not be read") from exc
