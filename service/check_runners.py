"""Adapters from one report's collected values to each pure analysis (run in worker threads).

Each runner takes the ``CheckContext`` and returns the analysis' result Struct. Runners only
select and align arrays (labelled items, splits, ids); every computation is in
``service.analysis``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from service.errors import InvalidInput

if TYPE_CHECKING:
    from service.pipeline import CheckContext


def labelled_rows(ctx: CheckContext) -> np.ndarray:
    """Indices (into the loaded items) of items that carry a label."""
    return np.array([i for i, item in enumerate(ctx.collected.loaded) if item.label is not None], dtype=np.int64)


def require_labels(ctx: CheckContext, check: str) -> np.ndarray:
    rows = labelled_rows(ctx)
    if rows.size == 0:
        raise InvalidInput(f"{check} needs labelled items; none of the loaded items has a label")
    return rows


def run_image_quality(ctx: CheckContext) -> Any:
    from service.analysis.image_quality import assess_image_quality

    failed = {f.item.id: f.code for f in ctx.collected.failed}
    return assess_image_quality(
        ctx.collected.facts,
        ids=ctx.ids,
        failed=failed,
        thresholds=ctx.options.image_quality.thresholds,
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
    from service.analysis.sample_size import DEFAULT_FRACTIONS, estimate_sample_size

    rows = require_labels(ctx, "sample_size")
    opts = ctx.options.sample_size
    return estimate_sample_size(
        ctx.embeddings[rows],
        [ctx.collected.loaded[i].label for i in rows],
        fractions=opts.fractions or DEFAULT_FRACTIONS,
        repeats=opts.repeats,
        target_accuracy=opts.target_accuracy,
        target_recall=opts.target_recall,
        seed=ctx.options.seed,
    )


CHECK_RUNNERS: dict[str, Callable[[CheckContext], Any]] = {
    "image_quality": run_image_quality,
    "imbalance": run_imbalance,
    "sample_size": run_sample_size,
}
