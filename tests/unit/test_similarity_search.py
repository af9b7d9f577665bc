"""Similarity search: exact tiled engine, the cell (IVF) engine against it, k nearest neighbours,
and input validation."""

from __future__ import annotations

import numpy as np
import pytest

from service.analysis import similarity_search as ss
from service.analysis.similarity_search import find_similar_pairs, nearest_neighbours, unit_rows
from service.errors import InvalidInput


def on_circle(angles: np.ndarray, dims: int = 16) -> np.ndarray:
    """Unit vectors in the first two coordinates: cos(a_i - a_j) is their cosine."""
    x = np.zeros((len(angles), dims), np.float32)
    x[:, 0], x[:, 1] = np.cos(angles), np.sin(angles)
    return x


def anisotropic(n: int, d: int = 64, planted: int = 40, seed: int = 0):
    """Rows with a power-law spectrum and a common offset (mean cosine ~0.56, as real
    embeddings have) plus ``planted`` near-copies at cosine 0.93..0.99."""
    rng = np.random.default_rng(seed)
    scale = np.arange(1, d + 1) ** -0.5
    x = (rng.standard_normal((n, d)) * scale + 0.3 * scale[0]).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    src, dst = rng.choice(n, planted, replace=False), rng.choice(n, planted, replace=False)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    noise = rng.standard_normal((src.size, d)).astype(np.float32)
    noise -= (noise * x[src]).sum(1, keepdims=True) * x[src]
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    c = rng.uniform(0.93, 0.99, src.size).astype(np.float32)[:, None]
    x[dst] = c * x[src] + np.sqrt(1 - c**2) * noise
    return x, src, dst


def brute_pairs(x: np.ndarray, t: float) -> set[tuple[int, int]]:
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    i, j = np.nonzero(np.triu(x @ x.T, 1) >= t)
    return set(zip(i.tolist(), j.tolist(), strict=True))


def as_set(pairs) -> set[tuple[int, int]]:
    return set(zip(pairs.first.tolist(), pairs.second.tolist(), strict=True))


def test_pairs_just_above_and_below_the_threshold():
    # angle for cosine 0.9 is 0.451 rad; 0.4 rad -> cos 0.921 (in), 0.5 rad -> cos 0.878 (out)
    x = on_circle(np.array([0.0, 0.4, 1.5, 2.0]))
    pairs = find_similar_pairs(x, threshold=0.9)
    assert as_set(pairs) == {(0, 1)}
    assert pairs.method == "exact"
    assert pairs.similarity[0] == pytest.approx(np.cos(0.4), abs=1e-6)


def test_threshold_boundary_is_inclusive():
    x = on_circle(np.array([0.0, 0.3]))
    s = float(unit_rows(x)[0] @ unit_rows(x)[1])
    assert as_set(find_similar_pairs(x, threshold=s)) == {(0, 1)}
    assert as_set(find_similar_pairs(x, threshold=s + 1e-5)) == set()


def test_rows_are_normalised_before_comparing():
    x = on_circle(np.array([0.0, 0.2])) * np.array([[3.0], [0.01]], np.float32)
    pairs = find_similar_pairs(x, threshold=0.95)
    assert pairs.similarity[0] == pytest.approx(np.cos(0.2), abs=1e-6)


def test_exact_engine_across_tile_boundaries(monkeypatch):
    monkeypatch.setattr(ss, "TILE_ROWS", 7)  # many tiles, pairs straddling them
    x, _, _ = anisotropic(60, planted=12, seed=3)
    assert as_set(find_similar_pairs(x, threshold=0.9)) == brute_pairs(x, 0.9)


def test_cell_engine_finds_planted_pairs_and_only_true_pairs():
    x, src, dst = anisotropic(3000, seed=1)
    exact = find_similar_pairs(x, threshold=0.9)
    cells = find_similar_pairs(x, threshold=0.9, exact_limit=100)
    assert cells.method == "cells"
    planted = {(min(a, b), max(a, b)) for a, b in zip(src.tolist(), dst.tolist(), strict=True)}
    assert planted <= as_set(exact)
    # pairs found are exact (no false pair); recall on this anisotropic set is complete
    assert as_set(cells) <= as_set(exact)
    assert as_set(cells) == as_set(exact)
    order = {
        p: s
        for p, s in zip(zip(exact.first, exact.second, strict=True), exact.similarity, strict=True)
    }
    for p, s in zip(zip(cells.first, cells.second, strict=True), cells.similarity, strict=True):
        assert s == pytest.approx(order[p], abs=1e-5)


def test_cell_engine_is_deterministic_for_a_seed():
    x, _, _ = anisotropic(2000, seed=2)
    a = find_similar_pairs(x, threshold=0.9, exact_limit=100, seed=5)
    b = find_similar_pairs(x, threshold=0.9, exact_limit=100, seed=5)
    assert np.array_equal(a.first, b.first) and np.array_equal(a.second, b.second)


def test_pairs_are_sorted_and_ordered():
    x = on_circle(np.array([0.0, 0.05, 0.1, 3.0, 3.05]))
    pairs = find_similar_pairs(x, threshold=0.99)
    assert (pairs.first < pairs.second).all()
    assert list(zip(pairs.first, pairs.second, strict=True)) == [(0, 1), (0, 2), (1, 2), (3, 4)]


def test_too_many_pairs_is_a_clear_error():
    x = np.ones((50, 4), np.float32)
    with pytest.raises(InvalidInput) as err:
        find_similar_pairs(x, threshold=0.5, max_pairs=100)
    assert err.value.field == "threshold"


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (np.array([[1.0, np.nan], [1.0, 0.0]]), "NaN or infinite values in 1 row"),
        (np.array([[1.0, 0.0], [np.inf, 0.0]]), "first at row 1"),
        (np.array([[1.0, 0.0], [0.0, 0.0]]), "all-zero row"),
        (np.ones(3), "must be 2-D"),
        (np.ones((3, 0)), "at least one dimension"),
    ],
)
def test_invalid_rows(x, text):
    with pytest.raises(InvalidInput) as err:
        find_similar_pairs(x, threshold=0.9)
    assert text in err.value.detail
    assert err.value.field == "embeddings"


@pytest.mark.parametrize("threshold", [1.5, -2.0, float("nan")])
def test_invalid_threshold(threshold):
    with pytest.raises(InvalidInput) as err:
        find_similar_pairs(np.eye(3), threshold=threshold)
    assert err.value.field == "threshold"


def test_exact_nearest_neighbours_match_brute_force():
    x, _, _ = anisotropic(300, seed=4)
    idx, sims = nearest_neighbours(x, k=5)
    g = x @ x.T
    np.fill_diagonal(g, -np.inf)
    ref = -np.sort(-g, axis=1)[:, :5]
    np.testing.assert_allclose(sims, ref, atol=1e-5)
    assert (idx != np.arange(300)[:, None]).all()
    np.testing.assert_allclose(np.take_along_axis(g, idx, axis=1), sims, atol=1e-5)


def test_cell_nearest_neighbours_are_real_and_close_to_exact():
    x, _, _ = anisotropic(3000, seed=5)
    idx, sims = nearest_neighbours(x, k=5, exact_limit=100)
    _, exact = nearest_neighbours(x, k=5)
    assert (idx >= 0).all() and (idx != np.arange(3000)[:, None]).all()
    found = (x[np.arange(3000)[:, None], :] * x[idx]).sum(-1)
    np.testing.assert_allclose(found, sims, atol=1e-5)  # reported cosines are true ones
    assert (sims <= exact + 1e-5).all()  # never better than the exact neighbours
    assert np.abs(sims.mean(1) - exact.mean(1)).mean() < 0.01
    assert (np.diff(sims, axis=1) <= 1e-7).all()  # sorted, most similar first


def test_nearest_neighbours_k_must_be_below_n():
    with pytest.raises(InvalidInput) as err:
        nearest_neighbours(np.eye(3), k=3)
    assert err.value.field == "k"
