"""The gRPC API over real HTTP/2 on loopback, beside the REST API of the same app (a fake encoder
stands in for Triton): streaming, parity with REST, errors, the shared report limit,
cancellation, health, API keys, reflection and metrics."""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import grpc
import httpx
import msgspec
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from PIL import Image

from devtools.client import GrpcApiError, GrpcClient, RestClient
from service.api.health import ReadinessCache
from service.app import create_app
from service.checks.duplicates import DuplicatesRequest
from service.checks.imbalance import ImbalanceRequest
from service.checks.mislabels import MislabelsRequest
from service.errors import InferenceUnavailable
from service.grpc_api.contract import ANALYZE, CHECK_RPCS, SERVICE_FULL_NAME
from service.grpc_api.translate import from_message, message_class, to_message
from service.inference import EncodeResult
from service.inference.local_triton import free_port
from service.settings import Settings
from tests.live_server import serve

CHECKS = ["imbalance", "image_quality"]


class FakeEncoder:
    """Embeddings from the pixels (deterministic); optional gate, failure and readiness."""

    batch_size = 32

    def __init__(self) -> None:
        self.on_call = None
        self.ready = True
        self.fail: Exception | None = None
        self.gate = threading.Event()
        self.gate.set()

    async def is_model_ready(self, model: str | None = None) -> bool:
        return self.ready

    async def encode(self, images: np.ndarray, *, with_grid: bool = False) -> EncodeResult:
        while not self.gate.is_set():
            await asyncio.sleep(0.01)
        if self.fail is not None:
            raise self.fail
        rows = images.reshape(len(images), -1)[:, :16].astype(np.float32) + 1.0
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        return EncodeResult(embeddings=rows, logits=np.zeros((len(images), 10), np.float32))

    async def close(self) -> None:
        pass


def write_items(root: Path) -> list[dict]:
    folder = root / "images"
    folder.mkdir(parents=True)
    items = []
    for i in range(14):
        path = folder / f"{i}.png"
        shade = 10 + 17 * i
        Image.fromarray(np.full((48, 40 + i, 3), shade, np.uint8)).save(path)
        label = "cat" if i < 8 else "dog" if i < 12 else "owl"
        items.append(
            {
                "id": f"img-{i}",
                "uri": path.as_uri(),
                "label": label,
                "split": "test" if i % 4 == 0 else "train",
            }
        )
    items.append({"id": "missing", "uri": (folder / "missing.png").as_uri(), "label": "cat"})
    return items


def start(settings: Settings, encoder) -> tuple:
    port = free_port()
    app = create_app(settings.with_overrides(grpc_port=port), encoder=encoder)
    return app, port


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    items = write_items(root)
    encoder = FakeEncoder()
    app, port = start(
        Settings(data_root=str(root), max_concurrent_reports=1, ready_cache_s=0.1), encoder
    )
    with serve(app) as url, GrpcClient(f"127.0.0.1:{port}") as grpc_client, RestClient(url) as rest:
        yield SimpleNamespace(
            app=app,
            url=url,
            target=f"127.0.0.1:{port}",
            encoder=encoder,
            items=items,
            grpc=grpc_client,
            rest=rest,
        )


def comparable(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in {"request_id", "timings_s"}}


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.02)


# --- Analyze ----------------------------------------------------------------------------------


def test_analyze_streams_progress_then_the_report(api):
    channel = grpc.insecure_channel(api.target)
    analyze = channel.unary_stream(
        f"/{SERVICE_FULL_NAME}/Analyze",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=message_class(ANALYZE.response).FromString,
    )
    request = to_message({"dataset": {"items": api.items}, "checks": CHECKS}, ANALYZE.request)
    call = analyze(request, timeout=60)
    kinds = [event.WhichOneof("event") for event in call]
    assert kinds[-1] == "report" and kinds.count("report") == 1
    assert set(kinds[:-1]) == {"progress"} and len(kinds) > 3
    assert dict(call.initial_metadata())["x-request-id"]
    channel.close()


def test_analyze_gives_the_rest_report(api):
    grpc_events, rest_events = [], []
    over_grpc = api.grpc.report({"items": api.items}, checks=CHECKS, on_progress=grpc_events.append)
    over_rest = api.rest.report({"items": api.items}, checks=CHECKS, on_progress=rest_events.append)
    assert comparable(over_grpc) == comparable(over_rest)
    assert over_grpc["failed_items"][0]["code"] == "not_found"
    assert over_grpc["checks"]["imbalance"]["n_classes"] == 3
    stages = lambda events: list(dict.fromkeys(e["stage"] for e in events))  # noqa: E731
    assert stages(grpc_events) == stages(rest_events) == ["resolve", "load", "infer", *CHECKS]
    assert set(grpc_events[0]) == {"event", "stage", "done", "total"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"options": {"mislabels": {"folds": 1}}}, "options.mislabels.folds"),
        ({"options": {"imbalance": {"target": "mean"}}}, "options.imbalance.target"),
        ({"checks": ["imbalance", "bogus"]}, "checks[1]"),
        (
            {"dataset": {"items": [{"uri": "file:///x.png"}], "manifest_uri": "file:///m.jsonl"}},
            "dataset",
        ),
        (
            {"dataset": {"manifest_uri": "file:///x.jsonl", "manifest_format": "xml"}},
            "dataset.manifest_format",
        ),
    ],
)
def test_bad_report_requests_are_invalid_argument_naming_the_field(api, body, field):
    dataset = body.pop("dataset", {"items": api.items[:2]})
    with pytest.raises(GrpcApiError) as caught:
        api.grpc.report(dataset, **body)
    error = caught.value
    assert error.grpc_code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.problem["field"] == field and field in error.problem["detail"]
    with pytest.raises(Exception) as rest:  # the REST API names the same field
        api.rest.report(dataset, **body)
    assert rest.value.status == 400 and rest.value.problem["field"] == field


def test_a_missing_dataset_is_named(api):
    channel = grpc.insecure_channel(api.target)
    analyze = channel.unary_stream(
        f"/{SERVICE_FULL_NAME}/Analyze",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=message_class(ANALYZE.response).FromString,
    )
    with pytest.raises(grpc.RpcError) as caught:
        list(analyze(message_class(ANALYZE.request)(), timeout=30))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith("dataset: ")
    channel.close()


def test_the_report_limit_is_shared_with_rest(api):
    api.encoder.gate.clear()
    started = threading.Event()
    outcome: dict = {}

    def first() -> None:
        try:
            outcome["report"] = api.grpc.report(
                {"items": api.items}, checks=CHECKS, on_progress=lambda e: started.set()
            )
        except Exception as exc:  # surfaced by the assertion below
            outcome["error"] = exc

    worker = threading.Thread(target=first)
    worker.start()
    try:
        assert started.wait(30)
        with pytest.raises(GrpcApiError) as caught:
            api.grpc.report({"items": api.items[:2]}, checks=CHECKS)
        assert caught.value.grpc_code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert (
            caught.value.problem["code"] == "too_many_requests" and caught.value.retry_after == 10
        )
        rest = httpx.post(
            f"{api.url}/v1/reports", json={"dataset": {"items": api.items[:2]}}, timeout=30
        )
        assert rest.status_code == 429
    finally:
        api.encoder.gate.set()
        worker.join(60)
    assert "error" not in outcome and outcome["report"]["dataset"]["loaded"] == 14


def test_cancelling_the_stream_cancels_the_report(api):
    api.encoder.gate.clear()
    channel = grpc.insecure_channel(api.target)
    try:
        analyze = channel.unary_stream(
            f"/{SERVICE_FULL_NAME}/Analyze",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=message_class(ANALYZE.response).FromString,
        )
        call = analyze(
            to_message({"dataset": {"items": api.items}, "checks": CHECKS}, ANALYZE.request),
            timeout=60,
        )
        next(call)  # the report is running (blocked on the encoder)
        assert api.app.state.report_slots.in_flight == 1
        call.cancel()
        wait_for(lambda: api.app.state.report_slots.in_flight == 0)
    finally:
        api.encoder.gate.set()
        channel.close()
    assert api.grpc.report({"items": api.items[:3]}, checks=CHECKS)["dataset"]["loaded"] == 3


def test_triton_unavailable_is_unavailable_with_retry_info(api):
    api.encoder.fail = InferenceUnavailable("model 'image_encoder' is not ready on Triton")
    try:
        with pytest.raises(GrpcApiError) as caught:
            api.grpc.report({"items": api.items[:3]}, checks=CHECKS)
    finally:
        api.encoder.fail = None
    error = caught.value
    assert error.grpc_code == grpc.StatusCode.UNAVAILABLE
    assert error.problem["code"] == "inference_unavailable" and error.retry_after == 5


# --- checks -----------------------------------------------------------------------------------


def test_check_rpcs_give_the_rest_results(api):
    rng = np.random.default_rng(1)
    labels = ["a"] * 20 + ["b"] * 6 + ["c"] * 2 + [7, 7]
    imbalance = {
        "labels": labels,
        "splits": ["train" if i % 3 else "test" for i in range(29)] + [None],
        # The client sends embeddings as float32 bytes (embeddings_f32): float32 values compare
        # exactly with REST's JSON rows.
        "embeddings": rng.normal(size=(30, 6)).astype(np.float32).tolist(),
        "target": "max",
    }
    assert api.grpc.check("imbalance", imbalance) == api.rest.check("imbalance", imbalance)
    # Protobuf maps have no order (keys arrive sorted); REST keeps the JSON object's order, which
    # is the order of the splits in the result: the same request has its keys sorted here.
    counts = {
        "counts": {"a": 50, "b": 5},
        "split_counts": {"test": {"a": 10, "b": 1}, "train": {"a": 40, "b": 4}},
    }
    assert api.grpc.check("imbalance", counts) == api.rest.check("imbalance", counts)
    observations = {
        "observations": [
            {"n": n, "scores": [0.95 - 2 / n**0.5, 0.94 - 2 / n**0.5]} for n in (40, 80, 160, 320)
        ],
        "target_accuracy": 0.9,
        "bootstrap": 30,
    }
    assert api.grpc.check("sample-size", observations) == api.rest.check(
        "sample-size", observations
    )


def test_mislabel_and_agreement_rpcs_give_the_rest_results(api):
    rng = np.random.default_rng(2)
    centres = {0: np.zeros(8), 1: np.full(8, 3.0), 10: np.full(8, -3.0)}
    labels = [0] * 12 + [1] * 12 + [10] * 12
    embeddings = [(centres[y] + rng.normal(size=8)).astype(np.float32).tolist() for y in labels]
    labels[3] = 10  # a planted flip
    mislabels = {
        "labels": labels,  # integers: classes order numerically (10 after 1), on both transports
        "embeddings": embeddings,
        "conflict_ids": [5, "item-7"],  # an index and an id: the type carries the meaning
        "ids": [f"item-{i}" for i in range(36)],
        "folds": 3,
        "top_fraction": 0.1,
    }
    over_grpc = api.grpc.check("mislabels", mislabels)
    assert over_grpc == api.rest.check("mislabels", mislabels)
    agreement = {
        "annotations": [
            ["a", {"annotator": "x", "label": "a"}],
            [{"annotator": "y", "label": "b"}, "b"],
            ["a", "b"],
        ],
        "labels": ["a", None, "b"],
        "min_overlap": 1,
    }
    assert api.grpc.check("agreement", agreement) == api.rest.check("agreement", agreement)


def call_check(api, method: str, message):
    with grpc.insecure_channel(api.target) as channel:
        rpc = next(r for r in CHECK_RPCS if r.method == method)
        call = channel.unary_unary(
            f"/{SERVICE_FULL_NAME}/{method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=message_class(rpc.response).FromString,
        )
        return from_message(call(message, timeout=30), rpc.response)


def test_embeddings_travel_as_float32_bytes_and_the_deprecated_forms_still_work(api):
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(24, 5)).astype("<f4")
    matrix[7] = matrix[3]  # a planted exact copy
    rows = {"embeddings": matrix.tolist(), "threshold": 0.99}
    b64 = {
        "embeddings_b64": base64.b64encode(matrix.tobytes()).decode(),
        "shape": [24, 5],
        "threshold": 0.99,
    }
    packed = to_message({"threshold": 0.99}, DuplicatesRequest)
    packed.embeddings_f32.data = matrix.tobytes()
    packed.embeddings_f32.shape[:] = [24, 5]
    over_bytes = call_check(api, "CheckDuplicates", packed)
    as_rows = call_check(api, "CheckDuplicates", to_message(rows, DuplicatesRequest))
    as_b64 = call_check(api, "CheckDuplicates", to_message(b64, DuplicatesRequest))
    assert over_bytes == as_rows == as_b64
    assert msgspec.to_builtins(over_bytes) == api.rest.check("duplicates", rows)
    assert [g.members for g in over_bytes.groups] == [["3", "7"]]
    # The rows form of the other checks (deprecated on gRPC) is accepted too.
    labels = ["a"] * 12 + ["b"] * 12
    payload = {"labels": labels, "embeddings": matrix.tolist(), "folds": 3}
    old = call_check(api, "CheckMislabels", to_message(payload, MislabelsRequest))
    assert msgspec.to_builtins(old) == api.grpc.check("mislabels", payload)


def test_float32_requests_are_charged_as_the_json_they_stand_for(api):
    from service.admission import CHECK_BYTES_PER_BODY_BYTE

    budget = api.app.state.memory_budget
    matrix = np.ones((400, 700), "<f4")  # 1.1 MB on the wire, ~5 MB as JSON rows
    message = to_message({"labels": ["a", "b"] * 200}, ImbalanceRequest)
    message.embeddings_f32.data = matrix.tobytes()
    message.embeddings_f32.shape[:] = matrix.shape
    budget.peak = budget.in_use
    call_check(api, "CheckImbalance", message)
    wire = len(message.SerializeToString())
    assert budget.peak >= min(budget.capacity, wire * 4 * CHECK_BYTES_PER_BODY_BYTE)


@pytest.mark.parametrize(
    ("shape", "size", "detail"),
    [([4, 5], 4 * 5 * 4 - 1, "79 bytes"), ([20], 80, "[rows, columns]"), ([-4, -5], 80, "shape")],
)
def test_a_float32_matrix_that_does_not_fit_its_shape_is_invalid_argument(api, shape, size, detail):
    message = to_message({"labels": ["a", "b", "a", "b"]}, ImbalanceRequest)
    message.embeddings_f32.data = bytes(size)
    message.embeddings_f32.shape[:] = shape
    with pytest.raises(grpc.RpcError) as caught:
        call_check(api, "CheckImbalance", message)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (
        caught.value.details().startswith("embeddings_f32: ") and detail in caught.value.details()
    )


@pytest.mark.parametrize(
    ("name", "payload", "field"),
    [
        ("imbalance", {"labels": ["a", "b"], "splits": ["x"]}, "splits"),
        ("imbalance", {"counts": {"a": 10, "b": -2}}, "counts.b"),
        ("imbalance", {"labels": ["a", "b"], "beta": 1.0}, "beta"),
        ("sample-size", {"embeddings": [[0.0, 1.0]]}, "labels"),
        ("sample-size", {"observations": [{"n": 10, "scores": [0.5]}], "repeats": 0}, "repeats"),
        (
            "mislabels",
            {"labels": ["a", "b"], "probabilities": [[0.5, 0.5], [1.0, 0.0]]},
            "class_names",
        ),
        ("mislabels", {"labels": ["a", True]}, "labels[1]"),
        ("agreement", {"annotations": []}, "annotations"),
    ],
)
def test_bad_check_input_is_invalid_argument_naming_the_field(api, name, payload, field):
    with pytest.raises(GrpcApiError) as caught:
        api.grpc.check(name, payload)
    assert caught.value.grpc_code == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.problem["field"] == field
    with pytest.raises(Exception) as rest:
        api.rest.check(name, payload)
    assert rest.value.problem["field"] == field and rest.value.status == caught.value.status


# --- health, reflection, metrics, keys --------------------------------------------------------


def health_status(target: str, service: str = SERVICE_FULL_NAME) -> int:
    with grpc.insecure_channel(target) as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=5
        )
    return answer.status


def test_health_follows_model_readiness(api):
    serving, not_serving = (
        health_pb2.HealthCheckResponse.SERVING,
        health_pb2.HealthCheckResponse.NOT_SERVING,
    )
    wait_for(lambda: health_status(api.target) == serving)
    api.encoder.ready = False
    try:
        wait_for(lambda: health_status(api.target) == not_serving)
        assert health_status(api.target, "") == not_serving
        assert not api.grpc.ready()
    finally:
        api.encoder.ready = True
    wait_for(lambda: health_status(api.target) == serving)
    assert api.grpc.ready()


class CountingReadiness(ReadinessCache):
    """The app's readiness check, remembering every answer."""

    def __init__(self) -> None:
        super().__init__(ttl_s=0.0)
        self.answers: list[bool] = []

    async def ready(self, encoder) -> bool:
        answer = await super().ready(encoder)
        self.answers.append(answer)
        return answer


def test_health_is_not_serving_without_triton():
    # The real Triton client (made by the lifespan) aimed at a port where nothing listens.
    port = free_port()
    app = create_app(
        Settings(triton_url=f"127.0.0.1:{free_port()}", grpc_port=port, ready_cache_s=0.1)
    )
    readiness = app.state.readiness = CountingReadiness()
    with serve(app):
        wait_for(lambda: len(readiness.answers) >= 2)
        assert not any(readiness.answers)
        assert health_status(f"127.0.0.1:{port}") == health_pb2.HealthCheckResponse.NOT_SERVING
        assert health_status(f"127.0.0.1:{port}", "") == health_pb2.HealthCheckResponse.NOT_SERVING
        with GrpcClient(f"127.0.0.1:{port}") as client:
            assert not client.ready()


def test_reflection_lists_the_services(api):
    with grpc.insecure_channel(api.target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        requests = [
            reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE_FULL_NAME),
        ]
        answers = list(stub.ServerReflectionInfo(iter(requests), timeout=10))
    names = {s.name for s in answers[0].list_services_response.service}
    assert {SERVICE_FULL_NAME, "grpc.health.v1.Health"} <= names
    assert answers[1].file_descriptor_response.file_descriptor_proto


def test_grpc_calls_are_in_the_metrics(api):
    with pytest.raises(GrpcApiError):
        api.grpc.check("imbalance", {"labels": ["a", "b"], "splits": ["x"]})
    api.grpc.check("imbalance", {"counts": {"a": 3, "b": 1}})
    text = httpx.get(f"{api.url}/metrics").text
    method = f"{SERVICE_FULL_NAME}/CheckImbalance"
    assert f'imagelint_grpc_requests_total{{code="INVALID_ARGUMENT",method="{method}"}}' in text
    assert f'imagelint_grpc_requests_total{{code="OK",method="{method}"}}' in text
    assert f'imagelint_grpc_request_duration_seconds_count{{method="{method}"}}' in text


def test_api_keys_guard_the_service_but_not_health(tmp_path):
    app, port = start(Settings(api_keys=("k-one",), ready_cache_s=0.1), FakeEncoder())
    target = f"127.0.0.1:{port}"
    with serve(app):
        with GrpcClient(target) as anonymous, pytest.raises(GrpcApiError) as caught:
            anonymous.check("imbalance", {"counts": {"a": 3, "b": 1}})
        assert (
            caught.value.grpc_code == grpc.StatusCode.UNAUTHENTICATED and caught.value.status == 401
        )
        with GrpcClient(target, api_key="wrong") as wrong, pytest.raises(GrpcApiError):
            wrong.report({"items": [{"uri": "file:///x.png"}]})
        with GrpcClient(target, api_key="k-one") as client:
            assert client.check("imbalance", {"counts": {"a": 3, "b": 1}})["n_classes"] == 2
        assert health_status(target) in (
            health_pb2.HealthCheckResponse.SERVING,
            health_pb2.HealthCheckResponse.NOT_SERVING,
        )


def test_grpc_port_zero_is_off():
    app = create_app(Settings(grpc_port=0), encoder=FakeEncoder())
    with serve(app):
        assert app.state.grpc is None


def test_a_second_server_on_a_taken_grpc_port_fails_to_start(api):
    """gRPC's default SO_REUSEPORT would let both bind and split the calls between them."""
    taken = int(api.target.rsplit(":", 1)[1])
    second = create_app(Settings(grpc_port=taken), encoder=FakeEncoder())
    with pytest.raises(RuntimeError, match="uvicorn did not start"), serve(second):
        pass
    assert api.grpc.check("imbalance", {"counts": {"a": 3, "b": 1}})["n_classes"] == 2


def test_serve_refuses_the_shared_default_grpc_port():
    with pytest.raises(ValueError, match="grpc_port=0"), serve(create_app(Settings())):
        pass
