"""The README's examples are tests: ``make demo`` and every ``curl`` example of README.md run
against the real service (real HTTP, real Triton) and must answer 200 with the planted findings.

The commands are read from README.md (and the ``demo`` recipe from the Makefile) at test time, so
an edit to either that the service does not honour fails here; a new ``curl`` example with no
assertion below fails too (add one).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.demo import build_demo_dataset
from service.app import create_app
from service.settings import Settings
from tests.conftest import new_database
from tests.live_server import serve

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
README_HOST = "http://127.0.0.1:8000"


def readme_curl_commands(text: str) -> list[str]:
    """Each ``curl`` command of the README's bash blocks, continuation lines and quoted newlines
    included (a command ends where its quotes balance and no trailing backslash follows)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            if not lines[i].lstrip().startswith("curl "):
                i += 1
                continue
            command = lines[i]
            while True:
                complete = not command.rstrip().endswith("\\")
                if complete:
                    try:
                        shlex.split(command, comments=True)
                    except ValueError:  # an open quote: the next line belongs to this command
                        complete = False
                if complete or i + 1 >= len(lines):
                    break
                i += 1
                command += "\n" + lines[i]
            commands.append(command.strip())
            i += 1
    return commands


def test_the_readme_has_the_curl_examples_this_file_checks():
    commands = readme_curl_commands((REPO_ROOT / "README.md").read_text())
    routes = [re.search(r"http://127\.0\.0\.1:8000(/\S*)", c).group(1) for c in commands]
    assert routes == [route for route, _ in CHECKERS], (
        "a README curl example was added or removed: update CHECKERS"
    )


def test_make_demo_runs_service_demo_against_port():
    recipe = re.search(
        r"^demo:.*\n\t(.+)$", (REPO_ROOT / "Makefile").read_text(), flags=re.M
    ).group(1)
    assert recipe == (
        "$(BIN)/python -m devtools.demo --url http://127.0.0.1:$(PORT) $(if $(POLICY),--policy $(POLICY))"
    )  # without POLICY, exactly what the next test runs


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A checkout-like folder: ``demo-data/`` under it, as after ``make demo`` (``$PWD`` in the
    README's commands is this folder)."""
    root = tmp_path_factory.mktemp("clone")
    (root / "demo-data").mkdir()
    return root


@pytest.fixture(scope="module")
def api(triton_url, workdir, postgres):
    """The service with a database of its own (the collections example needs one)."""
    settings = Settings(
        triton_url=triton_url,
        data_root=str(workdir / "demo-data"),
        grpc_port=0,
        database_url=new_database(postgres.url),
    )
    with serve(create_app(settings)) as url:
        yield url


def test_make_demo_answers_200_with_the_planted_problems(api, workdir):
    out = workdir / "reports" / "demo-report.json"
    env = {**os.environ, "IMAGELINT_DATA_ROOT": str(workdir / "demo-data")}
    done = subprocess.run(
        [sys.executable, "-m", "devtools.demo", "--url", api, "--out", str(out)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    report = json.loads(out.read_text())
    planted = json.loads((workdir / "demo-data" / "demo" / "planted.json").read_text())
    assert report["check_errors"] == {}
    assert_planted(report, planted)
    dup = report["checks"]["duplicates"]
    assert any(set(planted["leak"]) <= set(g["members"]) for g in dup["groups"])
    ranked = [c["id"] for c in report["checks"]["mislabels"]["candidates"]][:12]
    assert len(set(planted["flipped"]) & set(ranked)) >= len(planted["flipped"]) - 1
    assert "imbalance ratio" in done.stdout and "outliers: " in done.stdout


def assert_planted(report: dict, planted: dict) -> None:
    """What every full report of the demo dataset must find, whatever its options."""
    failed = {f["id"]: f["code"] for f in report["failed_items"]}
    assert failed[planted["hostile"][0]] == "fetch_refused"
    assert failed[planted["corrupt"][0]] in {"unsupported_format", "decode_error", "truncated"}
    checks = report["checks"]
    assert sorted(planted["exact_duplicate"]) in [
        sorted(g) for g in checks["duplicates"]["exact_byte_groups"]
    ]
    assert set([o["id"] for o in checks["outliers"]["outliers"]][:2]) == set(planted["outliers"])
    assert planted["rare_class"] in checks["imbalance"]["minority_classes"]
    assert [p["multiple"] for p in checks["sample_size"]["predictions"]] == [2.0, 5.0, 10.0]
    assert checks["image_quality"]["counts"]["unreadable"] == 1


def check_report_example(output: str, workdir: Path) -> None:
    report = json.loads(output)
    planted = json.loads((workdir / "demo-data" / "demo" / "planted.json").read_text())
    assert report["check_errors"] == {}  # the sample_size OverflowError used to make this a 500
    assert_planted(report, planted)


def check_imbalance_example(output: str, _workdir: Path) -> None:
    result = json.loads(output)
    assert result["n_classes"] == 2 and result["imbalance_ratio"] == 3.0
    assert {c["label"]: c["count"] for c in result["classes"]} == {"cat": 3, "dog": 1}


def check_review_page_example(_output: str, workdir: Path) -> None:
    page = (workdir / "review.html").read_text()
    planted = json.loads((workdir / "demo-data" / "demo" / "planted.json").read_text())
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "Content-Security-Policy" in page
    for item_id in planted["exact_duplicate"] + planted["leak"]:
        assert item_id in page


def check_policy_example(output: str, _workdir: Path) -> None:
    decoder, values, at = json.JSONDecoder(), [], 0
    while at < len(output.strip()):
        value, end = decoder.raw_decode(output.strip(), at)
        values.append(value)
        at = end
        while at < len(output.strip()) and output.strip()[at].isspace():
            at += 1
    outcome, failed, summary = values
    assert outcome == "fail" and "max_leaked_items" in failed
    assert summary["schema"] == "imagelint.summary/1" and summary["leaked_items"] >= 2


def check_collection_example(output: str, _workdir: Path) -> None:
    collection = json.loads(output)
    assert collection["name"] == "demo-v1" and collection["items"] >= 30
    assert set(collection["splits"]) >= {"train", "test"}


def check_reference_example(output: str, workdir: Path) -> None:
    result = json.loads(output)
    planted = json.loads((workdir / "demo-data" / "demo" / "planted.json").read_text())
    assert result["reference"] == "collection:demo-v1"
    # every loaded item finds itself in the collection made from the same manifest, and the
    # planted train/test copy pair leaks into the collection's other split
    assert len(result["copied"]) == result["reference_items"]
    assert set(planted["leak"]) <= set(result["leakage"]["items"])


CHECKERS = [
    ("/v1/reports", check_report_example),
    ("/v1/reports/view", check_review_page_example),
    ("/v1/checks/imbalance", check_imbalance_example),
    ("/v1/reports", check_policy_example),
    ("/v1/collections/demo-v1", check_collection_example),
    ("/v1/reports", check_reference_example),
]


@pytest.mark.parametrize("index", range(len(CHECKERS)))
def test_each_readme_curl_example_answers_200(api, workdir, index):
    if not (workdir / "demo-data" / "demo" / "manifest.jsonl").exists():
        build_demo_dataset(workdir / "demo-data")  # what `make demo` writes (when run alone)
    command = readme_curl_commands((REPO_ROOT / "README.md").read_text())[index]
    route, checker = CHECKERS[index]
    assert re.search(r"http://127\.0\.0\.1:8000(/\S*)", command).group(1) == route
    # The README's host becomes the test server; --fail-with-body makes any non-2xx fail the run.
    runnable = command.replace(README_HOST, api).replace(
        "curl -s ", "curl -sS --fail-with-body ", 1
    )
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", runnable],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, f"{runnable}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    checker(done.stdout, workdir)
