"""Issue 14 over real HTTP and HTTP/2 on loopback (a fake encoder stands in for Triton): one
check's exception never discards a report, every response and problem carries the request id,
malformed gRPC requests are INVALID_ARGUMENT (and counted)."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import grpc
import httpx
import pytest

from service.grpc_api.contract import CHECK_RPCS, SERVICE_FULL_NAME
from service.report import check_runners
from service.settings import Settings
from tests.live_server import serve
from tests.unit.test_grpc_server import FakeEncoder, start, write_items

CHECKS = ["imbalance", "image_quality", "outliers"]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    items = write_items(root)
    app, port = start(Settings(data_root=str(root), ready_cache_s=0.1), FakeEncoder())
    with serve(app) as url:
        yield SimpleNamespace(app=app, url=url, target=f"127.0.0.1:{port}", items=items)


def test_one_failing_check_does_not_discard_the_report(api, monkeypatch, caplog):
    def broken(_ctx):
        raise OverflowError("(34, 'Numerical result out of range')")

    monkeypatch.setitem(check_runners.CHECK_RUNNERS, "imbalance", broken)
    with caplog.at_level(logging.ERROR, logger="imagelint.pipeline"):
        response = httpx.post(
            f"{api.url}/v1/reports",
            json={"dataset": {"items": api.items}, "checks": CHECKS},
            headers={"X-Request-Id": "issue14-check-isolation"},
            timeout=60,
        )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["request_id"] == response.headers["x-request-id"] == "issue14-check-isolation"
    error = report["check_errors"]["imbalance"]
    assert error["code"] == "internal_error"
    assert error["request_id"] == "issue14-check-isolation"
    assert "OverflowError" in error["detail"]
    assert "imbalance" not in report["checks"]
    assert (
        report["checks"]["image_quality"]["n_items"] == 15
        and report["checks"]["outliers"]["k"] >= 1
    )
    logged = [r for r in caplog.records if "issue14-check-isolation" in r.getMessage()]
    assert logged and logged[0].exc_info is not None


def test_the_ndjson_stream_isolates_a_failing_check_too(api, monkeypatch):
    monkeypatch.setitem(check_runners.CHECK_RUNNERS, "outliers", lambda _ctx: 1 / 0)
    response = httpx.post(
        f"{api.url}/v1/reports",
        json={"dataset": {"items": api.items}, "checks": CHECKS},
        headers={"Accept": "application/x-ndjson"},
        timeout=60,
    )
    last = json.loads(response.text.strip().splitlines()[-1])
    assert last["event"] == "report"
    assert (
        last["report"]["check_errors"]["outliers"]["request_id"] == response.headers["x-request-id"]
    )
    assert last["report"]["checks"]["imbalance"]["n_classes"] == 3


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/no/such/route", None, 404),
        ("POST", "/v1/reports", {"dataset": {}}, 400),
        ("POST", "/v1/checks/imbalance", {"labels": []}, 422),
        (
            "POST",
            "/v1/reports",
            {"dataset": {"items": [{"uri": "file:///x.png"}]}, "checks": ["bogus"]},
            400,
        ),
    ],
)
def test_every_problem_and_response_carries_the_request_id(api, method, path, body, status):
    response = httpx.request(method, f"{api.url}{path}", json=body, timeout=30)
    assert response.status_code == status, response.text
    rid = response.headers["x-request-id"]
    assert len(rid) == 32
    assert response.json()["request_id"] == rid


def test_an_unexpected_error_is_a_500_problem_with_the_logged_request_id(api, monkeypatch, caplog):
    import service.api.reports as reports

    async def explode(*_args, **_kwargs):
        raise RuntimeError("internal detail that must not leak: 10.0.0.7:8001")

    monkeypatch.setattr(reports, "run_report", explode)
    with caplog.at_level(logging.ERROR, logger="imagelint.api"):
        response = httpx.post(
            f"{api.url}/v1/reports", json={"dataset": {"items": api.items}}, timeout=30
        )
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error" and "10.0.0.7" not in response.text
    assert body["request_id"] == response.headers["x-request-id"]
    assert any(body["request_id"] in r.getMessage() for r in caplog.records)


def test_a_callers_request_id_is_kept_only_when_well_formed(api):
    kept = httpx.get(f"{api.url}/health/live", headers={"X-Request-Id": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    replaced = httpx.get(
        f"{api.url}/health/live", headers={"X-Request-Id": "evil\tvalue" + "x" * 200}
    )
    assert (
        replaced.headers["x-request-id"] != "evil\tvalue"
        and len(replaced.headers["x-request-id"]) == 32
    )


@pytest.mark.parametrize("payload", [b"\xff\xff\xff\xff", b"\x0a\xff\xff\xff\xff\x0f"])
def test_malformed_grpc_requests_are_invalid_argument_and_counted(api, payload):
    method = f"/{SERVICE_FULL_NAME}/{CHECK_RPCS[0].method}"
    with grpc.insecure_channel(api.target) as channel:
        call = channel.unary_unary(
            method, request_serializer=lambda b: b, response_deserializer=lambda b: b
        )
        with pytest.raises(grpc.RpcError) as caught:
            call(payload, timeout=30, metadata=(("x-request-id", "grpc-rid-1"),))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert ("x-request-id", "grpc-rid-1") in tuple(caught.value.trailing_metadata())
    text = httpx.get(f"{api.url}/metrics").text
    assert (
        f'imagelint_grpc_requests_total{{code="INVALID_ARGUMENT",method="{method.lstrip("/")}"}}'
        in text
    )


# --- D2: nothing blocks the loop or the shared pool -----------------------------------------


def _release_fifo_readers(fifo) -> None:
    """Open the FIFO for writing while readers are blocked on it, so they return (cleanup only)."""
    import os

    for _ in range(64):
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return  # ENXIO: no reader left
        os.close(fd)


def test_a_fifo_is_refused_without_being_opened(tmp_path):
    import os
    import threading

    from service.errors import ItemError
    from service.fetch.local_files import read_confined_file

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    outcome = {}

    def read():
        try:
            read_confined_file(fifo, max_bytes=100)
        except ItemError as exc:
            outcome["code"] = exc.code

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(30)
    try:
        assert not worker.is_alive(), "reading a FIFO blocked"
        assert outcome["code"] == "fetch_refused"
    finally:
        _release_fifo_readers(fifo)


def test_health_and_keyed_routes_answer_during_the_fifo_attack(tmp_path):
    """D2: a FIFO under the data root as manifest_uri used to wedge one shared worker thread per
    request; after 6 of them every route (the sync API-key guard ran in that pool) hung."""
    import concurrent.futures
    import os

    items = write_items(tmp_path)
    fifo = tmp_path / "manifest.jsonl"
    os.mkfifo(fifo)
    settings = Settings(data_root=str(tmp_path), api_keys=("k",), max_concurrent_reports=16)
    app, _port = start(settings.with_overrides(), FakeEncoder())
    key = {"X-API-Key": "k"}
    attack = {"dataset": {"manifest_uri": fifo.as_uri()}, "checks": ["image_quality"]}
    with serve(app) as url:
        try:
            with concurrent.futures.ThreadPoolExecutor(12) as pool:
                attacks = [
                    pool.submit(
                        httpx.post, f"{url}/v1/reports", json=attack, headers=key, timeout=60
                    )
                    for _ in range(12)
                ]
                live = httpx.get(f"{url}/health/live", timeout=60)
                keyed = httpx.post(
                    f"{url}/v1/checks/imbalance",
                    json={"labels": ["a", "a", "b"]},
                    headers=key,
                    timeout=60,
                )
                answers = [a.result() for a in attacks]
            assert live.status_code == 200 and keyed.status_code == 200
            for answer in answers:
                assert answer.status_code == 400, answer.text
                assert "fetch_refused" in answer.json()["detail"]
            # A FIFO as an image is that item's fetch_refused, the others load.
            report = httpx.post(
                f"{url}/v1/reports",
                headers=key,
                timeout=60,
                json={
                    "dataset": {"items": [*items[:3], {"id": "pipe", "uri": fifo.as_uri()}]},
                    "checks": ["image_quality"],
                },
            ).json()
            assert {f["id"]: f["code"] for f in report["failed_items"]} == {"pipe": "fetch_refused"}
        finally:
            _release_fifo_readers(fifo)


# --- D6, D12 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/reports", "[" * 1000 + "]" * 1000),
        ("/v1/checks/imbalance", '{"labels": ' + "[" * 1000 + "]" * 1000 + "}"),
        ("/v1/checks/sample-size", '{"a":' * 1000 + "1" + "}" * 1000),
    ],
)
def test_json_nested_1000_deep_is_a_400_not_a_500(api, path, body):
    response = httpx.post(
        f"{api.url}{path}", content=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == "the request body is nested too deeply"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_disconnects_are_counted_and_not_logged_as_errors(tmp_path):
    """D12: a JSON-mode disconnect logged an ERROR traceback; NDJSON disconnects went uncounted."""
    import socket
    import time

    items = write_items(tmp_path)
    encoder = FakeEncoder()
    app, _port = start(Settings(data_root=str(tmp_path)), encoder)
    records = _Records()
    watched = [
        logging.getLogger(n) for n in ("", "uvicorn", "uvicorn.error", "litestar", "imagelint")
    ]
    for logger in watched:
        logger.addHandler(records)
    try:
        with serve(app) as url:
            port = int(url.rsplit(":", 1)[1])
            encoder.gate.clear()  # reports stop at inference until the client has gone
            for accept in ("application/json", "application/x-ndjson"):
                body = json.dumps(
                    {"dataset": {"items": items}, "checks": ["image_quality"]}
                ).encode()
                with socket.create_connection(("127.0.0.1", port)) as sock:
                    sock.sendall(
                        b"POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        + f"Accept: {accept}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                    if accept.endswith("ndjson"):
                        sock.recv(1024)  # the stream has started
                    else:
                        time.sleep(0.5)  # the report is running (not an assertion on time)
                metric = 'imagelint_reports_total{outcome="client_disconnected"}'
                expected = 1.0 if accept == "application/json" else 2.0
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    text = httpx.get(f"{url}/metrics").text
                    if f"{metric} {expected}" in text:
                        break
                    time.sleep(0.05)
                assert f"{metric} {expected}" in text
            encoder.gate.set()
            in_flight = httpx.get(f"{url}/metrics").text
            assert "imagelint_reports_in_flight 0.0" in in_flight
    finally:
        for logger in watched:
            logger.removeHandler(records)
    errors = [r for r in records.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def test_readiness_and_503_bodies_do_not_name_the_inference_server(tmp_path):
    """D12: /health/ready and the 503 detail exposed Triton's internal address."""
    from service.app import create_app
    from service.inference.local_triton import free_port

    items = write_items(tmp_path)
    port = free_port()
    hidden = f"127.0.0.1:{port}"  # nothing listens there: Triton is "down"
    settings = Settings(
        data_root=str(tmp_path),
        triton_url=hidden,
        triton_retries=0,
        triton_timeout_s=5,
        ready_cache_s=0.0,
        grpc_port=0,
    )
    with serve(create_app(settings)) as url:
        ready = httpx.get(f"{url}/health/ready", timeout=30)
        report = httpx.post(f"{url}/v1/reports", json={"dataset": {"items": items[:2]}}, timeout=60)
    assert ready.status_code == 503 and report.status_code == 503, report.text
    for response in (ready, report):
        assert str(port) not in response.text and "127.0.0.1" not in response.text


def test_a_ready_answer_names_the_model_not_the_server(api):
    assert httpx.get(f"{api.url}/health/ready", timeout=30).json() == {
        "status": "ready",
        "model": "image_encoder",
    }


def test_check_requests_on_both_transports_draw_from_the_shared_budget(api):
    """D4: check routes had no admission at all; now REST and gRPC take from the budget that
    decodes use, and get 429 / RESOURCE_EXHAUSTED while it is in use."""
    from devtools.client import GrpcApiError, GrpcClient

    budget = api.app.state.memory_budget
    held = budget.capacity - budget.in_use
    budget.in_use += held  # what a running decode holds (test-side, between requests)
    try:
        rest = httpx.post(f"{api.url}/v1/checks/imbalance", json={"labels": ["a", "b"]}, timeout=30)
        assert rest.status_code == 429 and rest.headers["retry-after"]
        with GrpcClient(api.target) as client, pytest.raises(GrpcApiError) as caught:
            client.check("imbalance", {"labels": ["a", "b"]})
        assert caught.value.grpc_code == grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        budget.release(held)
    assert (
        httpx.post(
            f"{api.url}/v1/checks/imbalance", json={"labels": ["a", "b"]}, timeout=30
        ).status_code
        == 200
    )
    import time

    deadline = time.monotonic() + 10  # released just after the response went out
    while budget.in_use and time.monotonic() < deadline:
        time.sleep(0.01)
    assert budget.in_use == 0


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def test_a_deep_grpc_value_is_invalid_argument(api):
    """D9: a google.protobuf.Value nested 300 deep gave UNKNOWN (and was not counted)."""
    value = _field(3, b"a")  # Value.string_value
    for _ in range(300):
        value = _field(6, _field(1, value))  # Value.list_value -> ListValue.values
    payload = _field(1, value)  # ImbalanceRequest.labels
    method = f"/{SERVICE_FULL_NAME}/" + next(r.method for r in CHECK_RPCS if r.route == "imbalance")
    with grpc.insecure_channel(api.target) as channel:
        call = channel.unary_unary(
            method, request_serializer=lambda b: b, response_deserializer=lambda b: b
        )
        with pytest.raises(grpc.RpcError) as caught:
            call(payload, timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    text = httpx.get(f"{api.url}/metrics").text
    assert (
        f'imagelint_grpc_requests_total{{code="INVALID_ARGUMENT",method="{method.lstrip("/")}"}}'
        in text
    )


def test_the_python_client_quotes_the_request_id(api):
    from devtools.client import ApiError, RestClient

    with RestClient(api.url) as client, pytest.raises(ApiError) as caught:
        client.report({"items": api.items[:2]}, checks=["bogus"])
    assert caught.value.request_id and f"(request id {caught.value.request_id})" in str(
        caught.value
    )
