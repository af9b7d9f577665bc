"""Which items a report points at, as flat rows (one per item and finding).

Works on the report's JSON shape (``msgspec.to_builtins(report)`` or a parsed report file), so it
reads reports written by older or newer versions as long as the fields it names are there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a check says about one item; ``action`` is what a person would do about it."""

    id: str
    check: str
    finding: str
    action: str  # "drop", "keep", "relabel", "review"
    detail: str
    suggested_label: str | None = None
    score: float | None = None


def as_dict(report: Any) -> dict[str, Any]:
    """The report's JSON shape, from a ``Report`` Struct or an already decoded dict."""
    return dict(report) if isinstance(report, Mapping) else msgspec.to_builtins(report)


def _checks(report: Mapping[str, Any]) -> Mapping[str, Any]:
    return report.get("checks") or {}


def iter_findings(report: Any) -> Iterator[Finding]:
    """Every finding of the report, check by check, in the report's own order."""
    report = as_dict(report)
    checks = _checks(report)
    for failed in report.get("failed_items") or []:
        yield Finding(
            failed["id"], "load", f"failed:{failed['code']}", "drop", failed.get("detail", "")
        )
    dup = checks.get("duplicates") or {}
    for group in dup.get("groups") or []:
        evidence = ", ".join(group.get("evidence") or [])
        for member in group["members"]:
            keep = member == group["keep"]
            yield Finding(
                member,
                "duplicates",
                "duplicate",
                "keep" if keep else "drop",
                f"group {group['group']} ({evidence}); kept: {group['keep']}",
            )
    leakage = dup.get("leakage") or {}
    leaked_groups = set(leakage.get("groups") or [])
    for group in dup.get("groups") or []:
        if group["group"] in leaked_groups:
            for member in group["members"]:
                splits = "/".join(group.get("splits") or [])
                yield Finding(
                    member,
                    "duplicates",
                    "leakage",
                    "review",
                    f"group {group['group']} spans {splits}",
                )
    for conflict in dup.get("label_conflicts") or []:
        labels = ", ".join(f"{k}×{v}" for k, v in sorted(conflict["labels"].items()))
        for member in conflict["members"]:
            yield Finding(
                member, "duplicates", "label_conflict", "review", f"copies labelled {labels}"
            )
    mis = checks.get("mislabels") or {}
    for cand in mis.get("candidates") or []:
        if cand.get("id") is None:
            continue
        differs = cand["suggested_label"] != cand["given_label"]
        yield Finding(
            cand["id"],
            "mislabels",
            "label_issue",
            "relabel" if differs and cand.get("confident_learning") else "review",
            f"given {cand['given_label']}, suggested {cand['suggested_label']} "
            f"(p={cand['suggested_probability']:.3f})",
            suggested_label=cand["suggested_label"],
            score=cand.get("score"),
        )
    quality = checks.get("image_quality") or {}
    for item in quality.get("items") or []:
        for flag in item.get("flags") or []:
            yield Finding(item["id"], "image_quality", f"quality:{flag}", "review", flag)
    outliers = checks.get("outliers") or {}
    for out in outliers.get("outliers") or []:
        yield Finding(
            out["id"],
            "outliers",
            "outlier",
            "review",
            f"rank {out['rank']}, score {out['score']:.3f}; nearest {', '.join(out.get('nearest') or [])}",
            score=out.get("score"),
        )
    agreement = checks.get("agreement") or {}
    for disputed in agreement.get("disputed") or []:
        if disputed.get("id") is None:
            continue
        votes = ", ".join(f"{k}×{v}" for k, v in sorted(disputed.get("votes", {}).items()))
        yield Finding(
            disputed["id"],
            "agreement",
            "annotator_disagreement",
            "review",
            f"consensus {disputed['consensus']} ({votes})",
            suggested_label=disputed.get("consensus"),
        )


def finding_ids(report: Any) -> set[str]:
    """Ids of every item that appears in a finding (the ones worth a thumbnail)."""
    return {f.id for f in iter_findings(report)}
