"""``/metrics`` after real traffic: the expected series move, and ``promtool check metrics``
(from Debian's prometheus package, fetched by ``make setup`` into ``.tools/``) finds nothing."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from service.app import create_app
from service.settings import Settings
from tests.live_server import serve

pytestmark = pytest.mark.integration
PROMTOOL = Path(
    os.environ.get("PROMTOOL", Path(__file__).resolve().parents[2] / ".tools" / "promtool")
)


def sample_value(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} ([0-9.e+-]+)$", text, re.MULTILINE)
    assert match, f"{series} not in /metrics"
    return float(match.group(1))


@pytest.fixture(scope="module")
def metrics_text(triton_url, tmp_path_factory):
    root = tmp_path_factory.mktemp("metrics-data")
    rng = np.random.default_rng(0)
    items = []
    for i in range(6):
        path = root / f"img{i}.png"
        Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(path)
        items.append({"uri": path.as_uri(), "label": "a" if i < 3 else "b", "split": "train"})
    (root / "copy.png").write_bytes((root / "img0.png").read_bytes())
    items.append({"uri": (root / "copy.png").as_uri(), "label": "b", "split": "test"})
    items.append({"uri": (root / "bad.png").as_uri(), "label": "a"})  # not an image
    (root / "bad.png").write_bytes(b"not an image")
    items.append({"uri": "http://10.0.0.1/x.png", "label": "a"})
    settings = Settings(triton_url=triton_url, data_root=str(root), grpc_port=0)
    with serve(create_app(settings)) as url, httpx.Client(base_url=url, timeout=120) as client:
        body = {"dataset": {"items": items}, "checks": ["duplicates", "image_quality", "imbalance"]}
        assert client.post("/v1/reports", json=body).status_code == 200
        assert client.get("/health/live").status_code == 200
        assert client.post("/v1/reports", json={"dataset": {}}).status_code == 400
        exposition = client.get("/metrics")
        # Prometheus's text format, its charset once (it was given twice)
        assert exposition.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        yield exposition.text


def test_series_follow_the_traffic(metrics_text):
    text = metrics_text
    assert sample_value(text, 'imagelint_reports_total{outcome="ok"}') == 1
    assert sample_value(text, "imagelint_images_processed_total") == 7
    assert sample_value(text, 'imagelint_images_failed_total{code="unsupported_format"}') == 1
    assert sample_value(text, 'imagelint_images_failed_total{code="fetch_refused"}') == 1
    assert sample_value(text, 'imagelint_findings_total{kind="leaked_items"}') == 2
    assert sample_value(text, 'imagelint_findings_total{kind="duplicate_items"}') == 1
    assert (
        sample_value(
            text, 'imagelint_http_requests_total{method="POST",route="/v1/reports",status="400"}'
        )
        == 1
    )
    assert sample_value(text, 'imagelint_stage_duration_seconds_count{stage="infer"}') >= 1
    assert (
        sample_value(text, 'imagelint_triton_requests_total{operation="infer",outcome="ok"}') >= 1
    )
    assert sample_value(text, "imagelint_reports_in_flight") == 0


def test_promtool_check_metrics_is_clean(metrics_text):
    assert PROMTOOL.exists(), f"{PROMTOOL} missing: `make setup` fetches it"
    result = subprocess.run(
        [str(PROMTOOL), "check", "metrics"],
        input=metrics_text,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""


def test_promtool_would_flag_a_bad_exposition():
    bad = (
        "# HELP x_requests a counter without the suffix\n# TYPE x_requests counter\nx_requests 1\n"
    )
    result = subprocess.run(
        [str(PROMTOOL), "check", "metrics"], input=bad, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 or "total" in (result.stdout + result.stderr)
