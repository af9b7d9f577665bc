"""``POST /v1/checks/mislabels`` and ``/v1/checks/agreement`` over real HTTP: the result for a
planted flip, caller probabilities, and the 4xx cases (problem+json naming the field)."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from service.app import create_app
from service.settings import Settings
from tests.live_server import serve

PATH = "/v1/checks/mislabels"
NAMES = ["cat", "dog", "fox"]

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client():
    with (
        serve(create_app(Settings(max_items=500, grpc_port=0))) as url,
        httpx.Client(base_url=url, timeout=120) as c,
    ):
        yield c


def clusters(per_class=25, dims=12, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(3, dims))
    means *= 8.0 / np.linalg.norm(means, axis=1, keepdims=True)
    y = np.repeat(np.arange(3), per_class)
    return means[y] + rng.normal(scale=0.5, size=(y.size, dims)), y


def assert_problem(response, status, field, text):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["field"] == field, body
    assert text in body["detail"], body
    return body


def test_planted_flip_from_embeddings(client):
    x, y = clusters()
    labels = [NAMES[i] for i in y]
    labels[3] = "fox"  # a cat labelled fox
    response = client.post(
        PATH,
        json={
            "labels": labels,
            "embeddings": x.round(5).tolist(),
            "ids": [f"img-{i}" for i in range(y.size)],
            "conflict_ids": ["img-60"],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    first = body["candidates"][0]
    assert first["id"] == "img-3"
    assert (first["given_label"], first["suggested_label"]) == ("fox", "cat")
    assert first["confident_learning"] is True
    assert body["learnability"]["source"] == "probe"
    assert body["issue_count"] == 1
    assert [c["label"] for c in body["classes"]] == NAMES
    conflicted = [c for c in body["candidates"] if c.get("duplicate_conflict")]
    assert [c["id"] for c in conflicted] == ["img-60"]


def test_caller_probabilities_with_integer_labels(client):
    probs = [[0.9, 0.05, 0.05]] * 6 + [[0.1, 0.8, 0.1]] * 6
    labels = [0] * 6 + [1] * 5 + [0]
    response = client.post(
        PATH,
        json={
            "labels": labels,
            "class_names": [0, 1, 2],
            "probabilities": probs,
            "top_fraction": 0.01,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rank_by"] == "self_confidence"
    assert [c["index"] for c in body["candidates"]] == [11]
    assert body["candidates"][0]["suggested_label"] == "1"
    assert body["candidates"][0]["self_confidence"] == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("payload", "status", "field", "text"),
    [
        (
            {
                "labels": ["cat", "dog"],
                "class_names": NAMES,
                "probabilities": [[0.5, 0.6, 0], [1, 0, 0]],
            },
            422,
            "probabilities",
            "send logits",
        ),
        (
            {"labels": ["cat", "yak"], "class_names": NAMES, "logits": [[0, 0, 0], [0, 0, 0]]},
            422,
            "labels",
            "'yak'",
        ),
        ({"labels": ["cat", "cat"], "embeddings": [[0.0], [1.0]]}, 422, "labels", "at least 2"),
        (
            {"labels": ["cat"], "class_names": ["cat"], "logits": [[1.0]]},
            422,
            "class_names",
            "at least 2",
        ),
        (
            {"labels": ["cat", "dog"], "embeddings": [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]},
            422,
            "embeddings",
            "must match",
        ),
        (
            {"labels": ["cat", "dog"], "class_names": NAMES, "logits": [[0, 0, 0]]},
            422,
            "logits",
            "must match",
        ),
        (
            {"labels": ["cat", "dog"], "embeddings": [[0.0, 1.0], [1.0]]},
            422,
            "embeddings",
            "same length",
        ),
        ({"labels": ["cat", "dog"], "logits": [[0, 0], [0, 0]]}, 422, "class_names", "required"),
        ({"labels": ["cat", "dog"]}, 422, "embeddings", "give embeddings"),
        ({"labels": ["cat", "dog"], "embeddings": [[0.0], [1.0]], "folds": 1}, 400, "folds", ""),
        ({"labels": ["cat"] * 501, "embeddings": [[0.0]] * 501}, 413, "labels", "at most 500"),
    ],
)
def test_bad_requests(client, payload, status, field, text):
    assert_problem(client.post(PATH, json=payload), status, field, text)


def test_agreement(client):
    annotations = [
        [{"annotator": "ann", "label": "cat"}, {"annotator": "bob", "label": "cat"}],
        [{"annotator": "ann", "label": "cat"}, {"annotator": "bob", "label": "dog"}, "fox"],
        [{"annotator": "ann", "label": "dog"}, {"annotator": "bob", "label": "dog"}],
    ]
    response = client.post(
        "/v1/checks/agreement", json={"annotations": annotations, "min_overlap": 2}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["consensus"] == ["cat", "cat", "dog"]
    assert [d["index"] for d in body["disputed"]] == [1]
    assert body["disputed"][0]["full_disagreement"] is True
    pair = body["pairwise"][0]
    assert (pair["a"], pair["b"], pair["items"]) == ("ann", "bob", 3)
    assert pair["observed_agreement"] == pytest.approx(2 / 3)


def test_agreement_rejects_a_repeated_annotator(client):
    response = client.post(
        "/v1/checks/agreement",
        json={
            "annotations": [
                [{"annotator": "ann", "label": "a"}, {"annotator": "ann", "label": "b"}]
            ]
        },
    )
    assert_problem(response, 422, "annotations", "more than once")
