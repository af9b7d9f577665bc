"""A report's images, loaded and encoded chunk by chunk: the next chunk loads while this one encodes.

The one loader of the report stage, with or without the embedding cache (PostgreSQL). Per chunk
of ``LOAD_CHUNK`` items the producer (``load_chunk``) makes ``Row``s:

1. **without a cache**: every item is fetched and decoded (``load_images``);
2. **with a cache** (``EmbeddingCache``): every file is fetched and hashed (SHA-256, in the
   worker pool) and the hashes are looked up once. An entry holding everything the report
   derives from the image (embedding, descriptor parts when duplicates runs, decode facts,
   thumbnail for the review page) is *complete*: its file is never decoded, unless a caller's
   classifier needs the pixels. The other files are decoded from the bytes already fetched;
3. when the duplicates threshold is calibrated, the chunk's sample rows (``calibration_rows``,
   drawn among the loaded rows the same way on both paths) look up their planted copies'
   descriptors (``CalibrationCache``, keyed by image, seed and position); if any is missing,
   every sample row is decoded, so the copies are planted and encoded as without a cache.

The consumer (``load_and_encode_at``) then encodes the rows without cached vectors through
Triton, runs the caller's classifier, plants the calibration copies, makes thumbnails, writes
what it derived back to the cache and appends the chunk to ``Collected``; pixels are dropped
after each chunk. A cached run gives the same report as a cold one (``test_cached_load``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import numpy as np

from service.errors import InferenceFailed, ItemError
from service.images.decode import ImageFacts
from service.images.loader import (
    FailedItem,
    LoadedItem,
    decode_admitted,
    fetch_item_bytes,
    load_images,
)
from service.report.context import LOAD_CHUNK, Collected
from service.report.descriptor_parts import calibration_rows, stacked_descriptor_parts

if TYPE_CHECKING:
    from service.datasets import Item, ResolvedDataset
    from service.inference import TritonEncoder
    from service.report.models import ReportOptions
    from service.report.pipeline import Dependencies, Progress, StageTimer

HELD_BYTES = 128 * 1024 * 1024  # raw file bytes one loading chunk keeps between fetch and decode
# Bump when ``duplicate_calibration.plant_copies`` makes different copies of the same image (the
# copy kinds are in the key already): cached copies' descriptors would no longer match.
PLANT_COPIES_VERSION = 1


@dataclass
class Row:
    """One loaded item of a chunk: its facts, its pixels unless the cache made them needless,
    and its cache entry (``CachedVectors``) or None."""

    item: Item
    sha256: str
    facts: ImageFacts
    pixels: np.ndarray | None
    cached: Any = None


@dataclass
class Chunk:
    rows: list[Row]
    failed: list[FailedItem]
    planted: np.ndarray  # sample rows (into ``rows``) whose copies calibrate the threshold
    planted_descriptors: np.ndarray | None  # from the calibration cache, when all were there


@dataclass(frozen=True)
class LoadPlan:
    """What a report needs from its images, decided once before loading."""

    resolution: int
    want_descriptors: bool  # duplicates runs
    want_thumbnails: bool  # a review page is being made
    calibrate: bool  # the duplicates threshold is calibrated on planted copies
    classifier: bool  # a caller's Triton classifier needs every image's pixels
    seed: int


def decoded_pixels(row: Row) -> np.ndarray:
    """The row's pixels; only rows the cache could not serve are asked for them."""
    if row.pixels is None:
        raise RuntimeError(f"{row.item.id}: pixels were dropped before they were needed")
    return row.pixels


def grid_of(out: Any) -> np.ndarray:
    """The feature grid of an encoder result that was asked for one."""
    if out.feature_grid is None:
        raise InferenceFailed("the encoder returned no feature grid")
    return out.feature_grid


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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def _fetch_one(item: Item, deps: Dependencies, dataset: ResolvedDataset) -> bytes:
    local = dataset.local_files or {}
    return await fetch_item_bytes(item, deps.fetcher, deps.pool, deps.settings, local)


async def _fetch(
    items: list[Item], deps: Dependencies, dataset: ResolvedDataset, on_done: Callable[[], None]
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


async def decoded_rows(
    items: list[Item], deps: Dependencies, dataset: ResolvedDataset, plan: LoadPlan, on_done
) -> tuple[list[Row], list[FailedItem]]:
    """Step 1 (no cache): every item fetched and decoded."""
    results = await load_images(
        items,
        fetcher=deps.fetcher,
        pool=deps.pool,
        settings=deps.settings,
        on_progress=lambda _stage, _done, _total: on_done(),
        local_files=dataset.local_files,
        budget=deps.budget,
        size=plan.resolution,
    )
    rows = [
        Row(r.item, r.facts.sha256, r.facts, r.pixels) for r in results if isinstance(r, LoadedItem)
    ]
    return rows, [r for r in results if isinstance(r, FailedItem)]


async def cached_rows(
    items: list[Item], deps: Dependencies, dataset: ResolvedDataset, plan: LoadPlan, on_done
) -> tuple[list[Row | FailedItem], Callable[[int], Any]]:
    """Step 2 (a cache): rows in item order (failures in place) and ``decode_into(index)``,
    which decodes one row that has no pixels yet."""
    fetched = await _fetch(items, deps, dataset, on_done)
    keys = [f[1] for f in fetched if not isinstance(f, FailedItem)]
    found = await deps.embedding_cache.get_many(
        keys, need_descriptor=False, resolution=plan.resolution
    )
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
            entry, descriptor=plan.want_descriptors, thumbnail=plan.want_thumbnails
        ) else None  # fmt: skip
        facts = ImageFacts(**usable.facts) if usable is not None else None
        rows_or_failed.append(Row(item, key, facts, None, entry))  # type: ignore[arg-type]
        if usable is None or plan.classifier:
            to_decode.append(index)
            datas[index] = data  # a hit's bytes are dropped now (fetched again if ever needed)

    async def decode_into(index: int) -> None:
        row = rows_or_failed[index]
        assert isinstance(row, Row)
        try:
            data = datas.pop(index, None) or await _fetch_one(row.item, deps, dataset)
            decoded = await _decode(data, deps, plan.resolution)
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
    return rows_or_failed, decode_into


async def load_chunk(
    items: list[Item],
    *,
    loaded_before: int,
    total: int,
    deps: Dependencies,
    dataset: ResolvedDataset,
    plan: LoadPlan,
    on_done: Callable[[], None],
) -> Chunk:
    """Steps 1-3 of the module docstring for one chunk."""
    if deps.embedding_cache is None:
        rows, failed = await decoded_rows(items, deps, dataset, plan, on_done)
        planted = np.zeros(0, np.int64)
        if plan.calibrate and rows:
            planted = calibration_rows(len(rows), loaded_before, total, plan.seed)
        return Chunk(rows, failed, planted, None)
    rows_or_failed, decode_into = await cached_rows(items, deps, dataset, plan, on_done)
    rows = [r for r in rows_or_failed if isinstance(r, Row)]
    failed = [r for r in rows_or_failed if isinstance(r, FailedItem)]
    planted = np.zeros(0, np.int64)
    planted_descriptors = None
    if plan.calibrate and rows:
        planted = calibration_rows(len(rows), loaded_before, total, plan.seed)
        cal_keys = [
            (rows[r].sha256, calibration_recipe(plan.seed, s)) for s, r in enumerate(planted)
        ]
        cache = deps.calibration_cache
        cached = await cache.get_many(cal_keys) if cache is not None else {}
        if cal_keys and all(k in cached for k in cal_keys):
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


def _vectors(rows: list[Row], hit: list[int], miss: list[int], fresh, name: str) -> np.ndarray:
    """One per-row matrix from the cached rows' ``name`` vectors and the freshly computed ones."""
    width = fresh.shape[1] if fresh is not None else getattr(rows[hit[0]].cached, name).size
    out = np.empty((len(rows), width), np.float32)
    if hit:
        out[hit] = np.stack([getattr(rows[i].cached, name) for i in hit])
    if miss:
        out[miss] = fresh
    return out


async def encode_rows(
    chunk: Chunk, deps: Dependencies, want_descriptors: bool, timer: StageTimer
) -> tuple[np.ndarray, np.ndarray | None, list[int]]:
    """Embeddings and descriptor parts of a chunk's rows: cached ones as stored, the others
    encoded by Triton; returns them with the rows encoded now."""
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
    embeddings = _vectors(rows, hit, miss, fresh_emb, "embedding")
    descriptors = _vectors(rows, hit, miss, fresh_desc, "descriptor") if want_descriptors else None
    return embeddings, descriptors, miss


async def planted_descriptors(chunk: Chunk, deps: Dependencies, seed: int) -> np.ndarray:
    """The chunk's planted copies' descriptors: cached, or planted and encoded now (and cached
    when there is a calibration cache)."""
    from service.analysis.duplicate_calibration import COPY_KINDS, plant_copies

    if chunk.planted_descriptors is not None:
        return chunk.planted_descriptors
    pixels = np.stack([decoded_pixels(chunk.rows[r]) for r in chunk.planted])
    copies, _source = await anyio.to_thread.run_sync(lambda: plant_copies(pixels, seed=seed))
    out = await deps.encoder.encode(copies, with_grid=True)
    descriptors = await anyio.to_thread.run_sync(
        lambda: stacked_descriptor_parts(grid_of(out), copies)
    )
    if deps.calibration_cache is not None:
        k = len(COPY_KINDS)
        await deps.calibration_cache.put_many(
            [
                (chunk.rows[r].sha256, calibration_recipe(seed, s))
                for s, r in enumerate(chunk.planted)
            ],
            [descriptors[s * k : (s + 1) * k] for s in range(len(chunk.planted))],
        )
    return descriptors


async def classifier_outputs(
    encoder: TritonEncoder, pixels: np.ndarray, options: ReportOptions
) -> np.ndarray:
    """The caller's Triton classifier on one chunk, in batches of the encoder's batch size."""
    opts = options.mislabels
    parts = []
    for start in range(0, len(pixels), encoder.batch_size):
        got = await encoder.infer(
            {opts.classifier_input: pixels[start : start + encoder.batch_size]},
            [opts.classifier_output],
            model=opts.classifier_model,
        )
        parts.append(np.asarray(got[opts.classifier_output], dtype=np.float32))
    return np.concatenate(parts, axis=0)


async def chunk_thumbnails(rows: list[Row], timer: StageTimer) -> dict[int, bytes]:
    """Review-page JPEGs of the rows decoded now, by row index (the others' are cached)."""
    from service.review.thumbnails import make_thumbnail

    todo = [i for i, r in enumerate(rows) if r.pixels is not None]
    with timer.stage("thumbnails"):
        jpegs = await anyio.to_thread.run_sync(
            lambda: [
                make_thumbnail(decoded_pixels(rows[i]), rows[i].facts.width, rows[i].facts.height)
                for i in todo
            ]
        )
    return dict(zip(todo, jpegs, strict=True))


async def load_and_encode_at(
    dataset: ResolvedDataset,
    checks: list[str],
    options: ReportOptions,
    deps: Dependencies,
    timer: StageTimer,
    progress: Progress,
    thumbnails: dict[str, bytes] | None = None,
    *,
    resolution: int = 224,
) -> Collected:
    """Load and encode every item at ``resolution`` (see the module docstring); with
    ``thumbnails`` (a dict to fill), also a small JPEG per loaded item for the review page."""
    want_descriptors = "duplicates" in checks
    plan = LoadPlan(
        resolution=resolution,
        want_descriptors=want_descriptors,
        want_thumbnails=thumbnails is not None,
        calibrate=want_descriptors and options.duplicates.threshold is None,
        classifier="mislabels" in checks and bool(options.mislabels.classifier_model),
        seed=options.seed,
    )
    items = dataset.items
    total = len(items)
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
                    plan=plan,
                    on_done=on_done,
                )
            loaded_before += len(chunk.rows)
            await queue.put(chunk)
        await queue.put(None)

    producer = asyncio.create_task(produce())
    done = 0
    try:
        while (chunk := await queue.get()) is not None:
            if chunk.rows:
                await consume_chunk(chunk, collected, plan, options, deps, timer, thumbnails)
            collected.failed.extend(chunk.failed)
            if deps.metrics is not None:
                deps.metrics.images_processed.inc(len(chunk.rows))
                for failure in chunk.failed:
                    deps.metrics.images_failed.labels(failure.code).inc()
            done += len(chunk.rows) + len(chunk.failed)
            progress("infer", done, total)
        await producer
    finally:
        if not producer.done():
            producer.cancel()
            await asyncio.gather(producer, return_exceptions=True)
    return collected


async def consume_chunk(
    chunk: Chunk,
    collected: Collected,
    plan: LoadPlan,
    options: ReportOptions,
    deps: Dependencies,
    timer: StageTimer,
    thumbnails: dict[str, bytes] | None,
) -> None:
    """Encode one loaded chunk, derive what the report needs from it and append it."""
    rows = chunk.rows
    embeddings, descriptors, encoded = await encode_rows(chunk, deps, plan.want_descriptors, timer)
    if plan.classifier:
        with timer.stage("infer"):
            pixels = np.stack([decoded_pixels(r) for r in rows])
            collected.classifier_logits.append(
                await classifier_outputs(deps.encoder, pixels, options)
            )
            del pixels
    if plan.calibrate and chunk.planted.size:
        with timer.stage("calibration"):
            copies = await planted_descriptors(chunk, deps, plan.seed)
        base = len(collected.loaded)
        collected.planted_rows.extend(int(base + r) for r in chunk.planted)
        collected.planted_descriptors.append(copies)
    made = await chunk_thumbnails(rows, timer) if thumbnails is not None else {}
    if thumbnails is not None:
        for i, r in enumerate(rows):
            thumbnails[r.item.id] = made.get(i) or r.cached.thumbnail
    if deps.embedding_cache is not None:
        # write back what was derived now: vectors of encoded rows, facts (and thumbnails) of
        # every decoded row
        write = sorted(set(encoded) | {i for i, r in enumerate(rows) if r.pixels is not None})
        if write:
            with timer.stage("cache"):
                await deps.embedding_cache.put_many(
                    [rows[i].sha256 for i in write],
                    embeddings[write],
                    descriptors[write] if descriptors is not None else None,
                    facts=[dataclasses.asdict(rows[i].facts) for i in write],
                    thumbnails=[made.get(i) for i in write] if thumbnails is not None else None,
                    resolution=plan.resolution,
                )
    collected.loaded.extend(r.item for r in rows)
    collected.facts.extend(r.facts for r in rows)
    collected.embeddings.append(embeddings)
    if descriptors is not None:
        collected.descriptors.append(descriptors)
    for r in rows:
        r.pixels = None
