"""``POST /v1/checks/imbalance`` over real HTTP: labels and counts modes and the 4xx cases."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from service.app import create_app
from service.settings import Settings
from tests.live_server import serve

PATH = "/v1/checks/imbalance"


@pytest.fixture(scope="module")
def client():
    with (
        serve(create_app(Settings(grpc_port=0))) as url,
        httpx.Client(base_url=url, timeout=60) as c,
    ):
        yield c


def assert_problem(response, status, field, text):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["field"] == field
    assert text in body["detail"]


def test_labels_splits_and_embeddings(client):
    rng = np.random.default_rng(0)
    sizes = {"cat": 120, "kitten": 6, "truck": 120, "van": 5}
    centres = {"cat": 0, "kitten": 0, "truck": 5, "van": 5}
    labels, rows = [], []
    for name, size in sizes.items():
        labels += [name] * size
        centre = np.zeros(16)
        centre[centres[name]] = 1.0
        centre[centres[name] + 1] = 0.3 if name in ("kitten", "van") else 0.0
        rows.append(centre + 0.05 * rng.normal(size=(size, 16)))
    splits = ["train" if i % 5 else "val" for i in range(len(labels))]
    response = client.post(
        PATH,
        json={"labels": labels, "splits": splits, "embeddings": np.vstack(rows).round(5).tolist()},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["n_items"] == 251 and body["imbalance_ratio"] == pytest.approx(24.0)
    assert body["minority_classes"] == ["kitten", "van"]
    inverse = next(w for w in body["weights"] if w["strategy"] == "inverse_frequency")["weights"]
    classes = ["cat", "kitten", "truck", "van"]
    sk = compute_class_weight("balanced", classes=np.array(classes), y=np.array(labels))
    assert [inverse[c] for c in classes] == pytest.approx(list(sk))
    assert body["beta"] == pytest.approx(250 / 251)
    assert {s["split"] for s in body["splits"]} == {"train", "val"}
    assert body["drift"][0]["splits"] == ["train", "val"]
    assert 0.0 <= body["drift"][0]["p_value"] <= 1.0
    assert body["hierarchy"]["recommended"] is True
    assert sorted(body["hierarchy"]["groups"]) == [["cat", "kitten"], ["truck", "van"]]


def test_counts_mode(client):
    response = client.post(PATH, json={"counts": {"a": 10, "b": 30, "c": 60}, "target": "max"})
    assert response.status_code == 200, response.text
    body = response.json()
    inverse = next(w for w in body["weights"] if w["strategy"] == "inverse_frequency")["weights"]
    assert inverse == pytest.approx({"a": 100 / 30, "b": 100 / 90, "c": 100 / 180})
    plan = body["resampling"]
    assert plan["target_count"] == 60
    assert [c["augmented_needed"] for c in plan["classes"]] == [50, 30, 0]
    assert "splits" not in body and "hierarchy" not in body


def test_split_counts_mode(client):
    response = client.post(
        PATH, json={"split_counts": {"train": {"a": 50, "b": 50}, "test": {"a": 80, "b": 20}}}
    )
    assert response.status_code == 200, response.text
    drift = response.json()["drift"][0]
    assert drift["total_variation"] == pytest.approx(0.3)
    assert drift["p_value"] < 0.001


@pytest.mark.parametrize(
    ("payload", "status", "field", "text"),
    [
        ({"counts": {"a": 10, "b": 0}}, 422, "counts.b", "zero items"),
        # Issue 14 (D11): errors name the fields the caller sent, not the analysis' `counts`.
        ({"labels": ["a", "b"], "classes": ["a", "b", "c"]}, 422, "classes", "zero items"),
        ({"labels": ["a", "a"]}, 422, "labels", "at least 2 classes"),
        ({"counts": {"a": 10}}, 422, "counts", "at least 2 classes"),
        ({"labels": ["a", "b"], "counts": {"a": 1, "b": 1}}, 422, "counts", "not both"),
        ({}, 422, "labels", "send labels or class counts"),
        ({"labels": ["a", "b"], "splits": ["x"]}, 422, "splits", "must match"),
        (
            {"labels": ["a", "b"], "embeddings": [[1.0], [1.0, 2.0]]},
            422,
            "embeddings",
            "same length",
        ),
        ({"labels": ["a", "b"], "beta": 1.0}, 400, "beta", "Expected `float` < 1.0"),
        ({"labels": ["a", "b"], "target": "mean"}, 400, "target", "Invalid enum value"),
        ({"counts": {"a": 1, "b": -2}}, 422, "counts.b", "non-negative"),
    ],
)
def test_bad_requests(client, payload, status, field, text):
    assert_problem(client.post(PATH, json=payload), status, field, text)
