"""Learning curves from probes on small synthetic embeddings: stratified nested subsets, the full
pool last, seeded results, the too-few-items error with its count, and BLAS limits restored."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from service.analysis.learning_curve import (
    DEFAULT_FRACTIONS,
    default_fractions,
    items_needed,
    measure_learning_curve,
    single_threaded_blas,
)
from service.analysis.sample_size import estimate_sample_size
from service.errors import InvalidInput


def gaussian_classes(n=600, k=3, d=16, sep=0.6, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, sep, (k, d))
    labels = np.repeat(np.arange(k), n // k)
    return means[labels] + rng.normal(0.0, 1.0, (len(labels), d)), labels


@pytest.fixture(scope="module")
def data():
    return gaussian_classes()


def test_curve_shape_stratification_and_full_pool(data):
    x, y = data
    curve = measure_learning_curve(x, y, fractions=(0.1, 0.3, 0.6), repeats=3, seed=0)
    assert curve.classes == ["0", "1", "2"]
    assert curve.n_eval == 3 * 40  # round(0.2 * 200) per class
    assert curve.n_pool == 600 - 120
    assert curve.dims == 16  # fewer dims than max_dims: no projection
    assert [p.fraction for p in curve.points] == [0.1, 0.3, 0.6, 1.0]
    assert [p.repeats for p in curve.points] == [3, 3, 3, 1]
    # 160 pool items per class: round(f * 160) of each class in every subset.
    assert [p.class_n for p in curve.points] == [[16.0] * 3, [48.0] * 3, [96.0] * 3, [160.0] * 3]
    assert [p.n for p in curve.points] == [48.0, 144.0, 288.0, 480.0]
    full = curve.points[-1]
    assert full.accuracy_std == 0.0 and len(full.accuracy_scores) == 1
    # More data helps on this easy problem: the full pool beats the smallest subset.
    assert full.accuracy_mean > curve.points[0].accuracy_mean
    for p in curve.points:
        assert p.accuracy_mean == pytest.approx(np.mean(p.accuracy_scores))
        assert 0.0 <= p.macro_f1_mean <= 1.0
        # Balanced evaluation split: accuracy is the mean of the per-class recalls.
        assert p.accuracy_mean == pytest.approx(np.mean(p.class_recall_mean))


def test_curve_is_seeded(data):
    x, y = data
    one = measure_learning_curve(x, y, fractions=(0.1, 0.5), repeats=2, seed=7)
    two = measure_learning_curve(x, y, fractions=(0.1, 0.5), repeats=2, seed=7)
    other = measure_learning_curve(x, y, fractions=(0.1, 0.5), repeats=2, seed=8)
    assert one == two
    assert one != other


def test_repeats_fitted_on_several_threads_give_the_sequential_curve(data, monkeypatch):
    # the repeats' subsets are drawn in order before any fit, so the thread count changes
    # nothing: every score of every repeat is the one the sequential curve measures
    import service.analysis.learning_curve as learning_curve
    import service.analysis.threads as threads

    x, y = data
    x = np.hstack([x, x[:, :4] * 0.5 + 0.1])  # 20 dims, projected to 8: the PCA path too
    monkeypatch.setattr(learning_curve, "MAX_CURVE_THREADS", 1)
    sequential = measure_learning_curve(x, y, repeats=4, seed=3, max_dims=8)
    monkeypatch.setattr(learning_curve, "MAX_CURVE_THREADS", 4)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 4)
    threaded = measure_learning_curve(x, y, repeats=4, seed=3, max_dims=8)
    assert threaded == sequential
    assert sequential.dims == 8 and [p.repeats for p in sequential.points] == [4] * 5 + [1]


def test_projection_keeps_max_dims_components():
    x, y = gaussian_classes(n=600, d=40)
    curve = measure_learning_curve(x, y, fractions=(0.2, 0.5), repeats=1, max_dims=8)
    assert curve.dims == 8


def test_too_few_items_for_given_fractions_says_how_many_are_needed():
    # 10 classes, smallest fraction 5 %, 20 % held out: 2 * 10 / 0.05 / 0.8 = 500 items.
    assert items_needed(10, 0.05, 0.2) == 500
    x, y = gaussian_classes(n=300, k=10)
    with pytest.raises(InvalidInput, match="at least 500 items are needed") as info:
        measure_learning_curve(x, y, fractions=DEFAULT_FRACTIONS)
    assert info.value.field == "labels"
    with pytest.raises(InvalidInput, match="at least 500 items"):
        estimate_sample_size(x, y, fractions=DEFAULT_FRACTIONS, target_accuracy=0.9)


def test_default_fractions_keep_the_default_on_large_datasets_and_adapt_below():
    assert default_fractions(500, 10) == default_fractions(100_000, 10) == DEFAULT_FRACTIONS
    # 368 items, 10 classes: 2 * 10 / (368 * 0.8) = 0.068 -> 7 %, then geometric to 50 %
    assert default_fractions(368, 10) == (0.07, 0.11, 0.19, 0.31, 0.5)
    assert items_needed(10, 0.07, 0.2) <= 368 < items_needed(10, 0.06, 0.2)
    assert default_fractions(499, 10)[0] == 0.06  # just below the default's 500
    # the smallest share is capped at 20 %: 125 items for 10 classes is the least that works
    assert default_fractions(125, 10)[0] == default_fractions(60, 10)[0] == 0.2
    assert items_needed(10, 0.2, 0.2) == 125
    for n in (30, 125, 200, 368, 499):
        fractions = default_fractions(n, 10)
        assert len(set(fractions)) == 5 and fractions == tuple(sorted(fractions))


def test_a_few_hundred_items_get_a_curve_and_an_estimate_by_default():
    """The demo's shape (368 items, 10 classes, one of 4 items) was not_applicable with the
    default fractions; now it is measured, from a smallest subset of about 2 items per class."""
    x, y = gaussian_classes(n=420, k=10, sep=0.8)
    keep = np.r_[np.flatnonzero(y != 9)[:364], np.flatnonzero(y == 9)[:4]]
    x, y = x[keep], y[keep]
    result = estimate_sample_size(x, y, target_accuracy=0.9, bootstrap=20)
    curve = result.curve
    assert curve is not None and curve.n_items == 368
    assert [p.fraction for p in curve.points] == [0.07, 0.11, 0.19, 0.31, 0.5, 1.0]
    smallest = curve.points[0]  # about 2 per class, at least one of every class
    assert smallest.n == pytest.approx(2 * 10, abs=2) and min(smallest.class_n) >= 1
    assert len({p.n for p in curve.points}) == 6
    assert result.mode == "learning_curve" and result.target is not None


def test_too_few_items_for_the_default_says_how_many_are_needed():
    x, y = gaussian_classes(n=120, k=10)
    with pytest.raises(InvalidInput, match="at least 125 items are needed") as info:
        estimate_sample_size(x, y, target_accuracy=0.9)
    assert info.value.field == "labels"


@pytest.mark.parametrize(
    ("labels", "kwargs", "message", "field"),
    [
        (np.zeros(600, int), {}, "at least 2 classes", "labels"),
        (np.r_[np.zeros(599, int), 1], {}, "at least 2 items", "labels"),
        (None, {"fractions": (0.5,)}, "at least 2 fractions", "fractions"),
        (None, {"fractions": (0.1, 1.0)}, "lie in \\(0, 1\\)", "fractions"),
        (None, {"repeats": 0}, "positive integer", "repeats"),
    ],
)
def test_curve_errors(data, labels, kwargs, message, field):
    x, y = data
    with pytest.raises(InvalidInput, match=message) as info:
        measure_learning_curve(x, y if labels is None else labels, **kwargs)
    assert info.value.field == field


def test_embeddings_must_match_and_be_finite(data):
    x, y = data
    with pytest.raises(InvalidInput, match="must match"):
        measure_learning_curve(x[:10], y)
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(InvalidInput, match="NaN"):
        measure_learning_curve(bad, y)


def test_estimate_sample_size_end_to_end(data):
    x, y = data
    result = estimate_sample_size(
        x, y, fractions=(0.1, 0.2, 0.35, 0.5), repeats=3, target_accuracy=0.5, bootstrap=20
    )
    assert result.mode == "learning_curve"
    assert result.n_current == result.curve.n_pool == 480
    assert len(result.points) == 5
    assert result.chosen_model in ("inverse_power_law", "power_law")
    assert result.target.target == 0.5
    assert [c.label for c in result.classes] == ["0", "1", "2"]
    assert all(c.n_current == 160.0 for c in result.classes)
    assert all(c.target_recall == 0.5 for c in result.classes)


def test_single_threaded_blas_restores_the_limits():
    def blas_threads():
        return sorted(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    before = blas_threads()
    with single_threaded_blas():
        with single_threaded_blas():
            assert set(blas_threads()) == {1}
        assert set(blas_threads()) == {1}  # still held by the outer caller
    assert blas_threads() == before


def test_the_datasets_own_test_split_is_the_evaluation_set(data):
    from service.analysis.learning_curve import run_learning_curve

    x, y = data
    mask = np.zeros(len(y), bool)
    mask[::4] = True  # every 4th item is "test"
    run = run_learning_curve(x, y, fractions=(0.2, 0.5), repeats=2, eval_mask=mask, seed=0)
    assert run.curve.n_eval == mask.sum() and run.curve.n_pool == (~mask).sum()
    np.testing.assert_array_equal(run.eval_labels, y[mask])
    with pytest.raises(InvalidInput, match="no training item"):
        run_learning_curve(x, y, fractions=(0.2, 0.5), eval_mask=(y == 0), seed=0)
    result = estimate_sample_size(x, y, fractions=(0.2, 0.5), repeats=2, eval_mask=mask)
    assert result.curve.n_eval == mask.sum()


def test_the_report_uses_the_test_split_only_when_every_class_is_on_both_sides():
    from service.report.check_runners import evaluation_split_mask

    splits = ["train", "train", "test", "test", "train", "val"]
    labels = ["a", "b", "a", "b", "a", "b"]
    assert evaluation_split_mask(splits, labels).tolist() == [False, False, True, True, False, True]
    # class c has no evaluation item: its recall could not be measured -> own holdout
    assert evaluation_split_mask(splits + ["train"], labels + ["c"]) is None
    assert evaluation_split_mask(["train"] * 6, labels) is None
