"""The chart README's values table, generated from ``values.yaml`` and its ``# --`` comments.

A key documented with a ``# -- text`` comment (continued by following ``#`` lines) is one row,
whatever its value; an undocumented mapping is descended into; an undocumented leaf is a row
with no description, which the tests reject. The README holds the table between two markers;
``python -m tests.deploy --write-values-table`` rewrites it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

START = "<!-- values-table:start -->"
END = "<!-- values-table:end -->"
_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.\-]+):(?:\s|$)")
_DOC = re.compile(r"^ *# -- ?(?P<text>.*)$")
_MORE = re.compile(r"^ *# ?(?P<text>.*)$")


@dataclass(frozen=True)
class ValueRow:
    key: str
    type: str
    default: str
    description: str


def _descriptions(text: str) -> dict[str, str]:
    """Dotted key -> description, from ``# --`` comments directly above keys."""
    docs: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] | None = None
    for line in text.splitlines():
        if match := _DOC.match(line):
            pending = [match.group("text").strip()]
            continue
        if pending is not None and (match := _MORE.match(line)) and line.strip().startswith("#"):
            pending.append(match.group("text").strip())
            continue
        if line.strip().startswith("#") or not line.strip():
            if not line.strip():
                pending = None
            continue
        match = _KEY.match(line)
        if not match or line.lstrip().startswith("- "):
            pending = None
            continue
        indent = len(match.group("indent"))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match.group("key")))
        if pending is not None:
            docs[".".join(k for _, k in stack)] = " ".join(p for p in pending if p)
        pending = None
    return docs


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def value_rows(values_path: Path) -> list[ValueRow]:
    """Every row of the table, in the order of ``values.yaml``."""
    text = values_path.read_text()
    values = yaml.safe_load(text)
    docs = _descriptions(text)
    rows: list[ValueRow] = []

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}{key}"
            if path not in docs and isinstance(value, dict) and value:
                walk(value, path + ".")
                continue
            default = json.dumps(value, separators=(", ", ": "))
            rows.append(ValueRow(path, _type_name(value), default, docs.get(path, "")))

    walk(values, "")
    return rows


def render_table(rows: list[ValueRow]) -> str:
    """The Markdown table."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    lines += [
        f"| `{r.key}` | {r.type} | `{cell(r.default)}` | {cell(r.description)} |" for r in rows
    ]
    return "\n".join(lines)


def readme_table(readme: Path) -> str:
    """The table currently between the README's markers."""
    text = readme.read_text()
    if START not in text or END not in text:
        raise ValueError(f"{readme} lacks the {START} / {END} markers")
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def write_readme_table(readme: Path, table: str) -> None:
    text = readme.read_text()
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    readme.write_text(f"{head}{START}\n{table}\n{END}{tail}")
