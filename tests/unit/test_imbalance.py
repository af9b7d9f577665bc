"""Imbalance: weights against hand-computed values and scikit-learn, limits of the effective
number, resampling counts, split drift, hierarchy groups, and the input errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chi2
from sklearn.utils.class_weight import compute_class_weight

from service.analysis.imbalance import (
    WEIGHT_STRATEGIES,
    analyse_class_counts,
    analyse_imbalance,
    class_weights,
    default_beta,
    effective_number_weights,
    inverse_frequency_weights,
    inverse_sqrt_weights,
    median_frequency_weights,
    resampling_plan,
    split_drift,
)
from service.errors import InvalidInput


def test_inverse_frequency_matches_hand_values_and_sklearn_balanced():
    counts = np.array([10.0, 30.0, 60.0])
    np.testing.assert_allclose(inverse_frequency_weights(counts), [100 / 30, 100 / 90, 100 / 180])
    labels = np.repeat([0, 1, 2], [10, 30, 60])
    sk = compute_class_weight("balanced", classes=np.array([0, 1, 2]), y=labels)
    np.testing.assert_allclose(inverse_frequency_weights(counts), sk)


def test_inverse_frequency_matches_sklearn_on_an_irregular_distribution():
    rng = np.random.default_rng(3)
    labels = rng.choice(7, size=1234, p=[0.4, 0.2, 0.15, 0.1, 0.08, 0.05, 0.02])
    counts = np.bincount(labels, minlength=7).astype(float)
    sk = compute_class_weight("balanced", classes=np.arange(7), y=labels)
    np.testing.assert_allclose(class_weights(counts, strategy="inverse_frequency"), sk)


def test_inverse_sqrt_hand_computed():
    # raw 1/sqrt(n) = [1, 0.5, 0.25]; sum n * raw = 1 + 2 + 4 = 7; N = 21 -> scale 3.
    np.testing.assert_allclose(inverse_sqrt_weights(np.array([1.0, 4.0, 16.0])), [3.0, 1.5, 0.75])


def test_median_frequency_hand_computed():
    # f = [.1, .2, .7], median .2 -> raw [2, 1, 2/7]; sum n * raw = 60; N = 100 -> scale 5/3.
    expected = np.array([2.0, 1.0, 2.0 / 7.0]) * 100.0 / 60.0
    np.testing.assert_allclose(median_frequency_weights(np.array([10.0, 20.0, 70.0])), expected)


def test_effective_number_hand_computed():
    # beta = .5: E_1 = 1, E_2 = (1 - .25) / .5 = 1.5 -> raw [1, 2/3]; sum n*raw = 7/3; N = 3.
    np.testing.assert_allclose(effective_number_weights(np.array([1.0, 2.0]), 0.5), [9 / 7, 6 / 7])


@pytest.mark.parametrize("strategy", sorted(WEIGHT_STRATEGIES))
def test_every_strategy_keeps_the_weighted_count_at_n(strategy):
    counts = np.array([3.0, 17.0, 250.0, 41.0])
    weights = class_weights(counts, strategy=strategy, beta=0.99)
    assert np.dot(counts, weights) == pytest.approx(counts.sum())
    # Rarer classes never get smaller weights.
    order = np.argsort(counts)
    assert np.all(np.diff(weights[order]) <= 1e-12)


def test_effective_number_tends_to_inverse_frequency_as_beta_goes_to_one():
    counts = np.array([5.0, 50.0, 500.0, 5000.0])
    target = inverse_frequency_weights(counts)
    far = np.abs(effective_number_weights(counts, 0.999) / target - 1).max()
    near = np.abs(effective_number_weights(counts, 1 - 1e-9) / target - 1).max()
    assert far > 0.1  # at 0.999 the 5000-item class is strongly damped
    assert near < 1e-5
    assert near < far


def test_effective_number_tends_to_uniform_as_beta_goes_to_zero():
    counts = np.array([5.0, 50.0, 500.0])
    np.testing.assert_array_equal(effective_number_weights(counts, 0.0), np.ones(3))
    np.testing.assert_allclose(effective_number_weights(counts, 1e-9), np.ones(3), rtol=1e-8)
    # In between the weights differ: E_1 = 1 and E_50 ~ 2 at beta = .5.
    assert np.ptp(effective_number_weights(np.array([1.0, 50.0]), 0.5)) > 0.5


def test_default_beta_is_n_minus_one_over_n_and_is_used():
    assert default_beta(1000) == pytest.approx(0.999)
    result = analyse_class_counts({"a": 900, "b": 100})
    assert result.beta == pytest.approx(0.999)
    eff = next(w for w in result.weights if w.strategy == "effective_number")
    expected = effective_number_weights(np.array([900.0, 100.0]), 0.999)
    assert [eff.weights["a"], eff.weights["b"]] == pytest.approx(list(expected))
    assert analyse_class_counts({"a": 900, "b": 100}, beta=0.5).beta_rule == "requested"


def test_ratio_entropy_and_minority_rule():
    result = analyse_class_counts({"a": 90, "b": 10})
    assert result.imbalance_ratio == pytest.approx(9.0)
    expected_h = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1)) / math.log(2)
    assert result.normalised_entropy == pytest.approx(expected_h)
    balanced = analyse_class_counts({"a": 50, "b": 50, "c": 50})
    assert balanced.normalised_entropy == pytest.approx(1.0)
    assert balanced.minority_classes == []
    # N / K = 77.5, half of it 38.75: only the 10-item class is a minority.
    assert analyse_class_counts({"a": 100, "b": 100, "c": 100, "d": 10}).minority_classes == ["d"]
    # One dominant class: every rare class is a minority although it is the median.
    assert analyse_class_counts({"a": 1000, "b": 10, "c": 10, "d": 10}).minority_classes == [
        "b",
        "c",
        "d",
    ]


def test_resampling_plan_median_and_max():
    plan = resampling_plan(np.array([10.0, 20.0, 70.0]), ["a", "b", "c"], target="median")
    assert plan.target_count == 20
    assert [c.augmented_needed for c in plan.classes] == [10, 0, 0]
    assert [c.oversample_factor for c in plan.classes] == [2.0, 1.0, 1.0]
    assert plan.augmented_total == 10 and plan.total_after_oversampling == 110
    assert plan.undersample_to == 10 and plan.total_after_undersampling == 30
    assert plan.discarded_by_undersampling == 70
    top = resampling_plan(np.array([10.0, 20.0, 70.0]), ["a", "b", "c"], target="max")
    assert [c.augmented_needed for c in top.classes] == [60, 50, 0]
    assert top.classes[0].oversample_factor == pytest.approx(7.0)
    with pytest.raises(InvalidInput, match="valid: \\['max', 'median'\\]"):
        resampling_plan(np.array([1.0, 2.0]), ["a", "b"], target="mean")


def test_drift_tvd_and_chi_square_by_hand():
    drift = split_drift({"train": np.array([50, 50]), "val": np.array([80, 20])}, ["a", "b"])
    assert len(drift) == 1
    d = drift[0]
    assert d.total_variation == pytest.approx(0.3)
    # Expected counts 65 / 35 in both rows; chi2 = 2 * (15^2/65 + 15^2/35).
    stat = 2 * (15**2 / 65 + 15**2 / 35)
    assert d.chi2 == pytest.approx(stat)
    assert d.dof == 1
    assert d.p_value == pytest.approx(chi2.sf(stat, 1))
    assert d.low_expected_counts is False


def test_identical_splits_have_no_drift_and_missing_classes_are_named():
    same = split_drift({"a": np.array([10, 20, 30]), "b": np.array([20, 40, 60])}, ["x", "y", "z"])[
        0
    ]
    assert same.total_variation == pytest.approx(0.0)
    assert same.p_value == pytest.approx(1.0)
    gone = split_drift({"a": np.array([10, 20, 30]), "b": np.array([20, 0, 60])}, ["x", "y", "z"])[
        0
    ]
    assert gone.missing == {"b": ["y"]}
    assert gone.p_value < 1e-3


def test_three_splits_give_pairs_and_an_overall_test():
    result = analyse_imbalance(
        ["a"] * 6 + ["b"] * 6,
        splits=["train", "train", "train", "val", "test", None] * 2,
    )
    names = [d.splits for d in result.drift]
    assert ["test", "train", "unassigned", "val"] == sorted(s.split for s in result.splits)
    assert len(names) == 6 + 1  # 4 splits: 6 pairs and the overall table
    assert names[-1] == ["test", "train", "unassigned", "val"]


def test_per_split_counts_from_labels():
    labels = ["cat", "cat", "dog", "dog", "dog", "cat", "bird", "dog"]
    splits = ["train", "train", "train", "train", "val", "val", "train", "val"]
    result = analyse_imbalance(labels, splits=splits)
    by_split = {s.split: s for s in result.splits}
    assert by_split["train"].counts == {"bird": 1, "cat": 2, "dog": 2}
    assert by_split["val"].counts == {"bird": 0, "cat": 1, "dog": 2}
    assert by_split["val"].missing_classes == ["bird"]
    assert by_split["val"].proportions["dog"] == pytest.approx(2 / 3)
    assert [c.count for c in result.classes] == [1, 3, 4]


def test_hierarchy_groups_rare_classes_with_their_frequent_neighbours():
    rng = np.random.default_rng(0)
    d = 32
    axis = np.eye(d)
    centres = {
        "cat": axis[0],
        "kitten": axis[0] + 0.3 * axis[1],  # rare, near cat
        "truck": axis[5],
        "van": axis[5] + 0.3 * axis[6],  # rare, near truck
    }
    sizes = {"cat": 200, "kitten": 8, "truck": 200, "van": 6}
    labels, rows = [], []
    for name, size in sizes.items():
        labels += [name] * size
        rows.append(centres[name] + 0.05 * rng.normal(size=(size, d)))
    result = analyse_imbalance(labels, embeddings=np.vstack(rows))
    h = result.hierarchy
    assert h.recommended is True
    assert sorted(result.minority_classes) == ["kitten", "van"]
    by_label = {m.label: m for m in h.minority}
    assert by_label["kitten"].nearest_frequent == "cat"
    assert by_label["van"].nearest_frequent == "truck"
    assert sorted(h.groups) == [["cat", "kitten"], ["truck", "van"]]
    assert len(h.nodes) == 3 and h.nodes[-1].count == 4
    assert h.nodes[0].distance <= h.nodes[-1].distance


def test_hierarchy_not_recommended_without_extreme_imbalance():
    rng = np.random.default_rng(1)
    labels = ["a"] * 30 + ["b"] * 20 + ["c"] * 25
    result = analyse_imbalance(labels, embeddings=rng.normal(size=(75, 8)))
    assert result.hierarchy.recommended is False
    assert result.hierarchy.minority == [] and result.hierarchy.groups == []


def test_counts_mode_with_splits_and_consistency():
    result = analyse_class_counts(split_counts={"train": {"a": 8, "b": 2}, "val": {"a": 2, "b": 0}})
    assert [c.count for c in result.classes] == [10, 2]
    assert result.drift[0].missing == {"val": ["b"]}
    with pytest.raises(InvalidInput, match="disagree"):
        analyse_class_counts(
            {"a": 11, "b": 2}, split_counts={"train": {"a": 8, "b": 2}, "val": {"a": 2}}
        )


@pytest.mark.parametrize(
    ("call", "message", "field"),
    [
        (lambda: analyse_class_counts({"a": 5, "b": 0}), "zero items", "counts.b"),
        (lambda: analyse_class_counts({"a": 5}), "at least 2 classes", "counts"),
        (lambda: analyse_class_counts({"a": 5, "b": -1}), "non-negative integer", "counts.b"),
        (lambda: analyse_imbalance(["a", "a", "a"]), "at least 2 classes", "counts"),
        (
            lambda: analyse_imbalance(["a", "b"], classes=["a", "b", "c"]),
            "zero items: \\['c'\\]",
            "counts",
        ),
        (
            lambda: analyse_imbalance(["a", "z"], classes=["a", "b"]),
            "outside the declared",
            "labels",
        ),
        (lambda: analyse_imbalance(["a", "b"], splits=["train"]), "must match", "splits"),
        (lambda: analyse_imbalance(["a", "b"], beta=1.0), "beta must lie in", "beta"),
        (lambda: analyse_imbalance(["a", "b"], target="mean"), "valid:", "target"),
        (lambda: analyse_imbalance(["a", "b"], embeddings=np.zeros((3, 4))), "shape", "embeddings"),
        (lambda: class_weights(np.array([1.0, 2.0]), strategy="focal"), "inverse_sqrt", "strategy"),
    ],
)
def test_clear_errors(call, message, field):
    with pytest.raises(InvalidInput, match=message) as info:
        call()
    assert info.value.field == field


def test_balanced_set_gets_no_resampling_plan_but_an_imbalanced_one_does():
    from service.analysis.imbalance import analyse_imbalance

    balanced = analyse_imbalance(["a"] * 104 + ["b"] * 100 + ["c"] * 101)
    assert balanced.resampling is None and "balanced" in balanced.balanced_note
    skewed = analyse_imbalance(["a"] * 160 + ["b"] * 100)
    assert skewed.resampling is not None and skewed.balanced_note is None
