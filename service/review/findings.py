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
    yield from _label_findings(checks.get("mislabels") or {})
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


def relabel_suggestion(candidate: Mapping[str, Any]) -> str | None:
    """The candidate's suggested label, or ``None`` when it equals the given label (the model
    agrees with the label; the item is listed for its low score, not for a better label)."""
    suggested = candidate.get("suggested_label")
    return suggested if suggested and suggested != candidate.get("given_label") else None


def planned_relabels(mislabels: Mapping[str, Any]) -> dict[str, str]:
    """Item id -> new label: the act-on list (``label_issues.ids`` and ``suggested_labels``,
    the count the report's summary gives); for reports without one, the candidates confident
    learning flags whose suggestion differs from the given label."""
    act_on = mislabels.get("label_issues")
    if act_on is not None:
        ids, labels = act_on.get("ids") or [], act_on.get("suggested_labels") or []
        return dict(zip(ids, labels, strict=False))
    return {
        cand["id"]: suggestion
        for cand in mislabels.get("candidates") or []
        if cand.get("id") is not None
        and cand.get("confident_learning")
        and (suggestion := relabel_suggestion(cand)) is not None
    }


def act_on_count(mislabels: Mapping[str, Any]) -> int:
    """Size of the act-on list (``summary.label_issues``); confident learning's issue count for
    reports without one."""
    act_on = mislabels.get("label_issues")
    return (
        int(act_on.get("count", 0))
        if act_on is not None
        else int(mislabels.get("issue_count") or 0)
    )


def _label_findings(mis: Mapping[str, Any]) -> Iterator[Finding]:
    """A ``relabel`` finding per item of the act-on list; a ``review`` finding per other
    candidate (with a suggested label only where it differs from the given one)."""
    relabels = planned_relabels(mis)
    listed: set[str] = set()
    for cand in mis.get("candidates") or []:
        if cand.get("id") is None:
            continue
        listed.add(cand["id"])
        p = f"p={cand['suggested_probability']:.3f}"
        if cand["id"] in relabels:
            new = relabels[cand["id"]]
            yield Finding(
                cand["id"],
                "mislabels",
                "label_issue",
                "relabel",
                f"given {cand['given_label']}, suggested {new} ({p})",
                suggested_label=new,
                score=cand.get("score"),
            )
            continue
        suggestion = relabel_suggestion(cand)
        detail = (
            f"given {cand['given_label']}, suggested {suggestion} ({p})"
            if suggestion is not None
            else f"given {cand['given_label']}; the model agrees ({p}), listed for its low score"
        )
        yield Finding(
            cand["id"],
            "mislabels",
            "label_candidate",
            "review",
            detail,
            suggested_label=suggestion,
            score=cand.get("score"),
        )
    for item_id, new in relabels.items():
        if item_id not in listed:
            yield Finding(
                item_id,
                "mislabels",
                "label_issue",
                "relabel",
                f"act-on list; suggested {new}",
                suggested_label=new,
            )


def finding_ids(report: Any) -> set[str]:
    """Ids of every item that appears in a finding (the ones worth a thumbnail)."""
    return {f.id for f in iter_findings(report)}
