"""One set of input rules across the check routes (issue 14, D10/D11), over real HTTP and gRPC:
the item limit, label types, unique ids, and errors that name only fields the caller sent."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import numpy as np
import pytest

from devtools.client import GrpcApiError, GrpcClient
from service.settings import Settings
from tests.live_server import serve
from tests.unit.test_grpc_server import FakeEncoder, start

LIMIT = 50


@pytest.fixture(scope="module")
def api():
    app, port = start(Settings(max_items=LIMIT), FakeEncoder())
    with serve(app) as url, GrpcClient(f"127.0.0.1:{port}") as grpc_client:
        yield SimpleNamespace(url=url, grpc=grpc_client)


def rows(n: int, d: int = 4, seed: int = 0) -> list[list[float]]:
    return np.random.default_rng(seed).normal(size=(n, d)).round(4).tolist()


OVER = LIMIT + 1
OVER_THE_LIMIT = {
    "imbalance": {"labels": ["a", "b"] * OVER},
    "sample-size": {"labels": ["a", "b"] * OVER, "embeddings": rows(2 * OVER)},
    "mislabels": {"labels": ["a", "b"] * OVER, "embeddings": rows(2 * OVER)},
    "duplicates": {"embeddings": rows(2 * OVER)},
}


@pytest.mark.parametrize("route", sorted(OVER_THE_LIMIT))
def test_every_check_route_has_the_same_item_limit(api, route):
    """D10: imbalance accepted 1 M labels while the others stopped at 100 k."""
    response = httpx.post(f"{api.url}/v1/checks/{route}", json=OVER_THE_LIMIT[route], timeout=60)
    assert response.status_code == 413, response.text
    assert f"at most {LIMIT}" in response.json()["detail"]
    with pytest.raises(GrpcApiError) as caught:
        api.grpc.check(route, OVER_THE_LIMIT[route])
    assert caught.value.problem["code"] == "payload_too_large"


MIXED_LABELS = {
    "imbalance": {"labels": [1, "1", "2", "2"]},
    "sample-size": {"labels": [1, "1", 2, 2] * 5, "embeddings": rows(20)},
    "mislabels": {"labels": [1, "1", 2, 2] * 5, "embeddings": rows(20)},
    "duplicates": {"labels": [1, "1", None], "embeddings": rows(3)},
}


@pytest.mark.parametrize("route", sorted(MIXED_LABELS))
def test_a_number_and_a_string_label_that_read_the_same_are_refused(api, route):
    """D10: labels 1 and "1" merged into one class without a word."""
    response = httpx.post(f"{api.url}/v1/checks/{route}", json=MIXED_LABELS[route], timeout=60)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "labels" and 'the string "1"' in response.json()["detail"]


def test_integer_labels_alone_still_work(api):
    response = httpx.post(
        f"{api.url}/v1/checks/imbalance", json={"labels": [1, 1, 1, 2]}, timeout=60
    )
    assert response.status_code == 200 and response.json()["n_classes"] == 2


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("mislabels", {"labels": ["a", "b"] * 10, "embeddings": rows(20), "ids": ["x"] * 20}),
        ("duplicates", {"embeddings": rows(3), "ids": ["x", "y", "x"]}),
        ("agreement", {"annotations": [["a", "b"], ["a", "a"]], "ids": ["x", "x"]}),
    ],
)
def test_duplicate_ids_are_refused_on_every_route(api, route, body):
    """D10: mislabels accepted duplicate ids while duplicates refused them."""
    response = httpx.post(f"{api.url}/v1/checks/{route}", json=body, timeout=60)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "ids"


@pytest.mark.parametrize(
    ("route", "body", "sent"),
    [
        ("imbalance", {"labels": ["a", "a", "a"]}, {"labels"}),  # one class: used to blame `counts`
        ("imbalance", {"labels": []}, {"labels"}),  # default beta: used to blame `beta`
        ("sample-size", {"observations": [{"n": 10, "scores": [0.5]}]}, {"observations"}),
    ],
)
def test_errors_name_only_fields_the_caller_sent(api, route, body, sent):
    """D11: errors named `beta` or `counts` when the caller had sent labels only."""
    response = httpx.post(f"{api.url}/v1/checks/{route}", json=body, timeout=60)
    assert response.status_code in (400, 422), response.text
    field = response.json().get("field")
    assert field is None or field.split(".")[0].split("[")[0] in sent, response.json()
