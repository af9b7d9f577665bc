"""``POST /v1/checks/duplicates`` over real HTTP: groups, leakage, conflicts and outliers from JSON
rows and from base64 float32, and the 4xx cases (problem+json naming the field). No Triton."""

from __future__ import annotations

import base64

import httpx
import numpy as np
import pytest

from service.app import create_app
from service.settings import Settings
from tests.live_server import serve

PATH = "/v1/checks/duplicates"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client():
    with (
        serve(create_app(Settings(max_items=50, grpc_port=0))) as url,
        httpx.Client(base_url=url, timeout=60) as c,
    ):
        yield c


def dataset():
    """12 items: a cluster with a train/test copy pair (conflicting labels), a byte-identical
    pair and one item pointing elsewhere (the outlier)."""
    rng = np.random.default_rng(2)
    x = 0.8 + rng.normal(size=(12, 8))  # other pairs below cosine 0.86
    x[5] = x[2] + 0.001  # near copy of 2
    x[11] = -np.ones(8)  # points away from everything
    ids = [f"img-{i}" for i in range(12)]
    splits = ["train"] * 12
    splits[5] = "test"
    labels = ["cat"] * 12
    labels[5] = "dog"
    hashes = [None] * 12
    hashes[7] = hashes[9] = "sha-1"
    return x.astype(np.float32), ids, splits, labels, hashes


def assert_problem(response, status, field, text):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body.get("field") == field, body
    assert text in body["detail"], body
    return body


def check_body(body):
    assert body["n_items"] == 12 and body["method"] == "exact"
    assert body["exact_byte_groups"] == [["img-7", "img-9"]]
    assert [g["members"] for g in body["groups"]] == [["img-2", "img-5"], ["img-7", "img-9"]]
    first = body["groups"][0]
    assert first["keep"] == "img-5" and first["drop"] == ["img-2"]  # the test copy stays
    assert body["droppable"] == 2
    assert body["leakage"]["groups"] == [0]
    assert body["leakage"]["by_split_pair"] == [
        {"splits": ["test", "train"], "groups": 1, "items": 2}
    ]
    assert body["label_conflicts"] == [
        {"group": 0, "labels": {"cat": 1, "dog": 1}, "members": ["img-2", "img-5"]}
    ]
    assert body["near_pairs"][0]["a"] == "img-2" and body["near_pairs"][0]["similarity"] > 0.99
    assert [o["id"] for o in body["outliers"]["outliers"]] == ["img-11"]


def test_json_rows(client):
    x, ids, splits, labels, hashes = dataset()
    response = client.post(
        PATH,
        json={
            "embeddings": x.tolist(),
            "ids": ids,
            "splits": splits,
            "labels": labels,
            "byte_hashes": hashes,
            "threshold": 0.99,
            "outlier_k": 3,
        },
    )
    assert response.status_code == 200, response.text
    check_body(response.json())


def test_base64_float32_gives_the_same_answer(client):
    x, ids, splits, labels, hashes = dataset()
    payload = base64.b64encode(x.astype("<f4").tobytes()).decode()
    response = client.post(
        PATH,
        json={
            "embeddings_b64": payload,
            "shape": list(x.shape),
            "ids": ids,
            "splits": splits,
            "labels": labels,
            "byte_hashes": hashes,
            "threshold": 0.99,
            "outlier_k": 3,
        },
    )
    assert response.status_code == 200, response.text
    check_body(response.json())


def b64(x):
    return base64.b64encode(np.asarray(x, "<f4").tobytes()).decode()


@pytest.mark.parametrize(
    ("body", "status", "field", "text"),
    [
        ({"embeddings": [[1.0, 0.0], [0.0, 1.0, 2.0]]}, 422, "embeddings", "row 1 has 3 values"),
        ({"embeddings": [[1.0, 0.0], [0.0, 0.0]]}, 422, "embeddings", "all-zero row"),
        ({"embeddings": []}, 422, "embeddings", "empty"),
        ({}, 422, "embeddings", "exactly one of"),
        (
            {"embeddings": [[1.0]], "embeddings_b64": b64([[1.0]]), "shape": [1, 1]},
            422,
            "embeddings",
            "exactly one",
        ),
        (
            {"embeddings_b64": b64([[1.0, np.nan]]), "shape": [1, 2]},
            422,
            "embeddings",
            "NaN or infinite",
        ),
        (
            {"embeddings_b64": b64([[1.0, np.inf]]), "shape": [1, 2]},
            422,
            "embeddings",
            "NaN or infinite",
        ),
        ({"embeddings_b64": b64([[1.0, 2.0]]), "shape": [2, 2]}, 422, "embeddings_b64", "needs 16"),
        (
            {"embeddings_b64": "not base64!", "shape": [1, 1]},
            422,
            "embeddings_b64",
            "not valid base64",
        ),
        ({"embeddings_b64": b64([[1.0, 2.0]])}, 422, "shape", "required"),
        ({"embeddings": [[1.0, 0.0], [0.0, 1.0]], "ids": ["a"]}, 422, "ids", "1 entries for 2"),
        ({"embeddings": [[1.0, 0.0], [0.0, 1.0]], "splits": ["train"]}, 422, "splits", "1 entries"),
        ({"embeddings": [[1.0, 0.0], [0.0, 1.0]], "ids": ["a", "a"]}, 422, "ids", "unique"),
        ({"embeddings": [[1.0]] * 51}, 413, "embeddings", "at most 50"),
    ],
)
def test_bad_input_is_a_clear_problem(client, body, status, field, text):
    assert_problem(client.post(PATH, json=body), status, field, text)


def test_schema_violations_name_the_field(client):
    response = client.post(PATH, json={"embeddings": [[1.0, 0.0]], "threshold": 3})
    body = assert_problem(response, 400, "threshold", "")
    assert body["code"] == "validation_error"
    response = client.post(PATH, json={"embeddings": [[1.0, 0.0]], "shape": [1, 2, 3]})
    assert_problem(response, 400, "shape", "")
    response = client.post(PATH, json={"embeddings": [["a", 0.0]]})
    assert response.status_code == 400
