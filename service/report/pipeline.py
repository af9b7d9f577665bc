"""One report: dataset reference -> items -> fetched and decoded images -> Triton -> checks.

``run_report(request, deps, on_progress)`` is the only orchestration in the service; the REST
controller and the gRPC servicer both call it. Stages, in order:

1. ``resolve``: the dataset reference becomes items (``service.datasets``).
2. ``load`` and ``infer``: the encoder resolution is chosen once from a sample of the images'
   sizes (``service.images.resolution``: small images below 224 unless mislabels or duplicates runs); items
   are loaded in chunks
   (fetch, decode at that resolution in the worker pool) and each chunk is encoded through
   Triton while the next one loads. Only the per-item vectors the
   checks need are kept (embedding, duplicate descriptor, caller-classifier logits); pixels are
   dropped after each chunk, so memory stays bounded by the item limit times a few KB.
3. each requested check, in a worker thread (CPU-bound numpy / scikit-learn).

A check that cannot run on this dataset (too few items, one class, no labels) is reported in
``check_errors`` with a code and the others still run. Randomness is seeded from the request's
``options.seed``, so the same input gives the same report (ids, timings and the request id
aside).
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import anyio

from service.admission import MemoryBudget
from service.datasets import Item, ResolvedDataset, resolve_dataset
from service.errors import ImagelintError, InvalidRequest
from service.fetch.fetcher import redact_uri
from service.images.loader import LoadedItem, load_images
from service.inference import TritonEncoder
from service.metrics import Metrics
from service.report.check_runners import CHECK_RUNNERS
from service.report.context import CheckContext, Collected
from service.report.loading import load_and_encode_at
from service.report.models import (
    CheckError,
    Checks,
    DatasetSummary,
    FailedItemOut,
    ModelInfo,
    Report,
    ReportOptions,
    ReportRequest,
)
from service.report.policy import evaluate_policy, label_issue_count, summarise_report
from service.review.thumbnails import ReviewMaterial
from service.settings import Settings

log = logging.getLogger("imagelint.pipeline")
REPORT_SCHEMA_VERSION = "1.1"  # 1.1: summary and verdict
ALL_CHECKS = (
    "duplicates",
    "mislabels",
    "sample_size",
    "imbalance",
    "image_quality",
    "outliers",
    "agreement",
)
IMAGE_FREE_CHECKS = frozenset({"imbalance", "agreement"})

Progress = Callable[[str, int, int], None]


@dataclass
class Dependencies:
    """What a report needs from the process."""

    settings: Settings
    encoder: TritonEncoder
    fetcher: Any
    pool: Executor
    metrics: Metrics | None = None
    budget: MemoryBudget | None = None
    # service.store.embedding_cache.EmbeddingCache, when a database is configured
    embedding_cache: Any = None
    # service.store.references.ReferenceStore, when a database is configured
    references: Any = None
    # service.store.embedding_cache.CalibrationCache, with the embedding cache
    calibration_cache: Any = None
    # service.store.report_cache.ReportCache, when a database is configured
    report_cache: Any = None

    @classmethod
    def from_state(cls, state: Any) -> Dependencies:
        """The dependencies the app's lifespan put on ``app.state`` (REST and gRPC share them)."""
        return cls(
            settings=state.settings,
            encoder=state.encoder,
            fetcher=state.fetcher,
            pool=state.decode_pool,
            metrics=state.metrics,
            budget=getattr(state, "memory_budget", None),
            embedding_cache=getattr(state, "embedding_cache", None),
            references=getattr(state, "references", None),
            calibration_cache=getattr(state, "calibration_cache", None),
            report_cache=getattr(state, "report_cache", None),
        )


class StageTimer:
    """Wall time per stage (summed over chunks), mirrored into the stage histogram."""

    def __init__(self, metrics: Metrics | None) -> None:
        self.timings: dict[str, float] = {}
        self.metrics = metrics

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - started
            self.timings[name] = round(self.timings.get(name, 0.0) + seconds, 4)
            if self.metrics is not None:
                self.metrics.stage_duration.labels(name).observe(seconds)


def requested_checks(checks: Sequence[str] | None, *, has_annotations: bool) -> list[str]:
    """The checks to run, in canonical order: all by default (agreement when annotations exist)."""
    if checks is None:
        return [c for c in ALL_CHECKS if c != "agreement" or has_annotations]
    unknown = sorted(set(checks) - set(ALL_CHECKS))
    if unknown:
        raise InvalidRequest(f"unknown checks {unknown}; valid: {list(ALL_CHECKS)}", field="checks")
    return [c for c in ALL_CHECKS if c in set(checks)]


def summarise_dataset(
    items: Sequence[Item], loaded: Sequence[Item], failed: Sequence[Item]
) -> DatasetSummary:
    """The reference's counts; ``classes`` counts the loaded items (the ones the checks run on,
    as the imbalance check and the review page do), ``failed_classes`` the items that failed."""
    splits = Counter(item.split or "unspecified" for item in items)
    return DatasetSummary(
        items=len(items),
        loaded=len(loaded),
        failed=len(failed),
        labelled=sum(item.label is not None for item in items),
        classes=_label_counts(loaded),
        splits=dict(sorted(splits.items())),
        failed_classes=_label_counts(failed),
    )


def _label_counts(items: Sequence[Item]) -> dict[str, int]:
    counts = Counter(item.label for item in items if item.label is not None)
    return dict(sorted(counts.items()))


async def load_and_encode(
    dataset: ResolvedDataset,
    checks: list[str],
    options: ReportOptions,
    deps: Dependencies,
    timer: StageTimer,
    progress: Progress,
    thumbnails: dict[str, bytes] | None = None,
) -> Collected:
    """Choose the encoder resolution, then load and encode every item
    (``service.report.loading``); with ``thumbnails`` (a dict to fill), also a small JPEG per
    loaded item for the review page."""
    with timer.stage("resolution"):
        resolution = await choose_resolution(dataset, deps, seed=options.seed, checks=checks)
    return await load_and_encode_at(
        dataset, checks, options, deps, timer, progress, thumbnails, resolution=resolution
    )


async def choose_resolution(
    dataset: ResolvedDataset, deps: Dependencies, *, seed: int, checks: Sequence[str] = ()
) -> int:
    """The encoder resolution of this report: ``IMAGELINT_ENCODER_RESOLUTION`` when set; 224 when
    a check that needs it runs (mislabels, duplicates: ``needs_trained_resolution``, figures in
    that module); else from the sizes of a seeded sample of its images (their files are read
    twice, a few dozen out of the whole dataset) by ``encoder_resolution``."""
    from service.images.resolution import (
        TRAINED_RESOLUTION,
        encoder_resolution,
        needs_trained_resolution,
        sample_rows,
    )

    fixed = deps.settings.encoder_resolution
    if fixed:
        return encoder_resolution([], fixed=fixed)
    if needs_trained_resolution(checks):
        return TRAINED_RESOLUTION
    sample = [dataset.items[i] for i in sample_rows(len(dataset.items), seed)]
    results = await load_images(
        sample,
        fetcher=deps.fetcher,
        pool=deps.pool,
        settings=deps.settings,
        local_files=dataset.local_files,
        budget=deps.budget,
        size=32,
    )
    sides = [max(r.facts.width, r.facts.height) for r in results if isinstance(r, LoadedItem)]
    return encoder_resolution(sides)


async def run_checks(
    checks: list[str],
    ctx: CheckContext,
    timer: StageTimer,
    progress: Progress,
    *,
    request_id: str = "",
) -> dict[str, CheckError]:
    """Run each check in a worker thread; failures of one check become its ``CheckError``.

    A typed error or a ``ValueError`` says the check does not apply to this dataset; any other
    exception is a bug in that check: it is logged with the request id and reported as
    ``internal_error`` (with the id), and the remaining checks still run.
    """
    errors: dict[str, CheckError] = {}
    for index, name in enumerate(checks):
        progress(name, index, len(checks))
        runner = CHECK_RUNNERS[name]
        try:
            with timer.stage(name):
                ctx.results[name] = await anyio.to_thread.run_sync(runner, ctx)
        except ImagelintError as exc:
            errors[name] = CheckError(code=exc.code, detail=exc.detail)
        except ValueError as exc:
            errors[name] = CheckError(code="not_applicable", detail=str(exc))
        except Exception as exc:
            log.error("check %s failed (request %s)", name, request_id, exc_info=exc)
            errors[name] = CheckError(
                code="internal_error",
                detail=f"the {name} check failed unexpectedly ({type(exc).__name__}); "
                "it has been logged with this request id",
                request_id=request_id or None,
            )
        progress(name, index + 1, len(checks))
    return errors


def findings(results: dict[str, Any]) -> dict[str, int]:
    """Counts of problems found, by kind, for the findings metric."""
    counts: dict[str, int] = {}
    if (dup := results.get("duplicates")) is not None:
        counts["duplicate_items"] = dup.droppable
        counts["leaked_items"] = len(dup.leakage.items)
        counts["label_conflicts"] = len(dup.label_conflicts)
    if (mis := results.get("mislabels")) is not None:
        counts["label_issues"] = label_issue_count(mis) or 0  # the act-on list, as the summary
    if (out := results.get("outliers")) is not None:
        counts["outliers"] = len(out.outliers)
    if (quality := results.get("image_quality")) is not None:
        counts["quality_flagged"] = quality.n_flagged
    return counts


async def compute_report(
    request: ReportRequest,
    deps: Dependencies,
    items: list[Item],
    collected: Collected,
    checks: list[str],
    reference: Any,
    timer: StageTimer,
    progress: Progress,
    *,
    request_id: str,
    started: float,
) -> Report:
    """The checks on what loading collected, and the report around their results."""
    ctx = CheckContext(
        items=items,
        collected=collected,
        options=request.options,
        embeddings=collected.array("embeddings"),
        descriptors=collected.array("descriptors"),
        classifier_logits=collected.array("classifier_logits"),
        reference=reference,
    )
    check_errors = await run_checks(checks, ctx, timer, progress, request_id=request_id)
    timer.timings["total"] = round(time.perf_counter() - started, 4)
    if deps.metrics is not None:
        for kind, count in findings(ctx.results).items():
            deps.metrics.findings.labels(kind).inc(count)
    dataset_summary = summarise_dataset(
        items, collected.loaded, [failure.item for failure in collected.failed]
    )
    checks_out = Checks(**ctx.results)
    summary = summarise_report(dataset_summary, checks_out, check_errors)
    verdict = None
    if request.policy is not None:
        verdict = evaluate_policy(
            request.policy, summary, checks_out, checks_run=checks, check_errors=check_errors
        )
        summary.verdict = verdict.outcome
    report = Report(
        schema_version=REPORT_SCHEMA_VERSION,
        request_id=request_id,
        model=ModelInfo(
            name=deps.settings.triton_model,
            version=deps.settings.triton_model_version or "1",
            input_size=collected.resolution,
        ),
        dataset=dataset_summary,
        checks_run=checks,
        failed_items=[
            FailedItemOut(id=f.item.id, uri=redact_uri(f.item.uri), code=f.code, detail=f.detail)
            for f in collected.failed
        ],
        checks=checks_out,
        check_errors=check_errors,
        timings_s=timer.timings,
        summary=summary,
        verdict=verdict,
    )
    return report


async def run_report(
    request: ReportRequest,
    deps: Dependencies,
    on_progress: Progress | None = None,
    *,
    request_id: str | None = None,
    resolved: ResolvedDataset | None = None,
    review: ReviewMaterial | None = None,
    keep_material: Callable[[Any], None] | None = None,
) -> Report:
    """Run one report end to end (see the module docstring). ``resolved``: the dataset already
    resolved (an upload); the report closes it. With ``review``, the dataset's items and the
    thumbnails of the items the findings mention are left there for the review page. With
    ``keep_material``, it is called with the loaded items' reference material (when the
    duplicates check made descriptors) for a later reference audit."""
    progress: Progress = on_progress or (lambda _stage, _done, _total: None)
    request_id = request_id or uuid.uuid4().hex
    timer = StageTimer(deps.metrics)
    started = time.perf_counter()
    reference = None
    if request.reference is not None:
        from service.report.reference_audit import find_reference

        with timer.stage("reference"):
            reference = await find_reference(
                request.reference, deps.references, checks=request.checks
            )
    with timer.stage("resolve"):
        progress("resolve", 0, 1)
        if resolved is None:
            dataset = await resolve_dataset(
                request.dataset, fetcher=deps.fetcher, settings=deps.settings
            )
        else:
            dataset = resolved
        progress("resolve", 1, 1)
    with dataset:
        items = dataset.items
        checks = requested_checks(request.checks, has_annotations=any(i.annotations for i in items))
        if any(c not in IMAGE_FREE_CHECKS for c in checks):
            collected = await load_and_encode(
                dataset,
                checks,
                request.options,
                deps,
                timer,
                progress,
                thumbnails=review.thumbnails if review is not None else None,
            )
        else:
            collected = Collected(loaded=list(items))
    if keep_material is not None:
        from service.report.reference_audit import reference_material

        keep_material(reference_material(collected))
    report = None
    cache_key = None
    if deps.report_cache is not None and request.reference is None:
        from service.store.report_cache import report_key

        cache_key = report_key(request, items, collected, deps.report_cache.fingerprint)
        with timer.stage("report_cache"):
            report = await deps.report_cache.get(cache_key, Report)
        if report is not None:  # the same request on the same content: the stored findings
            timer.timings["total"] = round(time.perf_counter() - started, 4)
            report.request_id, report.timings_s = request_id, timer.timings
    if report is None:
        report = await compute_report(
            request, deps, items, collected, checks, reference, timer, progress,
            request_id=request_id, started=started,
        )  # fmt: skip
        if cache_key is not None and deps.report_cache is not None:
            await deps.report_cache.put(cache_key, report)
    if review is not None:
        from service.review.findings import finding_ids

        review.items = list(items)
        review.keep_only(finding_ids(report))
    return report
