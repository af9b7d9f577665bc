"""Typed views of a report's stable parts: the summary block, the verdict and its rules.

Everything else in a report (``checks``, ``failed_items``, ...) stays a plain dict in
``AuditResult.report``. Unknown fields are ignored, so a newer server does not break an older
client (the summary schema only ever gains fields).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import msgspec

Outcome = Literal["pass", "warn", "fail", "error", "skipped"]


class Summary(msgspec.Struct, frozen=True):
    """The report's ``summary`` (schema ``imagelint.summary/1``); null figures are ``None``."""

    schema: str
    items: int
    loaded: int
    failed_items: int
    failed_rate: float
    labelled: int
    classes: int
    min_class_count: int | None = None
    smallest_class: str | None = None
    imbalance_ratio: float | None = None
    duplicate_groups: int | None = None
    duplicate_items: int | None = None
    leaked_items: int | None = None
    label_conflicts: int | None = None
    label_issues: int | None = None
    label_issue_rate: float | None = None
    label_health: float | None = None
    probe_accuracy: float | None = None
    outliers: int | None = None
    quality_flagged: int | None = None
    predicted_accuracy_2x: float | None = None
    accuracy_asymptote: float | None = None
    images_needed: float | None = None
    checks_failed: list[str] = []
    verdict: str | None = None


class RuleResult(msgspec.Struct, frozen=True):
    rule: str
    check: str
    outcome: Outcome
    measured: float | None
    fail_threshold: float | None
    warn_threshold: float | None
    detail: str


class Verdict(msgspec.Struct, frozen=True):
    outcome: Literal["pass", "warn", "fail"]
    failed: list[str]
    warned: list[str]
    rules: list[RuleResult]


@dataclass(frozen=True)
class AuditResult:
    """A finished report: the typed summary and verdict, and the whole report as a dict."""

    report: dict[str, Any]
    summary: Summary | None
    verdict: Verdict | None

    @classmethod
    def from_report(cls, report: dict[str, Any]) -> AuditResult:
        summary = report.get("summary")
        verdict = report.get("verdict")
        return cls(
            report=report,
            summary=msgspec.convert(summary, Summary) if summary else None,
            verdict=msgspec.convert(verdict, Verdict) if verdict else None,
        )

    @property
    def outcome(self) -> str | None:
        """``pass``, ``warn`` or ``fail``; ``None`` when the request carried no policy."""
        return self.verdict.outcome if self.verdict is not None else None
