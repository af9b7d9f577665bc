"""The same dataset over REST and over gRPC gives the same report, field for field (real Triton,
real HTTP and HTTP/2 servers on loopback)."""

from __future__ import annotations

import math
from typing import Any

import grpc
import pytest

from devtools.client import GrpcApiError, GrpcClient, RestClient
from devtools.demo import DEMO_OPTIONS, build_demo_dataset
from service.app import create_app
from service.inference.local_triton import free_port
from service.report.check_runners import CHECK_RUNNERS
from service.report.pipeline import ALL_CHECKS
from service.settings import Settings
from tests.live_server import serve

pytestmark = pytest.mark.integration

# Every check the pipeline can run today (agreement needs annotations, which the demo has none of).
CHECKS = [c for c in ALL_CHECKS if c in CHECK_RUNNERS and c != "agreement"]


@pytest.fixture(scope="module")
def api(triton_url, tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    manifest, planted = build_demo_dataset(root)
    port = free_port()
    app = create_app(Settings(triton_url=triton_url, data_root=str(root), grpc_port=port))
    with (
        serve(app) as url,
        RestClient(url, timeout=600) as rest,
        GrpcClient(f"127.0.0.1:{port}", timeout=600) as over_grpc,
    ):
        yield {
            "dataset": {"manifest_uri": manifest.as_uri()},
            "rest": rest,
            "grpc": over_grpc,
            "planted": planted,
        }


def differences(a: Any, b: Any, path: str = "$") -> list[str]:
    """Paths where two JSON values differ (exactly; NaN equals NaN)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}.{k}: only on one side" for k in sorted(set(a) ^ set(b))]
        for key in sorted(set(a) & set(b)):
            out += differences(a[key], b[key], f"{path}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{path}[{i}]")
        ]
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return []
    if type(a) is not type(b) or a != b:
        return [f"{path}: {a!r} vs {b!r}"]
    return []


def comparable(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in {"request_id", "timings_s"}}


# A policy with every kind of rule outcome on the demo dataset (the verdict travels on both).
POLICY = {
    "max_failed_items": {"fail": 0},
    "max_leaked_items": {"fail": 100, "warn": 0},
    "min_images_per_class": {"fail": 2},
    "min_predicted_accuracy": {"at_images": 1000, "fail": 0.5},
    "unevaluated": "warn",
}


def test_the_same_report_over_rest_and_grpc(api):
    events: list[dict] = []
    over_grpc = api["grpc"].report(
        api["dataset"],
        checks=CHECKS,
        options=DEMO_OPTIONS,
        policy=POLICY,
        on_progress=events.append,
    )
    over_rest = api["rest"].report(
        api["dataset"], checks=CHECKS, options=DEMO_OPTIONS, policy=POLICY
    )
    assert differences(comparable(over_rest), comparable(over_grpc)) == []
    assert (
        over_grpc["verdict"]["outcome"] == "fail"
        and "max_failed_items" in over_grpc["verdict"]["failed"]
    )
    assert over_grpc["summary"]["schema"] == "imagelint.summary/1"
    # The comparison covered real content: every check, failed items, per-class numbers.
    assert over_grpc["checks_run"] == CHECKS and set(over_grpc["checks"]) == set(CHECKS)
    failed = {item["id"] for item in over_grpc["failed_items"]}
    assert set(api["planted"]["corrupt"]) | set(api["planted"]["hostile"]) <= failed
    assert over_grpc["dataset"]["loaded"] > 300
    # Progress came first and reached every stage.
    assert events and all(e["event"] == "progress" for e in events)
    assert list(dict.fromkeys(e["stage"] for e in events)) == ["resolve", "load", "infer", *CHECKS]
    assert events[-1] == {
        "event": "progress",
        "stage": CHECKS[-1],
        "done": len(CHECKS),
        "total": len(CHECKS),
    }


def test_health_is_serving_with_triton(api):
    assert api["grpc"].ready()


def test_a_bad_request_is_invalid_argument_on_both(api):
    options = {**DEMO_OPTIONS, "sample_size": {"fractions": [0.1]}}
    with pytest.raises(GrpcApiError) as caught:
        api["grpc"].report(api["dataset"], checks=["sample_size"], options=options)
    assert caught.value.grpc_code == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.problem["field"] == "options.sample_size.fractions"
    with pytest.raises(Exception) as rest:
        api["rest"].report(api["dataset"], checks=["sample_size"], options=options)
    assert rest.value.problem["field"] == "options.sample_size.fractions"
