"""One encoder resolution per report, chosen from the dataset's image sizes.

The encoder (EfficientNet-Lite0, global pooling) was trained at 224 x 224 and its ONNX graph takes
any H x W. A 28 x 28 image squashed to 224 spends 64x the pixels of the original on upscaling
artefacts; encoding it at 128 costs about a third as much. The report picks **one** resolution
for all its images, so that embeddings, duplicate descriptors and image facts within a report
stay comparable:

    side       = the ``SIDE_PERCENTILE``-th percentile of max(width, height) over a sample
    resolution = the smallest of ``RESOLUTIONS`` >= ``UPSCALE`` x side, else 224

so 28 px images (Fashion-MNIST, MNIST) are encoded at 128, 32 px (CIFAR) at 128, 48 px at 192,
anything from 56 px up at 224 as before — in reports without the duplicates check (below). Resolutions are multiples of 32 (the network's stride
and the duplicate descriptor's 32 x 32 thumbnail).

Measured (``python -m bench.encoder_quality --sizes 224,128``, Fashion-MNIST, 2026-12-02), 128
against 224 px: probe accuracy 0.890 vs 0.893 (-0.3 point) and digits 0.968 vs 0.974 (-0.6):
accepted (within 1 point); the duplicate calibration's near-copy recall 0.638 vs 0.732 (-0.094,
while the descriptor's recall of file-level copies at FPR 1e-3 held: 0.661 vs 0.659): rejected
(the bar is 0.02). So the report lowers the resolution only when the duplicates check does not
run (``service.report.pipeline.choose_resolution``); with duplicates every image is encoded at 224.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

TRAINED_RESOLUTION = 224
RESOLUTIONS: tuple[int, ...] = (128, 160, 192, 224)
UPSCALE = 4.0
SIDE_PERCENTILE = 90.0
SAMPLE_SIZE = 32  # images whose sizes decide the resolution


def encoder_resolution(sides: Sequence[int], *, fixed: int = 0) -> int:
    """The encoder resolution for a dataset whose sampled images have these longer sides.

    Parameters
    ----------
    sides : sequence of int
        ``max(width, height)`` of each sampled image (empty: the trained resolution).
    fixed : int, keyword-only
        A resolution forced by configuration (``IMAGELINT_ENCODER_RESOLUTION``); 0 = choose.

    Returns
    -------
    int
        One of ``RESOLUTIONS`` (or ``fixed``).
    """
    if fixed:
        return validate_resolution(fixed)
    if len(sides) == 0:
        return TRAINED_RESOLUTION
    values = np.asarray(sides, dtype=np.float64)
    if values.ndim != 1 or not np.all(values >= 1):
        raise ValueError("sides must be positive image sides")
    # the larger images decide: a few thumbnails among photos keep 224
    want = UPSCALE * float(np.percentile(values, SIDE_PERCENTILE))
    return next((r for r in RESOLUTIONS if r >= want), TRAINED_RESOLUTION)


def validate_resolution(size: int) -> int:
    """``size`` if the encoder path accepts it (a multiple of 32 in 32..224), else ValueError."""
    if not 32 <= size <= TRAINED_RESOLUTION or size % 32:
        raise ValueError(
            f"encoder resolution must be a multiple of 32 in 32..{TRAINED_RESOLUTION}, got {size}"
        )
    return size


def sample_rows(total: int, seed: int, size: int = SAMPLE_SIZE) -> list[int]:
    """Rows whose image sizes decide the resolution: a seeded sample (datasets are often sorted
    by class or source, so the first rows alone could mislead)."""
    if total <= size:
        return list(range(total))
    rng = np.random.default_rng([seed, total])
    return sorted(int(i) for i in rng.choice(total, size=size, replace=False))
