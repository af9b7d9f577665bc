"""The app over real HTTP (uvicorn on loopback) with the real Triton: health, metrics, OpenAPI,
``/v1/embeddings``, and readiness following Triton down and back up."""

from __future__ import annotations

import io
import time

import httpx
import numpy as np
import pytest
from PIL import Image
from skimage import data

from service.app import create_app
from service.inference.local_triton import LocalTriton, free_port
from service.settings import Settings
from tests.live_server import serve

pytestmark = pytest.mark.integration


def png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def api(triton_url):
    with serve(create_app(Settings(triton_url=triton_url, max_upload_files=4, grpc_port=0))) as url:
        yield url


def test_live_ready_and_openapi(api):
    with httpx.Client(base_url=api, timeout=30) as client:
        assert client.get("/health/live").json() == {"status": "ok"}
        ready = client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        schema = client.get("/schema/openapi.json").json()
        assert "/v1/embeddings" in schema["paths"]
        assert "/health/ready" in schema["paths"]


def test_embeddings_for_a_photo_and_a_corrupt_file(api):
    files = [
        ("files", ("chelsea.png", png_bytes(data.chelsea()), "image/png")),
        ("files", ("broken.jpg", b"this is not an image at all", "image/jpeg")),
    ]
    with httpx.Client(base_url=api, timeout=60) as client:
        response = client.post("/v1/embeddings", files=files)
    assert response.status_code == 200, response.text
    body = response.json()
    cat, broken = body["files"]
    assert cat["filename"] == "chelsea.png" and cat["status"] == 200
    assert len(cat["embedding"]) == 2024
    assert abs(np.linalg.norm(cat["embedding"]) - 1.0) < 1e-4
    assert cat["top5"][0]["class_index"] in range(281, 286)
    assert cat["top5"][0]["label"] in {
        "tabby cat", "a cat having a striped coat", "Persian cat", "Siamese cat", "Egyptian Mau"
    }  # fmt: skip
    probs = [c["probability"] for c in cat["top5"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0 + 1e-6
    assert broken["status"] == 422
    assert broken["error"]["code"] in {"unsupported_format", "decode_error"}
    assert "embedding" not in broken


def test_only_corrupt_files_is_a_4xx_problem(api):
    with httpx.Client(base_url=api, timeout=30) as client:
        response = client.post(
            "/v1/embeddings", files=[("files", ("x.png", b"\x89PNG\r\n\x1a\n", "image/png"))]
        )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 422 and problem["code"] in {
        "unsupported_format",
        "decode_error",
        "truncated",
    }
    assert "Traceback" not in response.text


def test_too_many_files_is_413(api):
    tiny = png_bytes(np.zeros((8, 8, 3), np.uint8))
    files = [("files", (f"{i}.png", tiny, "image/png")) for i in range(5)]
    with httpx.Client(base_url=api, timeout=30) as client:
        response = client.post("/v1/embeddings", files=files)
    assert response.status_code == 413
    assert response.json()["field"] == "files"


def test_metrics_count_requests_by_route(api):
    with httpx.Client(base_url=api, timeout=30) as client:
        client.get("/health/live")
        text = client.get("/metrics").text
    assert 'imagelint_http_requests_total{method="GET",route="/health/live",status="200"}' in text
    assert "imagelint_triton_request_duration_seconds_bucket" in text


def wait_for_status(client: httpx.Client, path: str, status: int, timeout: float) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(path)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_readiness_follows_triton_down_and_back_up():
    ports = dict(grpc_port=free_port(), http_port=free_port(), metrics_port=free_port())
    triton = LocalTriton(**ports).start()
    try:
        settings = Settings(
            triton_url=triton.grpc_url, ready_cache_s=0.1, triton_retries=0, grpc_port=0
        )
        with serve(create_app(settings)) as url, httpx.Client(base_url=url, timeout=10) as client:
            assert wait_for_status(client, "/health/ready", 200, 30).status_code == 200
            triton.stop()
            down = wait_for_status(client, "/health/ready", 503, 30)
            assert down.status_code == 503
            assert down.headers["content-type"].startswith("application/problem+json")
            assert down.headers["retry-after"] == "5"
            assert down.json()["code"] == "inference_unavailable"
            assert client.get("/health/live").status_code == 200  # liveness never touches Triton
            # Same ports, a fresh process; the API is not restarted.
            triton = LocalTriton(**ports).start()
            back = wait_for_status(client, "/health/ready", 200, 60)
            assert back.status_code == 200
    finally:
        triton.stop()
