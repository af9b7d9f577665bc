"""Thumbnails for the review page, made while loading from the pixels the encoder gets.

The loader decodes each image to a ``size x size`` square (squashed, see ``images.decode``);
``make_thumbnail`` undoes the squash with the original width and height, so a thumbnail shows the
image's real shape, at most ``THUMBNAIL_SIDE`` pixels on its long side, as a small JPEG. The
original URI is never fetched again (the browser fetches nothing at all).
"""

from __future__ import annotations

import io
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np

THUMBNAIL_SIDE = 96
JPEG_QUALITY = 80


def thumbnail_size(width: int, height: int, side: int = THUMBNAIL_SIDE) -> tuple[int, int]:
    """(w, h) with the long side ``side`` and the aspect ratio of ``width x height``."""
    if width <= 0 or height <= 0:
        return side, side
    if width >= height:
        return side, max(1, round(side * height / width))
    return max(1, round(side * width / height)), side


def make_thumbnail(
    pixels: np.ndarray,
    width: int,
    height: int,
    *,
    side: int = THUMBNAIL_SIDE,
    quality: int = JPEG_QUALITY,
) -> bytes:
    """A JPEG of ``pixels`` (uint8 ``H x W x 3``) resized to the aspect of ``width x height``."""
    from PIL import Image

    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be uint8 H x W x 3, got {pixels.dtype} {pixels.shape}")
    image = Image.fromarray(pixels).resize(
        thumbnail_size(width, height, side), Image.Resampling.LANCZOS
    )
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


@dataclass
class ReviewMaterial:
    """What a report leaves for its review page, filled by ``run_report(..., review=...)``:
    the dataset's items and a thumbnail per loaded item, trimmed to the items in findings."""

    items: list[Any] = field(default_factory=list)
    thumbnails: dict[str, bytes] = field(default_factory=dict)

    def keep_only(self, ids: Collection[str]) -> None:
        """Drop the thumbnails of items no finding mentions."""
        wanted = set(ids)
        self.thumbnails = {k: v for k, v in self.thumbnails.items() if k in wanted}
