"""Peak RSS of the API under the hostile memory mix of issue 14 (D1 + D4), with the memory budget
and without it (baseline: a budget too large to ever refuse, i.e. admission by thread count only).

    python -m bench.memory [--decode-workers 4] [--checks 20]

The mix (``tests/fixtures/memory_load.py``): one report of 8 PNGs that each declare 13370 x 13370
pixels (174 KB each), and 20 concurrent ``/v1/checks/duplicates`` requests of 2000 x 256 JSON
embeddings (~5 MB each), against the API in its own process. Prints the peak RSS growth over
the warmed-up baseline for both runs, their ratio, and the outcome of the check requests.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench._common import machine_line
from service.settings import Settings
from tests.fixtures.memory_load import (
    api_process,
    check_body,
    hostile_mix,
    small_png,
    warm_up,
    write_d1_images,
)

UNBOUNDED = 1 << 40


def measure(
    root: Path, uris: list[str], body: bytes, *, budget: int, workers: int, checks: int
) -> dict:
    with api_process(root, decode_workers=workers, memory_budget_bytes=budget) as server:
        warm_up(server, body, uris[0])
        baseline, _ = server.memory()
        outcome = hostile_mix(server, uris, body, checks=checks)
        _, peak = server.memory()
    statuses = [r.status_code for r in outcome["checks"]]
    latencies = sorted(seconds for _, seconds in outcome["health"])
    return {
        "health_p95_ms": 1000 * latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
        "growth": peak - baseline,
        "peak": peak,
        "report": outcome["report"].status_code,
        "ok": statuses.count(200),
        "refused": statuses.count(429),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decode-workers", type=int, default=4)
    parser.add_argument("--checks", type=int, default=20)
    args = parser.parse_args(argv)
    budget = Settings().memory_budget_bytes
    print(machine_line())
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        uris = write_d1_images(root)
        small_png(root)
        body = check_body()
        runs = {
            "budget": measure(
                root, uris, body, budget=budget, workers=args.decode_workers, checks=args.checks
            ),
            "unbounded": measure(
                root, uris, body, budget=UNBOUNDED, workers=args.decode_workers, checks=args.checks
            ),
        }
    print(
        f"mix: {len(uris)} D1 PNGs in one report + {args.checks} concurrent duplicates checks "
        f"({len(body) / 2**20:.1f} MB bodies), {args.decode_workers} decode threads"
    )
    for name, run in runs.items():
        print(
            f"{name:>9}: peak RSS growth {run['growth'] / 2**20:7.0f} MiB (peak {run['peak'] / 2**20:.0f} MiB); "
            f"report {run['report']}; checks {run['ok']} ok, {run['refused']} refused (429); "
            f"/health/live p95 {run['health_p95_ms']:.0f} ms"
        )
    print(
        f"memory budget {budget / 2**20:.0f} MiB; unbounded / budget peak growth = "
        f"{runs['unbounded']['growth'] / max(1, runs['budget']['growth']):.2f}x"
    )


if __name__ == "__main__":
    main()
