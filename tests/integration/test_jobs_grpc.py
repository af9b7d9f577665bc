"""The jobs API over gRPC (SubmitJob, GetJob, GetJobReport, WatchJob, CancelJob) against the real
Triton and the real PostgreSQL, on the app's own grpc.aio server: the same jobs, events, report,
idempotency and errors as ``/v1/jobs`` (tests/integration/test_jobs_api.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import httpx
import msgspec
import pytest
from google.protobuf.message import Message
from grpc_status import rpc_status

from service.app import create_app
from service.grpc_api.contract import (
    CANCEL_JOB,
    GET_JOB,
    GET_JOB_REPORT,
    SERVICE_FULL_NAME,
    SUBMIT_JOB,
    WATCH_JOB,
    JobEvent,
    Rpc,
    SubmitJobRequest,
)
from service.grpc_api.translate import from_message, message_class, to_message
from service.inference.local_triton import free_port
from service.jobs_api import JobStatus
from service.report.models import Report
from service.settings import Settings
from tests.integration.test_jobs_api import read_events, settings_for, write_digits
from tests.live_server import serve

pytestmark = pytest.mark.integration
KEY = (("x-api-key", "key-a"),)
MISSING = "00000000-0000-0000-0000-000000000000"


class Jobs:
    """The five job RPCs on one channel, with the generated message classes (no client library)."""

    def __init__(self, channel: grpc.Channel, metadata: tuple = KEY) -> None:
        self.channel = channel
        self.metadata = metadata

    def _stub(self, rpc: Rpc) -> Any:
        factory = self.channel.unary_stream if rpc.streaming else self.channel.unary_unary
        return factory(
            f"/{SERVICE_FULL_NAME}/{rpc.method}",
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=message_class(rpc.response).FromString,
        )

    def submit(self, body: dict, idempotency_key: str | None = None) -> dict:
        request = to_message(
            {"request": body, "idempotency_key": idempotency_key}, SubmitJobRequest
        )
        reply = self._stub(SUBMIT_JOB)(request, timeout=60, metadata=self.metadata)
        return msgspec.to_builtins(from_message(reply, JobStatus))

    def get(self, job_id: str) -> dict:
        reply = self._stub(GET_JOB)(self._ref(job_id), timeout=30, metadata=self.metadata)
        return msgspec.to_builtins(from_message(reply, JobStatus))

    def report(self, job_id: str) -> dict:
        reply = self._stub(GET_JOB_REPORT)(self._ref(job_id), timeout=60, metadata=self.metadata)
        return msgspec.to_builtins(from_message(reply, Report))

    def cancel(self, job_id: str) -> dict:
        reply = self._stub(CANCEL_JOB)(self._ref(job_id), timeout=30, metadata=self.metadata)
        return msgspec.to_builtins(from_message(reply, JobStatus))

    def watch(self, job_id: str, last_event_id: int = 0) -> list[dict]:
        request = message_class(WATCH_JOB.request)(id=job_id, last_event_id=last_event_id)
        stream = self._stub(WATCH_JOB)(request, timeout=600, metadata=self.metadata)
        return [msgspec.to_builtins(from_message(event, JobEvent)) for event in stream]

    def _ref(self, job_id: str) -> Message:
        return message_class(GET_JOB.request)(id=job_id)


def status_of(call: Any) -> tuple[grpc.StatusCode, str]:
    """The code and ErrorInfo reason of a failed call."""
    from google.rpc import error_details_pb2

    with pytest.raises(grpc.RpcError) as caught:
        call()
    error = caught.value
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    reason = ""
    for packed in status.details if status is not None else ():
        info = error_details_pb2.ErrorInfo()
        if packed.Unpack(info):
            reason = info.reason
    return error.code(), reason  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("grpc-jobs-data")


@pytest.fixture(scope="module")
def items(data_root) -> list[dict]:
    return write_digits(data_root, 60, seed=11)


def test_submit_watch_and_report_over_grpc_equal_rest(triton_url, database_url, data_root, items):
    body = {"dataset": {"items": items}, "checks": ["duplicates", "imbalance", "image_quality"]}
    port = free_port()
    settings = settings_for(
        database_url, triton_url, data_root, grpc_port=port, api_keys=("key-a",)
    )
    rest_key = {"X-API-Key": "key-a"}
    with serve(create_app(settings)) as url, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        jobs = Jobs(channel)
        # the same x-api-key interceptor as every other RPC
        code, _ = status_of(lambda: Jobs(channel, metadata=()).submit(body))
        assert code == grpc.StatusCode.UNAUTHENTICATED

        submitted = jobs.submit(body, idempotency_key="grpc-1")
        job_id = submitted["id"]
        assert submitted["state"] in {"queued", "running"}
        assert submitted["links"]["self"] == f"/v1/jobs/{job_id}"
        # a retried submit is the same job, over gRPC and over REST (one key space)
        assert jobs.submit(body, idempotency_key="grpc-1")["id"] == job_id
        over_rest = httpx.post(
            f"{url}/v1/jobs",
            json=body,
            headers={**rest_key, "Idempotency-Key": "grpc-1"},
            timeout=60,
        )
        assert over_rest.status_code == 202 and over_rest.json()["id"] == job_id
        code, reason = status_of(
            lambda: jobs.submit({**body, "checks": ["imbalance"]}, idempotency_key="grpc-1")
        )
        assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "idempotency_key_reused")

        events = jobs.watch(job_id)
        ids = [e["id"] for e in events]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert [e["state"] for e in events if e["event"] == "state"] == [
            "queued",
            "running",
            "succeeded",
        ]
        assert all(
            e["stage"] and e["total"] >= e["done"] >= 0 for e in events if e["event"] == "progress"
        )
        # the same events as the REST stream, and resumable after any of them
        assert events == read_events(url, job_id, headers=rest_key)
        assert jobs.watch(job_id, last_event_id=ids[1]) == events[2:]
        assert jobs.watch(job_id, last_event_id=ids[-1]) == []

        job = jobs.get(job_id)
        assert job["state"] == "succeeded" and job["attempts"] == 1
        assert job["timings_s"]["total"] >= job["timings_s"]["running"] >= 0
        assert job == httpx.get(f"{url}/v1/jobs/{job_id}", headers=rest_key, timeout=30).json()

        report = jobs.report(job_id)
        rest_report = httpx.get(f"{url}/v1/jobs/{job_id}/report", headers=rest_key, timeout=60)
        assert rest_report.status_code == 200
        assert report == rest_report.json()  # the same stored report, field for field
        assert report["dataset"]["loaded"] == len(items)
        assert report["request_id"] == job_id.replace("-", "")

        # the same body as a separate REST job: the same findings
        other = httpx.post(f"{url}/v1/jobs", json=body, headers=rest_key, timeout=60).json()["id"]
        assert read_events(url, other, headers=rest_key)[-1]["state"] == "succeeded"
        from_rest = httpx.get(f"{url}/v1/jobs/{other}/report", headers=rest_key, timeout=60).json()
        for name in ("duplicates", "imbalance", "image_quality"):
            assert report["checks"][name] == from_rest["checks"][name], name


def test_cancel_not_ready_and_unknown_jobs_over_grpc(triton_url, database_url, data_root, items):
    body = {"dataset": {"items": items[:20]}, "checks": ["imbalance"]}
    port = free_port()
    # no workers: the job stays queued until it is cancelled
    settings = settings_for(
        database_url, triton_url, data_root, grpc_port=port, job_workers=0, api_keys=("key-a",),
        job_max_active_per_key=2,
    )  # fmt: skip
    with serve(create_app(settings)) as url, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        jobs = Jobs(channel)
        job_id = jobs.submit(body)["id"]
        assert jobs.get(job_id)["state"] == "queued"
        code, reason = status_of(lambda: jobs.report(job_id))
        assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "job_not_ready")

        cancelled = jobs.cancel(job_id)
        assert cancelled["state"] == "cancelled" and cancelled["finished_at"]
        assert [e["state"] for e in jobs.watch(job_id)] == ["queued", "cancelled"]
        rest = httpx.get(f"{url}/v1/jobs/{job_id}", headers={"X-API-Key": "key-a"}, timeout=30)
        assert rest.json()["state"] == "cancelled"
        assert status_of(lambda: jobs.report(job_id))[0] == grpc.StatusCode.FAILED_PRECONDITION

        for call in (
            lambda: jobs.get(MISSING),
            lambda: jobs.get("not-a-uuid"),
            lambda: jobs.report(MISSING),
            lambda: jobs.cancel(MISSING),
            lambda: jobs.watch(MISSING),
        ):
            assert status_of(call) == (grpc.StatusCode.NOT_FOUND, "job_not_found")
        code, _ = status_of(lambda: jobs.submit({"dataset": {}}))
        assert code == grpc.StatusCode.INVALID_ARGUMENT

        # the active jobs per API key are capped as over REST; a retried submit is still answered
        first = jobs.submit(body, idempotency_key="cap-1")["id"]
        jobs.submit(body)
        code, reason = status_of(lambda: jobs.submit(body))
        assert (code, reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "too_many_requests")
        assert jobs.submit(body, idempotency_key="cap-1")["id"] == first


def test_jobs_over_grpc_without_a_database_are_unavailable(triton_url, data_root, items):
    port = free_port()
    settings = Settings(triton_url=triton_url, data_root=str(data_root), grpc_port=port)
    with serve(create_app(settings)), grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        jobs = Jobs(channel, metadata=())
        for call in (
            lambda: jobs.submit({"dataset": {"items": items[:1]}}),
            lambda: jobs.get(MISSING),
        ):
            assert status_of(call) == (grpc.StatusCode.UNAVAILABLE, "jobs_unavailable")


def readme_jobs_example() -> str:
    """The Python block of the README's "Jobs over gRPC" section."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text.split("### Jobs over gRPC", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_jobs_example_runs(triton_url, database_url, data_root, items, capsys):
    manifest = data_root / "readme-manifest.jsonl"
    manifest.write_text("".join(msgspec.json.encode(item).decode() + "\n" for item in items[:12]))
    port = free_port()
    settings = settings_for(
        database_url, triton_url, data_root, grpc_port=port, api_keys=("my-key",)
    )
    code = readme_jobs_example()
    assert code.count("localhost:50051") == 1 and code.count("file:///data/manifest.jsonl") == 1
    code = code.replace("localhost:50051", f"127.0.0.1:{port}")
    code = code.replace("file:///data/manifest.jsonl", manifest.as_uri())
    scope: dict[str, Any] = {}
    with serve(create_app(settings)):
        exec(compile(code, "README.md", "exec"), scope)  # the example as written
        scope["channel"].close()
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].endswith("state queued") and printed[-1].endswith("state succeeded")
    assert scope["report"].dataset.loaded == 12
    assert scope["report"].request_id == scope["job"].id.replace("-", "")
