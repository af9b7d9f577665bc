"""``imagelint``: audit a dataset on an imagelint server and gate on a policy.

    imagelint audit FOLDER|ARCHIVE|MANIFEST|URI --server URL [--policy policy.yaml]
                    [--json out.json] [--html out.html] [--junit out.xml]

Exit codes: 0 the verdict is pass (or warn, unless --fail-on-warn; or no policy was given),
1 the verdict is fail, 2 the audit could not run (server unreachable or refused the request,
bad target, bad policy file).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import httpx

from imagelint_client.models import AuditResult
from imagelint_client.outputs import html_page, junit_xml, summary_text
from imagelint_client.policy import PolicyFileError, load_policy
from imagelint_client.rest import ApiError, RestClient
from imagelint_client.targets import TargetError

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


class ProgressPrinter:
    """Progress of the NDJSON stream on stderr: a bar redrawn in place on a terminal, else one
    line per stage and every quarter of it (CI logs stay short)."""

    def __init__(self, stream: TextIO, *, enabled: bool = True):
        self.stream = stream
        self.enabled = enabled
        self.tty = stream.isatty()
        self.stage: str | None = None
        self.last_quarter = -1
        self.started = time.monotonic()

    def __call__(self, event: dict[str, Any]) -> None:
        if not self.enabled:
            return
        stage, done, total = (
            str(event.get("stage")),
            int(event.get("done", 0)),
            int(event.get("total", 0)),
        )
        if stage != self.stage:
            if self.tty and self.stage is not None:
                self.stream.write("\n")
            self.stage, self.last_quarter = stage, -1
        fraction = done / total if total else 1.0
        elapsed = time.monotonic() - self.started
        if self.tty:
            filled = int(30 * fraction)
            bar = "#" * filled + "." * (30 - filled)
            self.stream.write(f"\r{stage:<14} [{bar}] {done}/{total}  {elapsed:5.0f}s")
        else:
            quarter = int(4 * fraction)
            if quarter == self.last_quarter:
                return
            self.last_quarter = quarter
            self.stream.write(f"{stage}: {done}/{total} ({elapsed:.0f}s)\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.tty and self.stage is not None:
            self.stream.write("\n")
            self.stream.flush()


def parse_columns(text: str | None) -> dict[str, str] | None:
    """``uri=filepath,label=class`` -> ``{"uri": "filepath", "label": "class"}``."""
    if not text:
        return None
    mapping: dict[str, str] = {}
    for part in text.split(","):
        field, sep, column = part.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise ValueError(f"--columns: expected FIELD=COLUMN pairs, got {part!r}")
        mapping[field.strip()] = column.strip()
    return mapping


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imagelint", description="Audit image datasets on an imagelint server."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    audit = commands.add_parser(
        "audit",
        help="audit a dataset; exit 0 pass, 1 fail, 2 error",
        description=(
            "Audit a local folder (zipped and uploaded), a local archive or manifest (uploaded), "
            "or a URI the server fetches (https://, file:// under its data root). "
            "Exit codes: 0 pass (or warn, or no policy), 1 fail, 2 error."
        ),
    )
    audit.add_argument(
        "target", help="FOLDER | ARCHIVE (.zip/.tar[.gz]) | MANIFEST (.csv/.jsonl/.json) | URI"
    )
    audit.add_argument(
        "--server",
        default=os.environ.get("IMAGELINT_SERVER", "http://127.0.0.1:8000"),
        help="server base URL (env IMAGELINT_SERVER; default %(default)s)",
    )
    audit.add_argument(
        "--api-key",
        default=os.environ.get("IMAGELINT_API_KEY"),
        help="X-API-Key (env IMAGELINT_API_KEY)",
    )
    audit.add_argument(
        "--policy", type=Path, help="policy file (YAML or JSON): rules -> verdict and exit code"
    )
    audit.add_argument("--checks", help="comma-separated checks to run (default: all)")
    audit.add_argument("--options", help="report options as JSON, or @FILE with JSON")
    audit.add_argument("--columns", help="manifest columns, e.g. uri=filepath,label=class")
    audit.add_argument("--manifest-format", choices=("csv", "jsonl", "json"))
    audit.add_argument("--json", dest="json_out", type=Path, help="write the full report (JSON)")
    audit.add_argument("--html", dest="html_out", type=Path, help="write an HTML summary")
    audit.add_argument(
        "--junit", dest="junit_out", type=Path, help="write JUnit XML (one test case per rule)"
    )
    audit.add_argument("--fail-on-warn", action="store_true", help="exit 1 on a warn verdict too")
    audit.add_argument("--no-progress", action="store_true", help="do not print progress")
    audit.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds to wait for the report"
    )
    audit.add_argument(
        "--retries",
        type=int,
        default=3,
        help="retries when the server is busy (429) or not ready (503), after its Retry-After",
    )
    return parser


def _options(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    if text.startswith("@"):
        text = Path(text[1:]).read_text(encoding="utf-8")
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("--options must be a JSON object")
    return value


def _error(message: str) -> int:
    print(f"imagelint: error: {message}", file=sys.stderr)
    return EXIT_ERROR


MAX_RETRY_WAIT_S = 60.0


def run_audit(args: argparse.Namespace, *, transport: httpx.BaseTransport | None = None) -> int:
    try:
        policy = load_policy(args.policy) if args.policy else None
        options = _options(args.options)
        columns = parse_columns(args.columns)
    except (PolicyFileError, ValueError, OSError) as exc:
        return _error(str(exc))
    checks = [c.strip() for c in args.checks.split(",") if c.strip()] if args.checks else None
    progress = ProgressPrinter(sys.stderr, enabled=not args.no_progress)

    def note(message: str) -> None:
        if not args.no_progress:
            print(message, file=sys.stderr, flush=True)

    try:
        with RestClient(
            args.server,
            api_key=args.api_key,
            timeout=args.timeout,
            transport=transport,
            on_upload=note,
        ) as client:
            for attempt in range(args.retries + 1):
                try:
                    result = client.audit(
                        args.target,
                        checks=checks,
                        options=options,
                        policy=policy,
                        columns=columns,
                        manifest_format=args.manifest_format,
                        on_progress=progress,
                    )
                    break
                except ApiError as exc:
                    if not exc.retryable or attempt == args.retries:
                        raise
                    wait = min(
                        exc.retry_after if exc.retry_after is not None else 10.0, MAX_RETRY_WAIT_S
                    )
                    note(
                        f"server answered {exc.status} ({exc.problem.get('code', '')}); retrying in {wait:.0f}s"
                    )
                    time.sleep(wait)
            else:  # never reached: the last attempt breaks or raises
                raise AssertionError("no attempt was made")
    except TargetError as exc:
        progress.finish()
        return _error(str(exc))
    except ApiError as exc:
        progress.finish()
        problem = exc.problem
        where = f" (field {problem['field']})" if problem.get("field") else ""
        return _error(
            f"the server refused the audit: {exc.status} {problem.get('code', '')}: {problem.get('detail', '')}{where}"
        )
    except httpx.HTTPError as exc:
        progress.finish()
        return _error(f"could not talk to {args.server}: {type(exc).__name__}: {exc}")
    progress.finish()
    return finish(result, args)


def finish(result: AuditResult, args: argparse.Namespace) -> int:
    """Write the requested files, print the summary, and choose the exit code."""
    try:
        if args.json_out:
            args.json_out.write_text(json.dumps(result.report, indent=2), encoding="utf-8")
        if args.html_out:
            args.html_out.write_text(html_page(result), encoding="utf-8")
        if args.junit_out:
            args.junit_out.write_bytes(junit_xml(result))
    except OSError as exc:
        print(summary_text(result))
        return _error(f"could not write an output file: {exc}")
    print(summary_text(result))
    outcome = result.outcome
    if outcome == "fail" or (outcome == "warn" and args.fail_on_warn):
        return EXIT_FAIL
    return EXIT_PASS


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "audit":
        return run_audit(args)
    return EXIT_ERROR  # pragma: no cover - argparse requires a command


if __name__ == "__main__":
    sys.exit(main())
