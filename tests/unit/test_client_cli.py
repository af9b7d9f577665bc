"""The client package's pure parts: policy files, targets, JUnit (against its XSD), HTML, table."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import xmlschema

from imagelint_client.cli import parse_columns
from imagelint_client.models import AuditResult
from imagelint_client.outputs import html_page, junit_xml, summary_text
from imagelint_client.policy import PolicyFileError, load_policy
from imagelint_client.targets import TargetError, resolve_target, zip_folder

JUNIT_XSD = Path(__file__).resolve().parents[1] / "fixtures" / "junit.xsd"


def rule(name, outcome, measured=None, fail=None, warn=None, check="duplicates", detail="d"):
    return {
        "rule": name, "check": check, "outcome": outcome, "measured": measured,
        "fail_threshold": fail, "warn_threshold": warn, "detail": detail,
    }  # fmt: skip


def report(verdict=None) -> dict:
    summary = {
        "schema": "imagelint.summary/1", "items": 10, "loaded": 9, "failed_items": 1,
        "failed_rate": 0.1, "labelled": 10, "classes": 2, "leaked_items": 2,
        "checks_failed": [], "verdict": verdict["outcome"] if verdict else None,
        "some_future_figure": 1,  # a newer server's field is ignored
    }  # fmt: skip
    return {
        "request_id": "r1",
        "summary": summary,
        "verdict": verdict,
        "check_errors": {},
        "failed_items": [],
    }


MIXED = {
    "outcome": "fail",
    "failed": ["max_leaked_items", "max_label_issue_rate", "max_outliers"],
    "warned": ["max_imbalance_ratio"],
    "rules": [
        rule("max_leaked_items", "fail", 2.0, 0.0, detail="items <leaking> & more"),
        rule(
            "max_label_issue_rate", "error", check="mislabels", detail="the mislabels check failed"
        ),
        rule("max_outliers", "skipped", check="outliers", detail="not run"),
        rule("max_imbalance_ratio", "warn", 6.0, 10.0, 5.0, check="imbalance"),
        rule("max_failed_items", "pass", 1.0, 1.0, check="dataset"),
    ],
}


@pytest.mark.parametrize(
    "verdict",
    [
        None,
        MIXED,
        {"outcome": "pass", "failed": [], "warned": [], "rules": []},
        {"outcome": "warn", "failed": [], "warned": ["max_outliers"],
         "rules": [rule("max_outliers", "skipped", check="outliers")]},
    ],
)  # fmt: skip
def test_junit_output_validates_against_the_schema(verdict):
    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    xml = junit_xml(AuditResult.from_report(report(verdict)))
    schema.validate(xml.decode())  # raises XMLSchemaValidationError with the path on failure


def test_junit_maps_outcomes_to_failures_errors_and_skips():
    import xml.etree.ElementTree as ET

    root = ET.fromstring(junit_xml(AuditResult.from_report(report(MIXED))))
    suite = root.find("testsuite")
    assert (
        suite.get("tests"),
        suite.get("failures"),
        suite.get("errors"),
        suite.get("skipped"),
    ) == ("5", "2", "1", "0")
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert cases["max_leaked_items"].find("failure").get("message") == "items <leaking> & more"
    assert cases["max_label_issue_rate"].find("error") is not None
    assert cases["max_outliers"].find("failure").get("type") == "skipped"  # counted as fail
    assert cases["max_imbalance_ratio"].find("failure") is None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props == {"verdict": "fail", "request_id": "r1"}
    # With unevaluated="warn" a skipped rule is a JUnit skip, not a failure.
    lenient = {
        "outcome": "warn",
        "failed": [],
        "warned": ["max_outliers"],
        "rules": [rule("max_outliers", "skipped")],
    }
    suite = ET.fromstring(junit_xml(AuditResult.from_report(report(lenient)))).find("testsuite")
    assert (suite.get("failures"), suite.get("skipped")) == ("0", "1")


def test_summary_table_and_html_list_the_rules():
    result = AuditResult.from_report(report(MIXED))
    assert result.outcome == "fail" and result.summary.leaked_items == 2
    text = summary_text(result)
    assert "verdict: FAIL" in text
    assert "failed max_leaked_items: items <leaking> & more" in text
    assert "warned max_imbalance_ratio" in text
    assert "max_label_issue_rate  mislabels" in text
    page = html_page(result)
    assert "items &lt;leaking&gt; &amp; more" in page and "<leaking>" not in page
    assert "no policy given" in summary_text(AuditResult.from_report(report(None)))


def test_policy_files_yaml_json_and_shorthands(tmp_path):
    (tmp_path / "p.yaml").write_text(
        "max_leaked_items: 0\nmax_label_issue_rate: {fail: 0.1, warn: 0.05}\n"
        "min_predicted_accuracy: {at_images: 5000, fail: 0.8}\nunevaluated: warn\n"
    )
    assert load_policy(tmp_path / "p.yaml") == {
        "max_leaked_items": {"fail": 0},
        "max_label_issue_rate": {"fail": 0.1, "warn": 0.05},
        "min_predicted_accuracy": {"at_images": 5000, "fail": 0.8},
        "unevaluated": "warn",
    }
    (tmp_path / "p.json").write_text('{"policy": {"max_failed_items": 2}}')
    assert load_policy(tmp_path / "p.json") == {"max_failed_items": {"fail": 2}}
    (tmp_path / "bad.yaml").write_text("- a list\n")
    with pytest.raises(PolicyFileError, match="expected a mapping"):
        load_policy(tmp_path / "bad.yaml")
    (tmp_path / "broken.yaml").write_text("a: [\n")
    with pytest.raises(PolicyFileError, match="broken.yaml"):
        load_policy(tmp_path / "broken.yaml")
    with pytest.raises(PolicyFileError, match="missing.yaml"):
        load_policy(tmp_path / "missing.yaml")


def test_targets_and_folder_zip(tmp_path):
    folder = tmp_path / "ds"
    (folder / "train" / "cat").mkdir(parents=True)
    (folder / "train" / "cat" / "a.png").write_bytes(b"png")
    (folder / "train" / "cat" / ".hidden.png").write_bytes(b"x")
    (folder / "train" / "notes.txt").write_text("skip me")
    (folder / "train" / "metadata.csv").write_text("file_name,label\ncat/a.png,cat\n")
    target = resolve_target(str(folder))
    assert (target.kind, target.folder) == ("archive", folder)
    archive = tmp_path / "out.zip"
    assert zip_folder(folder, archive) == 1
    with zipfile.ZipFile(archive) as z:
        assert sorted(z.namelist()) == ["train/cat/a.png", "train/metadata.csv"]
    (tmp_path / "m.csv").write_text("uri\n")
    assert resolve_target(str(tmp_path / "m.csv")).manifest_format == "csv"
    (tmp_path / "d.tar.gz").write_bytes(b"")
    assert resolve_target(str(tmp_path / "d.tar.gz")).kind == "archive"
    assert resolve_target("https://h/x/data.zip?sig=1").reference == {
        "archive_uri": "https://h/x/data.zip?sig=1"
    }
    assert resolve_target("file:///data/m.jsonl").reference == {
        "manifest_uri": "file:///data/m.jsonl"
    }
    with pytest.raises(TargetError, match="no such file"):
        resolve_target(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(TargetError, match="no images"):
        zip_folder(tmp_path / "empty", tmp_path / "e.zip")
    (folder / "train" / "cat" / "link.png").symlink_to(folder / "train" / "cat" / "a.png")
    with pytest.raises(TargetError, match="symbolic links"):
        zip_folder(folder, tmp_path / "l.zip")


def test_columns_argument():
    assert parse_columns("uri=filepath, label=class") == {"uri": "filepath", "label": "class"}
    assert parse_columns(None) is None
    with pytest.raises(ValueError, match="FIELD=COLUMN"):
        parse_columns("filepath")


def test_busy_server_is_retried_after_retry_after_and_a_refusal_is_not(capsys):
    import json as jsonlib

    import httpx

    from imagelint_client.cli import build_parser, run_audit

    verdict = {"outcome": "fail", "failed": ["max_leaked_items"], "warned": [],
               "rules": [rule("max_leaked_items", "fail", 2.0, 0.0)]}  # fmt: skip
    seen: list[dict] = []

    def busy_then_report(request: httpx.Request) -> httpx.Response:
        seen.append(jsonlib.loads(request.content))
        if len(seen) == 1:
            return httpx.Response(
                429,
                headers={"Retry-After": "0"},
                json={"code": "too_many_requests", "detail": "busy"},
            )
        lines = [
            {"event": "progress", "stage": "load", "done": 1, "total": 1},
            {"event": "report", "report": report(verdict)},
        ]
        return httpx.Response(
            200, content="\n".join(jsonlib.dumps(line) for line in lines).encode()
        )

    args = build_parser().parse_args(
        ["audit", "https://h/m.csv", "--server", "http://imagelint.test", "--no-progress"]
    )
    assert run_audit(args, transport=httpx.MockTransport(busy_then_report)) == 1
    assert len(seen) == 2 and seen[1] == {"dataset": {"manifest_uri": "https://h/m.csv"}}
    assert "failed max_leaked_items" in capsys.readouterr().out

    calls = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(
            400, json={"code": "invalid_request", "detail": "bad", "field": "policy"}
        )

    assert run_audit(args, transport=httpx.MockTransport(refuse)) == 2
    assert len(calls) == 1
    assert "400 invalid_request: bad (field policy)" in capsys.readouterr().err
