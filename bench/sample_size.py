"""Honesty check of the sample-size extrapolation: predict the full pool from its first half.

For each dataset and seed a learning curve is measured with the service's own code
(``measure_learning_curve``: held-out stratified evaluation split, subsets at 5/10/20/35/50 % of
the pool, 5 repeats, plus the full pool). Both curve families are fitted on the points up to 50 %
only (``fit_sample_size``, fit-only mode) and asked for the accuracy at the full pool's size, which
was measured too. Printed: the absolute error of the saturating inverse power law (the project's
fit), of the keras.io example's ``a * n**b`` (the baseline), and their ratio. Target: <= 2 points.

Datasets:
- ``digits``: scikit-learn's 1797 digits rendered to 224x224 RGB and embedded by the exported
  EfficientNet-Lite0 ONNX graph -- the graph Triton serves -- run in-process with ONNX Runtime and
  cached under ``.cache/`` (``bench._common.cached_digit_embeddings``).
- ``gaussian``: 4000 items, 10 classes, class means drawn N(0, 0.3^2) in 128 dims plus unit
  Gaussian noise (a linear probe saturates near 0.9 on it).

Then the measurement behind the curve's cost choice: the digits curve with the probe on 256
principal components vs on all 1280 dimensions (accuracy per point and wall time).

Run: ``.venv/bin/python -m bench.sample_size`` (about a minute on 2 cores).
"""

from __future__ import annotations

import time

import numpy as np

from bench._common import cached_digit_embeddings, machine_line
from service.analysis.learning_curve import LearningCurve, measure_learning_curve
from service.analysis.sample_size import Observation, fit_sample_size, predict_score

SEEDS = (0, 1, 2, 3, 4)
FIT_UP_TO = 0.5


def gaussian_classes(n: int = 4000, k: int = 10, d: int = 128, sep: float = 0.3, seed: int = 0):
    rng = np.random.default_rng(1000 + seed)
    means = rng.normal(0.0, sep, (k, d))
    labels = rng.integers(0, k, n)
    return means[labels] + rng.normal(0.0, 1.0, (n, d)), labels


def half_to_full_errors(curve: LearningCurve) -> dict[str, float]:
    """Signed error (predicted - measured) at the full pool, fitting points with fraction <= 50 %."""
    observed = [
        Observation(p.n, p.accuracy_scores) for p in curve.points if p.fraction <= FIT_UP_TO
    ]
    full = curve.points[-1]
    result = fit_sample_size(observed, bootstrap=0)
    errors = {
        f.model: float(predict_score(f, full.n)) - full.accuracy_mean
        for f in result.fits
        if f.converged
    }
    errors["chosen"] = errors[result.chosen_model]
    return errors


def run_dataset(name: str, load) -> dict[str, list[float]]:
    collected: dict[str, list[float]] = {"inverse_power_law": [], "power_law": [], "chosen": []}
    for seed in SEEDS:
        embeddings, labels = load(seed)
        started = time.perf_counter()
        curve = measure_learning_curve(embeddings, labels, seed=seed)
        elapsed = time.perf_counter() - started
        errors = half_to_full_errors(curve)
        for key in collected:
            collected[key].append(errors.get(key, np.nan))
        points = " ".join(f"{p.accuracy_mean:.3f}" for p in curve.points)
        print(
            f"  {name} seed {seed}: n_pool={curve.n_pool} n_eval={curve.n_eval} curve {elapsed:.1f}s "
            f"acc [{points}]  error at full pool: saturating {errors['inverse_power_law']:+.4f}, "
            f"keras {errors.get('power_law', float('nan')):+.4f}"
        )
    return collected


def summarise(name: str, collected: dict[str, list[float]]) -> None:
    ipl = np.abs(collected["inverse_power_law"])
    keras = np.abs(collected["power_law"])
    chosen = np.abs(collected["chosen"])
    print(
        f"{name}: mean |error| saturating inverse power law {ipl.mean() * 100:.2f} points "
        f"(max {ipl.max() * 100:.2f}); keras a*n**b {np.nanmean(keras) * 100:.2f} points "
        f"(max {np.nanmax(keras) * 100:.2f}); ratio keras/saturating "
        f"{np.nanmean(keras) / ipl.mean():.1f}x; auto-chosen model {chosen.mean() * 100:.2f} points; "
        f"target <= 2 points: {'met' if ipl.max() <= 0.02 else 'NOT met'} by the saturating fit"
    )


def projection_check() -> None:
    embeddings, labels = cached_digit_embeddings()
    rows = []
    for dims in (256, None):
        started = time.perf_counter()
        curve = measure_learning_curve(embeddings, labels, seed=0, max_dims=dims)
        rows.append(
            (curve.dims, time.perf_counter() - started, [p.accuracy_mean for p in curve.points])
        )
    for dims, elapsed, accs in rows:
        print(
            f"  probe on {dims:4d} dims: curve {elapsed:.1f}s, acc "
            + " ".join(f"{a:.3f}" for a in accs)
        )
    gap = np.max(np.abs(np.subtract(rows[0][2], rows[1][2])))
    print(
        f"projection: 256 PCs vs 1280 dims: largest accuracy difference {gap * 100:.2f} points; "
        f"time {rows[0][1]:.1f}s vs {rows[1][1]:.1f}s (ratio {rows[1][1] / rows[0][1]:.1f}x)"
    )


def main() -> None:
    print(
        "sample size: fit on subsets <= 50 % of the pool, predict the accuracy measured on the full pool"
    )
    print(
        "digits embeddings: EfficientNet-Lite0 ONNX graph (the one Triton serves), run in-process "
        "with ONNX Runtime, cached in .cache/"
    )
    digits = cached_digit_embeddings()
    summaries = {
        "digits (1797, 10 classes)": run_dataset("digits", lambda seed: digits),
        "gaussian (4000, 10 classes, 128-d)": run_dataset(
            "gaussian", lambda seed: gaussian_classes(seed=seed)
        ),
    }
    for name, collected in summaries.items():
        summarise(name, collected)
    projection_check()
    print(machine_line())


if __name__ == "__main__":
    main()
