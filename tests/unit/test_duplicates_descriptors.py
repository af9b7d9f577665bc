"""duplicate_descriptors: the DCT against scipy, flip and brightness invariance by construction,
the weighting of the two codes, shapes and validation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.fft import dctn

from service.analysis.descriptors import (
    DESCRIPTOR_DIM,
    GRID_CODE_DIM,
    duplicate_descriptors,
    grid_codes,
    low_frequency_dct,
    pixel_codes,
)
from service.errors import InvalidInput


def scene(seed: int, n: int = 1) -> np.ndarray:
    """Smooth random RGB images (uint8 n x 224 x 224 x 3): upsampled 8 x 8 noise."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(40, 215, size=(n, 8, 8, 3))
    return np.repeat(np.repeat(small, 28, axis=1), 28, axis=2).astype(np.uint8)


def grid(seed: int, n: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).gamma(0.5, size=(n, 1280, 3, 3)).astype(np.float32)


def test_low_frequency_dct_matches_scipy_on_the_box_thumbnail():
    px = scene(0, 2)
    grey = px.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    thumb = grey.reshape(2, 32, 7, 32, 7).mean(axis=(2, 4))
    expected = dctn(thumb, type=2, axes=(1, 2), norm="ortho")[:, :6, :6]
    np.testing.assert_allclose(low_frequency_dct(px), expected, rtol=1e-4, atol=1e-2)


def test_horizontal_flip_gives_the_same_descriptor():
    px, g = scene(1), grid(1)
    flipped_px = px[:, :, ::-1].copy()
    flipped_grid = g[:, :, :, ::-1].copy()  # a mirrored scene mirrors the grid's columns
    a = duplicate_descriptors(g, pixels=px)
    b = duplicate_descriptors(flipped_grid, pixels=flipped_px)
    np.testing.assert_allclose(a, b, atol=1e-5)
    # without canonical orientation the odd part would flip sign: check there is one
    code, orientation = pixel_codes(px)
    assert np.abs(code[0, 17:]).sum() > 0.1
    assert pixel_codes(flipped_px)[1][0] == -orientation[0]


def test_brightness_and_contrast_do_not_change_the_pixel_code():
    px = scene(2)
    brighter = np.round(px * 0.8 + 30).astype(np.uint8)  # gain and offset, up to rounding
    a, b = pixel_codes(px)[0][0], pixel_codes(brighter)[0][0]
    assert a @ b > 0.9999
    np.testing.assert_allclose(a, b, atol=5e-3)


def test_cosine_is_the_weighted_sum_of_the_two_codes():
    px, g = scene(3, 2), grid(3, 2)
    d = duplicate_descriptors(g, pixels=px, pixel_weight=0.7)
    p, orientation = pixel_codes(px)
    q = grid_codes(g, orientation)
    assert d[0] @ d[1] == pytest.approx(0.7 * (p[0] @ p[1]) + 0.3 * (q[0] @ q[1]), abs=1e-5)


def test_shapes_norms_and_grid_only_mode():
    d = duplicate_descriptors(grid(4, 3), pixels=scene(4, 3))
    assert d.shape == (3, DESCRIPTOR_DIM) and d.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0, atol=1e-5)
    g = duplicate_descriptors(grid(4, 3))
    assert g.shape == (3, GRID_CODE_DIM)


def test_different_scenes_are_far_apart_and_a_copy_is_identical():
    px = np.concatenate([scene(5), scene(6), scene(5)])
    g = np.concatenate([grid(5), grid(6), grid(5)])
    d = duplicate_descriptors(g, pixels=px)
    assert d[0] @ d[2] == pytest.approx(1.0, abs=1e-6)
    assert d[0] @ d[1] < 0.6


def test_a_flat_image_has_no_pixel_direction_but_still_a_descriptor():
    px = np.full((1, 224, 224, 3), 128, np.uint8)
    d = duplicate_descriptors(grid(7), pixels=px)
    assert np.isfinite(d).all()
    assert np.linalg.norm(d) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    ("feature_grid", "pixels", "field", "text"),
    [
        (np.zeros((2, 1280, 7, 7), np.float32), None, "feature_grid", "N x 1280 x 3 x 3"),
        (np.full((1, 1280, 3, 3), np.nan, np.float32), None, "feature_grid", "NaN"),
        (
            np.ones((2, 1280, 3, 3), np.float32),
            np.zeros((1, 224, 224, 3), np.uint8),
            "pixels",
            "1 images",
        ),
        (
            np.ones((1, 1280, 3, 3), np.float32),
            np.zeros((1, 224, 224, 3), np.float32),
            "pixels",
            "uint8",
        ),
        (
            np.ones((1, 1280, 3, 3), np.float32),
            np.zeros((1, 100, 100, 3), np.uint8),
            "pixels",
            "224",
        ),
    ],
)
def test_invalid_inputs(feature_grid, pixels, field, text):
    with pytest.raises(InvalidInput) as err:
        duplicate_descriptors(feature_grid, pixels=pixels)
    assert err.value.field == field
    assert text in err.value.detail
