"""The per-report encoder resolution (service.images.resolution) and the paths that accept it."""

import numpy as np
import pytest

from service.analysis.descriptors import descriptor_parts, low_frequency_dct
from service.errors import InvalidInput
from service.images.resolution import (
    RESOLUTIONS,
    TRAINED_RESOLUTION,
    encoder_resolution,
    sample_rows,
    validate_resolution,
)
from service.inference.client import validate_image_batch


@pytest.mark.parametrize(
    ("sides", "expected"),
    [
        ([28] * 10, 128),  # Fashion-MNIST: 4 x 28 = 112 -> the next resolution, 128
        ([8] * 10, 128),  # digits: the lowest resolution
        ([32] * 10, 128),  # CIFAR
        ([33] * 10, 160),
        ([48] * 10, 192),
        ([56] * 10, 224),
        ([640, 480, 1024], 224),  # photos keep the trained resolution
        ([], TRAINED_RESOLUTION),  # nothing sampled loaded: as before
    ],
)
def test_resolution_is_the_smallest_allowed_at_four_times_the_side(sides, expected):
    assert encoder_resolution(sides) == expected


def test_a_few_large_images_keep_the_trained_resolution():
    # 20 % photos among thumbnails: the 90th percentile is a photo's side
    assert encoder_resolution([28] * 8 + [512] * 2) == 224
    # one photo in twenty does not decide
    assert encoder_resolution([28] * 19 + [512]) == 128


def test_fixed_resolution_is_validated():
    assert encoder_resolution([28], fixed=224) == 224
    assert encoder_resolution([1000], fixed=96) == 96
    for bad in (100, 16, 256):
        with pytest.raises(ValueError, match="multiple of 32"):
            validate_resolution(bad)
    assert all(validate_resolution(r) == r for r in RESOLUTIONS)


def test_sample_rows_are_seeded_spread_and_bounded():
    assert sample_rows(5, seed=0) == [0, 1, 2, 3, 4]
    rows = sample_rows(10_000, seed=0)
    assert rows == sample_rows(10_000, seed=0) and rows != sample_rows(10_000, seed=1)
    assert len(rows) == 32 and len(set(rows)) == 32 and max(rows) > 5_000


def test_encoder_input_accepts_square_multiples_of_32_only():
    assert validate_image_batch(np.zeros((2, 128, 128, 3), np.uint8)).shape == (2, 128, 128, 3)
    for shape in ((1, 100, 100, 3), (1, 128, 96, 3), (1, 256, 256, 3), (1, 16, 16, 3)):
        with pytest.raises(InvalidInput):
            validate_image_batch(np.zeros(shape, np.uint8))


def test_pixel_codes_of_one_image_agree_across_resolutions():
    # a smooth image resized to 224 and to 128: the 32 x 32 thumbnails (box filter) match closely
    from PIL import Image

    rng = np.random.default_rng(0)
    small = (rng.random((28, 28, 3)) * 255).astype(np.uint8)
    at = {
        s: np.asarray(Image.fromarray(small).resize((s, s), Image.Resampling.BILINEAR))[None]
        for s in (224, 128)
    }
    a, b = (low_frequency_dct(at[s])[0].ravel() for s in (224, 128))
    assert np.corrcoef(a, b)[0, 1] > 0.99
    grid = rng.random((1, 1280, 3, 3)).astype(np.float32)
    assert [p.shape for p in descriptor_parts(grid, at[128])] == [(1, 35), (1, 143), (1, 576)]
    with pytest.raises(InvalidInput, match="multiple of 32"):
        low_frequency_dct(np.zeros((1, 100, 100, 3), np.uint8))


def test_the_embedding_cache_key_names_a_lower_resolution():
    from service.store.embedding_cache import PREPROCESSING_VERSION, EmbeddingCache

    cache = EmbeddingCache(None, "image_encoder:1")  # no database needed for the key
    assert cache.preprocessing_at(224) == PREPROCESSING_VERSION  # entries made before stay valid
    assert cache.preprocessing_at(128) == f"{PREPROCESSING_VERSION}-at128"
    assert cache.preprocessing_at(128) != cache.preprocessing_at(160)


def test_stacked_parts_share_one_thumbnail_and_match_the_separate_codes():
    # stacked_descriptor_parts computes the grey thumbnail once; it must equal the separate
    # codes (6 x 6 and 12 x 12 DCT blocks, grid code) and copy_verification's 224 px thumbnail
    from PIL import Image

    from service.analysis.copy_verification import verification_thumbnails
    from service.analysis.descriptors import grid_codes, pixel_codes
    from service.report.descriptor_parts import split_descriptor_parts, stacked_descriptor_parts

    rng = np.random.default_rng(1)
    small = (rng.random((6, 28, 28, 3)) * 255).astype(np.uint8)
    pixels = np.stack(
        [
            np.asarray(Image.fromarray(s).resize((224, 224), Image.Resampling.BILINEAR))
            for s in small
        ]
    )
    pixels[3] = pixels[2, :, ::-1]  # a mirror: same codes and same verification thumbnail
    grid = rng.random((6, 1280, 3, 3)).astype(np.float32)
    parts = split_descriptor_parts(stacked_descriptor_parts(grid, pixels))
    pix, orientation = pixel_codes(pixels)
    fine, _ = pixel_codes(pixels, block=12)
    expected = [pix, fine, grid_codes(grid, orientation), verification_thumbnails(pixels)]
    for got, want in zip(parts.values(), expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)
    for name in ("dct6", "dct12", "thumb"):
        np.testing.assert_allclose(parts[name][2], parts[name][3], atol=1e-4)
    # any resolution the report encodes at gives the same layout (the 224-only verification
    # thumbnail is no longer a separate box filter)
    at128 = np.stack(
        [
            np.asarray(Image.fromarray(s).resize((128, 128), Image.Resampling.BILINEAR))
            for s in small
        ]
    )
    stacked = stacked_descriptor_parts(grid, at128)
    assert stacked.shape == (6, 35 + 143 + 576 + 1024)


def test_grid_code_projected_first_equals_unit_cells_combined_then_projected():
    # grid_codes projects each raw cell to 64 dims and normalises there (linear, so the same
    # code as normalising and combining the 1280-d cells first, as the descriptor was defined)
    from bench.descriptor_cost import previous_grid_codes
    from service.analysis.descriptors import grid_codes

    rng = np.random.default_rng(2)
    grid = np.maximum(rng.normal(size=(16, 1280, 3, 3)), 0).astype(np.float32)  # ReLU-like
    orientation = np.where(rng.random(16) > 0.5, 1.0, -1.0).astype(np.float32)
    np.testing.assert_allclose(
        grid_codes(grid, orientation), previous_grid_codes(grid, orientation), atol=1e-6
    )
    grid[3] = grid[3, :, :, ::-1]  # a mirrored grid without a given orientation: same code
    mirrored = grid.copy()
    mirrored[3] = mirrored[3, :, :, ::-1]
    np.testing.assert_allclose(grid_codes(grid)[3], grid_codes(mirrored)[3], atol=1e-6)


def test_mislabels_and_duplicates_keep_the_trained_resolution_other_checks_do_not():
    from service.images.resolution import needs_trained_resolution

    assert needs_trained_resolution(["duplicates", "mislabels", "outliers"])
    assert needs_trained_resolution(["mislabels"])
    assert needs_trained_resolution(["duplicates"])
    assert not needs_trained_resolution(["outliers", "sample_size", "image_quality", "imbalance"])
    assert not needs_trained_resolution([])
