"""A report's headline figures (``ReportSummary``) and a gate over them (``Policy`` -> ``Verdict``).

Pure functions over a finished report's values: no I/O, no transport. The pipeline calls
``summarise_report`` for every report and ``evaluate_policy`` when the request carries a policy.

Rules
-----
Each rule of a ``Policy`` has a ``fail`` and/or a ``warn`` threshold. ``max_*`` rules fail when the
measured value is *above* ``fail`` (warn when above ``warn``); ``min_*`` rules fail when it is
*below*. A value equal to a threshold passes it.

A rule whose check was not run (not in ``checks``) is ``skipped``; one whose check ran but failed
(``check_errors``), or that cannot be measured on this dataset (no labels, no fitted curve), is
``error``. Neither is a pass: ``Policy.unevaluated`` ("fail" by default, or "warn") says how they
count in the verdict. The verdict is the worst outcome: ``fail`` > ``warn`` > ``pass``.

The summary schema is stable (``SUMMARY_SCHEMA``): fields are added, never renamed or removed,
and a figure whose check did not run or failed is ``null``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from msgspec import Meta

if TYPE_CHECKING:
    from service.report.models import CheckError, Checks, DatasetSummary

SUMMARY_SCHEMA = "imagelint.summary/1"
Outcome = Literal["pass", "warn", "fail", "error", "skipped"]
VerdictOutcome = Literal["pass", "warn", "fail"]


# --- schemas ---------------------------------------------------------------------------------


class Threshold(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The thresholds of one rule: at least one of ``fail`` and ``warn``."""

    fail: Annotated[float, Meta(description="outcome fail beyond this value")] | None = None
    warn: Annotated[float, Meta(description="outcome warn beyond this value")] | None = None

    def __post_init__(self) -> None:
        if self.fail is None and self.warn is None:
            raise ValueError("a rule needs a fail or a warn threshold")
        for name in ("fail", "warn"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number")


class AccuracyAtSize(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Thresholds on the learning curve's predicted accuracy at ``at_images`` training images."""

    at_images: Annotated[int, Meta(ge=1, description="training-set size the prediction is for")]
    fail: Annotated[float, Meta(ge=0.0, le=1.0)] | None = None
    warn: Annotated[float, Meta(ge=0.0, le=1.0)] | None = None

    def __post_init__(self) -> None:
        if self.fail is None and self.warn is None:
            raise ValueError("a rule needs a fail or a warn threshold")


class Policy(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Rules a dataset must meet; every rule is optional. See the README's "Gate" section."""

    max_failed_items: (
        Annotated[Threshold, Meta(description="items that could not be fetched or decoded")] | None
    ) = None
    max_failed_rate: Annotated[Threshold, Meta(description="failed items / items")] | None = None
    max_leaked_items: (
        Annotated[
            Threshold, Meta(description="duplicate-group members spanning splits (duplicates)")
        ]
        | None
    ) = None
    max_duplicate_items: (
        Annotated[Threshold, Meta(description="droppable copies (duplicates)")] | None
    ) = None
    max_label_conflicts: (
        Annotated[
            Threshold,
            Meta(description="duplicate groups whose copies disagree on the label (duplicates)"),
        ]
        | None
    ) = None
    max_label_issue_rate: (
        Annotated[
            Threshold,
            Meta(
                description="items on the act-on list (mislabels.label_issues, with its expected precision) / judged items"
            ),
        ]
        | None
    ) = None
    min_label_health: (
        Annotated[Threshold, Meta(description="estimated share of correct labels (mislabels)")]
        | None
    ) = None
    min_probe_accuracy: (
        Annotated[
            Threshold,
            Meta(description="out-of-sample accuracy of the probe on the given labels (mislabels)"),
        ]
        | None
    ) = None
    min_images_per_class: (
        Annotated[Threshold, Meta(description="images of the smallest class")] | None
    ) = None
    max_imbalance_ratio: (
        Annotated[Threshold, Meta(description="largest / smallest class count (imbalance)")] | None
    ) = None
    max_outliers: Annotated[Threshold, Meta(description="outlying images (outliers)")] | None = None
    max_quality_flagged: (
        Annotated[Threshold, Meta(description="images with an image-quality flag (image_quality)")]
        | None
    ) = None
    min_predicted_accuracy: (
        Annotated[
            AccuracyAtSize,
            Meta(
                description="accuracy the learning curve predicts at a training-set size (sample_size)"
            ),
        ]
        | None
    ) = None
    unevaluated: Annotated[
        Literal["fail", "warn"],
        Meta(description="how a rule that could not be evaluated (check skipped or failed) counts"),
    ] = "fail"

    def __post_init__(self) -> None:
        for name, spec in RULES.items():
            threshold = getattr(self, name)
            if threshold is None or threshold.fail is None or threshold.warn is None:
                continue
            if spec.direction == "max" and threshold.warn > threshold.fail:
                raise ValueError(
                    f"{name}: warn ({threshold.warn}) must not exceed fail ({threshold.fail})"
                )
            if spec.direction == "min" and threshold.warn < threshold.fail:
                raise ValueError(
                    f"{name}: warn ({threshold.warn}) must not be below fail ({threshold.fail})"
                )

    def rules(self) -> list[str]:
        """Names of the rules this policy sets, in ``RULES`` order."""
        return [name for name in RULES if getattr(self, name) is not None]


class RuleResult(msgspec.Struct):
    """One rule's evaluation. ``measured`` is null when the rule could not be evaluated."""

    rule: str  # the Policy field, e.g. max_leaked_items
    check: str  # the check that measures it ("dataset": the dataset summary)
    outcome: Outcome  # pass, warn, fail, error (check failed / not measurable), skipped (not run)
    measured: float | None  # the value compared with the thresholds
    fail_threshold: float | None  # the rule's fail threshold, if set
    warn_threshold: float | None  # the rule's warn threshold, if set
    detail: str  # a sentence: what was measured, the value, the thresholds (or why not measured)


class Verdict(msgspec.Struct):
    """The gate: the worst rule outcome (error and skipped count as ``Policy.unevaluated``)."""

    outcome: VerdictOutcome  # pass, warn or fail
    failed: list[str]  # rules whose outcome made the verdict fail
    warned: list[str]  # rules whose outcome is warn (or unevaluated with unevaluated="warn")
    rules: list[RuleResult]


class ReportSummary(msgspec.Struct):
    """Headline figures of a report (schema ``imagelint.summary/1``: fields are only ever added).
    A figure is null when its check was not run or failed."""

    schema: str  # "imagelint.summary/1"
    items: int  # items in the dataset reference
    loaded: int  # items fetched and decoded
    failed_items: int  # items that could not be fetched or decoded
    failed_rate: float  # failed_items / items
    labelled: int  # items with a label
    classes: int  # distinct labels
    # fmt: off
    min_class_count: int | None  # fewest loaded images of a class (imbalance, else dataset.classes)
    # fmt: on
    smallest_class: str | None  # the class with min_class_count images
    imbalance_ratio: float | None  # largest / smallest class count (imbalance)
    duplicate_groups: int | None  # groups of copies (duplicates)
    duplicate_items: int | None  # droppable copies
    leaked_items: int | None  # members of duplicate groups spanning splits
    label_conflicts: int | None  # duplicate groups whose copies disagree on the label
    label_issues: int | None  # items on the act-on list (mislabels.label_issues)
    label_issue_rate: float | None  # label_issues / judged items
    label_health: float | None  # estimated share of correct labels, trace of the joint
    probe_accuracy: float | None  # out-of-sample accuracy on the given labels
    outliers: int | None  # outlying images (outliers)
    quality_flagged: int | None  # images with an image-quality flag
    predicted_accuracy_2x: float | None  # the curve's accuracy at twice the current training size
    accuracy_asymptote: float | None  # the chosen curve's accuracy with unlimited data
    images_needed: float | None  # training images for options.sample_size.target_accuracy
    checks_failed: list[str]  # checks listed in check_errors
    verdict: VerdictOutcome | None = None  # set when the request carried a policy


# --- summary ---------------------------------------------------------------------------------


def summarise_report(
    dataset: DatasetSummary, checks: Checks, check_errors: Mapping[str, CheckError]
) -> ReportSummary:
    """The headline figures of a report's dataset summary and check results."""
    dup, mis, imb = checks.duplicates, checks.mislabels, checks.imbalance
    ss, out, iq = checks.sample_size, checks.outliers, checks.image_quality
    if imb is not None and imb.classes:
        smallest = min(imb.classes, key=lambda c: (c.count, c.label))
        min_count, smallest_class = smallest.count, smallest.label
    elif dataset.classes:
        smallest_class, min_count = min(dataset.classes.items(), key=lambda kv: (kv[1], kv[0]))
    else:
        min_count, smallest_class = None, None
    predicted_2x = None
    if ss is not None:
        for prediction in ss.predictions:
            if prediction.multiple == 2.0:
                predicted_2x = prediction.score
    asymptote = None
    if ss is not None:
        chosen = next((f for f in ss.fits if f.model == ss.chosen_model), None)
        asymptote = chosen.asymptote if chosen is not None else None
    return ReportSummary(
        schema=SUMMARY_SCHEMA,
        items=dataset.items,
        loaded=dataset.loaded,
        failed_items=dataset.failed,
        failed_rate=round(dataset.failed / dataset.items, 6) if dataset.items else 0.0,
        labelled=dataset.labelled,
        classes=len(dataset.classes),
        min_class_count=min_count,
        smallest_class=smallest_class,
        imbalance_ratio=imb.imbalance_ratio if imb is not None else None,
        duplicate_groups=len(dup.groups) if dup is not None else None,
        duplicate_items=dup.droppable if dup is not None else None,
        leaked_items=len(dup.leakage.items) if dup is not None else None,
        label_conflicts=len(dup.label_conflicts) if dup is not None else None,
        label_issues=label_issue_count(mis),
        label_issue_rate=_label_issue_rate(mis),
        label_health=mis.label_health if mis is not None else None,
        probe_accuracy=mis.learnability.accuracy if mis is not None else None,
        outliers=len(out.outliers) if out is not None else None,
        quality_flagged=iq.n_flagged if iq is not None else None,
        predicted_accuracy_2x=predicted_2x,
        accuracy_asymptote=asymptote,
        images_needed=ss.target.n_needed if ss is not None and ss.target is not None else None,
        checks_failed=sorted(check_errors),
    )


def label_issue_count(mis: Any) -> int | None:
    """The act-on list's size (``mislabels.label_issues``); confident learning's issue set for
    results without one."""
    if mis is None:
        return None
    listed = getattr(mis, "label_issues", None)
    return listed.count if listed is not None else mis.issue_count


def _label_issue_rate(mis: Any) -> float | None:
    if mis is None:
        return None
    judged = mis.n_judged or mis.n_items
    return round(label_issue_count(mis) / judged, 6) if judged else 0.0


# --- rules -----------------------------------------------------------------------------------


class Unmeasurable(Exception):
    """The rule's figure cannot be measured on this report (outcome ``error``)."""


@dataclass(frozen=True)
class RuleSpec:
    check: str  # the check that measures it, or "dataset"
    direction: Literal["max", "min"]
    measure: Callable[[ReportSummary, Checks, Any], float | None]
    what: str


def _figure(name: str) -> Callable[[ReportSummary, Checks, Any], float | None]:
    return lambda summary, _checks, _threshold: getattr(summary, name)


def _predicted_accuracy(_summary: ReportSummary, checks: Checks, rule: AccuracyAtSize) -> float:
    from service.analysis.sample_size import predict_score

    ss = checks.sample_size
    if ss is None:
        raise Unmeasurable("the sample_size check did not run")
    fit = next((f for f in ss.fits if f.model == ss.chosen_model), None)
    if fit is None or not fit.converged:
        raise Unmeasurable(f"the learning curve's {ss.chosen_model} fit did not converge")
    return float(min(1.0, max(0.0, float(predict_score(fit, float(rule.at_images))))))


RULES: dict[str, RuleSpec] = {
    "max_failed_items": RuleSpec("dataset", "max", _figure("failed_items"), "failed items"),
    "max_failed_rate": RuleSpec("dataset", "max", _figure("failed_rate"), "failed items / items"),
    "max_leaked_items": RuleSpec(
        "duplicates", "max", _figure("leaked_items"), "items in duplicate groups spanning splits"
    ),
    "max_duplicate_items": RuleSpec(
        "duplicates", "max", _figure("duplicate_items"), "droppable duplicate copies"
    ),
    "max_label_conflicts": RuleSpec(
        "duplicates", "max", _figure("label_conflicts"), "duplicate groups with conflicting labels"
    ),
    "max_label_issue_rate": RuleSpec(
        "mislabels", "max", _figure("label_issue_rate"), "label issues / judged items"
    ),
    "min_label_health": RuleSpec(
        "mislabels", "min", _figure("label_health"), "estimated share of correct labels"
    ),
    "min_probe_accuracy": RuleSpec(
        "mislabels", "min", _figure("probe_accuracy"), "out-of-sample probe accuracy"
    ),
    "min_images_per_class": RuleSpec(
        "dataset", "min", _figure("min_class_count"), "images of the smallest class"
    ),
    "max_imbalance_ratio": RuleSpec(
        "imbalance", "max", _figure("imbalance_ratio"), "largest / smallest class count"
    ),
    "max_outliers": RuleSpec("outliers", "max", _figure("outliers"), "outlying images"),
    "max_quality_flagged": RuleSpec(
        "image_quality", "max", _figure("quality_flagged"), "images with a quality flag"
    ),
    "min_predicted_accuracy": RuleSpec(
        "sample_size", "min", _predicted_accuracy, "predicted accuracy"
    ),
}


def _judge(direction: str, measured: float, fail: float | None, warn: float | None) -> Outcome:
    def beyond(limit: float | None) -> bool:
        if limit is None:
            return False
        return measured > limit if direction == "max" else measured < limit

    if beyond(fail):
        return "fail"
    if beyond(warn):
        return "warn"
    return "pass"


def evaluate_rule(
    name: str,
    threshold: Threshold | AccuracyAtSize,
    summary: ReportSummary,
    checks: Checks,
    *,
    checks_run: list[str],
    check_errors: Mapping[str, CheckError],
) -> RuleResult:
    """Evaluate one rule of ``RULES`` against a report's summary and check results."""
    if name not in RULES:
        raise ValueError(f"unknown rule {name!r}; valid: {sorted(RULES)}")
    spec = RULES[name]
    result = functools.partial(
        RuleResult,
        rule=name,
        check=spec.check,
        fail_threshold=threshold.fail,
        warn_threshold=threshold.warn,
    )
    if spec.check != "dataset":
        if spec.check in check_errors:
            error = check_errors[spec.check]
            return result(
                outcome="error", measured=None,
                detail=f"the {spec.check} check failed ({error.code}): {error.detail}",
            )  # fmt: skip
        if spec.check not in checks_run or getattr(checks, spec.check) is None:
            return result(
                outcome="skipped", measured=None,
                detail=f"the {spec.check} check was not run; add it to `checks`",
            )  # fmt: skip
    try:
        measured = spec.measure(summary, checks, threshold)
    except Unmeasurable as exc:
        return result(outcome="error", measured=None, detail=str(exc))
    if measured is None:
        return result(
            outcome="error", measured=None,
            detail=f"{spec.what} could not be measured on this dataset",
        )  # fmt: skip
    outcome = _judge(spec.direction, float(measured), threshold.fail, threshold.warn)
    beyond = ">" if spec.direction == "max" else "<"
    limits = "; ".join(
        f"{kind} if {beyond} {value:g}" for kind, value in (("fail", threshold.fail), ("warn", threshold.warn))
        if value is not None
    )  # fmt: skip
    where = (
        f" at {threshold.at_images:,} training images"
        if isinstance(threshold, AccuracyAtSize)
        else ""
    )
    detail = f"{spec.what}{where} = {float(measured):.6g} ({limits})"
    return result(outcome=outcome, measured=float(measured), detail=detail)


def evaluate_policy(
    policy: Policy,
    summary: ReportSummary,
    checks: Checks,
    *,
    checks_run: list[str],
    check_errors: Mapping[str, CheckError],
) -> Verdict:
    """Evaluate every rule the policy sets; the verdict is the worst outcome (see module doc)."""
    results = [
        evaluate_rule(
            name,
            getattr(policy, name),
            summary,
            checks,
            checks_run=checks_run,
            check_errors=check_errors,
        )  # fmt: skip
        for name in policy.rules()
    ]
    failed, warned = [], []
    for result in results:
        outcome = result.outcome
        if outcome in ("error", "skipped"):
            outcome = policy.unevaluated
        if outcome == "fail":
            failed.append(result.rule)
        elif outcome == "warn":
            warned.append(result.rule)
    verdict: VerdictOutcome = "fail" if failed else "warn" if warned else "pass"
    return Verdict(outcome=verdict, failed=failed, warned=warned, rules=results)
