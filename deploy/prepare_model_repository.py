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


def prepare(
    source: Path,
    target: Path,
    *,
    kind: str,
    count: int,
    gpus: tuple[int, ...] = (),
    models: tuple[str, ...] = (),
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
        config.write_text(set_instance_group(config.read_text(), block))
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
    args = parser.parse_args(argv)
    gpus = tuple(int(g) for g in args.gpus.split(",") if g.strip())
    try:
        written = prepare(
            args.source,
            args.target,
            kind=args.kind,
            count=args.count,
            gpus=gpus,
            models=tuple(args.model),
        )
    except (OSError, ValueError) as exc:
        print(f"prepare_model_repository: {exc}", file=sys.stderr)
        return 2
    for config in written:
        print(f"{config}: instance_group {args.kind} x{args.count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
