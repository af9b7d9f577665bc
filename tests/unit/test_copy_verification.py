"""Near-copy verification: copy hypotheses, candidate pairs and the calibrated second stage."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance
from scipy.ndimage import gaussian_filter

from service.analysis.copy_verification import (
    THUMB,
    aligned_codes,
    candidate_pairs,
    canonical_orientation,
    copy_scores,
    crop_matrices,
    crop_matrix,
    downscale_matrix,
    downscale_sides,
    native_crop_family,
    native_sides,
    verification_thumbnails,
    verified_copy_pairs,
)
from service.analysis.duplicate_calibration import COPY_KINDS, plant_copies
from service.analysis.duplicates import find_duplicates, merge_pairs
from service.errors import InvalidInput


def scenes(n: int, seed: int = 0) -> np.ndarray:
    """Smooth random grey scenes with detail at several scales, 224 x 224 x 3 uint8."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        field = gaussian_filter(rng.standard_normal((224, 224)), 12) * 6
        field += gaussian_filter(rng.standard_normal((224, 224)), 4) * 2
        grey = np.clip(128 + 60 * field / field.std(), 0, 255).astype(np.uint8)
        out.append(np.repeat(grey[:, :, None], 3, axis=2))
    return np.stack(out)


def crop_copy(image: np.ndarray, side: float, left: int, top: int) -> np.ndarray:
    pil = Image.fromarray(image)
    w = pil.size[0]
    c = round(w * side)
    return np.asarray(pil.crop((left, top, left + c, top + c)).resize((w, w), Image.BILINEAR))


def test_crop_matrix_side_one_is_identity_and_rows_sum_to_one():
    assert np.allclose(crop_matrix(THUMB, 1.0, 0.0), np.eye(THUMB))
    m = crop_matrix(THUMB, 0.9, 1.3)
    assert np.allclose(m.sum(axis=1), 1.0)
    many = crop_matrices(THUMB, np.array([1.0, 0.9]), np.array([0.0, 1.3]))
    assert np.allclose(many[0], np.eye(THUMB)) and np.allclose(many[1], m)


def test_downscale_matrix_is_pillows_resize_down_and_back():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (THUMB, THUMB)).astype(np.float32)
    m = downscale_matrix(THUMB, 14)
    pil = Image.fromarray(image, mode="F").resize((14, 14), Image.BILINEAR)
    expected = np.asarray(pil.resize((THUMB, THUMB), Image.BICUBIC))
    assert np.abs(m @ image @ m.T - expected).max() < 1e-3
    assert np.allclose(m.sum(axis=1), 1.0, atol=1e-5)
    # it loses detail: a checkerboard of 1-pixel stripes all but vanishes
    stripes = np.tile([0.0, 1.0], THUMB // 2)
    assert np.ptp(m @ stripes) < 0.2 * np.ptp(stripes)


def test_downscale_sides_halve_the_larger_native_side_of_small_images_only():
    sides = np.array([[28, 28], [14, 14], [500, 375], [28, 40], [3, 3]])
    got = downscale_sides(sides, np.array([0, 0, 0, 3, 4]), np.array([1, 0, 2, 0, 4]))
    # 28 & 14 -> 14; 28 & 28 -> 14; a 500 px photo's half is larger than the thumbnail -> none;
    # rows and columns apart; a 3 px image has no half worth testing
    assert got.tolist() == [[14, 14], [14, 14], [0, 0], [14, 20], [0, 0]]


def small_scenes(n: int, side: int = 28, seed: int = 0) -> np.ndarray:
    """Detailed grey images of ``side`` pixels (textured, like Fashion-MNIST's patterned
    shirts), uint8 (n, side, side)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        field = gaussian_filter(rng.standard_normal((side, side)), 1.5) * 3
        field += gaussian_filter(rng.standard_normal((side, side)), 0.6)
        out.append(np.clip(128 + 60 * field / field.std(), 0, 255).astype(np.uint8))
    return np.stack(out)


def decoded(small: np.ndarray, size: int = 224) -> np.ndarray:
    """What the service's decoder makes of a small grey image: size x size RGB, bilinear."""
    pil = Image.fromarray(small).resize((size, size), Image.BILINEAR)
    return np.repeat(np.asarray(pil)[:, :, None], 3, axis=2)


def test_a_half_size_copy_of_a_small_image_scores_as_a_copy_given_its_native_size():
    """A 28 px image halved to 14 px and resized back (bench.real's half-size copy) loses detail
    that the thumbnail shows; the hypothesis at half the native size puts it back at the top."""
    small = small_scenes(6, seed=4)
    half = np.asarray(Image.fromarray(small[0]).resize((14, 14), Image.BILINEAR).resize((28, 28)))
    thumbs = verification_thumbnails(np.stack([decoded(x) for x in [*small, half]]))
    sides = np.full((7, 2), 28)
    pairs = (np.array([0, 1, 2, 3, 4, 5]), np.full(6, 6))
    without = copy_scores(thumbs, *pairs)
    given = copy_scores(thumbs, *pairs, sides=sides)
    assert given[0] > 0.999 > without[0]
    assert given[0] - without[0] > 0.003
    # the other images are no closer for it
    assert np.abs(given[1:] - without[1:]).max() < 0.01 and given[1:].max() < 0.9
    with pytest.raises(InvalidInput):
        copy_scores(thumbs, *pairs, sides=sides[:3])


def test_native_crop_family_lists_every_whole_pixel_crop_of_88_to_96_percent():
    # 28 px: 25 kept from 4 offsets, 26 from 3, 27 from 2
    assert native_crop_family(28).shape == (9, THUMB, THUMB)
    assert native_crop_family(16).shape == (2, THUMB, THUMB)  # 15 of 16 px from 2 offsets
    sides = np.array([[28, 28], [28, 28], [40, 40], [28, 20], [8, 8], [8, 8]])
    got = native_sides(sides, np.array([0, 0, 3, 4]), np.array([1, 2, 3, 5]))
    assert got.tolist() == [28, 0, 0, 0]  # different sizes, larger than the thumbnail, not square


def test_a_whole_pixel_crop_of_a_small_image_scores_near_one_given_its_native_size():
    """bench.real's crop: 25 of 28 pixels from (2, 1), resized back to 28 (bilinear), decoded to
    224. On the 32 px grid it scores like a look-alike; at its native pixels it is exact."""
    small = small_scenes(6, seed=6)
    crop = np.asarray(
        Image.fromarray(small[0]).crop((2, 1, 27, 26)).resize((28, 28), Image.BILINEAR)
    )
    thumbs = verification_thumbnails(np.stack([decoded(x) for x in [*small, crop]]))
    sides = np.full((7, 2), 28)
    pairs = (np.arange(6), np.full(6, 6))
    without = copy_scores(thumbs, *pairs)
    given = copy_scores(thumbs, *pairs, sides=sides)
    assert given[0] > 0.9999 and without[0] < 0.999
    assert np.abs(given[1:] - without[1:]).max() < 0.01 and given[1:].max() < 0.9
    # a mirrored copy of the crop is found too (the canonical orientation may flip it)
    both = np.concatenate([thumbs, thumbs[6:7].reshape(1, THUMB, THUMB)[:, :, ::-1].reshape(1, -1)])
    mirrored = copy_scores(both, np.array([0]), np.array([7]), sides=np.full((8, 2), 28))
    assert mirrored[0] > 0.9999


def test_native_crops_hold_when_the_report_decodes_small_images_at_128_px():
    """Reports encode 28 px images at 128 px (``service.images.resolution``): their thumbnails
    are then 4 x 4 box averages of a 128 px decode, while ``native_crop_family`` models the 224
    px decode. Its pseudo-inverse still recovers the native pixels: the crop scores as a copy
    (1 - score 2.1-2.8e-5 on four seeds; a model of the 128 px decode gave 1.5-1.9e-5), far above the
    32 px grid's score and the different images'."""
    from service.analysis.descriptors import grey_thumbnails

    small = small_scenes(6, seed=6)
    crop = np.asarray(
        Image.fromarray(small[0]).crop((2, 1, 27, 26)).resize((28, 28), Image.BILINEAR)
    )
    grey = grey_thumbnails(np.stack([decoded(x, 128) for x in [*small, crop]]))
    thumbs = canonical_orientation(grey).reshape(7, -1)
    pairs = (np.arange(6), np.full(6, 6))
    given = copy_scores(thumbs, *pairs, sides=np.full((7, 2), 28))
    without = copy_scores(thumbs, *pairs)
    assert given[0] > 0.9999 and without[0] < 0.999
    assert given[1:].max() < 0.9


def test_canonical_orientation_makes_a_mirror_equal():
    t = verification_thumbnails(scenes(1)).reshape(1, THUMB, THUMB)
    both = canonical_orientation(np.concatenate([t, t[:, :, ::-1]]))
    assert np.allclose(both[0], both[1])


def test_thumbnails_validate_their_input():
    with pytest.raises(InvalidInput):
        verification_thumbnails(np.zeros((1, 32, 32, 3), np.uint8))


def test_copies_score_above_different_scenes():
    images = scenes(6, seed=1)
    base = images[0]
    pil = Image.fromarray(base)
    buffer = io.BytesIO()
    pil.save(buffer, format="JPEG", quality=60)
    copies = [
        crop_copy(base, 0.92, 9, 4),
        crop_copy(base, 0.95, 0, 11),
        np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")),
        np.asarray(ImageEnhance.Brightness(pil).enhance(1.2)),
        base[:, ::-1].copy(),
        np.asarray(pil.resize((112, 112), Image.BILINEAR).resize((224, 224), Image.BILINEAR)),
    ]
    thumbs = verification_thumbnails(np.concatenate([images, np.stack(copies)]))
    n_copies = len(copies)
    copy_rows = 6 + np.arange(n_copies)
    own = copy_scores(thumbs, np.zeros(n_copies, np.int64), copy_rows)
    others = copy_scores(thumbs, np.repeat(np.arange(1, 6), n_copies), np.tile(copy_rows, 5))
    assert own.min() > 0.97
    assert own.min() > others.max()
    # nearly symmetric (the refinement is a local search from the coarse best): either order
    # separates the copies
    again = copy_scores(thumbs, copy_rows, np.zeros(n_copies, np.int64))
    assert np.allclose(own, again, atol=0.01)
    assert again.min() > others.max()


def test_chunks_of_pairs_scored_on_several_threads_give_the_sequential_scores(monkeypatch):
    # chunks are independent, so threads change nothing but BLAS summation order (~1e-7);
    # 700 pairs over chunks of 256: three chunks, the last one short
    import service.analysis.copy_verification as cv
    import service.analysis.threads as threads

    images = scenes(12, seed=4)
    thumbs = verification_thumbnails(np.concatenate([images, images[:, :, ::-1]]))
    rng = np.random.default_rng(0)
    first, second = rng.integers(0, 24, 700), rng.integers(0, 24, 700)
    sides = np.full((24, 2), 28)
    monkeypatch.setattr(cv, "MAX_SCORE_THREADS", 1)
    sequential = copy_scores(thumbs, first, second, sides=sides)
    monkeypatch.setattr(cv, "MAX_SCORE_THREADS", 4)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 4)
    threaded = copy_scores(thumbs, first, second, sides=sides)
    assert threaded.shape == (700,) and np.allclose(threaded, sequential, atol=1e-5)
    mirrors = first + 12 == second  # an image and its mirror: a copy
    assert mirrors.sum() > 0 and threaded[mirrors].min() > 0.999


def test_aligned_codes_keep_a_crop_near_its_source():
    images = scenes(20, seed=2)
    crop = crop_copy(images[3], 0.9, 12, 6)
    thumbs = verification_thumbnails(np.concatenate([images, crop[None]]))
    codes = aligned_codes(thumbs)
    assert np.allclose(np.linalg.norm(codes, axis=1), 1.0, atol=1e-4)
    assert int(np.argmax(codes[:20] @ codes[20])) == 3


def test_candidate_pairs_are_unique_and_skip_exact_copies():
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((30, 8)).astype(np.float32)
    codes[5] = codes[4]
    codes /= np.linalg.norm(codes, axis=1, keepdims=True)
    first, second = candidate_pairs([codes, codes[:, ::-1].copy()], k=2)
    keys = set(zip(first.tolist(), second.tolist(), strict=True))
    assert len(keys) == first.size and all(a < b for a, b in keys)
    assert (4, 5) in keys
    content = np.full(30, -1)
    content[[4, 5]] = 4
    first, second = candidate_pairs([codes], k=2, content=content)
    assert (4, 5) not in set(zip(first.tolist(), second.tolist(), strict=True))


def test_verified_copy_pairs_find_planted_copies_and_no_distinct_scenes():
    images = scenes(120, seed=3)
    hidden = np.stack([crop_copy(images[i], 0.93, 5, 8) for i in (10, 20, 30)])
    data = np.concatenate([images, hidden])
    thumbs = verification_thumbnails(data)
    descriptors = aligned_codes(thumbs)  # any unit code serves as the first-stage descriptor
    rows = np.arange(0, 120, 6)
    copies, _ = plant_copies(data[rows], seed=0)
    first, second, verification = verified_copy_pairs(
        thumbs, descriptors,
        planted_sources=np.repeat(rows, len(COPY_KINDS)),
        planted_thumbs=verification_thumbnails(copies),
        sample=np.arange(len(data)), copy_kinds=list(COPY_KINDS) * len(rows),
        min_sample=100,
    )  # fmt: skip
    found = set(zip(first.tolist(), second.tolist(), strict=True))
    assert found == {(10, 120), (20, 121), (30, 122)}
    assert verification.verified_pairs == 3
    assert verification.estimated_recall >= 0.9
    assert set(verification.recall_by_copy) == set(COPY_KINDS)


def test_too_small_a_sample_verifies_no_pair_and_says_why():
    """123 items cannot resolve 1 false match in 1,000: the stage reports its cut but adds
    nothing (the demo's look-alike digits passed it)."""
    images = scenes(120, seed=3)
    hidden = np.stack([crop_copy(images[i], 0.93, 5, 8) for i in (10, 20, 30)])
    data = np.concatenate([images, hidden])
    thumbs = verification_thumbnails(data)
    rows = np.arange(0, 120, 6)
    copies, _ = plant_copies(data[rows], seed=0)
    first, _second, verification = verified_copy_pairs(
        thumbs, aligned_codes(thumbs),
        planted_sources=np.repeat(rows, len(COPY_KINDS)),
        planted_thumbs=verification_thumbnails(copies),
        sample=np.arange(len(data)), copy_kinds=list(COPY_KINDS) * len(rows),
    )  # fmt: skip
    assert first.size == 0 and verification.verified_pairs == 0
    assert verification.candidate_pairs > 0 and 0.0 < verification.threshold <= 1.0
    assert verification.note is not None and "needs 1000" in verification.note


def test_merge_pairs_keeps_each_pair_once_with_its_best_similarity():
    lo, hi, sim = merge_pairs(
        (np.array([0, 1]), np.array([1, 2]), np.array([0.9, 0.8])),
        (np.array([1, 3]), np.array([0, 3]), np.array([0.95, 1.0])),
    )
    assert list(zip(lo.tolist(), hi.tolist(), strict=True)) == [(0, 1), (1, 2)]
    assert np.allclose(sim, [0.95, 0.8])


def test_find_duplicates_adds_extra_pairs_below_the_threshold():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 16)).astype(np.float32)
    result = find_duplicates(
        x, threshold=0.999, extra_pairs=(np.array([2]), np.array([4]), np.array([0.3]))
    )
    assert result.near_pair_count == 1
    assert [g.members for g in result.groups] == [["2", "4"]]
