"""``imagelint audit`` against a real server over loopback (real Triton): pass, fail and error
exit codes, folder upload, manifest upload with mapped columns, JUnit validated against its XSD,
the client installed into a fresh virtual environment, and the demo under a strict policy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import xmlschema

from devtools.demo import _png, render_digit
from service.app import create_app
from service.inference.local_triton import free_port
from service.settings import Settings
from tests.live_server import serve

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT_SRC = REPO_ROOT / "clients" / "python" / "src"
JUNIT_XSD = REPO_ROOT / "tests" / "fixtures" / "junit.xsd"
FAST_CHECKS = "duplicates,imbalance,image_quality"
# Rendered 8x8 digits look alike to the duplicate descriptor (see devtools.demo.DEMO_OPTIONS): a
# strict threshold keeps only true copies, so the planted leak is the only duplicate group.
COPIES_ONLY = '{"duplicates": {"threshold": 0.995}}'


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli-data-root")


@pytest.fixture(scope="module")
def server(triton_url, data_root):
    settings = Settings(triton_url=triton_url, data_root=str(data_root), grpc_port=0)
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    """train/{0,1,2}/ x 10 and test/{0,1,2}/ x 3 digits, plus one train image copied into test
    (a leak: a duplicate group spanning train and test, two items)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    root = tmp_path_factory.mktemp("imagefolder") / "digits"
    for digit in range(3):
        indices = np.flatnonzero(digits.target == digit)[:13]
        for k, index in enumerate(indices):
            split = "test" if k >= 10 else "train"
            folder = root / split / str(digit)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{digit}-{k:02d}.png").write_bytes(
                _png(render_digit(digits.images[index], 64))
            )
    shutil.copy(root / "train" / "1" / "1-00.png", root / "test" / "1" / "leaked-copy.png")
    return root


def imagelint(
    *args: str, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(CLIENT_SRC)}
    return subprocess.run(
        [sys.executable, "-m", "imagelint_client", *args],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd,
    )  # fmt: skip


def write_policy(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_leak_fails_the_gate_with_junit_json_and_html(server, image_folder, tmp_path):
    policy = write_policy(
        tmp_path / "policy.yaml",
        "max_leaked_items: 0\nmax_failed_items: 0\nmax_imbalance_ratio: {warn: 1.5}\n",
    )
    out = {name: tmp_path / name for name in ("report.json", "junit.xml", "page.html")}
    run = imagelint(
        "audit", str(image_folder), "--server", server, "--policy", str(policy),
        "--checks", FAST_CHECKS, "--options", COPIES_ONLY, "--json", str(out["report.json"]),
        "--junit", str(out["junit.xml"]), "--html", str(out["page.html"]),
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert "verdict: FAIL" in run.stdout
    assert "failed max_leaked_items: items in duplicate groups spanning splits = 2" in run.stdout
    assert (
        "infer: " in run.stderr
    )  # progress from the NDJSON stream (not a terminal: one line per quarter)
    report = json.loads(out["report.json"].read_text())
    assert report["dataset"]["items"] == 40 and report["dataset"]["splits"] == {
        "test": 10,
        "train": 30,
    }
    assert report["summary"]["leaked_items"] == 2 and report["summary"]["verdict"] == "fail"
    rules = {r["rule"]: r for r in report["verdict"]["rules"]}
    assert (
        rules["max_leaked_items"]["outcome"] == "fail"
        and rules["max_leaked_items"]["measured"] == 2
    )
    assert rules["max_failed_items"]["outcome"] == "pass"
    assert rules["max_imbalance_ratio"]["outcome"] == "pass"  # 14 / 13 images
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(str(out["junit.xml"]))
    suite = ET.parse(out["junit.xml"]).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "0")
    assert "max_leaked_items" in out["page.html"].read_text()


def test_a_clean_policy_passes(server, image_folder, tmp_path):
    policy = write_policy(
        tmp_path / "policy.json", '{"max_leaked_items": {"fail": 5}, "min_images_per_class": 10}'
    )
    run = imagelint(
        "audit", str(image_folder), "--server", server, "--policy", str(policy),
        "--checks", "duplicates,imbalance", "--options", COPIES_ONLY, "--no-progress",
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "verdict: PASS" in run.stdout
    assert run.stderr == ""


def test_a_rule_whose_check_is_not_run_fails_unless_lenient(server, image_folder, tmp_path):
    strict = write_policy(tmp_path / "strict.yaml", "max_outliers: 100\n")
    run = imagelint(
        "audit",
        str(image_folder),
        "--server",
        server,
        "--policy",
        str(strict),
        "--checks",
        "imbalance",
        "--no-progress",
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert (
        "SKIPPED" in run.stdout
        and "failed max_outliers: the outliers check was not run" in run.stdout
    )
    lenient = write_policy(tmp_path / "lenient.yaml", "max_outliers: 100\nunevaluated: warn\n")
    run = imagelint(
        "audit",
        str(image_folder),
        "--server",
        server,
        "--policy",
        str(lenient),
        "--checks",
        "imbalance",
        "--no-progress",
    )
    assert run.returncode == 0 and "verdict: WARN" in run.stdout
    run = imagelint(
        "audit", str(image_folder), "--server", server, "--policy", str(lenient),
        "--checks", "imbalance", "--no-progress", "--fail-on-warn",
    )  # fmt: skip
    assert run.returncode == 1


def test_errors_exit_2(server, image_folder, tmp_path):
    bad_rule = write_policy(tmp_path / "bad.yaml", "max_leakd_items: 0\n")
    run = imagelint(
        "audit", str(image_folder), "--server", server, "--policy", str(bad_rule), "--no-progress"
    )
    assert run.returncode == 2
    assert "the server refused the audit: 400" in run.stderr and "max_leakd_items" in run.stderr
    closed = f"http://127.0.0.1:{free_port('127.0.0.1')}"
    run = imagelint("audit", str(image_folder), "--server", closed, "--no-progress")
    assert run.returncode == 2 and "could not talk to" in run.stderr
    run = imagelint("audit", str(tmp_path / "missing"), "--server", server)
    assert run.returncode == 2 and "no such file or folder" in run.stderr
    # The server cannot read outside its data root: a clear refusal, not a crash.
    run = imagelint("audit", "file:///etc/passwd.csv", "--server", server, "--no-progress")
    assert run.returncode == 2 and "fetch_refused" in run.stderr


def test_a_manifest_with_filepath_and_class_columns_is_uploaded(
    server, image_folder, data_root, tmp_path
):
    images = data_root / "manifest-images"
    shutil.copytree(image_folder, images, dirs_exist_ok=True)
    rows = ["filepath,class,subset"]
    for path in sorted(images.rglob("*.png")):
        split, label = path.parent.parent.name, path.parent.name
        rows.append(f"{path.as_uri()},{label},{split}")
    manifest = tmp_path / "dataset.csv"
    manifest.write_text("\n".join(rows) + "\n")
    out = tmp_path / "report.json"
    run = imagelint(
        "audit", str(manifest), "--server", server, "--checks", "imbalance",
        "--json", str(out), "--no-progress",
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(out.read_text())
    assert report["dataset"]["classes"] == {"0": 13, "1": 14, "2": 13}
    assert report["verdict"] is None and "no policy given" in run.stdout


def test_a_hugging_face_imagefolder_on_disk(server, image_folder, tmp_path):
    """Flat files per split with metadata.csv (file_name,label), as `datasets` writes them."""
    hf = tmp_path / "hf"
    for split in ("train", "test"):
        (hf / split).mkdir(parents=True)
        rows = ["file_name,label"]
        for path in sorted((image_folder / split).rglob("*.png")):
            (hf / split / f"{path.parent.name}_{path.name}").write_bytes(path.read_bytes())
            rows.append(f"{path.parent.name}_{path.name},digit-{path.parent.name}")
        (hf / split / "metadata.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "report.json"
    run = imagelint(
        "audit",
        str(hf),
        "--server",
        server,
        "--checks",
        "imbalance",
        "--json",
        str(out),
        "--no-progress",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(out.read_text())
    assert report["dataset"]["classes"] == {"digit-0": 13, "digit-1": 14, "digit-2": 13}
    assert report["dataset"]["splits"] == {"test": 10, "train": 30}


def test_the_client_installs_into_a_fresh_venv_and_gates(server, image_folder, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # A copy of the package: pip builds in the source tree, and tests leave the checkout alone.
    source = shutil.copytree(
        REPO_ROOT / "clients" / "python", tmp_path / "client-src",
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
    )  # fmt: skip
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(source)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stderr
    cli = venv / "bin" / "imagelint"
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    help_run = subprocess.run(
        [str(cli), "audit", "--help"],
        capture_output=True,
        text=True,
        env=clean_env,
        timeout=60,
        cwd=tmp_path,
    )
    assert help_run.returncode == 0 and "exit" in help_run.stdout.lower()
    # Outside the repository: the installed package must not need the server package.
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import imagelint_client, importlib.util; "
         "print(imagelint_client.__file__); print(importlib.util.find_spec('service'))"],
        capture_output=True, text=True, env=clean_env, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert str(venv) in probe.stdout and probe.stdout.strip().endswith("None")
    policy = write_policy(tmp_path / "policy.yaml", "max_leaked_items: 0\n")
    run = subprocess.run(
        [str(cli), "audit", str(image_folder), "--server", server, "--policy", str(policy), "--checks", "duplicates",
         "--options", COPIES_ONLY],
        capture_output=True, text=True, env=clean_env, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert "failed max_leaked_items" in run.stdout


def test_the_demo_with_a_strict_policy_exits_1_listing_the_failed_rules(
    server, data_root, tmp_path, capsys
):
    from devtools.demo import main

    strict = REPO_ROOT / "clients" / "python" / "examples" / "strict-policy.yaml"
    code = main([
        "--url", server, "--data-root", str(data_root), "--out", str(tmp_path / "demo.json"),
        "--policy", str(strict),
    ])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1, out
    assert "verdict: FAIL" in out
    # The demo plants a corrupt file and a hostile URL, a train/test leak and a 4-image class.
    for rule in ("max_failed_items", "max_leaked_items", "min_images_per_class"):
        assert f"failed {rule}:" in out
    report = json.loads((tmp_path / "demo.json").read_text())
    assert {"max_failed_items", "max_leaked_items", "min_images_per_class"} <= set(
        report["verdict"]["failed"]
    )
    assert report["summary"]["failed_items"] == 2 and report["summary"]["min_class_count"] == 4
