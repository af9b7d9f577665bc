"""Confident learning on a hand-worked example: thresholds, confident joint, calibration,
prune-by-noise-rate, noise rates, confusable pairs."""

from __future__ import annotations

import numpy as np
import pytest

from service.analysis.confident_learning import (
    calibrate_joint,
    confident_joint,
    confusable_pairs,
    estimate_confident_learning,
    per_class_thresholds,
    prune_by_noise_rate,
)

LABELS = np.array([0, 0, 0, 1, 1, 2])
PROBS = np.array(
    [
        [0.9, 0.1, 0.0],
        [0.8, 0.1, 0.1],
        [0.2, 0.7, 0.1],  # labelled 0, looks like 1
        [0.1, 0.8, 0.1],
        [0.3, 0.5, 0.2],  # below every threshold: not counted in the confident joint
        [0.1, 0.1, 0.8],
    ]
)


def test_thresholds_are_mean_self_confidence_per_class():
    t = per_class_thresholds(PROBS, LABELS)
    assert t == pytest.approx([(0.9 + 0.8 + 0.2) / 3, (0.8 + 0.5) / 2, 0.8])


def test_threshold_of_an_unused_class_is_infinite():
    t = per_class_thresholds(PROBS[:5, :], LABELS[:5])
    assert np.isinf(t[2])


def test_confident_joint_by_hand():
    joint = confident_joint(PROBS, LABELS, per_class_thresholds(PROBS, LABELS))
    assert joint.tolist() == [[2, 1, 0], [0, 1, 0], [0, 0, 1]]


def test_item_above_several_thresholds_counts_once_for_its_most_probable_class():
    probs = np.array([[0.5, 0.45, 0.05]])
    joint = confident_joint(probs, np.array([2]), np.array([0.4, 0.4, 0.9]))
    assert joint.tolist() == [[0, 0, 0], [0, 0, 0], [1, 0, 0]]


def test_calibration_rescales_rows_to_label_counts_and_normalises():
    q = calibrate_joint(np.array([[2, 1, 0], [0, 1, 0], [0, 0, 1]]), np.array([3.0, 2.0, 1.0]))
    assert q == pytest.approx(np.array([[2, 1, 0], [0, 2, 0], [0, 0, 1]]) / 6)
    assert q.sum() == pytest.approx(1.0)


def test_prune_by_noise_rate_picks_the_largest_margin():
    q = np.array([[2, 1, 0], [0, 2, 0], [0, 0, 1]]) / 6
    assert prune_by_noise_rate(PROBS, LABELS, q).tolist() == [
        False,
        False,
        True,
        False,
        False,
        False,
    ]


def test_item_predicted_as_its_given_label_is_not_an_issue():
    # Q asks for two removals from class 0 but only one item of class 0 is predicted elsewhere.
    q = np.array([[1, 2, 0], [0, 2, 0], [0, 0, 1]]) / 6
    assert prune_by_noise_rate(PROBS, LABELS, q).tolist() == [
        False,
        False,
        True,
        False,
        False,
        False,
    ]


def test_estimates_end_to_end():
    cl = estimate_confident_learning(PROBS, LABELS)
    assert cl.issues.tolist() == [False, False, True, False, False, False]
    assert cl.noise_rates == pytest.approx([1 / 3, 0.0, 0.0])
    assert cl.label_health == pytest.approx(5 / 6)
    assert confusable_pairs(cl.joint, 6) == [(0, 1, pytest.approx(1.0), pytest.approx(0.0))]


def test_confusable_pairs_sorted_and_limited():
    q = np.array([[0.5, 0.1, 0.02], [0.05, 0.2, 0.0], [0.03, 0.0, 0.1]])
    pairs = confusable_pairs(q, 100, limit=5)
    assert [(a, b) for a, b, _, _ in pairs] == [(0, 1), (0, 2)]
    assert pairs[0][2:] == (pytest.approx(10.0), pytest.approx(5.0))
    assert confusable_pairs(q, 100, limit=1) == pairs[:1]
