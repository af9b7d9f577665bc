"""The probe: the plain probe still fits; out-of-sample probabilities are out of sample, seeded,
shaped to all classes, and survive small classes; the whitened projection."""

from __future__ import annotations

import numpy as np
import pytest

from service.analysis.probe import (
    auto_components,
    fit_probe,
    make_probe,
    out_of_sample_probabilities,
    whitened_projection,
)
from service.errors import InvalidInput


def blobs(per_class=(20, 20, 20), dims=12, seed=0, spread=6.0):
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(len(per_class), dims)) * spread
    labels = np.repeat(np.arange(len(per_class)), per_class)
    return means[labels] + rng.normal(size=(labels.size, dims)), labels


def test_plain_probe_fits():
    x, y = blobs()
    assert make_probe().get_params()["logisticregression__C"] == 0.1
    assert fit_probe(x, y).score(x, y) == 1.0


def test_probabilities_are_rows_over_all_classes():
    x, y = blobs()
    oos = out_of_sample_probabilities(x, y, n_classes=5)
    assert oos.probabilities.shape == (60, 5)
    assert oos.probabilities.sum(axis=1) == pytest.approx(np.ones(60))
    assert np.all(oos.probabilities[:, 3:] == 0.0)  # classes nobody carries
    assert np.mean(oos.probabilities.argmax(axis=1) == y) == 1.0
    assert oos.folds == 5


def test_an_item_is_predicted_without_its_own_label():
    # One item sits far out on its own; in-sample its (wrong) label would be fitted, out of
    # sample the probe has never seen that region labelled 2 and cannot predict 2 there.
    x, y = blobs(per_class=(30, 30, 30), seed=1)
    x = np.vstack([x, x[y == 0][:1] + 0.01])
    y = np.append(y, 2)
    oos = out_of_sample_probabilities(x, y, components=None)
    assert oos.probabilities[-1].argmax() == 0
    assert oos.probabilities[-1, 2] < 0.2


def test_seeded_and_deterministic():
    x, y = blobs(seed=2, spread=0.7)
    a = out_of_sample_probabilities(x, y, seed=3).probabilities
    b = out_of_sample_probabilities(x, y, seed=3).probabilities
    c = out_of_sample_probabilities(x, y, seed=4).probabilities
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_small_classes_do_not_crash():
    x, y = blobs(per_class=(20, 20, 1, 2))
    oos = out_of_sample_probabilities(x, y, folds=5)
    assert oos.folds == 5
    # the singleton never appears in its own training folds
    assert oos.probabilities[y == 2, 2] == pytest.approx([0.0])
    assert np.isfinite(oos.probabilities).all()


def test_folds_drop_to_the_largest_class():
    x, y = blobs(per_class=(3, 2, 3))
    assert out_of_sample_probabilities(x, y, folds=5).folds == 3


@pytest.mark.parametrize(
    ("per_class", "fragment"),
    [((1, 1, 1), "2 or more items"), ((6,), "at least 2 classes")],
)
def test_uncrossvalidatable_labels_are_rejected(per_class, fragment):
    x, y = blobs(per_class=per_class)
    with pytest.raises(InvalidInput, match=fragment):
        out_of_sample_probabilities(x, y)


def test_whitened_projection_has_unit_variance_columns():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 20))  # rank 6 in 20 dims
    z = whitened_projection(x, components=10)
    assert z.shape == (200, 6)  # the 14 empty directions are dropped
    assert z.std(axis=0, ddof=1) == pytest.approx(np.ones(6))
    assert np.abs(np.corrcoef(z.T) - np.eye(6)).max() < 1e-8
    assert whitened_projection(x[:4], components=10).shape == (4, 3)  # at most n - 1


def test_auto_components():
    assert auto_components(100) == 30
    assert auto_components(1797) == 127
    assert auto_components(50_000) == 128


def test_whitened_projection_is_scale_free():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(100, 8)).astype(np.float32)
    z = whitened_projection(x, components=4)
    for factor in (1e30, 1e-30):
        np.testing.assert_allclose(
            np.abs(whitened_projection(x * np.float32(factor), components=4)), np.abs(z), atol=1e-3
        )
