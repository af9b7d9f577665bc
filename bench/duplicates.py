"""Scale benchmark of the near-duplicate search: all pairs with cosine >= 0.9 among N embeddings.

Data: synthetic L2-normalised 1280-d embeddings with the structure of real ones — a Gaussian
whose centred spectrum follows a power law ``lambda_k ~ k^-1.3`` in a random basis plus a common
mean direction holding 26 % of the energy (both measured on the encoder's embeddings of the
near-duplicate benchmark's photos) — and 1 % planted near-copies at cosine 0.92-0.99 (a copy
differs from its source by noise spread over every dimension, as a re-encode does).
``--isotropic`` swaps in plain isotropic Gaussian vectors, the worst case for any index.

Compared in the same run, at N = 10k, 50k, 100k:

- imagelint ``find_similar_pairs`` with its defaults: exact tiles up to 20k rows, the PCA-cell
  engine above (recall measured: every planted pair, and every true pair touching 2,000 sampled
  rows, found exactly by ``x[rows] @ x.T``);
- scikit-learn ``NearestNeighbors(radius=1 - t, metric="cosine", algorithm="brute")``
  ``radius_neighbors`` — run on all rows at 10k, on 2,000 query rows above and scaled to N
  (it is linear in the number of queries);
- the seed's full ``cosine_similarity`` N x N matrix thresholded — only where the matrix fits in
  2 GB (10k).

Wall time, peak traced memory beyond the embeddings (``tracemalloc``; numpy reports its buffers)
and ratios are printed. Run: ``.venv/bin/python -m bench.duplicates [--sizes 10000 50000]``.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from bench._common import machine_line

THRESHOLD = 0.9
DIM = 1280
SPECTRUM_ALPHA = 1.3
MEAN_SHARE = 0.26
PLANTED_FRACTION = 0.01
SAMPLED_ROWS = 2000
NXN_BUDGET_BYTES = 2 * 1024**3


def synthetic_embeddings(
    n: int, *, d: int = DIM, isotropic: bool = False, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit rows n x d, planted source rows, planted copy rows)."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, d), np.float32)
    if isotropic:
        for s in range(0, n, 8192):
            x[s : s + 8192] = rng.standard_normal((min(8192, n - s), d), dtype=np.float32)
    else:
        lam = np.arange(1, d + 1, dtype=np.float64) ** -SPECTRUM_ALPHA
        lam *= (1 - MEAN_SHARE) / lam.sum()
        basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
        scaled = (basis * np.sqrt(lam)).T.astype(np.float32)  # row k: sqrt(lam_k) * axis k
        mean = rng.standard_normal(d)
        mean *= np.sqrt(MEAN_SHARE) / np.linalg.norm(mean)
        for s in range(0, n, 8192):
            z = rng.standard_normal((min(8192, n - s), d), dtype=np.float32)
            x[s : s + len(z)] = z @ scaled + mean.astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    m = int(n * PLANTED_FRACTION)
    rows = rng.permutation(n)[: 2 * m]
    src, dst = rows[:m], rows[m:]
    noise = rng.standard_normal((m, d)).astype(np.float32)
    noise -= (noise * x[src]).sum(axis=1, keepdims=True) * x[src]  # orthogonal to the source
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    cos = rng.uniform(0.92, 0.99, m).astype(np.float32)[:, None]
    x[dst] = cos * x[src] + np.sqrt(1 - cos**2) * noise
    return x, src, dst


def measured(fn, *args, **kwargs):
    """(result, seconds, peak traced bytes) of one call."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    try:
        result = fn(*args, **kwargs)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, seconds, peak


def keys(first: np.ndarray, second: np.ndarray, n: int) -> np.ndarray:
    a, b = np.minimum(first, second), np.maximum(first, second)
    return np.unique(a.astype(np.int64) * n + b)


def sampled_truth(x: np.ndarray, rows: np.ndarray, threshold: float) -> np.ndarray:
    """Keys of every pair with cosine >= threshold that involves one of ``rows`` (exact)."""
    found = []
    for s in range(0, rows.size, 512):
        part = rows[s : s + 512]
        r, c = np.nonzero(x[part] @ x.T >= threshold)
        keep = part[r] != c
        found.append(keys(part[r][keep], c[keep], x.shape[0]))
    return np.unique(np.concatenate(found))


def sklearn_radius(x: np.ndarray, queries: np.ndarray, threshold: float) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(radius=1.0 - threshold, metric="cosine", algorithm="brute").fit(x)
    _, neighbours = nn.radius_neighbors(x[queries])
    first = np.concatenate([np.full(len(nb), q) for q, nb in zip(queries, neighbours, strict=True)])
    second = np.concatenate(neighbours)
    keep = first != second
    return keys(first[keep], second[keep], x.shape[0])


def full_matrix(x: np.ndarray, threshold: float) -> np.ndarray:
    from sklearn.metrics.pairwise import cosine_similarity

    sims = cosine_similarity(x)
    i, j = np.nonzero(np.triu(sims, 1) >= threshold)
    return keys(i, j, x.shape[0])


def run(n: int, isotropic: bool) -> None:
    from service.analysis.similarity_search import DEFAULT_EXACT_LIMIT, find_similar_pairs

    x, src, dst = synthetic_embeddings(n, isotropic=isotropic)
    print(f"\nN = {n:,} x {DIM} ({x.nbytes / 1e6:.0f} MB), threshold {THRESHOLD}, "
          f"{src.size:,} planted pairs")  # fmt: skip
    pairs, ours_s, ours_peak = measured(find_similar_pairs, x, threshold=THRESHOLD)
    found = keys(pairs.first, pairs.second, n)
    planted = keys(src, dst, n)
    print(f"  imagelint ({pairs.method}):   {ours_s:8.2f} s  peak {ours_peak / 1e6:7.0f} MB  "
          f"{found.size:,} pairs; planted found {np.isin(planted, found).mean():.4f}")  # fmt: skip
    rng = np.random.default_rng(1)
    if n <= DEFAULT_EXACT_LIMIT:
        truth = found  # the exact engine ran; checked against scikit-learn below
        queries = np.arange(n)
        forced, cells_s, cells_peak = measured(
            find_similar_pairs, x, threshold=THRESHOLD, exact_limit=0
        )
        got = keys(forced.first, forced.second, n)
        print(f"  imagelint (cells, forced): {cells_s:5.2f} s  peak {cells_peak / 1e6:7.0f} MB  "
              f"recall vs exact {np.isin(truth, got).mean():.4f}")  # fmt: skip
    else:
        queries = np.sort(rng.choice(n, SAMPLED_ROWS, replace=False))
        truth = sampled_truth(x, queries, THRESHOLD)
        touching = found[np.isin(found // n, queries) | np.isin(found % n, queries)]
        print(f"  recall vs exact on pairs touching {queries.size:,} sampled rows: "
              f"{np.isin(truth, touching).mean():.4f} ({truth.size} true pairs)")  # fmt: skip

    sk, sk_s, sk_peak = measured(sklearn_radius, x, queries, THRESHOLD)
    scale = n / queries.size
    label = "measured" if scale == 1 else f"{queries.size:,} queries x {scale:.0f}"
    sk_full = sk_s * scale
    touching = found[np.isin(found // n, queries) | np.isin(found % n, queries)]
    agree = np.array_equal(sk, touching) if scale == 1 else np.isin(sk, touching).mean()
    print(f"  sklearn radius brute:   {sk_full:8.2f} s  peak {sk_peak / 1e6:7.0f} MB  ({label}); "
          f"imagelint {sk_full / ours_s:.1f}x faster; "
          f"{'same pairs' if agree is True else f'agreement {float(agree):.4f}'}")  # fmt: skip
    if n * n * 4 <= NXN_BUDGET_BYTES:
        mat, mat_s, mat_peak = measured(full_matrix, x, THRESHOLD)
        print(f"  full N x N cosine:      {mat_s:8.2f} s  peak {mat_peak / 1e6:7.0f} MB  "
              f"imagelint {mat_s / ours_s:.1f}x faster, {mat_peak / max(ours_peak, 1):.1f}x less "
              f"memory; same pairs: {np.array_equal(mat, found)}")  # fmt: skip
    else:
        print(f"  full N x N cosine:      skipped (needs {n * n * 4 / 1e9:.0f} GB float32)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--isotropic", action="store_true", help="isotropic Gaussian vectors")
    args = parser.parse_args(argv)
    kind = "isotropic" if args.isotropic else "anisotropic (real-like spectrum)"
    print(f"near-duplicate search benchmark, {kind} synthetic embeddings")
    for n in args.sizes:
        run(n, args.isotropic)
    print(machine_line())


if __name__ == "__main__":
    main()
