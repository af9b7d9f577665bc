"""The Dockerfile and .dockerignore: hadolint clean (and hadolint really flags problems), the
stage layout the issue asks for, and a build context that holds exactly what COPY needs."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.deploy import checks

STAGES = {s.name: s for s in checks.parse_dockerfile()}
TRACKED = subprocess.run(
    ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
    cwd=checks.REPO_ROOT,
    capture_output=True,
    text=True,
    check=True,
).stdout.split()


def test_hadolint_finds_nothing_in_the_dockerfile():
    assert checks.hadolint(checks.DOCKERFILE) == []


def test_hadolint_config_ignores_nothing_without_a_reason():
    import yaml

    config = yaml.safe_load(checks.HADOLINT_CONFIG.read_text())
    assert config["failure-threshold"] == "style"
    assert set(config["trustedRegistries"]) == {"docker.io", "nvcr.io"}
    text = checks.HADOLINT_CONFIG.read_text()
    for rule in config.get("ignored") or []:
        # Each ignored rule carries its reason on its own line: "- DL3008  # reason".
        assert re.search(rf"-\s*{rule}\s*#\s*\S+", text), f"{rule} is ignored without a reason"


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("RUN apt-get install curl", "DL3008"),  # unpinned apt package
        ("RUN pip install requests", "DL3013"),  # unpinned pip package
        ("FROM python:latest AS extra", "DL3007"),  # latest tag
        ("FROM ghcr.io/someone/python:3.11 AS extra", "DL3026"),  # untrusted registry
    ],
)
def test_hadolint_really_flags_a_bad_line(tmp_path, line, rule):
    bad = tmp_path / "Dockerfile"
    bad.write_text(checks.DOCKERFILE.read_text() + "\n" + line + "\n")
    codes = {f["code"] for f in checks.hadolint(bad)}
    assert rule in codes


def test_stages_and_default_target():
    assert list(STAGES) == [
        "openapi-assets",
        "api-build",
        "model-export",
        "triton",
        "api",
    ]  # api last = default
    python_bases = {STAGES[n].base for n in ("api-build", "model-export", "api")}
    assert len(python_bases) == 1, "the venv is copied between Python stages: same base image"
    assert re.fullmatch(r"python:3\.1[12]-slim-\w+", python_bases.pop())


def test_triton_base_is_the_official_container_with_a_pinned_release_tag():
    assert re.fullmatch(r"nvcr\.io/nvidia/tritonserver:\d\d\.\d\d-py3", STAGES["triton"].base)


def test_api_image_is_slim_and_non_root():
    api = STAGES["api"]
    user = api.all("USER")[-1]
    assert re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", user), "numeric non-root USER for runAsNonRoot"
    copies = " ".join(api.all("COPY"))
    assert copies == "--from=api-build /opt/venv /opt/venv", "the API image copies only the venv"
    text = " ".join(args for _, args in api.instructions)
    for tool in ("torch", "apt-get", "gcc", "build-essential", "pip install"):
        assert tool not in text


def test_torch_only_in_the_export_stage_from_the_cpu_index():
    for name, stage in STAGES.items():
        text = " ".join(args for _, args in stage.instructions)
        if name == "model-export":
            assert "--index-url https://download.pytorch.org/whl/cpu" in text
            assert "export_image_encoder.py --output /out/model.onnx --check" in text
        else:
            assert "torch" not in text and "[export]" not in text, name
    # The API venv gets the package without extras.
    assert "/opt/venv/bin/pip install --no-cache-dir ." in " ".join(STAGES["api-build"].all("RUN"))


def test_triton_stage_installs_what_the_python_backend_stub_imports():
    run = " ".join(STAGES["triton"].all("RUN"))
    assert '"numpy>=1.26,<2"' in run  # numpy 2 makes the Python backend return empty outputs
    assert re.search(r'"onnxruntime-gpu==\d+\.\d+\.\d+"', run)
    destinations = {dst for _, dst in checks.copy_sources(STAGES["triton"])}
    assert "/models/image_encoder/config.pbtxt" in destinations
    assert "/models/image_encoder/1/model.py" in destinations
    assert "--from=model-export /out/model.onnx /models/image_encoder/1/model.onnx" in STAGES[
        "triton"
    ].all("COPY")


def test_export_requirements_come_from_pyproject():
    script = checks.REPO_ROOT / "deploy" / "extra_requirements.py"
    out = subprocess.run(
        [
            sys.executable,
            str(script),
            "export",
            "--pyproject",
            str(checks.REPO_ROOT / "pyproject.toml"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    import tomllib

    pyproject = tomllib.loads((checks.REPO_ROOT / "pyproject.toml").read_text())
    assert out == pyproject["project"]["optional-dependencies"]["export"]
    torch_only = subprocess.run(
        [sys.executable, str(script), "export", "--only", "torch"],
        cwd=checks.REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(torch_only) == 1 and torch_only[0].startswith("torch==")
    missing = subprocess.run(
        [sys.executable, str(script), "no-such-extra"], cwd=checks.REPO_ROOT, capture_output=True
    )
    assert missing.returncode == 2


def _context_files_under(source: str) -> list[str]:
    source = source.rstrip("/")
    return [f for f in TRACKED if f == source or f.startswith(source + "/")]


def test_every_copy_source_is_in_the_build_context():
    patterns = checks.dockerignore_patterns(checks.REPO_ROOT / ".dockerignore")
    for stage in STAGES.values():
        for source, _ in checks.copy_sources(stage):
            if "[" in source:  # optional glob such as README.m[d]
                continue
            files = _context_files_under(source)
            assert files, f"COPY {source}: nothing in the repository"
            kept = [f for f in files if not checks.excluded_by_dockerignore(f, patterns)]
            assert kept, f"COPY {source}: excluded by .dockerignore"
            python = [f for f in files if f.endswith((".py", ".pbtxt", ".toml"))]
            assert all(not checks.excluded_by_dockerignore(f, patterns) for f in python), source


def test_dockerignore_keeps_local_state_out():
    patterns = checks.dockerignore_patterns(checks.REPO_ROOT / ".dockerignore")
    for path in (
        ".venv/bin/python",
        ".venv-triton/lib/site.py",
        ".git/HEAD",
        "model_repository/image_encoder/1/model.onnx",
        "service/__pycache__/app.cpython-311.pyc",
        "tests/unit/test_settings.py",
        "charts/imagelint/values.yaml",
        ".cache/x",
    ):
        assert checks.excluded_by_dockerignore(path, patterns), path
    for path in ("service/app.py", "pyproject.toml", "model_repository/image_encoder/1/model.py"):
        assert not checks.excluded_by_dockerignore(path, patterns), path


def test_dockerignore_matcher_follows_docker_semantics():
    patterns = [(False, "*"), (True, "keep"), (False, "**/drop")]
    assert checks.excluded_by_dockerignore("other/file", patterns)
    assert not checks.excluded_by_dockerignore("keep/file", patterns)
    assert checks.excluded_by_dockerignore("keep/sub/drop/file", patterns)
