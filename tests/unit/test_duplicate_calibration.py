"""Threshold calibration from planted copies: known mixtures give known cuts."""

from __future__ import annotations

import numpy as np
import pytest

from service.analysis.duplicate_calibration import (
    COPY_KINDS,
    calibrate_threshold,
    nearest_distinct_similarity,
    plant_copies,
)
from service.errors import InvalidInput


def test_cut_sits_above_the_look_alikes_when_the_data_has_no_copies():
    rng = np.random.default_rng(0)
    first = rng.uniform(0.75, 0.90, size=4000)  # look-alikes only
    second = first - rng.uniform(0.0, 0.05, size=4000)
    positives = rng.uniform(0.93, 0.99, size=320)
    cal = calibrate_threshold(positives, first, second)
    assert cal.method == "calibrated"
    assert np.mean(first >= cal.threshold) <= 0.0015  # ~4 of 4000 look-alikes reach the cut
    assert cal.estimated_recall >= 0.95
    assert cal.estimated_false_match_rate <= 0.001


def test_overlapping_look_alikes_push_the_cut_up_and_recall_down():
    rng = np.random.default_rng(1)
    second = rng.uniform(0.70, 0.96, size=4000)
    positives = rng.uniform(0.93, 0.99, size=320)
    cal = calibrate_threshold(positives, second + 0.01, second)
    assert cal.threshold > 0.955
    assert 0.0 < cal.estimated_recall < 0.6


def test_real_copies_in_the_data_do_not_raise_the_cut():
    # 5 % of items have one true copy (their nearest neighbour scores like a planted copy);
    # their second neighbour is a look-alike like everybody's
    rng = np.random.default_rng(2)
    second = rng.uniform(0.6, 0.9, size=4000)
    first = second + rng.uniform(0.0, 0.02, size=4000)
    has_copy = rng.random(4000) < 0.05
    first[has_copy] = rng.uniform(0.93, 0.99, size=has_copy.sum())
    positives = rng.uniform(0.93, 0.99, size=320)
    cal = calibrate_threshold(positives, first, second)
    assert cal.threshold <= 0.93  # every true copy stays above the cut
    assert cal.estimated_recall == 1.0
    truly_matched = has_copy & (first >= cal.threshold)
    matched = first >= cal.threshold
    assert truly_matched.sum() / matched.sum() >= 0.95  # the cut's real precision
    assert cal.matched_rate == pytest.approx(matched.mean())
    assert cal.estimated_precision == pytest.approx(truly_matched.sum() / matched.sum(), abs=0.03)


def test_small_samples_put_the_cut_above_the_strongest_look_alike_and_say_so():
    second = np.array([0.5, 0.6, 0.8, 0.7])
    cal = calibrate_threshold(np.array([0.9, 0.95]), second + 0.01, second)
    assert 0.81 < cal.threshold < 0.8101  # 0.8 plus the gap between first and second
    assert "cannot resolve" in cal.note


def test_recall_by_copy_kind_and_validation():
    positives = np.array([0.99, 0.98, 0.5, 0.97])
    cal = calibrate_threshold(
        positives, np.array([0.6, 0.7, 0.8]), np.array([0.6, 0.7, 0.8]),
        copy_kinds=["jpeg", "jpeg", "crop", "crop"],
    )  # fmt: skip
    assert cal.recall_by_copy == {"jpeg": 1.0, "crop": 0.5}
    with pytest.raises(InvalidInput):
        calibrate_threshold(np.array([]), np.array([0.5]), np.array([0.5]))
    with pytest.raises(InvalidInput):
        calibrate_threshold(np.array([np.nan]), np.array([0.5]), np.array([0.5]))


def test_nearest_distinct_similarity_skips_self_and_exact_copies():
    x = np.array([[1, 0], [1, 0], [0.8, 0.6], [0, 1]], np.float64)
    rows = np.array([0, 3])
    first, second = nearest_distinct_similarity(x, rows)
    np.testing.assert_allclose(first, [1.0, 0.6])
    np.testing.assert_allclose(second, [0.8, 0.0])
    # items 0 and 1 are the same content: item 0's nearest distinct neighbour is item 2
    first, second = nearest_distinct_similarity(x, rows, same_content=[5, 5, -1, -1])
    np.testing.assert_allclose(first, [0.8, 0.6])
    np.testing.assert_allclose(second, [0.0, 0.0])


def test_plant_copies_makes_one_copy_per_kind_that_differs_from_the_source():
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, size=(2, 64, 48, 3), dtype=np.uint8)
    copies, source = plant_copies(pixels, seed=0)
    assert copies.shape == (2 * len(COPY_KINDS), 64, 48, 3) and copies.dtype == np.uint8
    assert source.tolist() == [0] * len(COPY_KINDS) + [1] * len(COPY_KINDS)
    mirror = COPY_KINDS.index("mirror")
    np.testing.assert_array_equal(copies[mirror], pixels[0][:, ::-1])
    for k in range(len(COPY_KINDS)):
        assert not np.array_equal(copies[k], pixels[0])


def test_a_cut_above_the_cosine_scale_is_capped_at_one_with_a_note():
    """Look-alikes as close as copies (28 px digits at 224 px): second-nearest scores near 1 and
    the gap shift would put the cut above 1, which the duplicates check would refuse."""
    rng = np.random.default_rng(0)
    second = 1.0 - rng.uniform(0.0, 1e-4, 500)
    nearest = np.minimum(second + rng.uniform(0.0, 0.01, 500), 1.0)
    positives = np.full(100, 0.9999)
    cal = calibrate_threshold(positives, nearest, second)
    assert cal.threshold == 1.0
    assert cal.note is not None and "capped at 1.0" in cal.note
    assert cal.estimated_recall == 0.0
