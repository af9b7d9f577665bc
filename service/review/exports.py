"""Actionable exports: the cleaned manifest and the findings CSV (pure functions, text out).

- ``cleaned_manifest(items, report, apply=...)``: the dataset's items with the report's
  decisions applied: ``drops`` removes the duplicates' ``drop`` members and the files that could
  not be read; ``relabels`` sets the suggested label of every item on the act-on list
  (``mislabels.label_issues``: the count ``summary.label_issues`` gives, with its expected
  precision; reports without that list: the candidates confident learning flags whose
  suggestion differs from the given label); ``both`` does both. Rows keep
  the manifest fields (``id, uri, label, split``; ``annotations`` in JSONL), so the output is a
  manifest the service reads again.
- ``findings_csv(items, report)``: one row per item and finding, with the item's URI, label and
  split so a person can join it back to the dataset.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from service.datasets.model import Item
from service.review.findings import iter_findings

Apply = Literal["drops", "relabels", "both"]
ExportFormat = Literal["jsonl", "csv"]
APPLY_CHOICES: tuple[str, ...] = ("drops", "relabels", "both")
FORMATS: tuple[str, ...] = ("jsonl", "csv")
MANIFEST_FIELDS = ("id", "uri", "label", "split")
FINDINGS_FIELDS = (
    "id",
    "uri",
    "label",
    "split",
    "check",
    "finding",
    "action",
    "suggested_label",
    "score",
    "detail",
)


def planned_changes(report: Any, apply: str) -> tuple[set[str], dict[str, str]]:
    """(ids to drop, id -> new label) that ``apply`` takes from the report."""
    if apply not in APPLY_CHOICES:
        raise ValueError(f"unknown apply {apply!r}; valid: {list(APPLY_CHOICES)}")
    drops: set[str] = set()
    relabels: dict[str, str] = {}
    for finding in iter_findings(report):
        if finding.action == "drop" and apply in ("drops", "both"):
            drops.add(finding.id)
        elif (
            finding.action == "relabel"
            and apply in ("relabels", "both")
            and finding.suggested_label
        ):
            relabels[finding.id] = finding.suggested_label
    return drops, relabels


def cleaned_manifest_rows(
    items: Sequence[Item], report: Any, *, apply: str = "both"
) -> list[dict[str, Any]]:
    """The cleaned manifest as dicts, in item order (see the module docstring)."""
    drops, relabels = planned_changes(report, apply)
    rows = []
    for item in items:
        if item.id in drops:
            continue
        row: dict[str, Any] = {"id": item.id, "uri": item.uri}
        label = relabels.get(item.id, item.label)
        if label is not None:
            row["label"] = label
        if item.split is not None:
            row["split"] = item.split
        if item.annotations:
            row["annotations"] = [
                {"annotator": annotator, "label": lab} if annotator else {"label": lab}
                for annotator, lab in item.annotations
            ]
        rows.append(row)
    return rows


def cleaned_manifest(
    items: Sequence[Item], report: Any, *, apply: str = "both", fmt: str = "jsonl"
) -> str:
    """The cleaned manifest as JSONL or CSV text."""
    rows = cleaned_manifest_rows(items, report, apply=apply)
    if fmt == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if fmt == "csv":
        return _csv(rows, MANIFEST_FIELDS)
    raise ValueError(f"unknown format {fmt!r}; valid: {list(FORMATS)}")


def findings_rows(items: Sequence[Item], report: Any) -> list[dict[str, Any]]:
    by_id = {item.id: item for item in items}
    rows = []
    for f in iter_findings(report):
        item = by_id.get(f.id)
        rows.append(
            {
                "id": f.id,
                "uri": item.uri if item else "",
                "label": (item.label or "") if item else "",
                "split": (item.split or "") if item else "",
                "check": f.check,
                "finding": f.finding,
                "action": f.action,
                "suggested_label": f.suggested_label or "",
                "score": "" if f.score is None else f"{f.score:.6g}",
                "detail": f.detail,
            }
        )
    return rows


def findings_csv(items: Sequence[Item], report: Any) -> str:
    """One CSV row per item and finding (see the module docstring)."""
    return _csv(findings_rows(items, report), FINDINGS_FIELDS, for_spreadsheets=True)


def _csv(
    rows: Iterable[dict[str, Any]], fields: Sequence[str], *, for_spreadsheets: bool = False
) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=list(fields), extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for row in rows:
        # A spreadsheet would run a cell starting with = + - @ as a formula: the findings CSV
        # (read by people) quotes it as text; the manifest (read by programs) stays exact.
        writer.writerow({k: _neutralise(v) for k, v in row.items()} if for_spreadsheets else row)
    return buffer.getvalue()


def _neutralise(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
