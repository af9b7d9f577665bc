"""Policy files (YAML or JSON) -> the ``policy`` of a report request.

A rule is written either in full (``max_leaked_items: {fail: 0, warn: ...}``) or as a bare
number, shorthand for its ``fail`` threshold (``max_leaked_items: 0``). The file may hold the
rules at the top level or under a ``policy:`` key. The server validates the rules (unknown rule
names and bad thresholds come back as a 400 naming the field).

    # policy.yaml
    max_failed_items: 0
    max_leaked_items: 0
    max_label_issue_rate: {fail: 0.10, warn: 0.05}
    min_images_per_class: {fail: 20, warn: 50}
    max_imbalance_ratio: {warn: 10}
    min_predicted_accuracy: {at_images: 5000, fail: 0.80}
    unevaluated: fail          # a rule whose check did not run or failed: fail (default) or warn
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class PolicyFileError(ValueError):
    """The policy file cannot be read or is not a mapping of rules."""


def load_policy(path: str | Path) -> dict[str, Any]:
    """Read a policy file (``.json``, else YAML) and expand number shorthands."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyFileError(f"{path}: {exc.strerror or exc}") from exc
    try:
        if path.suffix.lower() == ".json":
            raw = json.loads(text)
        else:
            import yaml

            raw = yaml.safe_load(text)
    except ValueError as exc:  # json.JSONDecodeError and yaml.YAMLError's parse errors
        raise PolicyFileError(f"{path}: {exc}") from exc
    except Exception as exc:  # yaml.YAMLError is not a ValueError
        raise PolicyFileError(f"{path}: {exc}") from exc
    return normalise_policy(raw, source=str(path))


def normalise_policy(raw: Any, *, source: str = "policy") -> dict[str, Any]:
    """``{rule: number}`` -> ``{rule: {"fail": number}}``; a top-level ``policy:`` key is unwrapped."""
    if isinstance(raw, dict) and set(raw) == {"policy"}:
        raw = raw["policy"]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PolicyFileError(f"{source}: expected a mapping of rules, got {type(raw).__name__}")
    policy: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, bool):
            raise PolicyFileError(
                f"{source}: {name}: expected a number or {{fail, warn}}, got {value}"
            )
        if isinstance(value, int | float):
            policy[name] = {"fail": value}
        else:
            policy[name] = value
    return policy
