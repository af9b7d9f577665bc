"""Policy evaluation: thresholds, directions, skipped and failed checks, the summary block."""

from __future__ import annotations

import msgspec
import pytest

from service.analysis.duplicates import DuplicatesResult, LabelConflict, Leakage
from service.analysis.imbalance import analyse_imbalance
from service.analysis.sample_size import fit_sample_size
from service.report.models import CheckError, Checks, DatasetSummary, ReportRequest
from service.report.policy import (
    RULES,
    SUMMARY_SCHEMA,
    Policy,
    evaluate_policy,
    summarise_report,
)


def dataset(items=100, failed=3, classes=None) -> DatasetSummary:
    classes = classes or {"cat": 60, "dog": 30, "eel": 10}
    return DatasetSummary(
        items=items, loaded=items - failed, failed=failed, labelled=sum(classes.values()),
        classes=classes, splits={"train": items},
    )  # fmt: skip


def duplicates(leaked: list[str], conflicts: int = 0) -> DuplicatesResult:
    return DuplicatesResult(
        n_items=100, threshold=0.9, method="exact", exact_byte_groups=[], exact_pixel_groups=[],
        near_pair_count=0, near_pairs=[], groups=[], droppable=len(leaked) // 2,
        leakage=Leakage(groups=[0] if leaked else [], items=leaked, by_split_pair=[]),
        label_conflicts=[LabelConflict(group=i, labels={"a": 1, "b": 1}, members=["x", "y"]) for i in range(conflicts)],
    )  # fmt: skip


def decode_policy(raw: dict) -> Policy:
    return msgspec.convert(raw, Policy)


def evaluate(raw_policy: dict, *, checks: Checks, checks_run: list[str], errors=None, ds=None):
    errors = errors or {}
    summary = summarise_report(ds or dataset(), checks, errors)
    return evaluate_policy(
        decode_policy(raw_policy), summary, checks, checks_run=checks_run, check_errors=errors
    )


def test_max_rule_fails_above_warns_between_and_passes_at_the_threshold():
    checks = Checks(duplicates=duplicates(["a", "b", "c"]))
    run = ["duplicates"]
    fail = evaluate({"max_leaked_items": {"fail": 2}}, checks=checks, checks_run=run)
    assert fail.outcome == "fail" and fail.failed == ["max_leaked_items"]
    rule = fail.rules[0]
    assert (rule.measured, rule.fail_threshold, rule.warn_threshold) == (3.0, 2.0, None)
    assert rule.check == "duplicates" and "3" in rule.detail
    warn = evaluate({"max_leaked_items": {"fail": 5, "warn": 2}}, checks=checks, checks_run=run)
    assert warn.outcome == "warn" and warn.warned == ["max_leaked_items"] and warn.failed == []
    equal = evaluate({"max_leaked_items": {"fail": 3}}, checks=checks, checks_run=run)
    assert equal.outcome == "pass" and equal.rules[0].outcome == "pass"


def test_min_rule_direction_and_imbalance_figures_from_the_check():
    labels = ["cat"] * 60 + ["dog"] * 30 + ["eel"] * 6  # loaded images (4 eels failed)
    checks = Checks(imbalance=analyse_imbalance(labels))
    verdict = evaluate(
        {"min_images_per_class": {"fail": 8, "warn": 20}, "max_imbalance_ratio": {"fail": 12, "warn": 5}},
        checks=checks, checks_run=["imbalance"],
    )  # fmt: skip
    by_rule = {r.rule: r for r in verdict.rules}
    assert by_rule["min_images_per_class"].measured == 6.0  # from the check, not the reference's 10
    assert by_rule["min_images_per_class"].outcome == "fail"
    assert by_rule["max_imbalance_ratio"].measured == pytest.approx(10.0)
    assert by_rule["max_imbalance_ratio"].outcome == "warn"
    assert verdict.outcome == "fail" and verdict.failed == ["min_images_per_class"]
    assert verdict.warned == ["max_imbalance_ratio"]


def test_dataset_rules_need_no_check():
    verdict = evaluate(
        {"max_failed_items": {"fail": 2}, "max_failed_rate": {"warn": 0.01}, "min_images_per_class": {"fail": 5}},
        checks=Checks(), checks_run=[],
    )  # fmt: skip
    outcomes = {r.rule: (r.outcome, r.measured) for r in verdict.rules}
    assert outcomes == {
        "max_failed_items": ("fail", 3.0),
        "max_failed_rate": ("warn", 0.03),
        "min_images_per_class": (
            "pass",
            10.0,
        ),  # without the imbalance check: the reference's counts
    }


def test_a_rule_whose_check_was_not_run_is_skipped_and_fails_the_gate_by_default():
    verdict = evaluate({"max_leaked_items": {"fail": 0}}, checks=Checks(), checks_run=["imbalance"])
    rule = verdict.rules[0]
    assert rule.outcome == "skipped" and rule.measured is None
    assert "not run" in rule.detail
    assert verdict.outcome == "fail" and verdict.failed == ["max_leaked_items"]
    lenient = evaluate(
        {"max_leaked_items": {"fail": 0}, "unevaluated": "warn"},
        checks=Checks(),
        checks_run=["imbalance"],
    )
    assert lenient.outcome == "warn" and lenient.warned == ["max_leaked_items"]
    assert lenient.rules[0].outcome == "skipped"


def test_a_rule_whose_check_failed_is_an_error_naming_the_check_error():
    errors = {"mislabels": CheckError(code="not_applicable", detail="needs at least 2 classes")}
    verdict = evaluate(
        {"max_label_issue_rate": {"fail": 0.1}},
        checks=Checks(),
        checks_run=["mislabels"],
        errors=errors,
    )
    rule = verdict.rules[0]
    assert rule.outcome == "error" and rule.measured is None
    assert "not_applicable" in rule.detail and "2 classes" in rule.detail
    assert verdict.outcome == "fail"


def test_predicted_accuracy_at_a_size_uses_the_chosen_fit():
    # Points on acc(n) = 0.95 - 2 n^-0.5: at 1,000 images the curve predicts 0.95 - 2/sqrt(1000).
    observations = [{"n": n, "scores": [0.95 - 2 * n**-0.5]} for n in (50, 100, 200, 400, 800)]
    ss = fit_sample_size(observations, bootstrap=0)
    assert ss.chosen_model == "inverse_power_law"
    expected = 0.95 - 2 / 1000**0.5  # 0.8868
    checks = Checks(sample_size=ss)
    verdict = evaluate(
        {"min_predicted_accuracy": {"at_images": 1000, "fail": 0.9}},
        checks=checks, checks_run=["sample_size"],
    )  # fmt: skip
    rule = verdict.rules[0]
    assert rule.measured == pytest.approx(expected, abs=2e-3)
    assert rule.outcome == "fail" and "1,000 training images" in rule.detail
    passing = evaluate(
        {"min_predicted_accuracy": {"at_images": 20000, "fail": 0.9}},
        checks=checks, checks_run=["sample_size"],
    )  # fmt: skip
    assert passing.rules[0].measured == pytest.approx(0.95 - 2 / 20000**0.5, abs=2e-3)
    assert passing.outcome == "pass"


def test_label_conflicts_and_duplicate_items_are_measured():
    checks = Checks(duplicates=duplicates(["a", "b", "c", "d"], conflicts=2))
    verdict = evaluate(
        {"max_label_conflicts": {"fail": 1}, "max_duplicate_items": {"fail": 2}},
        checks=checks, checks_run=["duplicates"],
    )  # fmt: skip
    assert [(r.rule, r.outcome, r.measured) for r in verdict.rules] == [
        ("max_duplicate_items", "pass", 2.0),
        ("max_label_conflicts", "fail", 2.0),
    ]


def test_no_rules_pass():
    verdict = evaluate({}, checks=Checks(), checks_run=[])
    assert verdict.outcome == "pass" and verdict.rules == []


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"max_leaked_items": {}}, "fail or a warn"),
        ({"max_leaked_items": {"fail": 1, "warn": 3}}, "must not exceed"),
        ({"min_images_per_class": {"fail": 10, "warn": 5}}, "must not be below"),
        ({"max_leaked_items": 3}, "Expected `object | null`, got `int`"),
        ({"max_leakd_items": {"fail": 1}}, "unknown field"),
        ({"min_predicted_accuracy": {"fail": 0.9}}, "at_images"),
        ({"unevaluated": "pass"}, "Invalid enum value .pass."),
    ],
)
def test_bad_policies_are_refused_with_a_clear_message(raw, message):
    with pytest.raises(msgspec.ValidationError, match=message):
        decode_policy(raw)


def test_the_policy_travels_in_the_report_request():
    body = {
        "dataset": {"items": [{"uri": "https://example.org/a.png"}]},
        "policy": {"max_failed_items": {"fail": 0}},
    }
    request = msgspec.json.decode(msgspec.json.encode(body), type=ReportRequest)
    assert request.policy.rules() == ["max_failed_items"]


def test_summary_has_every_field_with_nulls_for_checks_not_run():
    summary = summarise_report(dataset(), Checks(), {"outliers": CheckError("not_applicable", "x")})
    out = msgspec.to_builtins(summary)
    assert out["schema"] == SUMMARY_SCHEMA
    assert out["leaked_items"] is None and out["imbalance_ratio"] is None
    assert out["checks_failed"] == ["outliers"]
    assert (out["items"], out["failed_items"], out["classes"], out["min_class_count"]) == (
        100,
        3,
        3,
        10,
    )
    assert out["smallest_class"] == "eel"
    # Stable schema: these keys exist in every report (others may be added, never removed).
    assert {
        "schema", "items", "loaded", "failed_items", "failed_rate", "labelled", "classes",
        "min_class_count", "smallest_class", "imbalance_ratio", "duplicate_groups",
        "duplicate_items", "leaked_items", "label_conflicts", "label_issues", "label_issue_rate",
        "label_health", "probe_accuracy", "outliers", "quality_flagged", "predicted_accuracy_2x",
        "accuracy_asymptote", "images_needed", "checks_failed", "verdict",
    } <= set(out)  # fmt: skip


def test_every_rule_names_a_known_check():
    from service.report.pipeline import ALL_CHECKS

    assert {spec.check for spec in RULES.values()} <= set(ALL_CHECKS) | {"dataset"}
    assert set(RULES) == set(Policy.__struct_fields__) - {"unevaluated"}


def test_dataset_classes_count_the_loaded_items_as_the_class_table_does():
    """A failed item is in no class the checks see: dataset.classes agrees with the imbalance
    check's (the review page's class table), and failed_classes counts the failures apart."""
    from service.datasets.model import Item
    from service.report.pipeline import summarise_dataset

    labels = ["cat", "cat", "cat", "cat", "dog", "dog", "eel"]
    items = [Item(id=f"i{k}", uri=f"file:///i{k}.png", label=lab) for k, lab in enumerate(labels)]
    failed = [items[0], items[6]]  # a cat, and the only eel
    loaded = [item for item in items if item not in failed]
    ds = summarise_dataset(items, loaded, failed)
    table = analyse_imbalance([item.label for item in loaded]).classes
    assert ds.classes == {c.label: c.count for c in table} == {"cat": 3, "dog": 2}
    assert ds.failed_classes == {"cat": 1, "eel": 1}
    assert (ds.items, ds.loaded, ds.failed, ds.labelled) == (7, 5, 2, 7)
    summary = summarise_report(ds, Checks(), {})
    assert (summary.classes, summary.min_class_count, summary.smallest_class) == (2, 2, "dog")


def test_the_findings_metric_counts_the_act_on_list_as_the_summary_does():
    # confident learning flagged 20, the act-on list holds 3: the metric and summary.label_issues
    # both say 3 (a dashboard used to show 20 beside a summary of 3)
    from types import SimpleNamespace

    from service.report.pipeline import findings
    from service.report.policy import label_issue_count

    mis = SimpleNamespace(issue_count=20, label_issues=SimpleNamespace(count=3))
    assert findings({"mislabels": mis})["label_issues"] == 3 == label_issue_count(mis)
    older = SimpleNamespace(issue_count=20, label_issues=None)  # a result without the list
    assert findings({"mislabels": older})["label_issues"] == 20
