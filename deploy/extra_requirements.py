"""Print one optional-dependency group ("extra") of pyproject.toml, one requirement a line.

Used by the Dockerfile's model-export stage so the `export` extra's pins live in one place
(pyproject.toml) and the image installs exactly them::

    python deploy/extra_requirements.py export [--pyproject pyproject.toml] [--only torch]
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path


def extra_requirements(pyproject: Path, extra: str) -> list[str]:
    """The requirement strings of ``extra`` in ``pyproject``; ``KeyError`` names the valid ones."""
    with pyproject.open("rb") as fh:
        extras = tomllib.load(fh)["project"].get("optional-dependencies", {})
    if extra not in extras:
        raise KeyError(f"no extra {extra!r}; valid: {', '.join(sorted(extras)) or 'none'}")
    return list(extras[extra])


def requirement_name(requirement: str) -> str:
    """The normalised project name of a requirement string (PEP 503)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not match:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extra")
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    parser.add_argument("--only", action="append", default=[], help="keep only these projects")
    args = parser.parse_args(argv)
    try:
        requirements = extra_requirements(args.pyproject, args.extra)
    except (OSError, KeyError) as exc:
        print(f"extra_requirements: {exc}", file=sys.stderr)
        return 2
    wanted = {requirement_name(name) for name in args.only}
    if wanted:
        requirements = [r for r in requirements if requirement_name(r) in wanted]
        missing = wanted - {requirement_name(r) for r in requirements}
        if missing:
            print(f"extra_requirements: not in {args.extra!r}: {sorted(missing)}", file=sys.stderr)
            return 2
    print("\n".join(requirements))
    return 0


if __name__ == "__main__":
    sys.exit(main())
