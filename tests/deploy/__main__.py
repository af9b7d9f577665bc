"""``python -m tests.deploy``: lint the Dockerfile, lint and render the chart, validate everything.

Prints one line per check and exits non-zero on the first kind of failure found. Options:
``--write-values-table`` regenerates the values table in ``charts/imagelint/README.md``.
"""

from __future__ import annotations

import argparse
import sys

from tests.deploy import checks, values_table

README = checks.CHART_DIR / "README.md"
VALUES = checks.CHART_DIR / "values.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-values-table", action="store_true")
    args = parser.parse_args(argv)
    failures = 0

    table = values_table.render_table(values_table.value_rows(VALUES))
    if args.write_values_table:
        values_table.write_readme_table(README, table)
        print(f"wrote the values table into {README.relative_to(checks.REPO_ROOT)}")
    if values_table.readme_table(README) != table:
        print(
            "FAIL chart README values table is stale: python -m tests.deploy --write-values-table"
        )
        failures += 1

    findings = checks.hadolint(checks.DOCKERFILE)
    for f in findings:
        print(f"FAIL hadolint {f['code']} line {f['line']}: {f['message']}")
    print(f"{'ok  ' if not findings else 'FAIL'} hadolint Dockerfile: {len(findings)} finding(s)")
    failures += bool(findings)

    for name, values in checks.SCENARIOS.items():
        problems = checks.lint_chart(values)
        for p in problems:
            print(f"FAIL helm lint [{name}] {p['path']}: {p['error']}")
        failures += bool(problems)
        _, docs = checks.render_scenario(name)
        bad = 0
        for manifest in docs:
            for version in checks.KUBE_VERSIONS:
                try:
                    checks.validate_manifest(manifest.doc, version)
                except Exception as exc:  # noqa: BLE001 - report every failure, then exit 1
                    bad += 1
                    print(f"FAIL {name}: {manifest.kind}/{manifest.name} on {version}: {exc}")
        kinds = ", ".join(sorted({m.kind for m in docs}))
        status = "ok  " if not (bad or problems) else "FAIL"
        print(
            f"{status} chart [{name}]: {len(docs)} objects valid on {'/'.join(checks.KUBE_VERSIONS)}"
            f" ({kinds})"
        )
        failures += bool(bad)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
