"""What ``imagelint audit`` writes: the summary table, JUnit XML, a small HTML page."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from typing import Any

from imagelint_client.models import AuditResult, RuleResult

SUMMARY_ROWS = (
    ("items", "items"),
    ("loaded", "loaded"),
    ("failed_items", "failed items"),
    ("classes", "classes"),
    ("min_class_count", "smallest class (images)"),
    ("imbalance_ratio", "imbalance ratio"),
    ("duplicate_items", "droppable duplicates"),
    ("leaked_items", "items leaking across splits"),
    ("label_conflicts", "duplicate label conflicts"),
    ("label_issues", "label issues"),
    ("label_issue_rate", "label issue rate"),
    ("probe_accuracy", "probe accuracy"),
    ("outliers", "outliers"),
    ("quality_flagged", "quality-flagged images"),
    ("predicted_accuracy_2x", "predicted accuracy at 2x data"),
    ("images_needed", "images for the target accuracy"),
)


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for k, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def summary_text(result: AuditResult) -> str:
    """A readable summary: headline figures, then one row per rule and the verdict."""
    lines: list[str] = []
    summary = result.summary
    if summary is not None:
        rows = [("figure", "value")]
        rows += [(label, _number(getattr(summary, key))) for key, label in SUMMARY_ROWS]
        lines += _table(rows)
        if summary.checks_failed:
            lines.append(f"checks that failed: {', '.join(summary.checks_failed)}")
    errors = result.report.get("check_errors") or {}
    for name, error in sorted(errors.items()):
        lines.append(f"  {name}: {error.get('code')}: {error.get('detail')}")
    verdict = result.verdict
    if verdict is None:
        lines.append("")
        lines.append("no policy given: no verdict (pass --policy FILE to gate on the report)")
        return "\n".join(lines)
    lines.append("")
    rows = [("rule", "check", "measured", "fail", "warn", "outcome")]
    for rule in verdict.rules:
        rows.append(
            (
                rule.rule,
                rule.check,
                _number(rule.measured),
                _number(rule.fail_threshold),
                _number(rule.warn_threshold),
                rule.outcome.upper(),
            )
        )
    if len(rows) > 1:
        lines += _table(rows)
    lines.append("")
    lines.append(f"verdict: {verdict.outcome.upper()}")
    for name in verdict.failed:
        rule = next(r for r in verdict.rules if r.rule == name)
        lines.append(f"  failed {name}: {rule.detail}")
    for name in verdict.warned:
        rule = next(r for r in verdict.rules if r.rule == name)
        lines.append(f"  warned {name}: {rule.detail}")
    return "\n".join(lines)


def junit_xml(result: AuditResult, *, suite: str = "imagelint") -> bytes:
    """One ``<testcase>`` per policy rule (JUnit XML as Jenkins, GitLab and GitHub read it).

    fail -> ``<failure>``; error/skipped -> ``<error>`` or ``<failure>`` when the policy counts
    unevaluated rules as failures, else ``<skipped>``; warn -> passes, with the detail in
    ``<system-out>``. Without a policy the suite holds one passing case, ``report``.
    """
    verdict = result.verdict
    rules: list[RuleResult] = list(verdict.rules) if verdict is not None else []
    failed = set(verdict.failed) if verdict is not None else set()
    root = ET.Element("testsuites", name=suite)
    tests = max(1, len(rules))
    counts = {"failures": 0, "errors": 0, "skipped": 0}
    cases: list[ET.Element] = []
    if not rules:
        case = ET.Element("testcase", name="report", classname=suite, time="0")
        out = ET.SubElement(case, "system-out")
        out.text = "no policy: the report ran; nothing was gated"
        cases.append(case)
    for rule in rules:
        case = ET.Element("testcase", name=rule.rule, classname=f"{suite}.{rule.check}", time="0")
        message = rule.detail
        if rule.outcome == "fail":
            ET.SubElement(case, "failure", message=message, type="fail").text = _rule_text(rule)
            counts["failures"] += 1
        elif rule.outcome in ("error", "skipped"):
            if rule.rule in failed and rule.outcome == "error":
                ET.SubElement(case, "error", message=message, type="error").text = _rule_text(rule)
                counts["errors"] += 1
            elif rule.rule in failed:
                ET.SubElement(case, "failure", message=message, type="skipped").text = _rule_text(
                    rule
                )
                counts["failures"] += 1
            else:
                ET.SubElement(case, "skipped", message=message)
                counts["skipped"] += 1
        else:
            ET.SubElement(case, "system-out").text = f"{rule.outcome}: {message}"
        cases.append(case)
    testsuite = ET.SubElement(
        root, "testsuite", name=suite, tests=str(tests), time="0",
        failures=str(counts["failures"]), errors=str(counts["errors"]), skipped=str(counts["skipped"]),
    )  # fmt: skip
    properties = ET.SubElement(testsuite, "properties")
    ET.SubElement(
        properties, "property", name="verdict", value=verdict.outcome if verdict else "none"
    )
    ET.SubElement(
        properties, "property", name="request_id", value=str(result.report.get("request_id", ""))
    )
    testsuite.extend(cases)
    root.set("tests", str(tests))
    root.set("failures", str(counts["failures"]))
    root.set("errors", str(counts["errors"]))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _rule_text(rule: RuleResult) -> str:
    return (
        f"rule {rule.rule} ({rule.check}): outcome {rule.outcome}; measured {_number(rule.measured)}; "
        f"fail threshold {_number(rule.fail_threshold)}; warn threshold {_number(rule.warn_threshold)}"
    )


def html_page(result: AuditResult) -> str:
    """A self-contained HTML summary (every value escaped; no scripts, no remote resources)."""
    e = html.escape
    verdict = result.verdict
    outcome = verdict.outcome if verdict is not None else "no policy"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8"><title>imagelint audit</title>',
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
        ".fail,.error,.skipped{color:#a00}.warn{color:#a60}.pass{color:#070}</style>",
        "</head><body>",
        f'<h1>imagelint audit: <span class="{e(outcome)}">{e(outcome.upper())}</span></h1>',
        f"<p>request {e(str(result.report.get('request_id', '')))}</p>",
    ]
    if verdict is not None and verdict.rules:
        parts.append(
            "<h2>Policy</h2><table><tr><th>rule</th><th>check</th><th>measured</th>"
            "<th>fail</th><th>warn</th><th>outcome</th><th>detail</th></tr>"
        )
        for rule in verdict.rules:
            parts.append(
                f"<tr><td>{e(rule.rule)}</td><td>{e(rule.check)}</td><td>{e(_number(rule.measured))}</td>"
                f"<td>{e(_number(rule.fail_threshold))}</td><td>{e(_number(rule.warn_threshold))}</td>"
                f'<td class="{e(rule.outcome)}">{e(rule.outcome)}</td><td>{e(rule.detail)}</td></tr>'
            )
        parts.append("</table>")
    if result.summary is not None:
        parts.append("<h2>Summary</h2><table>")
        for key, label in SUMMARY_ROWS:
            parts.append(
                f"<tr><th>{e(label)}</th><td>{e(_number(getattr(result.summary, key)))}</td></tr>"
            )
        parts.append("</table>")
    failed_items = result.report.get("failed_items") or []
    if failed_items:
        parts.append(f"<h2>Failed items ({len(failed_items)})</h2><ul>")
        for item in failed_items[:200]:
            parts.append(
                f"<li>{e(str(item.get('id')))}: {e(str(item.get('code')))} {e(str(item.get('detail', '')))}</li>"
            )
        parts.append("</ul>")
    parts.append("<h2>Report</h2><details><summary>JSON</summary><pre>")
    parts.append(e(json.dumps({k: v for k, v in result.report.items() if k != "checks"}, indent=2)))
    parts.append("</pre></details></body></html>")
    return "\n".join(parts)
