"""Adapters from one report's collected values to each pure analysis (run in worker threads).

Each runner takes the ``CheckContext`` and returns the analysis' result Struct. Runners only
select and align arrays (labelled items, splits, ids); every computation is in
``service.analysis``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import numpy as np

from service.errors import InvalidInput
from service.report.context import CheckContext
from service.report.descriptor_parts import split_descriptor_parts


def labelled_rows(ctx: CheckContext) -> np.ndarray:
    """Indices (into the loaded items) of items that carry a label."""
    return np.array(
        [i for i, item in enumerate(ctx.collected.loaded) if item.label is not None], dtype=np.int64
    )


def loaded_embeddings(ctx: CheckContext, check: str) -> np.ndarray:
    if ctx.embeddings is None:
        raise InvalidInput(f"{check} needs embeddings; no image could be loaded")
    return ctx.embeddings


def require_labels(ctx: CheckContext, check: str) -> np.ndarray:
    rows = labelled_rows(ctx)
    if rows.size == 0:
        raise InvalidInput(f"{check} needs labelled items; none of the loaded items has a label")
    return rows


def run_image_quality(ctx: CheckContext) -> Any:
    from service.analysis.image_quality import DEFAULT_MAX_LISTED, assess_image_quality

    failed = {f.item.id: f.code for f in ctx.collected.failed}
    return assess_image_quality(
        ctx.collected.facts,
        ids=ctx.ids,
        failed=failed,
        thresholds=ctx.options.image_quality.thresholds,
        max_listed=None if ctx.options.image_quality.list_all else DEFAULT_MAX_LISTED,
    )


def run_imbalance(ctx: CheckContext) -> Any:
    from service.analysis.imbalance import analyse_imbalance

    loaded = ctx.collected.loaded
    rows = require_labels(ctx, "imbalance")
    embeddings = ctx.embeddings[rows] if ctx.embeddings is not None else None
    opts = ctx.options.imbalance
    return analyse_imbalance(
        [loaded[i].label for i in rows],
        splits=[loaded[i].split for i in rows],
        embeddings=embeddings,
        beta=opts.beta,
        target=opts.target,
    )


def run_sample_size(ctx: CheckContext) -> Any:
    from service.analysis.sample_size import estimate_sample_size

    rows = require_labels(ctx, "sample_size")
    opts = ctx.options.sample_size
    loaded = ctx.collected.loaded
    labels = [loaded[i].label for i in rows]
    return estimate_sample_size(
        loaded_embeddings(ctx, "sample_size")[rows],
        labels,
        fractions=opts.fractions or None,  # None: default_fractions, adapted to small datasets
        repeats=opts.repeats,
        target_accuracy=opts.target_accuracy,
        target_recall=opts.target_recall,
        seed=ctx.options.seed,
        eval_mask=evaluation_split_mask([loaded[i].split for i in rows], labels),
    )


EVALUATION_SPLITS = frozenset({"test", "val", "validation", "valid", "dev"})


def evaluation_split_mask(splits: list[str | None], labels: list[Any]) -> np.ndarray | None:
    """Items of the dataset's own evaluation split (test/val/...), when every class has both
    evaluation and training items (per-class recall needs both); else ``None`` (the curve holds
    out its own stratified split)."""
    mask = np.array([s is not None and s.lower() in EVALUATION_SPLITS for s in splits], bool)
    if not mask.any() or mask.all():
        return None
    labels_arr = np.array([str(label) for label in labels])
    every = set(labels_arr)
    if set(labels_arr[~mask]) != every or set(labels_arr[mask]) != every:
        return None
    return mask


def calibration_sample(ctx: CheckContext, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(content ids: equal ids are exact copies, -1 none; the items sampled as look-alikes)."""
    from service.analysis.duplicate_calibration import DEFAULT_NEIGHBOUR_SAMPLE
    from service.analysis.duplicates import exact_groups, exact_units

    facts = ctx.collected.facts
    exact = exact_groups([f.sha256 for f in facts]) + exact_groups([f.pixel_hash for f in facts])
    units = exact_units(n, exact)
    content = np.where(np.bincount(units, minlength=n)[units] > 1, units, -1)
    rng = np.random.default_rng(ctx.options.seed)
    sample = np.sort(rng.choice(n, size=min(n, DEFAULT_NEIGHBOUR_SAMPLE), replace=False))
    return content, sample


def verified_pairs(ctx: CheckContext, descriptors: np.ndarray, calibration: Any):
    """The second stage of a calibrated search (``copy_verification``): candidate pairs checked
    on their pixels; (extra pairs or None, the calibration with its ``verification``)."""
    from service.analysis.copy_verification import verified_copy_pairs
    from service.analysis.duplicate_calibration import COPY_KINDS

    if ctx.descriptors is None:
        return None, calibration
    thumbs = split_descriptor_parts(ctx.descriptors)["thumb"]
    planted = ctx.collected.planted_rows
    if calibration.method != "calibrated" or thumbs.shape[1] == 0 or not planted:
        return None, calibration
    content, _sample = calibration_sample(ctx, thumbs.shape[0])
    copies = split_descriptor_parts(np.concatenate(ctx.collected.planted_descriptors, axis=0))
    # every item's candidates are scored anyway: all of them estimate the look-alikes
    sides = np.array([(f.height, f.width) for f in ctx.collected.facts], np.int64).reshape(-1, 2)
    first, second, verification = verified_copy_pairs(
        thumbs, descriptors,
        planted_sources=np.repeat(np.asarray(planted, np.int64), len(COPY_KINDS)),
        planted_thumbs=copies["thumb"], sample=np.arange(thumbs.shape[0]), content=content,
        copy_kinds=list(COPY_KINDS) * len(planted), sides=sides,
    )  # fmt: skip
    similarity = np.einsum("ij,ij->i", descriptors[first], descriptors[second])
    return (first, second, similarity), msgspec.structs.replace(
        calibration, verification=verification
    )


def calibrated_descriptors(ctx: CheckContext) -> tuple[np.ndarray, Any]:
    """The duplicate descriptors and the calibration that chose their pixel weight and the
    threshold: the caller's threshold (default weight), else calibrated on this dataset's
    planted copies for each candidate weight — the weight whose cut keeps the most planted
    copies wins — else (too few images) the benchmarked defaults."""
    from service.analysis.descriptors import (
        DEFAULT_NEAR_DUPLICATE_THRESHOLD,
        PIXEL_WEIGHT,
        fuse_descriptor_parts,
    )
    from service.analysis.duplicate_calibration import (
        CANDIDATE_DESCRIPTORS,
        COPY_KINDS,
        MIN_CALIBRATION_ITEMS,
        CandidateCut,
        ThresholdCalibration,
        calibrate_threshold,
        nearest_distinct_similarity,
    )

    if ctx.descriptors is None:
        raise InvalidInput("duplicates needs at least one loaded image")
    parts = split_descriptor_parts(ctx.descriptors)
    given = ctx.options.duplicates.threshold
    n = parts["grid"].shape[0]
    planted = ctx.collected.planted_rows
    if given is not None or n < MIN_CALIBRATION_ITEMS or not planted:
        default = fuse_descriptor_parts(parts["dct6"], parts["grid"], PIXEL_WEIGHT)
        if given is not None:
            return default, ThresholdCalibration(
                method="caller",
                threshold=float(given),
                pixel_code="dct6",
                pixel_weight=PIXEL_WEIGHT,
            )
        return default, ThresholdCalibration(
            method="default",
            threshold=DEFAULT_NEAR_DUPLICATE_THRESHOLD,
            pixel_code="dct6",
            pixel_weight=PIXEL_WEIGHT,
            note=f"fewer than {MIN_CALIBRATION_ITEMS} images: the photo-tuned default is used",
        )
    content, sample = calibration_sample(ctx, n)
    copy_parts = split_descriptor_parts(np.concatenate(ctx.collected.planted_descriptors, axis=0))
    sources = np.repeat(np.asarray(planted, np.int64), len(COPY_KINDS))
    best = None
    tried = []
    for code, weight in CANDIDATE_DESCRIPTORS:
        fused = fuse_descriptor_parts(parts[code], parts["grid"], weight)
        copies = fuse_descriptor_parts(copy_parts[code], copy_parts["grid"], weight)
        first, second = nearest_distinct_similarity(fused, sample, same_content=content)
        positives = np.einsum("ij,ij->i", fused[sources], copies)
        calibration = calibrate_threshold(
            positives, first, second, copy_kinds=list(COPY_KINDS) * len(planted)
        )
        calibration = msgspec.structs.replace(calibration, pixel_code=code, pixel_weight=weight)
        tried.append(
            CandidateCut(
                code,
                weight,
                calibration.threshold,
                calibration.estimated_recall or 0.0,
                calibration.estimated_precision or 0.0,
            )  # fmt: skip
        )
        key = (calibration.estimated_recall, calibration.estimated_precision)
        if best is None or key > best[0]:
            best = (key, fused, calibration)
    assert best is not None
    return best[1], msgspec.structs.replace(best[2], candidates=tried)


def run_duplicates(ctx: CheckContext) -> Any:
    from service.analysis.duplicates import find_duplicates

    loaded = ctx.collected.loaded
    if ctx.descriptors is None or not loaded:
        raise InvalidInput("duplicates needs at least one loaded image")
    descriptors, calibration = calibrated_descriptors(ctx)
    extra, calibration = verified_pairs(ctx, descriptors, calibration)
    result = find_duplicates(
        descriptors,
        ids=ctx.ids,
        splits=[item.split for item in loaded],
        labels=[item.label for item in loaded],
        byte_hashes=[facts.sha256 for facts in ctx.collected.facts],
        pixel_hashes=[facts.pixel_hash for facts in ctx.collected.facts],
        threshold=calibration.threshold,
        seed=ctx.options.seed,
        extra_pairs=extra,
    )
    result = msgspec.structs.replace(result, calibration=calibration)
    if ctx.reference is not None:
        from service.report.reference_audit import match_against_reference

        reference = match_against_reference(ctx, descriptors, calibration)
        result = msgspec.structs.replace(result, reference=reference)
    return result


def run_outliers(ctx: CheckContext) -> Any:
    from service.analysis.outliers import find_outliers

    if ctx.embeddings is None or len(ctx.embeddings) < 3:
        raise InvalidInput("outliers needs at least 3 loaded images")
    return find_outliers(
        ctx.embeddings, ids=ctx.ids, k=ctx.options.outliers.k, seed=ctx.options.seed
    )


def duplicate_conflict_ids(ctx: CheckContext) -> set[str]:
    """Ids in duplicate groups whose copies carry different labels (if duplicates ran)."""
    duplicates = ctx.results.get("duplicates")
    if duplicates is None:
        return set()
    return {member for conflict in duplicates.label_conflicts for member in conflict.members}


def run_mislabels(ctx: CheckContext) -> Any:
    from service.analysis.mislabels import align_class_columns, rank_label_issues

    rows = require_labels(ctx, "mislabels")
    loaded = ctx.collected.loaded
    labels = [loaded[i].label for i in rows]
    class_names = sorted(set(labels))
    ids = [loaded[i].id for i in rows]
    opts = ctx.options.mislabels
    logits = None
    source = None
    if ctx.classifier_logits is not None:
        model_classes = opts.classifier_classes
        if not model_classes:
            raise InvalidInput(
                "classifier_classes (the classifier's output order) is required with classifier_model",
                field="options.mislabels.classifier_classes",
            )
        logits = align_class_columns(
            ctx.classifier_logits[rows],
            model_classes,
            class_names,
            field="options.mislabels.classifier_classes",
        )
        source = f"triton:{opts.classifier_model}"
    conflicts = duplicate_conflict_ids(ctx) & set(ids)
    return rank_label_issues(
        labels,
        class_names=class_names,
        logits=logits,
        embeddings=loaded_embeddings(ctx, "mislabels")[rows],
        ids=ids,
        probability_source=source,
        top_fraction=opts.top_fraction,
        conflict_ids=conflicts,
        k_neighbours=opts.k_neighbours,
        folds=opts.folds,
        seed=ctx.options.seed,
    )


def run_agreement(ctx: CheckContext) -> Any:
    from service.analysis.agreement import annotator_agreement

    items = ctx.items  # annotations need no image: every item counts
    return annotator_agreement(
        [list(item.annotations) for item in items],
        ids=[item.id for item in items],
        given_labels=[item.label for item in items],
    )


CHECK_RUNNERS: dict[str, Callable[[CheckContext], Any]] = {
    "duplicates": run_duplicates,
    "mislabels": run_mislabels,
    "sample_size": run_sample_size,
    "imbalance": run_imbalance,
    "image_quality": run_image_quality,
    "outliers": run_outliers,
    "agreement": run_agreement,
}
