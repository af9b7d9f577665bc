"""Image-quality flags from the cheap facts measured while decoding (no model involved).

Flags and their default thresholds (``ImageQualityThresholds``; every one can be overridden):

================== ===================================================== =====================
flag               fires when                                            default
================== ===================================================== =====================
unreadable         the file could not be decoded (``empty``,             (from the item's
                   ``unsupported_format``, ``decode_error``,             error code)
                   ``decompression_bomb``)
truncated          the file ends before its image data does              (error code)
tiny               shorter side < ``min_side`` pixels                    32
extreme_aspect     longer / shorter side > ``max_aspect_ratio``          4.0
too_dark           mean luma < ``dark_brightness`` (luma in [0, 1])      0.10
too_bright         mean luma > ``bright_brightness``                     0.93
low_information    luma-histogram entropy < ``min_entropy`` bits         2.0
blurry             sharpness (Laplacian variance / luma variance)         0.015
                   < ``min_blur``
grayscale          R, G and B are (almost) equal everywhere              on (``flag_grayscale``)
================== ===================================================== =====================

How the defaults were chosen: on scikit-image's sample photos decoded at 224 x 224, sharp
photos score a sharpness of 0.063 (``retina``, a smooth fundus photo) to 3.5 (``grass``);
Gaussian blurs bring ``astronaut``/``coffee``/``chelsea``/``rocket`` to 0.011-0.032 (sigma 2)
and 0.004-0.012 (sigma 3), so 0.015 flags what a viewer calls blurred and spares soft photos.
Sharpness is normalised by contrast, so a dark but sharp photo is not "blurry". Upscaled
thumbnails (e.g. 8 x 8 digits drawn at 224 px, 0.0003) are flagged, as they should be. Natural photos have luma entropy 4-7.6 bits; a
two-tone silhouette (``horse``) has 1.5 and a flat image 0. Mean luma of ordinary photos is
0.25-0.7; 0.10 catches under-exposed frames (a deep-field sky photo at 0.08 included).

Items that failed to fetch (``not_found``, ``fetch_refused``, ``timeout``...) are not a quality
verdict on the image and are not flagged here; the report lists them as failed items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import msgspec

FLAGS: tuple[str, ...] = (
    "unreadable",
    "truncated",
    "tiny",
    "extreme_aspect",
    "too_dark",
    "too_bright",
    "low_information",
    "blurry",
    "grayscale",
)
# Item error codes (service.errors.ITEM_ERROR_CODES) that are a verdict on the file itself.
ERROR_CODE_FLAGS: dict[str, str] = {
    "truncated": "truncated",
    "empty": "unreadable",
    "unsupported_format": "unreadable",
    "decode_error": "unreadable",
    "decompression_bomb": "unreadable",
}


class ImageFactsLike(Protocol):
    """What ``service.images.decode.ImageFacts`` provides (any object with these attributes)."""

    width: int
    height: int
    brightness: float
    entropy: float
    blur: float
    is_grayscale: bool


class ImageQualityThresholds(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Thresholds of the image-quality flags (see the module docstring for their basis)."""

    min_side: int = 32
    max_aspect_ratio: float = 4.0
    dark_brightness: float = 0.10
    bright_brightness: float = 0.93
    min_entropy: float = 2.0
    min_blur: float = 0.015
    flag_grayscale: bool = True


class ItemQuality(msgspec.Struct):
    """One flagged item: its id and its flags (in ``FLAGS`` order)."""

    id: str
    flags: list[str]


class ImageQualityResult(msgspec.Struct):
    """Flagged items (items with no flag are omitted) and how many items carry each flag."""

    n_items: int
    n_flagged: int
    counts: dict[str, int]
    items: list[ItemQuality]
    thresholds: ImageQualityThresholds


def assess_image_quality(
    facts: Sequence[ImageFactsLike],
    *,
    ids: Sequence[str],
    failed: Mapping[str, str] | None = None,
    thresholds: ImageQualityThresholds | None = None,
) -> ImageQualityResult:
    """Flag images from their decoding facts and the error codes of items that failed.

    Parameters
    ----------
    facts : sequence of ImageFacts
        Facts of the items that decoded.
    ids : sequence of str
        Item id of each entry of ``facts`` (same length, unique).
    failed : mapping of str to str, optional
        Item id -> error code of items that did not decode; codes in ``ERROR_CODE_FLAGS`` give
        ``unreadable``/``truncated``, other codes (fetch failures) are counted in ``n_items``
        but not flagged.
    thresholds : ImageQualityThresholds, optional
        Defaults as documented in the module docstring.

    Returns
    -------
    ImageQualityResult
        Flagged items in input order (decoded items first, then failed ones), and counts for
        every flag in ``FLAGS`` (zeros included).
    """
    thresholds = thresholds or ImageQualityThresholds()
    failed = dict(failed or {})
    _validate(facts, ids, failed, thresholds)
    counts = dict.fromkeys(FLAGS, 0)
    flagged: list[ItemQuality] = []
    for item_id, item_facts in zip(ids, facts, strict=True):
        flags = flags_for(item_facts, thresholds)
        if flags:
            flagged.append(ItemQuality(id=item_id, flags=flags))
            for flag in flags:
                counts[flag] += 1
    for item_id, code in failed.items():
        flag = ERROR_CODE_FLAGS.get(code)
        if flag:
            flagged.append(ItemQuality(id=item_id, flags=[flag]))
            counts[flag] += 1
    return ImageQualityResult(
        n_items=len(ids) + len(failed),
        n_flagged=len(flagged),
        counts=counts,
        items=flagged,
        thresholds=thresholds,
    )


def flags_for(facts: ImageFactsLike, thresholds: ImageQualityThresholds) -> list[str]:
    """The flags one decoded image earns, in ``FLAGS`` order."""
    t = thresholds
    short, long = sorted((facts.width, facts.height))
    fired = {
        "tiny": short < t.min_side,
        "extreme_aspect": long / max(short, 1) > t.max_aspect_ratio,
        "too_dark": facts.brightness < t.dark_brightness,
        "too_bright": facts.brightness > t.bright_brightness,
        "low_information": facts.entropy < t.min_entropy,
        "blurry": facts.blur < t.min_blur,
        "grayscale": t.flag_grayscale and bool(facts.is_grayscale),
    }
    return [flag for flag in FLAGS if fired.get(flag, False)]


def _validate(
    facts: Sequence[ImageFactsLike],
    ids: Sequence[str],
    failed: Mapping[str, str],
    t: ImageQualityThresholds,
) -> None:
    if len(facts) != len(ids):
        raise ValueError(f"facts and ids differ in length ({len(facts)} != {len(ids)})")
    all_ids = list(ids) + list(failed)
    if len(set(all_ids)) != len(all_ids):
        raise ValueError("item ids must be unique across facts and failed items")
    if t.min_side < 1:
        raise ValueError(f"min_side must be >= 1, got {t.min_side}")
    if t.max_aspect_ratio < 1:
        raise ValueError(f"max_aspect_ratio must be >= 1, got {t.max_aspect_ratio}")
    if not 0 <= t.dark_brightness < t.bright_brightness <= 1:
        raise ValueError(
            "need 0 <= dark_brightness < bright_brightness <= 1, got "
            f"{t.dark_brightness} and {t.bright_brightness}"
        )
    if not 0 <= t.min_entropy <= 8:
        raise ValueError(
            f"min_entropy is in bits of a 256-bin histogram (0..8), got {t.min_entropy}"
        )
    if t.min_blur < 0:
        raise ValueError(f"min_blur must be >= 0, got {t.min_blur}")
