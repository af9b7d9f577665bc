"""deploy/prepare_model_repository.py: the Triton init container that sets KIND_CPU/KIND_GPU.

The last test runs the exact command the chart renders against a copy of the model repository
laid out the way the Dockerfile's triton stage lays it out."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy import checks

SCRIPT = checks.REPO_ROOT / "deploy" / "prepare_model_repository.py"
CONFIG = checks.REPO_ROOT / "model_repository" / "image_encoder" / "config.pbtxt"

_spec = importlib.util.spec_from_file_location("prepare_model_repository", SCRIPT)
prep = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(prep)


def instance_groups(text: str) -> list[str]:
    return re.findall(r"instance_group\s*\[(.*?)\n\]", text, flags=re.S)


def without_instance_group(text: str) -> str:
    return re.sub(r"instance_group\s*\[.*?\n\]", "", text, flags=re.S)


def test_rewrites_only_the_instance_group_of_the_real_config():
    original = CONFIG.read_text()
    assert "KIND_CPU" in original  # the committed config is the CPU one
    block = prep.render_instance_group("KIND_GPU", 2, (0, 1))
    rewritten = prep.set_instance_group(original, block)
    (group,) = instance_groups(rewritten)
    assert "kind: KIND_GPU" in group and "count: 2" in group and "gpus: [ 0, 1 ]" in group
    assert "kind: KIND_CPU" not in rewritten
    assert without_instance_group(rewritten) == without_instance_group(original)
    # Idempotent, and back to CPU gives the original block semantics.
    assert prep.set_instance_group(rewritten, block) == rewritten
    back = prep.set_instance_group(rewritten, prep.render_instance_group("KIND_CPU", 1))
    assert without_instance_group(back) == without_instance_group(original)
    assert "kind: KIND_CPU" in instance_groups(back)[0]


def test_appends_an_instance_group_when_there_is_none():
    text = 'name: "m"\nbackend: "python"\n'
    out = prep.set_instance_group(text, prep.render_instance_group("KIND_CPU", 3))
    assert out.startswith(text) and "count: 3" in instance_groups(out)[0]


def test_brackets_in_strings_and_comments_do_not_confuse_it():
    text = (
        "instance_group [\n  {\n    count: 1 # a ] in a comment\n    kind: KIND_CPU\n"
        '    profile: [ "x]y" ]\n  }\n]\nparameters: { key: "k" value: { string_value: "]" } }\n'
    )
    out = prep.set_instance_group(text, prep.render_instance_group("KIND_GPU", 1))
    assert out.endswith('parameters: { key: "k" value: { string_value: "]" } }\n')
    assert "kind: KIND_CPU" not in out


@pytest.mark.parametrize(
    ("kind", "count", "gpus"),
    [("KIND_TPU", 1, ()), ("KIND_GPU", 0, ()), ("KIND_CPU", 1, (0,))],
)
def test_rejects_bad_arguments(kind, count, gpus):
    with pytest.raises(ValueError):
        prep.render_instance_group(kind, count, gpus)


def test_gpu_tuning_rewrites_batching_and_parameters_of_the_real_config():
    text = CONFIG.read_text()
    tuned = prep.set_max_batch_size(text, 128)
    tuned = prep.set_dynamic_batching(tuned, (64, 128), 5000)
    tuned = prep.set_parameter(tuned, "gpu_execution_provider", "tensorrt")
    tuned = prep.set_parameter(tuned, "intra_op_num_threads", "4")
    assert re.findall(r"^max_batch_size: (\d+)$", tuned, flags=re.M) == ["128"]
    assert tuned.count("dynamic_batching {") == 1
    assert "preferred_batch_size: [ 64, 128 ]" in tuned
    assert "max_queue_delay_microseconds: 5000" in tuned
    assert tuned.count('key: "intra_op_num_threads"') == 1
    assert 'key: "intra_op_num_threads"\n  value: { string_value: "4" }' in tuned
    assert 'key: "gpu_execution_provider"\n  value: { string_value: "tensorrt" }' in tuned
    # everything else (inputs, outputs, labels, instance group) is untouched
    for block in ("input [", "output [", "label_filename", "instance_group ["):
        assert tuned.count(block) == text.count(block)
    with pytest.raises(ValueError):
        prep.set_dynamic_batching(text, (), 10)
    with pytest.raises(ValueError):
        prep.set_parameter(text, "bad key", "x")


def test_rejects_two_instance_groups():
    block = prep.render_instance_group("KIND_CPU", 1)
    with pytest.raises(ValueError, match="more than one"):
        prep.set_instance_group(block + "\n" + block, block)


def stage_image_repository(root: Path) -> Path:
    """Lay out /models as the Dockerfile's triton stage does (COPY destinations under root)."""
    triton = next(s for s in checks.parse_dockerfile() if s.name == "triton")
    for source, destination in checks.copy_sources(triton):
        target = root / destination.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(checks.REPO_ROOT / source, target)
    onnx = root / "models" / "image_encoder" / "1" / "model.onnx"
    onnx.write_bytes(b"stand-in for the exported model")  # COPY --from=model-export
    return root


@pytest.mark.parametrize("scenario", ["defaults", "production"])
def test_the_chart_init_command_prepares_a_servable_repository(tmp_path, scenario):
    root = stage_image_repository(tmp_path / "image")
    _, docs = checks.render_scenario(scenario)
    deployment = next(m.doc for m in docs if m.kind == "Deployment" and m.name.endswith("-triton"))
    command = deployment["spec"]["template"]["spec"]["initContainers"][0]["command"]
    assert command[0] == "python3"

    def rebase(arg: str) -> str:  # image paths -> this test's directories
        for flag in ("--source=", "--target="):
            if arg.startswith(flag):
                return flag + str(root / arg[len(flag) :].lstrip("/"))
        return str(root / arg.lstrip("/")) if arg.startswith("/opt/") else arg

    argv = [sys.executable] + [rebase(a) for a in command[1:]]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    served = root / "work" / "models" / "image_encoder"
    assert (served / "1" / "model.py").read_text() == (
        checks.REPO_ROOT / "model_repository" / "image_encoder" / "1" / "model.py"
    ).read_text()
    assert (served / "1" / "model.onnx").is_file()
    config = (served / "config.pbtxt").read_text()
    want = "KIND_GPU" if scenario == "production" else "KIND_CPU"
    (group,) = instance_groups(config)
    assert f"kind: {want}" in group
    if scenario == "production":  # GPU: batching and the execution provider from values
        assert "max_batch_size: 128" in config
        assert "preferred_batch_size: [ 64, 128 ]" in config
        assert "max_queue_delay_microseconds: 5000" in config
        assert 'key: "gpu_execution_provider"\n  value: { string_value: "tensorrt" }' in config
    else:
        assert without_instance_group(config) == without_instance_group(CONFIG.read_text())
    # The image's own copy is untouched.
    assert (root / "models" / "image_encoder" / "config.pbtxt").read_text() == CONFIG.read_text()


def test_init_command_fails_loudly_on_a_missing_model(tmp_path):
    root = stage_image_repository(tmp_path / "image")
    proc = subprocess.run(
        [
            sys.executable,
            str(root / "opt/imagelint/prepare_model_repository.py"),
            f"--source={root / 'models'}",
            f"--target={tmp_path / 'out'}",
            "--kind=KIND_GPU",
            "--model=no_such_model",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "no_such_model" in proc.stderr
