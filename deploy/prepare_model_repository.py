"""Copy a Triton model repository and set each model's ``instance_group`` (CPU or GPU).

Runs as the Triton pod's init container (Helm chart ``charts/imagelint``), inside the Triton
image built from the repository's ``Dockerfile`` (target ``triton``), with the container's own
``python3`` and the standard library only. The image carries the model repository with the
``config.pbtxt`` the project commits (``KIND_CPU``); the chart picks ``KIND_GPU`` or ``KIND_CPU``
and the instance count from values, and this script writes them into a copy of the repository on
an ``emptyDir`` that Triton then serves. Nothing in the image is edited, and there is one source
of truth for the rest of the model configuration.

Usage::

    python3 prepare_model_repository.py --source /models --target /work/models \
        --kind KIND_GPU --count 1 [--gpus 0,1] [--model image_encoder]

``--model`` may be repeated; without it every model directory (one holding ``config.pbtxt``) is
rewritten. A model whose ``config.pbtxt`` has no ``instance_group`` gets one appended.

GPU tuning (the chart passes these with ``triton.gpu.enabled``; each replaces the block of the
same name, or appends it)::

    --max-batch-size 128 --preferred-batch-sizes 64,128 --max-queue-delay-us 5000 \
        --parameter gpu_execution_provider=tensorrt
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

KINDS = ("KIND_CPU", "KIND_GPU", "KIND_AUTO")
_INSTANCE_GROUP = re.compile(r"^[ \t]*instance_group\s*(?::\s*)?\[", re.MULTILINE)


def render_instance_group(kind: str, count: int, gpus: tuple[int, ...] = ()) -> str:
    """The ``instance_group`` block for ``kind`` with ``count`` instances (per GPU on GPU)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if count < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    if gpus and kind != "KIND_GPU":
        raise ValueError("gpus can only be given with KIND_GPU")
    lines = ["instance_group [", "  {", f"    count: {count}", f"    kind: {kind}"]
    if gpus:
        lines.append(f"    gpus: [ {', '.join(str(g) for g in gpus)} ]")
    lines += ["  }", "]"]
    return "\n".join(lines)


def _block_end(text: str, open_index: int) -> int:
    """Index just past the ``]`` that closes the ``[`` at ``open_index`` (skipping strings)."""
    depth = 0
    in_string = False
    i = open_index
    while i < len(text):
        char = text[i]
        if in_string:
            if char == "\\":
                i += 2
                continue
            if char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "#":
            newline = text.find("\n", i)
            i = len(text) if newline == -1 else newline
            continue
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced brackets in instance_group")


def set_instance_group(config_text: str, block: str) -> str:
    """Replace the ``instance_group`` block of a ``config.pbtxt`` text (or append one)."""
    matches = list(_INSTANCE_GROUP.finditer(config_text))
    if len(matches) > 1:
        raise ValueError("more than one instance_group block")
    if not matches:
        return config_text.rstrip("\n") + "\n\n" + block + "\n"
    match = matches[0]
    start = match.start()
    end = _block_end(config_text, match.end() - 1)
    return config_text[:start] + block + config_text[end:]


_MAX_BATCH = re.compile(r"^max_batch_size\s*:\s*\d+[ \t]*$", re.MULTILINE)
_DYNAMIC_BATCHING = re.compile(r"^[ \t]*dynamic_batching\s*\{", re.MULTILINE)
_PARAMETERS = re.compile(r"^[ \t]*parameters\s*:?\s*\{", re.MULTILINE)
_PARAMETER_KEY = re.compile(r'key\s*:\s*"(?P<key>[^"]*)"')


def set_max_batch_size(config_text: str, size: int) -> str:
    """``max_batch_size`` set to ``size`` (which must be >= 1)."""
    if size < 1:
        raise ValueError(f"max batch size must be at least 1, not {size}")
    line = f"max_batch_size: {size}"
    if not _MAX_BATCH.search(config_text):
        return config_text.rstrip("\n") + "\n" + line + "\n"
    return _MAX_BATCH.sub(line, config_text, count=1)


def set_dynamic_batching(config_text: str, preferred: tuple[int, ...], delay_us: int) -> str:
    """The ``dynamic_batching`` block replaced by one with these preferred sizes and delay."""
    if not preferred or min(preferred) < 1 or delay_us < 0:
        raise ValueError("preferred batch sizes must be >= 1 and the queue delay >= 0")
    block = (
        "dynamic_batching {\n"
        f"  preferred_batch_size: [ {', '.join(str(p) for p in preferred)} ]\n"
        f"  max_queue_delay_microseconds: {delay_us}\n"
        "}"
    )
    match = _DYNAMIC_BATCHING.search(config_text)
    if match is None:
        return config_text.rstrip("\n") + "\n\n" + block + "\n"
    end = _block_end(config_text, match.end() - 1)
    return config_text[: match.start()] + block + config_text[end:]


def set_parameter(config_text: str, key: str, value: str) -> str:
    """The ``parameters`` entry ``key`` set to the string ``value`` (replaced or appended)."""
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", key) or '"' in value or "\\" in value:
        raise ValueError(f"bad parameter {key}={value}")
    block = f'parameters: {{\n  key: "{key}"\n  value: {{ string_value: "{value}" }}\n}}'
    for match in _PARAMETERS.finditer(config_text):
        end = _block_end(config_text, match.end() - 1)
        found = _PARAMETER_KEY.search(config_text, match.end(), end)
        if found and found.group("key") == key:
            return config_text[: match.start()] + block + config_text[end:]
    return config_text.rstrip("\n") + "\n" + block + "\n"


def prepare(
    source: Path,
    target: Path,
    *,
    kind: str,
    count: int,
    gpus: tuple[int, ...] = (),
    models: tuple[str, ...] = (),
    max_batch_size: int | None = None,
    preferred_batch_sizes: tuple[int, ...] = (),
    max_queue_delay_us: int | None = None,
    parameters: tuple[tuple[str, str], ...] = (),
) -> list[Path]:
    """Copy ``source`` to ``target`` and rewrite the configs; returns the configs written."""
    if not source.is_dir():
        raise FileNotFoundError(f"model repository not found: {source}")
    block = render_instance_group(kind, count, gpus)
    shutil.copytree(
        source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
    )
    names = models or tuple(
        sorted(p.name for p in target.iterdir() if (p / "config.pbtxt").is_file())
    )
    if not names:
        raise ValueError(f"no model (directory with config.pbtxt) in {source}")
    written = []
    for name in names:
        config = target / name / "config.pbtxt"
        if not config.is_file():
            raise FileNotFoundError(f"model {name!r} has no config.pbtxt in {source}")
        text = set_instance_group(config.read_text(), block)
        if max_batch_size is not None:
            text = set_max_batch_size(text, max_batch_size)
        if preferred_batch_sizes or max_queue_delay_us is not None:
            current = re.search(r"max_queue_delay_microseconds\s*:\s*(\d+)", text)
            text = set_dynamic_batching(
                text,
                preferred_batch_sizes or (max_batch_size or 32,),
                max_queue_delay_us
                if max_queue_delay_us is not None
                else int(current.group(1) if current else 0),
            )
        for key, value in parameters:
            text = set_parameter(text, key, value)
        config.write_text(text)
        written.append(config)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="repository to copy")
    parser.add_argument("--target", type=Path, required=True, help="where Triton will read it")
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--count", type=int, default=1, help="instances (per GPU on GPU)")
    parser.add_argument("--gpus", default="", help="comma-separated GPU ids (KIND_GPU only)")
    parser.add_argument("--model", action="append", default=[], help="model to rewrite")
    parser.add_argument("--max-batch-size", type=int, default=None)
    parser.add_argument("--preferred-batch-sizes", default="", help="comma-separated, e.g. 64,128")
    parser.add_argument("--max-queue-delay-us", type=int, default=None)
    parser.add_argument(
        "--parameter", action="append", default=[], help="KEY=VALUE for the model's parameters"
    )
    args = parser.parse_args(argv)
    try:
        gpus = tuple(int(g) for g in args.gpus.split(",") if g.strip())
        preferred = tuple(int(p) for p in args.preferred_batch_sizes.split(",") if p.strip())
        parameters = []
        for item in args.parameter:
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"--parameter needs KEY=VALUE, got {item!r}")
            parameters.append((key.strip(), value.strip()))
        written = prepare(
            args.source,
            args.target,
            kind=args.kind,
            count=args.count,
            gpus=gpus,
            models=tuple(args.model),
            max_batch_size=args.max_batch_size,
            preferred_batch_sizes=preferred,
            max_queue_delay_us=args.max_queue_delay_us,
            parameters=tuple(parameters),
        )
    except (OSError, ValueError) as exc:
        print(f"prepare_model_repository: {exc}", file=sys.stderr)
        return 2
    for config in written:
        print(f"{config}: instance_group {args.kind} x{args.count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
