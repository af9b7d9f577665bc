"""Duplicates on real photos through the real Triton: files decoded by the service's decoder,
encoded over gRPC with the feature grid, descriptors built, ``find_duplicates`` at the default
threshold. A JPEG re-encode, a half-size copy, a mirrored copy and a lossless re-save of one
photo are found (the last as same pixels); different photos are not."""

from __future__ import annotations

import io

import numpy as np
import pytest
import skimage.data
from PIL import Image

from service.analysis.descriptors import DEFAULT_NEAR_DUPLICATE_THRESHOLD, duplicate_descriptors
from service.analysis.duplicates import find_duplicates
from service.images.decode import decode_image
from service.inference import TritonEncoder

pytestmark = pytest.mark.integration


def file_bytes(img: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    return buf.getvalue()


def files() -> dict[str, bytes]:
    cat = Image.fromarray(skimage.data.chelsea())
    w, h = cat.size
    return {
        "cat.png": file_bytes(cat, "PNG"),
        "cat-resaved.png": file_bytes(cat, "PNG", compress_level=1),  # other bytes, same pixels
        "cat-q40.jpg": file_bytes(cat, "JPEG", quality=40),
        "cat-half.png": file_bytes(cat.resize((w // 2, h // 2), Image.BILINEAR), "PNG"),
        "cat-mirror.png": file_bytes(cat.transpose(Image.FLIP_LEFT_RIGHT), "PNG"),
        "coffee.png": file_bytes(Image.fromarray(skimage.data.coffee()), "PNG"),
        "astronaut.png": file_bytes(Image.fromarray(skimage.data.astronaut()), "PNG"),
        "rocket.jpg": file_bytes(Image.fromarray(skimage.data.rocket()), "JPEG", quality=90),
    }


async def test_copies_are_found_and_different_photos_are_not(triton_url):
    named = files()
    decoded = [decode_image(data) for data in named.values()]
    pixels = np.stack([d.pixels for d in decoded])
    encoder = TritonEncoder(triton_url, batch_size=8)
    try:
        encoded = await encoder.encode(pixels, with_grid=True)
    finally:
        await encoder.close()
    assert encoded.feature_grid.shape == (len(named), 1280, 3, 3)

    descriptors = duplicate_descriptors(encoded.feature_grid, pixels=pixels)
    ids = list(named)
    result = find_duplicates(
        descriptors,
        ids=ids,
        byte_hashes=[d.facts.sha256 for d in decoded],
        pixel_hashes=[d.facts.pixel_hash for d in decoded],
    )

    cats = ["cat.png", "cat-resaved.png", "cat-q40.jpg", "cat-half.png", "cat-mirror.png"]
    assert [g.members for g in result.groups] == [cats]
    assert result.groups[0].keep == "cat.png" and result.droppable == 4
    assert result.exact_byte_groups == []
    assert result.exact_pixel_groups == [["cat.png", "cat-resaved.png"]]
    sim = {(p.a, p.b): p.similarity for p in result.near_pairs}
    for copy in ("cat-q40.jpg", "cat-half.png", "cat-mirror.png"):
        assert sim[("cat.png", copy)] >= DEFAULT_NEAR_DUPLICATE_THRESHOLD, copy
    # different photos stay well below the threshold
    cos = descriptors @ descriptors.T
    others = [ids.index(n) for n in ("cat.png", "coffee.png", "astronaut.png", "rocket.jpg")]
    off_diagonal = cos[np.ix_(others, others)][~np.eye(4, dtype=bool)]
    assert off_diagonal.max() < DEFAULT_NEAR_DUPLICATE_THRESHOLD - 0.1, off_diagonal
