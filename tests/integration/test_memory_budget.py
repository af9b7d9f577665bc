"""The bounded load test of issue 14 (D1 + D4): eight PNGs that each declare 13370 x 13370
pixels (~0.86 GB to decode, 174 KB on disk) in a report, with four decode threads, while 20
check requests arrive at once. The API runs in its own process and its peak RSS must stay within
the memory budget (plus a fixed allowance for the check requests' un-budgeted parsing slack),
well under the chart's 3 GiB limit. Before the budget: +1.7 GB with 2 decode threads, +3.5 GB
with 4."""

from __future__ import annotations

import pytest

from tests.fixtures.memory_load import (
    api_process,
    check_body,
    hostile_mix,
    small_png,
    warm_up,
    write_d1_images,
)

pytestmark = pytest.mark.integration

BUDGET = 1024 * 1024 * 1024  # the default
ALLOWANCE = 384 * 1024 * 1024  # allocator slack, uvicorn buffers, 20 bodies read off the socket
CHART_LIMIT = 3 * 1024**3


def test_the_hostile_mix_stays_within_the_memory_budget(tmp_path):
    uris = write_d1_images(tmp_path)
    small_png(tmp_path)
    body = check_body()
    with api_process(tmp_path, decode_workers=4, memory_budget_bytes=BUDGET) as server:
        warm_up(server, body, uris[0])
        baseline, _ = server.memory()
        outcome = hostile_mix(server, uris, body)
        _, peak = server.memory()
        report = outcome["report"]
        assert report.status_code == 200, report.text
        assert report.json()["dataset"]["loaded"] == len(uris)  # admitted one by one, all decoded
        statuses = [r.status_code for r in outcome["checks"]]
        assert set(statuses) <= {200, 429}, statuses
        # /health/live kept answering through the mix (D4: health p95 was 0.8 s).
        assert outcome["health"] and {status for status, _ in outcome["health"]} == {200}
        for refused in (r for r in outcome["checks"] if r.status_code == 429):
            assert refused.headers["retry-after"] and refused.json()["request_id"]
        # Everything given back: the next check is admitted.
        import httpx

        again = httpx.post(
            f"{server.url}/v1/checks/duplicates",
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=300,
        )
        assert again.status_code == 200
    growth = peak - baseline
    print(
        f"baseline RSS {baseline / 2**20:.0f} MiB, peak {peak / 2**20:.0f} MiB, growth {growth / 2**20:.0f} MiB, "
        f"checks {statuses.count(200)} ok / {statuses.count(429)} refused"
    )
    assert growth <= BUDGET + ALLOWANCE
    assert peak < CHART_LIMIT
