"""Loading and encoding with the embedding cache: a fully cached image is fetched and hashed, never
decoded.

``pipeline.load_and_encode`` takes this path whenever a cache is configured and no caller
classifier needs the pixels. Per chunk of ``LOAD_CHUNK`` items:

1. fetch every file and hash its bytes (SHA-256, in the worker pool);
2. look the hashes up once (``EmbeddingCache.get_many``): an entry with the embedding, the
   descriptor parts (when duplicates runs), the decode facts and (for the review page) the
   thumbnail is complete;
3. decode only the other files, from the bytes already fetched;
4. when the duplicates threshold is calibrated: the chunk's sample rows (``calibration_rows``,
   chosen among the loaded items exactly as without a cache) look up their planted copies'
   descriptors (``CalibrationCache``, keyed by image, seed and position); if any is missing,
   every sample row is decoded and the copies are planted and encoded as without a cache (so
   the crops, which depend on the position in the sample, are the same).

The chunk then goes to the consumer while the next one loads: cached rows take their vectors,
facts and thumbnails from the cache; the rest are encoded by Triton and written back with their
facts. A cached run gives the same report as a cold one (the tests compare them).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import numpy as np

from service.errors import ItemError
from service.images.decode import ImageFacts
from service.images.loader import FailedItem, decode_admitted, fetch_item_bytes

if TYPE_CHECKING:
    from service.datasets import Item, ResolvedDataset
    from service.report.context import Collected
    from service.report.models import ReportOptions
    from service.report.pipeline import Dependencies, Progress, StageTimer


@dataclass
class Row:
    """One loaded item of a chunk: its facts, and its pixels unless the cache made them needless."""

    item: Item
    sha256: str
    facts: ImageFacts
    pixels: np.ndarray | None
    cached: Any  # CachedVectors or None


def decoded_pixels(row: Row) -> np.ndarray:
    """The row's pixels; only rows the cache could not serve are asked for them."""
    if row.pixels is None:
        raise RuntimeError(f"{row.item.id}: pixels were dropped before they were needed")
    return row.pixels


def grid_of(out: Any) -> np.ndarray:
    """The feature grid of an encoder result that was asked for one."""
    if out.feature_grid is None:
        raise RuntimeError("the encoder returned no feature grid")
    return out.feature_grid


@dataclass
class Chunk:
    rows: list[Row]
    failed: list[FailedItem]
    planted: np.ndarray  # sample rows (into ``rows``) whose copies calibrate the threshold
    planted_descriptors: np.ndarray | None  # from the calibration cache, when all were there


# Bump when ``duplicate_calibration.plant_copies`` makes different copies of the same image (the
# copy kinds are in the key already): cached copies' descriptors would no longer match.
PLANT_COPIES_VERSION = 1


def calibration_recipe(seed: int, position: int) -> str:
    """The calibration cache's key part: copy recipe, seed, position in the chunk's sample."""
    from service.analysis.duplicate_calibration import COPY_KINDS

    return f"v{PLANT_COPIES_VERSION}:{','.join(COPY_KINDS)}:seed={seed}:pos={position}"


def complete(entry: Any, *, descriptor: bool, thumbnail: bool) -> bool:
    """Whether a cache entry holds everything a report derives from the image."""
    if entry is None or entry.facts is None:
        return False
    if descriptor and entry.descriptor is None:
        return False
    return not (thumbnail and entry.thumbnail is None)


HELD_BYTES = 128 * 1024 * 1024  # raw file bytes one loading chunk keeps between fetch and decode


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def _fetch_one(item: Item, deps: Dependencies, dataset: ResolvedDataset) -> bytes:
    local = dataset.local_files or {}
    return await fetch_item_bytes(item, deps.fetcher, deps.pool, deps.settings, local)


async def _fetch(
    items: list[Item], deps: Dependencies, dataset: ResolvedDataset, on_done
) -> list[tuple[bytes | None, str] | FailedItem]:
    """(bytes, SHA-256) per item, or its ``FailedItem``. Bytes are kept while the chunk holds
    less than ``HELD_BYTES`` of them; past that they are dropped after hashing (a miss is then
    fetched again to be decoded), so memory stays bounded whatever the files weigh."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(max(1, deps.settings.fetch_concurrency))
    held = 0

    async def one(item: Item) -> tuple[bytes | None, str] | FailedItem:
        nonlocal held
        async with gate:
            try:
                data = await _fetch_one(item, deps, dataset)
                key = await loop.run_in_executor(deps.pool, _sha256, data)
            except ItemError as exc:
                result: tuple[bytes | None, str] | FailedItem = FailedItem(
                    item, exc.code, exc.detail
                )
            except Exception as exc:  # noqa: BLE001 - one item never breaks the report
                result = FailedItem(item, "fetch_failed", f"unexpected {type(exc).__name__}")
            else:
                keep = held + len(data) <= HELD_BYTES
                held += len(data) if keep else 0
                result = (data if keep else None, key)
        on_done()
        return result

    return await asyncio.gather(*(one(item) for item in items))


async def _decode(data: bytes, deps: Dependencies, size: int):
    return await decode_admitted(
        data,
        pool=deps.pool,
        budget=deps.budget,
        max_pixels=deps.settings.max_image_pixels,
        size=size,
    )


async def load_chunk(
    items: list[Item],
    *,
    loaded_before: int,
    total: int,
    deps: Dependencies,
    dataset: ResolvedDataset,
    want_descriptors: bool,
    want_thumbnails: bool,
    calibrate: bool,
    seed: int,
    on_done,
    resolution: int = 224,
) -> Chunk:
    """Steps 1-4 of the module docstring for one chunk."""
    from service.report.descriptor_parts import calibration_rows

    fetched = await _fetch(items, deps, dataset, on_done)
    keys = [f[1] for f in fetched if not isinstance(f, FailedItem)]
    found = await deps.embedding_cache.get_many(keys, need_descriptor=False, resolution=resolution)
    datas: dict[int, bytes | None] = {}
    rows_or_failed: list[Row | FailedItem] = []
    to_decode: list[int] = []
    for index, (item, got) in enumerate(zip(items, fetched, strict=True)):
        if isinstance(got, FailedItem):
            rows_or_failed.append(got)
            continue
        data, key = got
        entry = found.get(key)
        usable = entry if complete(
            entry, descriptor=want_descriptors, thumbnail=want_thumbnails
        ) else None  # fmt: skip
        facts = ImageFacts(**usable.facts) if usable is not None else None
        rows_or_failed.append(Row(item, key, facts, None, entry))  # type: ignore[arg-type]
        if usable is None:
            to_decode.append(index)
            datas[index] = data  # a hit's bytes are dropped now (fetched again if ever needed)

    async def decode_into(index: int) -> None:
        row = rows_or_failed[index]
        assert isinstance(row, Row)
        try:
            data = datas.pop(index, None) or await _fetch_one(row.item, deps, dataset)
            decoded = await _decode(data, deps, resolution)
            del data
        except ItemError as exc:
            rows_or_failed[index] = FailedItem(row.item, exc.code, exc.detail)
        except Exception as exc:  # noqa: BLE001
            rows_or_failed[index] = FailedItem(
                row.item, "decode_error", f"unexpected {type(exc).__name__}"
            )
        else:
            row.pixels, row.facts = decoded.pixels, decoded.facts

    await asyncio.gather(*(decode_into(i) for i in to_decode))
    rows = [r for r in rows_or_failed if isinstance(r, Row)]
    failed = [r for r in rows_or_failed if isinstance(r, FailedItem)]
    planted = np.zeros(0, np.int64)
    planted_descriptors = None
    if calibrate and rows:
        planted = calibration_rows(len(rows), loaded_before, total, seed)
        cal_keys = [(rows[r].sha256, calibration_recipe(seed, s)) for s, r in enumerate(planted)]
        cached = await deps.calibration_cache.get_many(cal_keys)
        if all(k in cached for k in cal_keys):
            planted_descriptors = _stack_planted([cached[k] for k in cal_keys])
        else:
            position = {id(r): i for i, r in enumerate(rows_or_failed)}
            missing = [rows[r] for r in planted if rows[r].pixels is None]
            await asyncio.gather(*(decode_into(position[id(r)]) for r in missing))
            if any(isinstance(rows_or_failed[position[id(r)]], FailedItem) for r in missing):
                # it loaded moments ago: the file changed since, or the decoder did
                raise RuntimeError("a cached image could not be loaded again")
    return Chunk(rows, failed, planted, planted_descriptors)


def _stack_planted(blobs: list[np.ndarray]) -> np.ndarray:
    """Per sample image, its copies' stacked parts (``len(COPY_KINDS)`` rows), in sample order."""
    from service.analysis.duplicate_calibration import COPY_KINDS

    return np.concatenate([b.reshape(len(COPY_KINDS), -1) for b in blobs], axis=0)


async def encode_rows(
    chunk: Chunk, deps: Dependencies, want_descriptors: bool, timer: StageTimer
) -> tuple[np.ndarray, np.ndarray | None, list[int]]:
    """Embeddings and descriptor parts of a chunk's rows: cached ones as stored, the others
    encoded by Triton; returns them with the rows encoded now."""
    from service.report.descriptor_parts import stacked_descriptor_parts

    rows = chunk.rows
    hit = [
        i
        for i, r in enumerate(rows)
        if r.cached is not None and (r.cached.descriptor is not None or not want_descriptors)
    ]
    hit_set = set(hit)
    miss = [i for i in range(len(rows)) if i not in hit_set]
    fresh_emb = fresh_desc = None
    if miss:
        pixels = np.stack([decoded_pixels(rows[i]) for i in miss])
        with timer.stage("infer"):
            out = await deps.encoder.encode(pixels, with_grid=want_descriptors)
        fresh_emb = out.embeddings
        if want_descriptors:
            with timer.stage("descriptors"):
                fresh_desc = await anyio.to_thread.run_sync(
                    lambda: stacked_descriptor_parts(grid_of(out), pixels)
                )
        del pixels
    width = fresh_emb.shape[1] if fresh_emb is not None else rows[hit[0]].cached.embedding.size
    embeddings = np.empty((len(rows), width), np.float32)
    descriptors = None
    if hit:
        embeddings[hit] = np.stack([rows[i].cached.embedding for i in hit])
    if miss:
        embeddings[miss] = fresh_emb
    if want_descriptors:
        dwidth = (
            fresh_desc.shape[1] if fresh_desc is not None else rows[hit[0]].cached.descriptor.size
        )
        descriptors = np.empty((len(rows), dwidth), np.float32)
        if hit:
            descriptors[hit] = np.stack([rows[i].cached.descriptor for i in hit])
        if miss:
            descriptors[miss] = fresh_desc
    return embeddings, descriptors, miss


async def planted_descriptors(chunk: Chunk, deps: Dependencies, seed: int) -> np.ndarray:
    """The chunk's planted copies' descriptors: cached, or planted and encoded now (and cached)."""
    from service.analysis.duplicate_calibration import COPY_KINDS, plant_copies
    from service.report.descriptor_parts import stacked_descriptor_parts

    if chunk.planted_descriptors is not None:
        return chunk.planted_descriptors
    pixels = np.stack([decoded_pixels(chunk.rows[r]) for r in chunk.planted])
    copies, _source = await anyio.to_thread.run_sync(lambda: plant_copies(pixels, seed=seed))
    out = await deps.encoder.encode(copies, with_grid=True)
    descriptors = await anyio.to_thread.run_sync(
        lambda: stacked_descriptor_parts(grid_of(out), copies)
    )
    k = len(COPY_KINDS)
    await deps.calibration_cache.put_many(
        [(chunk.rows[r].sha256, calibration_recipe(seed, s)) for s, r in enumerate(chunk.planted)],
        [descriptors[s * k : (s + 1) * k] for s in range(len(chunk.planted))],
    )
    return descriptors


async def load_and_encode_cached(
    dataset: ResolvedDataset,
    checks: list[str],
    options: ReportOptions,
    deps: Dependencies,
    timer: StageTimer,
    progress: Progress,
    thumbnails: dict[str, bytes] | None = None,
    resolution: int = 224,
) -> Collected:
    """``pipeline.load_and_encode`` with the cache (see the module docstring)."""
    from service.report.context import LOAD_CHUNK, Collected
    from service.review.thumbnails import make_thumbnail

    items = dataset.items
    total = len(items)
    want_descriptors = "duplicates" in checks
    calibrate = want_descriptors and options.duplicates.threshold is None
    want_thumbnails = thumbnails is not None
    collected = Collected(resolution=resolution)
    queue: asyncio.Queue[Chunk | None] = asyncio.Queue(maxsize=1)
    fetched = 0
    loaded_before = 0

    def on_done() -> None:
        nonlocal fetched
        fetched += 1
        progress("load", fetched, total)

    async def produce() -> None:
        nonlocal loaded_before
        for start in range(0, total, LOAD_CHUNK):
            with timer.stage("load"):
                chunk = await load_chunk(
                    items[start : start + LOAD_CHUNK],
                    loaded_before=loaded_before,
                    total=total,
                    deps=deps,
                    dataset=dataset,
                    want_descriptors=want_descriptors,
                    want_thumbnails=want_thumbnails,
                    calibrate=calibrate,
                    seed=options.seed,
                    on_done=on_done,
                    resolution=resolution,
                )
            loaded_before += len(chunk.rows)
            await queue.put(chunk)
        await queue.put(None)

    producer = asyncio.create_task(produce())
    done = 0
    try:
        while (chunk := await queue.get()) is not None:
            rows = chunk.rows
            collected.failed.extend(chunk.failed)
            if deps.metrics is not None:
                deps.metrics.images_processed.inc(len(rows))
                for failure in chunk.failed:
                    deps.metrics.images_failed.labels(failure.code).inc()
            if rows:
                embeddings, descriptors, encoded = await encode_rows(
                    chunk, deps, want_descriptors, timer
                )
                if calibrate and chunk.planted.size:
                    with timer.stage("calibration"):
                        copies = await planted_descriptors(chunk, deps, options.seed)
                    base = len(collected.loaded)
                    collected.planted_rows.extend(int(base + r) for r in chunk.planted)
                    collected.planted_descriptors.append(copies)
                made: dict[int, bytes] = {}
                if want_thumbnails:
                    todo = [r for r in rows if r.pixels is not None]
                    with timer.stage("thumbnails"):
                        jpegs = await anyio.to_thread.run_sync(
                            lambda todo=todo: [
                                make_thumbnail(decoded_pixels(r), r.facts.width, r.facts.height)
                                for r in todo
                            ]
                        )
                    made = dict(
                        zip(
                            [i for i, r in enumerate(rows) if r.pixels is not None],
                            jpegs,
                            strict=True,
                        )
                    )
                    for i, r in enumerate(rows):
                        thumbnails[r.item.id] = made.get(i) or r.cached.thumbnail
                # write back what was derived now: vectors of encoded rows, facts (and
                # thumbnails) of every decoded row
                write = sorted(
                    set(encoded) | {i for i, r in enumerate(rows) if r.pixels is not None}
                )
                if write:
                    with timer.stage("cache"):
                        await deps.embedding_cache.put_many(
                            [rows[i].sha256 for i in write],
                            embeddings[write],
                            descriptors[write] if descriptors is not None else None,
                            facts=[dataclasses.asdict(rows[i].facts) for i in write],
                            thumbnails=[made.get(i) for i in write] if want_thumbnails else None,
                            resolution=resolution,
                        )
                collected.loaded.extend(r.item for r in rows)
                collected.facts.extend(r.facts for r in rows)
                collected.embeddings.append(embeddings)
                if want_descriptors and descriptors is not None:
                    collected.descriptors.append(descriptors)
                for r in rows:
                    r.pixels = None
            done += len(rows) + len(chunk.failed)
            progress("infer", done, total)
        await producer
    finally:
        if not producer.done():
            producer.cancel()
            await asyncio.gather(producer, return_exceptions=True)
    return collected
