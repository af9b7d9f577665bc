"""The import rules of ``make lint`` (import-linter contracts in pyproject.toml) hold on this
tree, and each one fails when a forbidden import is added to a copy of it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """The packages and the contracts, copied (Python files only)."""
    root = tmp_path_factory.mktemp("tree")
    skip = shutil.ignore_patterns("__pycache__", "openapi_assets", "static", "migrations")
    for package in ("service", "devtools"):
        shutil.copytree(ROOT / package, root / package, ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_contracts_hold_on_this_tree():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "forbidden_import", "contract"),
    [
        # an analysis reaching for settings (or any other part of the service)
        ("service/analysis/outliers.py", "import service.settings", "The analyses are pure"),
        # the gRPC layer taking something from the REST layer again
        ("service/grpc_api/status.py", "import service.api.problems", "each layer imports only"),
        # a check adapter importing a web framework
        ("service/checks/imbalance.py", "import litestar", "nothing imports a transport"),
        # fetching back in the datasets <-> images cycle
        ("service/fetch/fetcher.py", "import service.images.loader", "each layer imports only"),
        # the check runners importing the pipeline that imports them
        ("service/report/check_runners.py", "import service.report.pipeline", "No import cycles"),
        ("service/app.py", "import devtools.demo", "does not import the developer tools"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tree, module, forbidden_import, contract):
    path = tree / module
    original = path.read_text()
    path.write_text(f"{original}\n{forbidden_import}  # noqa\n")
    try:
        result = lint_imports(tree)
    finally:
        path.write_text(original)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [line for line in result.stdout.splitlines() if "BROKEN" in line]
    assert len(broken) >= 1 and any(contract in line for line in broken), result.stdout
