"""find_outliers: k-NN distance scores by hand, the IQR fence, ranking, small inputs."""

from __future__ import annotations

import numpy as np
import pytest

from service.analysis.outliers import find_outliers, knn_distance_scores
from service.errors import InvalidInput


def test_scores_by_hand():
    # four unit vectors at angles 0, 0.1, 0.2 and pi/2 (radians) in a plane
    a = np.array([0.0, 0.1, 0.2, np.pi / 2])
    x = np.stack([np.cos(a), np.sin(a)], axis=1)
    scores, idx = knn_distance_scores(x, k=2)
    expected = [
        1 - (np.cos(0.1) + np.cos(0.2)) / 2,
        1 - np.cos(0.1),
        1 - (np.cos(0.1) + np.cos(0.2)) / 2,
        1 - (np.cos(np.pi / 2 - 0.2) + np.cos(np.pi / 2 - 0.1)) / 2,
    ]
    np.testing.assert_allclose(scores, expected, atol=1e-6)
    assert idx[3].tolist() == [2, 1]


def test_far_items_are_flagged_and_ranked_farthest_first():
    rng = np.random.default_rng(0)
    base = np.zeros(16)
    base[0] = 1.0
    x = base + rng.normal(scale=0.05, size=(60, 16))
    x[10] = np.eye(16)[5] + 0.3 * base  # far
    x[42] = np.eye(16)[9]  # farthest (orthogonal to the cluster)
    r = find_outliers(x, ids=[f"img{i}" for i in range(60)], k=5)
    assert [o.id for o in r.outliers] == ["img42", "img10"]
    assert [o.rank for o in r.outliers] == [1, 2]
    assert r.outliers[0].score > r.outliers[1].score > r.fence
    assert r.fence == pytest.approx(r.q3 + 3.0 * (r.q3 - r.q1))  # the outer fence by default
    assert r.q1 <= r.median <= r.q3 < r.fence
    assert len(r.outliers[0].nearest) == 3 and "img42" not in r.outliers[0].nearest


def test_a_tight_cluster_has_no_outliers_at_a_wide_fence():
    rng = np.random.default_rng(1)
    x = np.ones(8) + rng.normal(scale=0.01, size=(40, 8))
    r = find_outliers(x, k=5, iqr_factor=10.0)
    assert r.outliers == []


def test_k_is_lowered_for_small_datasets_and_tiny_ones_flag_nothing():
    x = np.eye(5) + 0.01
    assert find_outliers(x, k=10).k == 4
    r = find_outliers(np.eye(3), k=2)
    assert r.outliers == [] and r.k == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"k": 0}, "k"), ({"iqr_factor": -1.0}, "iqr_factor"), ({"ids": ["a"]}, "ids")],
)
def test_invalid_options(kwargs, field):
    with pytest.raises(InvalidInput) as err:
        find_outliers(np.eye(6), **kwargs)
    assert err.value.field == field


def test_nan_embeddings_are_rejected():
    x = np.eye(6)
    x[1, 1] = np.nan
    with pytest.raises(InvalidInput, match="NaN"):
        find_outliers(x)
