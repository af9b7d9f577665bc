"""Sample size: fit a learning curve and extrapolate how many images a target accuracy needs.

Two curve families are fitted to the mean score per training-set size ``n`` by weighted least
squares (``scipy.optimize.curve_fit``, ``sigma`` from the spread of the repeats):

- ``inverse_power_law``: ``acc(n) = a - b * n**(-c)`` with ``0 <= a <= 1``, ``b >= 0``, ``c > 0``.
  It saturates at the asymptote ``a``, the best accuracy this model can reach with unlimited data
  (Cortes et al. 1994; Hestness et al. 2017; Figueroa et al. 2012).
- ``power_law``: ``acc(n) = a * n**b``, the keras.io sample-size example's form (Verster 2021).
  It never saturates and passes 1 at some finite ``n``; it is fitted for comparison.

Rule for ``model="auto"`` (documented in ``choose_model``): the inverse power law, unless its fit
failed, or fewer than 4 distinct sizes leave it no residual degree of freedom, or it fits worse
(weighted residual sum of squares) than the 2-parameter power law despite its extra parameter.

Weights: ``sigma_i = sqrt(std_i**2 / r_i + floor**2)``, the standard error of the mean of ``r_i``
repeats with a floor (default 0.005, half an accuracy point) so that a point measured once (the full
pool) or with identical repeats is not given infinite weight.

Confidence interval for the images needed: a percentile bootstrap. Each replicate resamples the
evaluation items (when per-item results are known) and the repeats of every point, refits the
chosen model and solves for the target; a point with a single score and no per-item results is
perturbed by its residual with a random sign (wild bootstrap, Wu 1986).

References
----------
.. [1] Balki et al., "Sample-Size Determination Methodologies for Machine Learning in Medical
   Imaging Research: A Systematic Review", Can. Assoc. Radiol. J. 70(4), 2019.
.. [2] J. Verster, "Estimating required sample size for model training", keras.io, 2021.
.. [3] C. Cortes et al., "Learning curves: asymptotic values and rate of convergence", NIPS 1994.
.. [4] J. Hestness et al., "Deep Learning Scaling is Predictable, Empirically", arXiv:1712.00409.
.. [5] R. L. Figueroa et al., "Predicting sample size required for classification performance",
   BMC Med. Inform. Decis. Mak. 12:8, 2012.
.. [6] C. F. J. Wu, "Jackknife, bootstrap and other resampling methods in regression analysis",
   Ann. Statist. 14(4), 1986.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import msgspec
import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

from service.analysis.learning_curve import (
    DEFAULT_EVAL_FRACTION,
    DEFAULT_MAX_DIMS,
    DEFAULT_REPEATS,
    CurveRun,
    LearningCurve,
    run_learning_curve,
)
from service.analysis.validation import (
    Bootstrap,
    Confidence,
    SampleSizeModel,
    check_choice,
    check_option,
)
from service.errors import InvalidInput

DEFAULT_SIGMA_FLOOR = 0.005
DEFAULT_BOOTSTRAP = 200
DEFAULT_CONFIDENCE = 0.95
PREDICTION_MULTIPLES: tuple[float, ...] = (2.0, 5.0, 10.0)
MIN_DISTINCT_SIZES = 3
IPL_MIN_DISTINCT_SIZES = 4  # 3 parameters + 1 residual degree of freedom


# --- schemas ---------------------------------------------------------------------------------


class Observation(msgspec.Struct):
    """A caller's own measurement: scores (e.g. accuracies in [0, 1]) of runs trained on ``n``."""

    n: float
    scores: list[float]


class FitPoint(msgspec.Struct):
    """One fitted point: mean score at size ``n``, its spread and the weight's sigma."""

    n: float
    mean: float
    std: float
    count: int
    sigma: float


class CurveFit(msgspec.Struct, omit_defaults=True):
    """One fitted family. ``c`` and ``asymptote`` only for the inverse power law."""

    model: str
    formula: str
    converged: bool
    a: float | None = None
    b: float | None = None
    c: float | None = None
    asymptote: float | None = None
    weighted_rss: float | None = None
    rmse: float | None = None
    residuals: list[float] | None = None  # observed mean - fitted, per point
    message: str | None = None


class Prediction(msgspec.Struct):
    """Predicted score at ``multiple`` x the current size (clipped to [0, 1]); ``low``/``high``:
    the range of the converged families' predictions."""

    multiple: float
    n: float
    score: float
    by_model: dict[str, float]
    low: float | None = None
    high: float | None = None


class TargetEstimate(msgspec.Struct, omit_defaults=True):
    """Images (training-set size) needed to reach ``target``, with a bootstrap interval."""

    target: float
    reachable: bool
    confidence: float
    n_needed: float | None = None
    additional_needed: float | None = None  # max(0, n_needed - n_current)
    ci_low: float | None = None
    ci_high: float | None = None  # None: not reachable in the upper tail of the bootstrap
    unreachable_share: float | None = None  # bootstrap replicates where the target is unreachable
    bootstrap_replicates: int | None = None
    asymptote: float | None = None
    note: str | None = None


class ClassEstimate(msgspec.Struct, omit_defaults=True):
    """Per class: recall now, its fitted curve over the class's training items, items needed."""

    label: str
    n_current: float
    recall: float
    model: str
    asymptote: float | None = None
    target_recall: float | None = None
    reachable: bool | None = None
    n_needed: float | None = None
    additional_needed: float | None = None
    note: str | None = None


class SampleSizeResult(msgspec.Struct, omit_defaults=True):
    """Fits, the chosen model and its extrapolations."""

    mode: Literal["learning_curve", "observations"]
    n_current: float
    chosen_model: str
    choice_reason: str
    points: list[FitPoint]
    fits: list[CurveFit]
    predictions: list[Prediction]
    target: TargetEstimate | None = None
    classes: list[ClassEstimate] | None = None
    curve: LearningCurve | None = None


# --- the two families ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fitted:
    """Parameters in scaled units ``x = n / n_ref`` (well conditioned for the optimiser)."""

    model: str
    params: tuple[float, ...]
    n_ref: float

    def predict(self, n: np.ndarray | float) -> np.ndarray:
        return FAMILIES[self.model].function(np.asarray(n, dtype=float) / self.n_ref, *self.params)

    def n_for(self, target: float) -> float:
        """Smallest ``n`` with predicted score >= target; ``inf`` when never reached."""
        x = FAMILIES[self.model].solve(target, *self.params)
        return float(x * self.n_ref)


IPL_MIN_EXPONENT, IPL_MAX_EXPONENT = 1e-3, 10.0


def _ipl(x: np.ndarray, a: float, g: float, c: float) -> np.ndarray:
    # Inverse power law (Cortes et al. 1994; Figueroa et al. 2012): a - b n^-c, g = b n_ref^-c.
    return a - g * np.power(x, -c)


def _ipl_solve(target: float, a: float, g: float, c: float) -> float:
    # a - g x^-c = T  <=>  x = (g / (a - T))^(1/c); unreachable when T >= a (the asymptote).
    if target >= a:
        return np.inf
    if g <= 0.0:
        return 0.0
    return _root_or_inf(g / (a - target), 1.0 / c)


def _power(x: np.ndarray, a: float, b: float) -> np.ndarray:
    # Power law of the keras.io example (Verster 2021): a n^b, a' = a n_ref^b.
    return a * np.power(x, b)


def _power_solve(target: float, a: float, b: float) -> float:
    # a x^b = T  <=>  x = (T / a)^(1/b); a non-increasing curve never reaches a higher target.
    if a <= 0.0 or b <= 0.0:
        return np.inf
    return _root_or_inf(target / a, 1.0 / b)


def _root_or_inf(base: float, exponent: float) -> float:
    # base ** exponent, or inf when it overflows a float (a nearly flat curve: the target lies
    # astronomically far away, i.e. it is unreachable in practice).
    try:
        return float(base**exponent)
    except OverflowError:
        return np.inf


@dataclass(frozen=True)
class _Family:
    function: Callable[..., np.ndarray]
    solve: Callable[..., float]
    formula: str


FAMILIES: dict[str, _Family] = {
    "inverse_power_law": _Family(_ipl, _ipl_solve, "a - b * n**(-c)"),
    "power_law": _Family(_power, _power_solve, "a * n**b"),
}


def _fit_ipl(
    n: np.ndarray, y: np.ndarray, sigma: np.ndarray, start: tuple[float, ...] | None = None
) -> _Fitted:
    n_ref = float(n.max())
    x = n / n_ref
    y_top = float(y[np.argmax(n)])
    spread = float(max(y.max() - y.min(), 1e-3))
    starts = (
        [start]
        if start
        else [
            (min(1.0, max(y_top, float(y.max())) + frac * spread), None, c0)
            for frac in (0.25, 1.0)
            for c0 in (0.3, 0.7, 1.5)
        ]
    )
    best: tuple[float, tuple[float, ...]] | None = None
    last_error: Exception | None = None
    for a0, g0, c0 in starts:
        g0 = g0 if g0 is not None else max(a0 - y_top, 1e-4)
        try:
            params, _ = curve_fit(
                _ipl,
                x,
                y,
                p0=(a0, g0, c0),
                sigma=sigma,
                absolute_sigma=True,
                bounds=((0.0, 0.0, IPL_MIN_EXPONENT), (1.0, np.inf, IPL_MAX_EXPONENT)),
                method="trf",
                max_nfev=2000,
            )
        except (RuntimeError, ValueError) as exc:
            last_error = exc
            continue
        wrss = float(np.sum(((y - _ipl(x, *params)) / sigma) ** 2))
        if best is None or wrss < best[0]:
            best = (wrss, tuple(float(p) for p in params))
    if best is None:
        raise RuntimeError(f"inverse power law did not converge: {last_error}")
    return _Fitted("inverse_power_law", best[1], n_ref)


def _fit_power(
    n: np.ndarray, y: np.ndarray, sigma: np.ndarray, start: tuple[float, ...] | None = None
) -> _Fitted:
    n_ref = float(n.max())
    x = n / n_ref
    if start is None:
        positive = y > 0
        if positive.sum() >= 2:
            slope, intercept = np.polyfit(np.log(x[positive]), np.log(y[positive]), 1)
            start = (float(np.exp(intercept)), float(slope))
        else:
            start = (float(max(y.mean(), 1e-3)), 0.1)
    params, _ = curve_fit(_power, x, y, p0=start, sigma=sigma, absolute_sigma=True, maxfev=5000)
    return _Fitted("power_law", tuple(float(p) for p in params), n_ref)


_FITTERS: dict[str, Callable[..., _Fitted]] = {
    "inverse_power_law": _fit_ipl,
    "power_law": _fit_power,
}


def _fit_family(model: str, n: np.ndarray, y: np.ndarray, sigma: np.ndarray, start=None) -> _Fitted:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        fitted = _FITTERS[model](n, y, sigma, start)
    if not np.all(np.isfinite(fitted.params)):
        raise RuntimeError(f"{model} fit produced non-finite parameters")
    return fitted


def _describe(
    fitted: _Fitted | None, model: str, n, y, sigma, error: str | None = None
) -> CurveFit:
    family = FAMILIES[model]
    if fitted is None:
        return CurveFit(model=model, formula=family.formula, converged=False, message=error)
    resid = y - fitted.predict(n)
    if model == "inverse_power_law":
        a, g, c = fitted.params
        # back to raw units: b = g * n_ref^c
        a_raw, b_raw, c_raw, asym = a, g * fitted.n_ref**c, c, a
    else:
        a, b = fitted.params
        a_raw, b_raw, c_raw, asym = a * fitted.n_ref ** (-b), b, None, None
    return CurveFit(
        model=model,
        formula=family.formula,
        converged=True,
        a=float(a_raw),
        b=float(b_raw),
        c=None if c_raw is None else float(c_raw),
        asymptote=None if asym is None else float(asym),
        weighted_rss=float(np.sum((resid / sigma) ** 2)),
        rmse=float(np.sqrt(np.mean(resid**2))),
        residuals=[float(r) for r in resid],
    )


def predict_score(fit: CurveFit, n: float | np.ndarray) -> np.ndarray:
    """Evaluate a reported fit at training-set size(s) ``n`` (unclipped)."""
    if not fit.converged or fit.a is None or fit.b is None:
        raise InvalidInput(
            f"the {fit.model} fit did not converge; it predicts nothing", field="fit"
        )
    n = np.asarray(n, dtype=float)
    if fit.model == "inverse_power_law":
        if fit.c is None:
            raise InvalidInput("an inverse power law fit needs its exponent c", field="fit")
        return fit.a - fit.b * np.power(n, -fit.c)
    return fit.a * np.power(n, fit.b)


def choose_model(fits: Mapping[str, CurveFit], distinct_sizes: int) -> tuple[str, str]:
    """The ``auto`` rule: (model, reason).

    The saturating inverse power law is kept whenever it converged on at least 4 distinct sizes:
    accuracy is bounded by 1 and learning curves saturate, so the unbounded power law is never
    chosen because the saturating fit is worse on the observed points or sits at a bound of its
    parameters — round 1 did that on Fashion-MNIST and overshot the measured accuracy at 60k by
    4.2 points. Such a fit is kept, the reason says so, and the predictions carry the range of
    both families. The power law is chosen only when the saturating fit failed or has no
    residual degree of freedom.
    """
    ipl, power = fits["inverse_power_law"], fits["power_law"]
    if not ipl.converged:
        if not power.converged:
            raise InvalidInput(
                "neither curve family could be fitted to these points", field="observations"
            )
        return "power_law", "the inverse power law fit did not converge"
    if distinct_sizes < IPL_MIN_DISTINCT_SIZES:
        if power.converged:
            return "power_law", (
                f"{distinct_sizes} distinct sizes leave the 3-parameter inverse power law no residual "
                "degree of freedom"
            )
        return (
            "inverse_power_law",
            "only the inverse power law converged (it interpolates 3 points)",
        )
    reason = "saturating fit: accuracy is bounded and learning curves saturate"
    if at_bound(ipl):
        reason += (
            "; the fit reached a bound of its parameters (asymptote at 1 or an extreme exponent): "
            "predictions beyond the data are uncertain — see each prediction's low/high"
        )
    rss_power, rss_ipl = power.weighted_rss, ipl.weighted_rss
    if power.converged and rss_power is not None and rss_ipl is not None and rss_power < rss_ipl:
        reason += (
            "; the unbounded power law fits the observed points better and is shown for reference"
        )
    return "inverse_power_law", reason


def at_bound(fit: CurveFit) -> bool:
    """Whether an inverse-power-law fit sits at a bound of ``_fit_ipl``'s box."""
    if fit.model != "inverse_power_law" or not fit.converged:
        return False
    a, c = fit.a or 0.0, fit.c or 0.0
    return (
        a >= 1.0 - 1e-6 or c >= IPL_MAX_EXPONENT * (1 - 1e-6) or c <= IPL_MIN_EXPONENT * (1 + 1e-6)
    )


# --- points and bootstrap --------------------------------------------------------------------


@dataclass(frozen=True)
class _Points:
    n: np.ndarray
    scores: list[np.ndarray]  # per point, the repeat scores
    sigma_floor: float

    def summary(
        self, scores: list[np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        scores = self.scores if scores is None else scores
        mean = np.array([s.mean() for s in scores])
        std = np.array([s.std(ddof=1) if len(s) > 1 else 0.0 for s in scores])
        counts = np.array([len(s) for s in scores])
        # Standard error of the mean of r repeats, with a floor (module docstring).
        sigma = np.sqrt(std**2 / counts + self.sigma_floor**2)
        return mean, std, sigma

    def fit_points(self) -> list[FitPoint]:
        mean, std, sigma = self.summary()
        return [
            FitPoint(n=float(n), mean=float(m), std=float(s), count=len(sc), sigma=float(sg))
            for n, m, s, sc, sg in zip(self.n, mean, std, self.scores, sigma, strict=True)
        ]


def _fit_both(
    points: _Points, model: str
) -> tuple[dict[str, CurveFit], dict[str, _Fitted], str, str]:
    mean, _, sigma = points.summary()
    fits: dict[str, CurveFit] = {}
    fitted: dict[str, _Fitted] = {}
    for name in FAMILIES:
        try:
            fitted[name] = _fit_family(name, points.n, mean, sigma)
            fits[name] = _describe(fitted[name], name, points.n, mean, sigma)
        except (RuntimeError, ValueError) as exc:
            fits[name] = _describe(None, name, points.n, mean, sigma, error=str(exc))
    distinct = len(np.unique(points.n))
    if model == "auto":
        chosen, reason = choose_model(fits, distinct)
    else:
        if not fits[model].converged:
            raise InvalidInput(
                f"the {model} fit did not converge on these points: {fits[model].message}",
                field="model",
            )
        chosen, reason = model, "requested by the caller"
    return fits, fitted, chosen, reason


def _bootstrap_n_needed(
    points: _Points,
    chosen: _Fitted,
    target: float,
    *,
    replicates: int,
    rng: np.random.Generator,
    correct: list[np.ndarray] | None,
) -> np.ndarray:
    """``n`` needed per replicate (``inf``: unreachable; failed refits dropped)."""
    mean, _, _ = points.summary()
    residuals = mean - chosen.predict(points.n)
    out = []
    for _ in range(replicates):
        if correct is not None:
            # Resample the evaluation items (shared by every point), then each point's repeats.
            items = rng.integers(0, correct[0].shape[1], correct[0].shape[1])
            per_repeat = [hits[:, items].mean(axis=1) for hits in correct]
            scores = [s[rng.integers(0, len(s), len(s))] for s in per_repeat]
        else:
            scores = []
            for s, r in zip(points.scores, residuals, strict=True):
                if len(s) > 1:
                    scores.append(s[rng.integers(0, len(s), len(s))])
                else:
                    # Wild bootstrap (Wu 1986): fitted value plus the residual with a random sign.
                    scores.append((s - r) + r * rng.choice((-1.0, 1.0)))
        m, _, sg = points.summary(scores)
        try:
            refit = _fit_family(chosen.model, points.n, m, sg, start=chosen.params)
        except (RuntimeError, ValueError):
            continue
        out.append(refit.n_for(target))
    return np.array(out, dtype=float)


def _target_estimate(
    points: _Points,
    fitted: _Fitted,
    target: float,
    n_current: float,
    *,
    bootstrap: int,
    confidence: float,
    rng: np.random.Generator,
    correct: list[np.ndarray] | None,
) -> TargetEstimate:
    asymptote = fitted.params[0] if fitted.model == "inverse_power_law" else None
    n_needed = fitted.n_for(target)
    reachable = bool(np.isfinite(n_needed))
    estimate = TargetEstimate(
        target=target, reachable=reachable, confidence=confidence, asymptote=asymptote
    )
    if reachable:
        estimate.n_needed = n_needed
        estimate.additional_needed = max(0.0, n_needed - n_current)
        factor = n_needed / n_current
        if factor > 10:
            estimate.note = f"extrapolates {factor:.0f}x beyond the largest measured size; treat as a rough order"
    else:
        estimate.note = (
            f"not reachable with this model: the fitted asymptote is {asymptote:.4f}"
            if asymptote is not None
            else "not reachable: the fitted curve does not increase"
        )
    if bootstrap > 0:
        draws = _bootstrap_n_needed(
            points, fitted, target, replicates=bootstrap, rng=rng, correct=correct
        )
        if len(draws):
            tail = (1.0 - confidence) / 2.0
            low, high = np.quantile(draws, [tail, 1.0 - tail], method="inverted_cdf")
            estimate.ci_low = float(low) if np.isfinite(low) else None
            estimate.ci_high = float(high) if np.isfinite(high) else None
            estimate.unreachable_share = float(np.mean(~np.isfinite(draws)))
            estimate.bootstrap_replicates = int(len(draws))
    return estimate


def _predictions(fitted: dict[str, _Fitted], chosen: str, n_current: float) -> list[Prediction]:
    out = []
    for multiple in PREDICTION_MULTIPLES:
        n = multiple * n_current
        by_model = {name: float(np.clip(f.predict(n), 0.0, 1.0)) for name, f in fitted.items()}
        values = list(by_model.values())
        out.append(
            Prediction(
                multiple=multiple,
                n=n,
                score=by_model[chosen],
                by_model=by_model,
                low=min(values),
                high=max(values),
            )  # fmt: skip
        )
    return out


# --- validation ------------------------------------------------------------------------------


def _check_target(value: float | None, field: str) -> float | None:
    if value is None:
        return None
    if not (isinstance(value, int | float) and 0.0 < float(value) < 1.0):
        raise InvalidInput(f"{field} must lie strictly between 0 and 1; got {value!r}", field=field)
    return float(value)


def _check_options(model: str, bootstrap: int, confidence: float, sigma_floor: float) -> None:
    check_choice(model, SampleSizeModel, "model")
    check_option(bootstrap, Bootstrap, "bootstrap")
    check_option(confidence, Confidence, "confidence")
    if not (sigma_floor > 0.0 and np.isfinite(sigma_floor)):
        raise InvalidInput(f"sigma_floor must be positive; got {sigma_floor}", field="sigma_floor")


def _observation_points(
    observations: Sequence[Observation | Mapping], sigma_floor: float
) -> _Points:
    if not isinstance(observations, Sequence) or isinstance(observations, str | bytes):
        raise InvalidInput("observations must be a list of {n, scores}", field="observations")
    by_n: dict[float, list[float]] = {}
    for i, obs in enumerate(observations):
        field = f"observations[{i}]"
        if isinstance(obs, Mapping):
            try:
                obs = msgspec.convert(obs, Observation)
            except msgspec.ValidationError as exc:
                raise InvalidInput(f"{field}: {exc}", field=field) from exc
        n = float(obs.n)
        if not (np.isfinite(n) and n > 0):
            raise InvalidInput(
                f"{field}.n must be a positive number; got {obs.n!r}", field=f"{field}.n"
            )
        if not obs.scores:
            raise InvalidInput(f"{field}.scores is empty", field=f"{field}.scores")
        scores = [float(s) for s in obs.scores]
        if not all(np.isfinite(s) and 0.0 <= s <= 1.0 for s in scores):
            raise InvalidInput(
                f"{field}.scores must lie in [0, 1]; got {obs.scores}", field=f"{field}.scores"
            )
        by_n.setdefault(n, []).extend(scores)
    if len(by_n) < MIN_DISTINCT_SIZES:
        raise InvalidInput(
            f"at least {MIN_DISTINCT_SIZES} distinct training-set sizes are needed to fit a curve; "
            f"got {len(by_n)}",
            field="observations",
        )
    sizes = sorted(by_n)
    return _Points(np.array(sizes), [np.array(by_n[n]) for n in sizes], sigma_floor)


# --- entry points ----------------------------------------------------------------------------


def fit_sample_size(
    observations: Sequence[Observation | Mapping],
    *,
    target_accuracy: float | None = None,
    model: str = "auto",
    bootstrap: int = DEFAULT_BOOTSTRAP,
    confidence: float = DEFAULT_CONFIDENCE,
    sigma_floor: float = DEFAULT_SIGMA_FLOOR,
    seed: int = 0,
) -> SampleSizeResult:
    """Fit-only mode: fit and extrapolate the caller's own ``[{n, scores: [...]}, ...]``.

    Parameters
    ----------
    observations : at least 3 distinct sizes ``n`` (> 0), each with scores in [0, 1]
        (repeated sizes are merged).
    target_accuracy : score to reach, in (0, 1); ``None`` skips the estimate.
    model : ``"auto"`` (see ``choose_model``), ``"inverse_power_law"`` or ``"power_law"``.
    bootstrap : replicates of the confidence interval (0: none).
    confidence : coverage of the interval.
    sigma_floor : the floor of every point's sigma.
    seed : seed of the bootstrap.

    Returns
    -------
    SampleSizeResult
        ``n_current`` is the largest observed size; predictions are at 2x, 5x, 10x of it.

    References
    ----------
    .. [1] Verster, keras.io sample-size example, 2021; Figueroa et al., BMC MIDM 2012.
    """
    target = _check_target(target_accuracy, "target_accuracy")
    _check_options(model, bootstrap, confidence, sigma_floor)
    points = _observation_points(observations, sigma_floor)
    return _extrapolate(
        points,
        "observations",
        target=target,
        model=model,
        bootstrap=bootstrap,
        confidence=confidence,
        rng=np.random.default_rng(seed),
        correct=None,
    )


def estimate_sample_size(
    embeddings: np.ndarray,
    labels: Sequence[object] | np.ndarray,
    *,
    fractions: Sequence[float] | None = None,
    repeats: int = DEFAULT_REPEATS,
    target_accuracy: float | None = None,
    target_recall: float | None = None,
    eval_fraction: float = DEFAULT_EVAL_FRACTION,
    max_dims: int | None = DEFAULT_MAX_DIMS,
    model: str = "auto",
    bootstrap: int = DEFAULT_BOOTSTRAP,
    confidence: float = DEFAULT_CONFIDENCE,
    sigma_floor: float = DEFAULT_SIGMA_FLOOR,
    seed: int = 0,
    eval_mask: np.ndarray | None = None,
) -> SampleSizeResult:
    """Measure a learning curve with linear probes, fit it, and extrapolate.

    Parameters
    ----------
    embeddings : ndarray of shape (n_items, dims)
    labels : n_items class labels
    fractions, repeats, eval_fraction, max_dims : the curve (``measure_learning_curve``;
        ``fractions=None``: ``default_fractions``, adapted to small datasets).
    target_accuracy : accuracy to reach, in (0, 1); ``None`` skips the estimate.
    target_recall : per-class recall to reach; defaults to ``target_accuracy``.
    model, bootstrap, confidence, sigma_floor, seed : as in ``fit_sample_size``.
    eval_mask : booleans, optional
        The dataset's own evaluation items (test/val split); the curve trains on the others.

    Returns
    -------
    SampleSizeResult
        Fitted on every point of the curve (fractions and the full pool); ``n_current`` is the
        full pool, the training-set size when all but the evaluation split is used.

    Raises
    ------
    InvalidInput
        Bad options, fewer than 2 classes, or too few items for the fractions (with the count).

    References
    ----------
    .. [1] Balki et al., Can. Assoc. Radiol. J. 2019; Cortes et al., NIPS 1994.
    """
    target = _check_target(target_accuracy, "target_accuracy")
    recall_target = _check_target(target_recall, "target_recall")
    recall_target = target if recall_target is None else recall_target
    _check_options(model, bootstrap, confidence, sigma_floor)
    run: CurveRun = run_learning_curve(
        embeddings,
        labels,
        fractions=fractions,
        repeats=repeats,
        eval_fraction=eval_fraction,
        max_dims=max_dims,
        seed=seed,
        eval_mask=eval_mask,
    )
    curve = run.curve
    points = _Points(
        np.array([p.n for p in curve.points]),
        [np.array(p.accuracy_scores) for p in curve.points],
        sigma_floor,
    )
    result = _extrapolate(
        points,
        "learning_curve",
        target=target,
        model=model,
        bootstrap=bootstrap,
        confidence=confidence,
        rng=np.random.default_rng(seed),
        correct=run.correct,
    )
    result.curve = curve
    result.classes = [
        _class_estimate(curve, c, recall_target, model, sigma_floor)
        for c in range(len(curve.classes))
    ]
    return result


def _extrapolate(
    points: _Points,
    mode: Literal["learning_curve", "observations"],
    *,
    target: float | None,
    model: str,
    bootstrap: int,
    confidence: float,
    rng: np.random.Generator,
    correct: list[np.ndarray] | None,
) -> SampleSizeResult:
    fits, fitted, chosen, reason = _fit_both(points, model)
    n_current = float(points.n.max())
    result = SampleSizeResult(
        mode=mode,
        n_current=n_current,
        chosen_model=chosen,
        choice_reason=reason,
        points=points.fit_points(),
        fits=[fits[name] for name in FAMILIES],
        predictions=_predictions(fitted, chosen, n_current),
    )
    if target is not None:
        result.target = _target_estimate(
            points,
            fitted[chosen],
            target,
            n_current,
            bootstrap=bootstrap,
            confidence=confidence,
            rng=rng,
            correct=correct,
        )
    return result


def _class_estimate(
    curve: LearningCurve, c: int, target: float | None, model: str, sigma_floor: float
) -> ClassEstimate:
    """Recall of class ``c`` against the class's own training items (no bootstrap)."""
    n = np.array([p.class_n[c] for p in curve.points])
    scores = []
    for p in curve.points:
        mean, std, r = p.class_recall_mean[c], p.class_recall_std[c], p.repeats
        scores.append((mean, std, r))
    mean = np.array([s[0] for s in scores])
    # Same weights as the overall curve: SEM of the repeats with a floor.
    sigma = np.sqrt(np.array([s[1] ** 2 / s[2] for s in scores]) + sigma_floor**2)
    label = curve.classes[c]
    n_current, recall = float(n[-1]), float(mean[-1])
    fits: dict[str, CurveFit] = {}
    fitted: dict[str, _Fitted] = {}
    for name in FAMILIES:
        try:
            fitted[name] = _fit_family(name, n, mean, sigma)
            fits[name] = _describe(fitted[name], name, n, mean, sigma)
        except (RuntimeError, ValueError) as exc:
            fits[name] = _describe(None, name, n, mean, sigma, error=str(exc))
    try:
        chosen = choose_model(fits, len(np.unique(n)))[0] if model == "auto" else model
    except InvalidInput:
        return ClassEstimate(
            label=label,
            n_current=n_current,
            recall=recall,
            model="none",
            note="no curve could be fitted to this class's recall",
        )
    if chosen not in fitted:
        return ClassEstimate(
            label=label,
            n_current=n_current,
            recall=recall,
            model=chosen,
            note=f"the {chosen} fit did not converge for this class",
        )
    f = fitted[chosen]
    estimate = ClassEstimate(
        label=label,
        n_current=n_current,
        recall=recall,
        model=chosen,
        asymptote=float(f.params[0]) if chosen == "inverse_power_law" else None,
    )
    if target is not None:
        needed = f.n_for(target)
        estimate.target_recall = target
        estimate.reachable = bool(np.isfinite(needed))
        if estimate.reachable:
            estimate.n_needed = needed
            estimate.additional_needed = max(0.0, needed - n_current)
        else:
            estimate.note = (
                f"not reachable with this model: recall saturates at {estimate.asymptote:.4f}"
                if estimate.asymptote is not None
                else "not reachable: the fitted recall curve does not increase"
            )
    return estimate
