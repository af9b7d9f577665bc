"""``POST /v1/reports/upload`` over real HTTP: archive and manifest bodies, the size caps (declared
and streamed), bad request parameters, and the scratch directory left empty afterwards."""

from __future__ import annotations

import io
import json
import zipfile

import httpx
import pytest

from devtools.demo import _png
from service.app import create_app
from service.settings import Settings
from tests.live_server import serve

pytestmark = pytest.mark.integration
CAP = 200_000


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("upload-scratch")


@pytest.fixture(scope="module")
def server(triton_url, scratch):
    settings = Settings(
        triton_url=triton_url, grpc_port=0, scratch_dir=str(scratch),
        max_archive_bytes=CAP, max_manifest_bytes=2_000,
    )  # fmt: skip
    with serve(create_app(settings)) as url:
        yield url


def small_archive() -> bytes:
    import numpy as np

    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for label in ("a", "b"):
            for k in range(4):
                pixels = rng.integers(0, 255, size=(40, 40, 3), dtype=np.uint8)
                archive.writestr(f"{label}/{k}.png", _png(pixels))
        archive.writestr("b/extra.png", archive.read("b/0.png"))  # an exact copy
    return buffer.getvalue()


def post(url: str, body, request: dict | str | None = None, **kwargs) -> httpx.Response:
    params = {}
    if request is not None:
        params["request"] = request if isinstance(request, str) else json.dumps(request)
    return httpx.post(
        f"{url}/v1/reports/upload", content=body, params=params, timeout=300, **kwargs
    )


def test_an_uploaded_archive_is_audited_and_gated(server, scratch):
    policy = {"max_duplicate_items": {"fail": 0}, "min_images_per_class": {"fail": 4}}
    response = post(
        server, small_archive(), {"checks": ["duplicates", "imbalance"], "policy": policy}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["dataset"]["classes"] == {"a": 4, "b": 5}
    assert report["summary"]["duplicate_items"] == 1
    outcomes = {r["rule"]: r["outcome"] for r in report["verdict"]["rules"]}
    assert outcomes == {"max_duplicate_items": "fail", "min_images_per_class": "pass"}
    assert list(scratch.iterdir()) == []  # the extracted upload is gone


def test_an_uploaded_manifest_needs_absolute_uris(server):
    manifest = b"url,class\nhttps://127.0.0.1/a.png,cat\n"
    response = post(server, manifest, {"kind": "manifest", "checks": ["image_quality"]})
    assert response.status_code == 200, response.text
    report = response.json()
    # the manifest's label column was read; the item failed, so it is in no class the checks see
    assert report["dataset"]["classes"] == {} and report["dataset"]["failed_classes"] == {"cat": 1}
    assert report["failed_items"][0]["code"] == "fetch_refused"  # the fetch guard still applies


def test_size_caps_declared_and_streamed(server, scratch):
    big = b"\0" * (CAP + 1)
    declared = post(server, big, {})
    assert declared.status_code == 413 and declared.json()["field"] == "body"

    def chunks():  # no Content-Length: the cap is enforced while streaming
        for _ in range(50):
            yield b"\0" * 10_000

    streamed = post(server, chunks(), {})
    assert streamed.status_code == 413, streamed.text
    assert "over 200,000 bytes" in streamed.json()["detail"]
    manifest = post(server, b"uri\n" + b"https://h/a.png\n" * 200, {"kind": "manifest"})
    assert manifest.status_code == 413
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize(
    "body, request_json, status, field",
    [
        (b"PK", "{not json", 400, "request"),
        (b"PK", {"kind": "folder"}, 400, "request"),
        (b"PK", {"policy": {"max_leaked_items": 3}}, 400, "request"),
        (b"", {}, 400, "body"),
        (b"not an archive", {}, 400, "body"),
    ],
)
def test_bad_uploads_are_problems(server, body, request_json, status, field):
    response = post(server, body, request_json)
    assert response.status_code == status, response.text
    problem = response.json()
    assert problem["field"] == field and problem["detail"]
