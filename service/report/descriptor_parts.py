"""The duplicate descriptor's parts, stacked per item while loading and split by name when the
duplicates check weighs them (pure numpy; the pipeline, the cached loader, the check runners and
reference audits share them)."""

from __future__ import annotations

import numpy as np


def stacked_descriptor_parts(feature_grid: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Pixel codes | grid code (``descriptor_parts``, unweighted) | verification thumbnail side
    by side: the duplicates check chooses their weight per dataset and verifies candidates.

    One grey 32 x 32 thumbnail per image feeds both: the pixel codes' DCT and the verification
    thumbnail (``copy_verification.oriented_thumbnails``, as ``verification_thumbnails`` makes
    them); so any resolution the report encodes at works, and the box filter — the
    descriptors' main cost — runs once instead of three times."""
    from service.analysis.copy_verification import oriented_thumbnails
    from service.analysis.descriptors import descriptor_parts_of_thumbnails, grey_thumbnails

    thumbnails = grey_thumbnails(pixels)
    parts = descriptor_parts_of_thumbnails(feature_grid, thumbnails)
    verification = oriented_thumbnails(thumbnails)
    return np.hstack([*parts, verification])


def calibration_rows(chunk_size: int, loaded_before: int, total: int, seed: int) -> np.ndarray:
    """Rows of one chunk whose copies are planted: a share of the sample (``total / 16`` images,
    between ``MIN_COPY_SAMPLE`` and ``DEFAULT_COPY_SAMPLE``) in proportion to the chunk's size, drawn with a seed that depends only on the chunk's place."""
    from service.analysis.duplicate_calibration import DEFAULT_COPY_SAMPLE, MIN_COPY_SAMPLE

    sample = min(DEFAULT_COPY_SAMPLE, max(MIN_COPY_SAMPLE, total // 16))
    want = int(round(sample * chunk_size / max(total, 1)))
    want = min(chunk_size, max(want, 1 if chunk_size else 0))
    rng = np.random.default_rng([seed, loaded_before])
    return (
        np.sort(rng.choice(chunk_size, size=want, replace=False)) if want else np.zeros(0, np.int64)
    )


def split_descriptor_parts(parts: np.ndarray) -> dict[str, np.ndarray]:
    """The stacked parts (``pipeline.stacked_descriptor_parts``) by name: pixel codes (6 x 6 and
    12 x 12 DCT blocks), the grid code and the verification thumbnail."""
    from service.analysis.descriptors import FINE_PIXEL_CODE_DIM, GRID_CODE_DIM, PIXEL_CODE_DIM

    fine_end = PIXEL_CODE_DIM + FINE_PIXEL_CODE_DIM
    grid_end = fine_end + GRID_CODE_DIM
    return {
        "dct6": parts[:, :PIXEL_CODE_DIM],
        "dct12": parts[:, PIXEL_CODE_DIM:fine_end],
        "grid": parts[:, fine_end:grid_end],
        "thumb": parts[:, grid_end:],
    }
