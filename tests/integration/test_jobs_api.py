"""``/v1/jobs`` over real HTTP with the real Triton and the real PostgreSQL: submit, events
(resumable), report, idempotency, cancel; two API replicas sharing one database; an API process
killed mid-job (SIGKILL) and the job finished by another replica exactly once, from the chunks the
dead one had already cached."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import numpy as np
import pytest
from PIL import Image

from service.app import create_app
from service.inference.local_triton import free_port
from service.settings import Settings
from tests.live_server import serve

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]
TERMINAL = {"succeeded", "failed", "cancelled"}


def write_digits(root: Path, count: int, *, seed: int) -> list[dict]:
    """``count`` small PNGs of scikit-learn's digits, each with its own noise (unique bytes)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    out = root / f"digits-{seed}-{count}"
    out.mkdir(parents=True, exist_ok=True)
    items = []
    for i in range(count):
        k = i % len(digits.images)
        image = np.kron(digits.images[k] / 16.0 * 255.0, np.ones((4, 4)))
        image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
        path = out / f"{i:05d}.png"
        Image.fromarray(image).convert("RGB").save(path)
        split = "test" if i % 5 == 4 else "train"
        items.append(
            {
                "id": f"i{i:05d}",
                "uri": path.as_uri(),
                "label": str(digits.target[k]),
                "split": split,
            }
        )
    return items


def settings_for(database_url: str, triton_url: str, root: Path, **extra) -> Settings:
    base = dict(
        triton_url=triton_url, data_root=str(root), database_url=database_url, grpc_port=0,
        job_poll_s=0.2, job_heartbeat_s=0.5,
    )  # fmt: skip
    base.update(extra)
    return Settings(**base)


def wait_for(url: str, job_id: str, states: set[str], timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/v1/jobs/{job_id}", timeout=30).json()
        if job["state"] in states:
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} not in {states} after {timeout}s: {job}")


def read_events(url: str, job_id: str, **kwargs) -> list[dict]:
    with httpx.stream("GET", f"{url}/v1/jobs/{job_id}/events", timeout=600, **kwargs) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("application/x-ndjson")
        return [json.loads(line) for line in response.iter_lines() if line.strip()]


async def db_fetch(database_url: str, query: str, *args):
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("jobs-data")


@pytest.fixture(scope="module")
def small_items(data_root) -> list[dict]:
    return write_digits(data_root, 60, seed=1)


def test_job_flow_events_resume_and_report_equal_to_the_synchronous_one(
    triton_url, database_url, data_root, small_items
):
    body = {
        "dataset": {"items": small_items},
        "checks": ["duplicates", "imbalance", "image_quality"],
    }
    with serve(create_app(settings_for(database_url, triton_url, data_root))) as url:
        submitted = httpx.post(f"{url}/v1/jobs", json=body, timeout=60)
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["id"]
        assert submitted.headers["location"] == f"/v1/jobs/{job_id}"
        assert submitted.json()["state"] in {"queued", "running"}

        events = read_events(url, job_id)
        ids = [e["id"] for e in events]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        states = [e["state"] for e in events if e["event"] == "state"]
        assert states == ["queued", "running", "succeeded"]
        # resume after the second event: exactly the rest, by query parameter or by header
        assert read_events(url, job_id, params={"after": ids[1]}) == events[2:]
        assert read_events(url, job_id, headers={"Last-Event-ID": str(ids[1])}) == events[2:]
        assert read_events(url, job_id, params={"after": ids[-1]}) == []

        job = httpx.get(f"{url}/v1/jobs/{job_id}", timeout=30).json()
        assert job["state"] == "succeeded" and job["attempts"] == 1
        assert job["timings_s"]["total"] >= job["timings_s"]["running"] >= 0
        assert job["progress"]["stage"] in {"duplicates", "imbalance", "image_quality"}
        report = httpx.get(f"{url}{job['links']['report']}", timeout=60)
        assert report.status_code == 200, report.text
        from_job = report.json()
        assert from_job["request_id"] == job_id.replace("-", "")
        assert from_job["dataset"]["loaded"] == len(small_items)

        # the same request, synchronously: the same findings (this run reads the cache)
        direct = httpx.post(f"{url}/v1/reports", json=body, timeout=600).json()
        for name in ("duplicates", "imbalance", "image_quality"):
            assert direct["checks"][name] == from_job["checks"][name], name
        metrics = httpx.get(f"{url}/metrics", timeout=30).text
        assert (
            f'imagelint_embedding_cache_lookups_total{{result="hit"}} {float(len(small_items))}'
            in metrics
        )
        assert 'imagelint_job_duration_seconds_count{outcome="succeeded"} 1.0' in metrics


def test_idempotency_key_unknown_job_and_report_of_a_cancelled_job(
    triton_url, database_url, data_root, small_items
):
    body = {"dataset": {"items": small_items[:20]}, "checks": ["imbalance"]}
    # no workers: jobs stay queued, so cancel finds them queued every time
    settings = settings_for(database_url, triton_url, data_root, job_workers=0)
    with serve(create_app(settings)) as url:
        headers = {"Idempotency-Key": "batch-42"}
        first = httpx.post(f"{url}/v1/jobs", json=body, headers=headers, timeout=60)
        again = httpx.post(f"{url}/v1/jobs", json=body, headers=headers, timeout=60)
        assert first.status_code == again.status_code == 202
        assert first.json()["id"] == again.json()["id"]
        other = httpx.post(
            f"{url}/v1/jobs",
            json={**body, "checks": ["image_quality"]},
            headers=headers,
            timeout=60,
        )
        assert other.status_code == 422
        assert other.json()["code"] == "idempotency_key_reused"
        fresh = httpx.post(f"{url}/v1/jobs", json=body, timeout=60).json()
        assert fresh["id"] != first.json()["id"]

        job_id = first.json()["id"]
        not_ready = httpx.get(f"{url}/v1/jobs/{job_id}/report", timeout=30)
        assert not_ready.status_code == 409 and not_ready.json()["code"] == "job_not_ready"
        cancelled = httpx.delete(f"{url}/v1/jobs/{job_id}", timeout=30)
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        assert [e["state"] for e in read_events(url, job_id)] == ["queued", "cancelled"]
        sse = httpx.get(
            f"{url}/v1/jobs/{job_id}/events", headers={"Accept": "text/event-stream"}, timeout=30
        )
        assert sse.headers["content-type"].startswith("text/event-stream")
        blocks = [b for b in sse.text.split("\n\n") if b]
        assert [json.loads(b.split("data: ", 1)[1])["state"] for b in blocks] == [
            "queued",
            "cancelled",
        ]
        assert all(b.startswith("id: ") for b in blocks)
        assert httpx.get(f"{url}/v1/jobs/{job_id}/report", timeout=30).status_code == 409

        missing = httpx.get(f"{url}/v1/jobs/00000000-0000-0000-0000-000000000000", timeout=30)
        assert missing.status_code == 404 and missing.json()["code"] == "job_not_found"
        assert httpx.get(f"{url}/v1/jobs/not-a-uuid", timeout=30).status_code == 404
        bad = httpx.post(f"{url}/v1/jobs", json={"dataset": {}}, timeout=30)
        assert bad.status_code in (400, 422)


def test_active_jobs_per_api_key_are_capped(triton_url, database_url, data_root, small_items):
    body = {"dataset": {"items": small_items[:5]}, "checks": ["imbalance"]}
    settings = settings_for(
        database_url, triton_url, data_root, job_workers=0, job_max_active_per_key=2,
        api_keys=("key-a", "key-b"),
    )  # fmt: skip
    with serve(create_app(settings)) as url:
        a = {"X-API-Key": "key-a"}
        first = httpx.post(
            f"{url}/v1/jobs", json=body, headers={**a, "Idempotency-Key": "one"}, timeout=30
        )
        assert httpx.post(f"{url}/v1/jobs", json=body, headers=a, timeout=30).status_code == 202
        over = httpx.post(f"{url}/v1/jobs", json=body, headers=a, timeout=30)
        assert over.status_code == 429 and over.json()["code"] == "too_many_requests"
        # a retry of a job already submitted is not a new job: still answered
        retry = httpx.post(
            f"{url}/v1/jobs", json=body, headers={**a, "Idempotency-Key": "one"}, timeout=30
        )
        assert retry.status_code == 202 and retry.json()["id"] == first.json()["id"]
        # another key has its own allowance; cancelling frees one
        assert (
            httpx.post(
                f"{url}/v1/jobs", json=body, headers={"X-API-Key": "key-b"}, timeout=30
            ).status_code
            == 202
        )
        httpx.delete(f"{url}/v1/jobs/{first.json()['id']}", headers=a, timeout=30)
        assert httpx.post(f"{url}/v1/jobs", json=body, headers=a, timeout=30).status_code == 202
        assert httpx.get(f"{url}/v1/jobs/{first.json()['id']}", timeout=30).status_code == 401


def test_jobs_without_a_database_are_503(triton_url, data_root):
    with serve(
        create_app(Settings(triton_url=triton_url, data_root=str(data_root), grpc_port=0))
    ) as url:
        response = httpx.post(f"{url}/v1/jobs", json={"dataset": {"items": []}}, timeout=30)
        assert response.status_code == 503 and response.json()["code"] == "jobs_unavailable"


def test_cancelling_a_running_job_stops_it(triton_url, database_url, data_root):
    items = write_digits(data_root, 600, seed=2)
    with serve(create_app(settings_for(database_url, triton_url, data_root))) as url:
        job_id = httpx.post(
            f"{url}/v1/jobs", json={"dataset": {"items": items}}, timeout=60
        ).json()["id"]
        wait_for(url, job_id, {"running", *TERMINAL}, timeout=120)
        cancelled = httpx.delete(f"{url}/v1/jobs/{job_id}", timeout=30).json()
        assert cancelled["state"] == "cancelled"  # it was running: 600 images take far longer
        # the worker lets go of it: a small job submitted next runs to the end
        small = {"dataset": {"items": items[:10]}, "checks": ["imbalance"]}
        next_id = httpx.post(f"{url}/v1/jobs", json=small, timeout=60).json()["id"]
        assert wait_for(url, next_id, TERMINAL, timeout=300)["state"] == "succeeded"
        events = read_events(url, job_id)
        assert [e["state"] for e in events if e["event"] == "state"] == [
            "queued",
            "running",
            "cancelled",
        ]
        assert httpx.get(f"{url}/v1/jobs/{job_id}", timeout=30).json()["state"] == "cancelled"


def test_a_replica_that_stops_hands_its_job_back(triton_url, database_url, data_root):
    import asyncio

    items = write_digits(data_root, 600, seed=4)
    body = {"dataset": {"items": items}, "checks": ["imbalance", "image_quality"]}
    # a long stale time: only the hand-back, not the stale reclaim, can move the job on quickly
    settings = settings_for(database_url, triton_url, data_root, job_stale_s=3600)
    with serve(create_app(settings)) as first:
        job_id = httpx.post(f"{first}/v1/jobs", json=body, timeout=60).json()["id"]
        wait_for(first, job_id, {"running", *TERMINAL}, timeout=120)
    row = asyncio.run(
        db_fetch(database_url, "SELECT state, owner FROM jobs WHERE id = $1::uuid", job_id)
    )[0]
    assert (row["state"], row["owner"]) == ("queued", None)
    with serve(create_app(settings)) as second:
        job = wait_for(second, job_id, TERMINAL)
        assert job["state"] == "succeeded" and job["attempts"] == 2
        events = read_events(second, job_id)
    states = [(e["state"], e.get("reason")) for e in events if e["event"] == "state"]
    assert states == [("queued", None), ("running", None), ("queued", "replica_shutdown"),
                      ("running", None), ("succeeded", None)]  # fmt: skip


def test_two_replicas_share_one_database(triton_url, database_url, data_root, small_items):
    body = {"dataset": {"items": small_items[:30]}, "checks": ["imbalance", "image_quality"]}
    settings = settings_for(database_url, triton_url, data_root)
    with serve(create_app(settings)) as a, serve(create_app(settings)) as b:
        ids = [
            httpx.post(f"{url}/v1/jobs", json=body, timeout=60).json()["id"] for url in (a, b, a, b)
        ]
        for index, job_id in enumerate(ids):
            other = (b, a)[index % 2]  # ask the replica that did not take the submit
            job = wait_for(other, job_id, TERMINAL)
            assert job["state"] == "succeeded" and job["attempts"] == 1
            report = httpx.get(f"{other}/v1/jobs/{job_id}/report", timeout=60).json()
            assert report["dataset"]["loaded"] == 30
    import asyncio

    runs = asyncio.run(db_fetch(
        database_url,
        "SELECT job_id, count(*) FILTER (WHERE body->>'state' = 'running') AS runs,"
        " count(*) FILTER (WHERE body->>'state' = 'succeeded') AS ends FROM job_events GROUP BY job_id",
    ))  # fmt: skip
    assert sorted(str(r["job_id"]) for r in runs) == sorted(ids)
    assert all(r["runs"] == 1 and r["ends"] == 1 for r in runs)


def test_api_killed_mid_job_another_replica_finishes_it_once(triton_url, database_url, data_root):
    import asyncio

    items = write_digits(data_root, 1024, seed=3)  # four load chunks of 256
    body = {"dataset": {"items": items}, "checks": ["imbalance", "image_quality", "outliers"]}
    port = free_port()
    env = {
        **os.environ,
        "IMAGELINT_DATABASE_URL": database_url,
        "IMAGELINT_TRITON_URL": triton_url,
        "IMAGELINT_DATA_ROOT": str(data_root),
        "IMAGELINT_GRPC_PORT": "0",
        "IMAGELINT_JOB_HEARTBEAT_S": "0.5",
        "IMAGELINT_JOB_POLL_S": "0.2",
    }
    doomed = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "service.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=REPO_ROOT, env=env,
    )  # fmt: skip
    url_a = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url_a}/health/live", timeout=2).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            assert doomed.poll() is None and time.monotonic() < deadline, "replica A did not start"
            time.sleep(0.2)
        job_id = httpx.post(f"{url_a}/v1/jobs", json=body, timeout=60).json()["id"]
        # kill it once its first chunk is encoded and cached, long before the job can end
        deadline = time.monotonic() + 600
        while True:
            cached = asyncio.run(
                db_fetch(database_url, "SELECT count(*) AS n FROM embedding_cache")
            )[0]["n"]
            if cached >= 256:
                break
            assert time.monotonic() < deadline, "the first chunk was never cached"
            time.sleep(0.1)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=30)
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait(timeout=30)
    row = asyncio.run(
        db_fetch(database_url, "SELECT state, attempts FROM jobs WHERE id = $1::uuid", job_id)
    )[0]
    assert (row["state"], row["attempts"]) == ("running", 1)  # nobody told the database

    settings = settings_for(database_url, triton_url, data_root, job_stale_s=3.0)
    with serve(create_app(settings)) as url_b:
        job = wait_for(url_b, job_id, TERMINAL)
        assert job["state"] == "succeeded" and job["attempts"] == 2
        report = httpx.get(f"{url_b}/v1/jobs/{job_id}/report", timeout=60).json()
        assert report["dataset"]["loaded"] == len(items)
        metrics = httpx.get(f"{url_b}/metrics", timeout=30).text
        hits = float(next(
            line.split()[-1] for line in metrics.splitlines()
            if line.startswith('imagelint_embedding_cache_lookups_total{result="hit"}')
        ))  # fmt: skip
        assert hits >= 256  # the dead replica's chunks were not encoded again
        events = read_events(url_b, job_id)
    states = [e["state"] for e in events if e["event"] == "state"]
    assert states == ["queued", "running", "running", "succeeded"]
    n_cached = asyncio.run(db_fetch(database_url, "SELECT count(*) AS n FROM embedding_cache"))[0][
        "n"
    ]
    assert n_cached == len(items)  # each image's vectors stored once
