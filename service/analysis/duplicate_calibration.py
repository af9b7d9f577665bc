"""A near-duplicate threshold calibrated on the dataset itself, from planted copies.

A constant threshold does not transfer across domains: tuned on photos it floods Fashion-MNIST,
where thousands of different products in the same pose are closer than copies of a photo are
(round 1: 6.7 M pairs at 0.86 on 20k images). Instead, each request measures its own data:

1. **Planted copies** (``plant_copies``): a sample of the dataset's own decoded images each get
   copies a person would call duplicates — JPEG re-encode, half-size round trip, a small crop,
   a brightness change and a mirror. Their similarity to their source (``positives``) shows
   where copies of *this* data land.
2. **Look-alikes** (``nearest_distinct_similarity``): for a sample of items, the similarity to
   the nearest and the second-nearest *other* item (exact copies by hash excluded). The second
   neighbour of an item is a look-alike even when the item has one true copy in the data, so
   its distribution, shifted up by the upper quartile of the gap between first and second neighbours,
   estimates how often a cut matches items that are not copies.
3. **The cut** (``calibrate_threshold``): the lowest similarity at which at most
   ``max_false_rate`` of the sampled items (default 1 in 1,000) have a look-alike at or above
   it — or, with too small a sample to resolve that rate, just above the strongest look-alike.
   The planted copies above the cut give the estimated recall; among items whose nearest
   neighbour reaches the cut (rate ``a``), the look-alike rate ``f`` gives the estimated
   precision ``1 - f / a``.

The result says how it was chosen and what to expect: the threshold, the planted recall at it
(estimated recall), the estimated precision and false-match share, and the sample sizes.

References
----------
Barz, B., Denzler, J. (2020). Do we train on test data? Purging CIFAR of near-duplicates (copies
    found by nearest-neighbour similarity and confirmed by eye — the manual step this automates).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import msgspec
import numpy as np
from PIL import Image, ImageEnhance

from service.errors import InvalidInput

COPY_KINDS: tuple[str, ...] = ("jpeg", "half_size", "crop", "brightness", "mirror")
DEFAULT_MAX_FALSE_RATE = 0.001
DEFAULT_COPY_SAMPLE = 64  # images whose copies are planted (at most; total / 16, >= 16)
MIN_COPY_SAMPLE = 16
DEFAULT_NEIGHBOUR_SAMPLE = 4000
# The cut is never below this: under it "near copies" stop meaning anything for any descriptor.
MIN_THRESHOLD = 0.5
# Fewer loaded images than this: no calibration (the default threshold is used, and said so).
MIN_CALIBRATION_ITEMS = 50
GAP_QUANTILE = 0.75
# Descriptors tried per dataset, (pixel code, its weight against the grid code): the photo
# benchmark's choice (6 x 6 DCT, 0.85) and neighbours of it; on Fashion-MNIST the grid code and
# the coarse pixel code blur products in one pose together, and the fine 12 x 12 code separates
# copies from look-alikes (``bench.encoder_quality``, ``bench.real``).
CANDIDATE_DESCRIPTORS: tuple[tuple[str, float], ...] = (
    ("dct6", 0.85),
    ("dct6", 0.6),
    ("dct12", 1.0),
    ("dct12", 0.85),
)


class CandidateCut(msgspec.Struct):
    """One descriptor tried by the calibration and the cut it would get."""

    pixel_code: str
    pixel_weight: float
    threshold: float
    estimated_recall: float
    estimated_precision: float


class CopyVerification(msgspec.Struct, omit_defaults=True):
    """The second stage of near-duplicate search: candidate pairs verified on their pixels."""

    threshold: (
        float  # copy score (best NCC over the copy hypotheses) at or above which a pair is kept
    )
    candidate_pairs: int  # pairs scored (nearest neighbours in the aligned and descriptor codes)
    verified_pairs: int  # candidate pairs at or above the threshold
    estimated_recall: float  # planted copies whose score reaches the threshold
    estimated_precision: float
    estimated_false_match_rate: float
    recall_by_copy: dict[str, float] = {}
    note: str | None = None


class ThresholdCalibration(msgspec.Struct, omit_defaults=True):
    """How the near-duplicate threshold was chosen for this dataset."""

    method: str  # "calibrated", "caller", or "default" (too few items to calibrate)
    threshold: float
    pixel_code: str | None = None  # "dct6" or "dct12": the DCT block of the pixel code
    pixel_weight: float | None = None  # weight of the pixel code in the descriptor's cosine
    max_false_rate: float | None = None
    estimated_precision: float | None = None
    estimated_recall: float | None = None  # share of planted copies found at the threshold
    estimated_false_match_rate: float | None = None  # share of items a look-alike matches
    matched_rate: float | None = None  # share of sampled items with a neighbour at the cut
    planted_copies: int = 0
    neighbour_sample: int = 0
    recall_by_copy: dict[str, float] = {}
    note: str | None = None
    candidates: list[CandidateCut] = []  # every descriptor tried (the chosen one included)
    # the second stage: candidate pairs verified on their pixels (``copy_verification``)
    verification: CopyVerification | None = None


def plant_copies(pixels: np.ndarray, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Copies of each image, one per ``COPY_KINDS`` entry.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (S, H, W, 3)

    Returns
    -------
    copies : ndarray of uint8, shape (S * len(COPY_KINDS), H, W, 3)
        Row ``s * len(COPY_KINDS) + k`` is copy kind ``k`` of image ``s``.
    source : ndarray of int64, shape (S * len(COPY_KINDS),)
    """
    if pixels.ndim != 4 or pixels.shape[-1] != 3 or pixels.dtype != np.uint8:
        raise InvalidInput(f"pixels must be uint8 (S, H, W, 3), got {pixels.dtype} {pixels.shape}")
    rng = np.random.default_rng(seed)
    out = []
    for image in pixels:
        pil = Image.fromarray(image)
        w, h = pil.size
        buffer = io.BytesIO()
        pil.save(buffer, format="JPEG", quality=60)
        jpeg = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
        half = pil.resize((max(1, w // 2), max(1, h // 2)), Image.Resampling.BILINEAR)
        cw, ch = max(1, round(w * 0.92)), max(1, round(h * 0.92))
        left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        crop = pil.crop((left, top, left + cw, top + ch))
        copies = {
            "jpeg": jpeg,
            "half_size": half.resize((w, h), Image.Resampling.BILINEAR),
            "crop": crop.resize((w, h), Image.Resampling.BILINEAR),
            "brightness": ImageEnhance.Brightness(pil).enhance(1.2),
            "mirror": pil.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        }
        out.extend(np.asarray(copies[kind], dtype=np.uint8) for kind in COPY_KINDS)
    source = np.repeat(np.arange(len(pixels), dtype=np.int64), len(COPY_KINDS))
    return np.stack(out) if out else np.zeros((0, *pixels.shape[1:]), np.uint8), source


def nearest_distinct_similarity(
    descriptors: np.ndarray,
    rows: np.ndarray,
    *,
    same_content: Sequence[int] | np.ndarray | None = None,
    chunk: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """For each row in ``rows``, the largest and second-largest cosine to any other item that is
    not the same content (``same_content[i]``: a content id, equal ids are exact copies and are
    excluded; -1 for none). ``descriptors`` must hold unit rows; cost ``len(rows) x N``.
    """
    n = descriptors.shape[0]
    content = np.full(n, -1, np.int64) if same_content is None else np.asarray(same_content)
    first = np.full(len(rows), -1.0, np.float64)
    second = np.full(len(rows), -1.0, np.float64)
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        sims = (descriptors[part] @ descriptors.T).astype(np.float64)  # (c, N)
        sims[np.arange(len(part)), part] = -np.inf
        own = content[part][:, None]
        sims[(own >= 0) & (content[None, :] == own)] = -np.inf
        if n >= 3:
            top2 = -np.partition(-sims, 1, axis=1)[:, :2]
            first[start : start + len(part)] = top2.max(axis=1)
            second[start : start + len(part)] = top2.min(axis=1)
        elif n == 2:
            first[start : start + len(part)] = sims.max(axis=1)
    return np.where(np.isfinite(first), first, -1.0), np.where(np.isfinite(second), second, -1.0)


def calibrate_threshold(
    positives: np.ndarray,
    nearest: np.ndarray,
    second_nearest: np.ndarray,
    *,
    copy_kinds: Sequence[str] | None = None,
    max_false_rate: float = DEFAULT_MAX_FALSE_RATE,
    min_threshold: float = MIN_THRESHOLD,
    gap_quantile: float | None = GAP_QUANTILE,
) -> ThresholdCalibration:
    """The near-duplicate cut for one dataset (see the module docstring).

    Parameters
    ----------
    positives : ndarray, shape (P,)
        Similarity of each planted copy to its source.
    nearest, second_nearest : ndarray, shape (M,)
        Each sampled item's similarity to its nearest and second-nearest distinct neighbour.
    copy_kinds : sequence of str, optional
        The kind of each planted copy (for ``recall_by_copy``).
    max_false_rate : float in (0, 1)
        Largest share of items a look-alike may match at the cut.
    gap_quantile : float or None
        The look-alike is the second neighbour shifted up by this quantile of the gap between
        first and second neighbours; None: the second neighbour as it is (for scores crowded
        near 1, where the shift alone passes 1 — the copy verification's).
    """
    positives = np.asarray(positives, np.float64).ravel()
    nearest = np.asarray(nearest, np.float64).ravel()
    second = np.asarray(second_nearest, np.float64).ravel()
    if positives.size == 0 or second.size == 0 or nearest.size != second.size:
        raise InvalidInput("calibration needs planted copies and neighbour similarities")
    if not all(np.all(np.isfinite(v)) for v in (positives, nearest, second)):
        raise InvalidInput("calibration similarities must be finite")
    if not 0.0 < max_false_rate < 1.0:
        raise InvalidInput(f"max_false_rate must be in (0, 1), got {max_false_rate}")
    m = second.size
    # an item's nearest look-alike scores a little above its second one: shift by the gap's
    # upper quartile (a minority, under a quarter, of items with a true copy does not move it)
    gap = 0.0
    if gap_quantile is not None:
        gap = max(0.0, float(np.quantile(nearest - second, gap_quantile)))
    look_alike = second + gap
    allowed = int(np.floor(max_false_rate * m))  # look-alikes allowed at or above the cut
    ranked = np.sort(look_alike)[::-1]
    above_allowed = ranked[allowed] if allowed < m else -1.0
    chosen = max(float(np.nextafter(above_allowed, 2.0)), min_threshold)
    notes = []
    if allowed == 0:
        notes.append(
            f"{m} sampled items cannot resolve a false-match rate of {max_false_rate:g}: "
            "the cut sits just above the strongest look-alike"
        )
    if chosen > 1.0:  # look-alikes (plus the gap shift) reach the top of the cosine scale
        chosen = 1.0
        notes.append(
            "look-alikes score as high as planted copies: the cut is capped at 1.0, so only "
            "identical descriptors (and exact copies) count as near duplicates"
        )
    note = "; ".join(notes) or None
    recall = float(np.mean(positives >= chosen))
    matched = float(np.mean(nearest >= chosen))
    false_rate = float(np.mean(look_alike >= chosen))
    precision = 1.0 if matched == 0 else max(0.0, 1.0 - false_rate / matched)
    kinds = list(copy_kinds) if copy_kinds is not None else []
    by_kind: dict[str, float] = {}
    if len(kinds) == positives.size:
        for kind in dict.fromkeys(kinds):
            mask = np.array([k == kind for k in kinds])
            by_kind[kind] = round(float(np.mean(positives[mask] >= chosen)), 4)
    return ThresholdCalibration(
        method="calibrated",
        threshold=chosen,
        max_false_rate=max_false_rate,
        estimated_precision=round(precision, 4),
        estimated_recall=round(recall, 4),
        estimated_false_match_rate=round(false_rate, 6),
        matched_rate=round(matched, 6),
        planted_copies=int(positives.size),
        neighbour_sample=int(m),
        recall_by_copy=by_kind,
        note=note,
    )
