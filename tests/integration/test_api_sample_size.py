"""``POST /v1/checks/sample-size`` over real HTTP: both modes and the 4xx cases."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from service.app import create_app
from service.settings import Settings
from tests.live_server import serve

PATH = "/v1/checks/sample-size"


@pytest.fixture(scope="module")
def client():
    with (
        serve(create_app(Settings(grpc_port=0))) as url,
        httpx.Client(base_url=url, timeout=120) as c,
    ):
        yield c


def gaussian_items(n=600, k=3, d=16, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, 0.6, (k, d))
    labels = np.repeat(np.arange(k), n // k)
    x = means[labels] + rng.normal(0.0, 1.0, (len(labels), d))
    return x.round(5).tolist(), [f"class-{c}" for c in labels]


OBSERVATIONS = [
    {"n": float(n), "scores": [0.92 - 2.0 * n**-0.6 + e for e in (-0.004, 0.0, 0.004)]}
    for n in (50, 100, 200, 400, 800)
]


def assert_problem(response, status, field, text):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["field"] == field
    assert text in body["detail"]
    return body


def test_learning_curve_mode(client):
    embeddings, labels = gaussian_items()
    response = client.post(
        PATH,
        json={
            "embeddings": embeddings,
            "labels": labels,
            "fractions": [0.1, 0.2, 0.35, 0.5],
            "repeats": 2,
            "target_accuracy": 0.6,
            "bootstrap": 20,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mode"] == "learning_curve"
    assert [p["fraction"] for p in body["curve"]["points"]] == [0.1, 0.2, 0.35, 0.5, 1.0]
    assert body["n_current"] == body["curve"]["n_pool"] == 480
    assert {f["model"] for f in body["fits"]} == {"inverse_power_law", "power_law"}
    assert body["target"]["target"] == 0.6
    assert [c["label"] for c in body["classes"]] == ["class-0", "class-1", "class-2"]


def test_fit_only_mode(client):
    response = client.post(PATH, json={"observations": OBSERVATIONS, "target_accuracy": 0.88})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mode"] == "observations"
    assert body["chosen_model"] == "inverse_power_law"
    ipl = next(f for f in body["fits"] if f["model"] == "inverse_power_law")
    assert ipl["asymptote"] == pytest.approx(0.92, abs=0.01)
    target = body["target"]
    expected = (2.0 / (0.92 - 0.88)) ** (1 / 0.6)
    assert target["reachable"] and target["n_needed"] == pytest.approx(expected, rel=0.1)
    assert target["ci_low"] <= target["n_needed"] <= target["ci_high"]
    assert "curve" not in body and "classes" not in body


def test_target_above_the_asymptote(client):
    body = client.post(PATH, json={"observations": OBSERVATIONS, "target_accuracy": 0.97}).json()
    assert body["target"]["reachable"] is False
    assert "asymptote" in body["target"]["note"]


def test_too_few_items_for_the_fractions(client):
    embeddings, labels = gaussian_items(n=300, k=10)
    body = {"embeddings": embeddings, "labels": labels, "fractions": [0.05, 0.1, 0.2, 0.35, 0.5]}
    assert_problem(client.post(PATH, json=body), 422, "labels", "at least 500 items are needed")
    # the default fractions adapt down to a smallest subset of 20 %: 125 items for 10 classes
    embeddings, labels = gaussian_items(n=120, k=10)
    response = client.post(PATH, json={"embeddings": embeddings, "labels": labels})
    assert_problem(response, 422, "labels", "at least 125 items are needed")


@pytest.mark.parametrize("field", ["target_accuracy", "target_recall"])
@pytest.mark.parametrize("value", [0.0, 1.0, 1.5])
def test_target_outside_zero_one(client, field, value):
    response = client.post(PATH, json={"observations": OBSERVATIONS, field: value})
    assert_problem(response, 400, field, "Expected `float`")


def test_fewer_than_two_classes(client):
    embeddings, _ = gaussian_items()
    response = client.post(PATH, json={"embeddings": embeddings, "labels": ["a"] * 600})
    assert_problem(response, 422, "labels", "at least 2 classes")


@pytest.mark.parametrize(
    ("payload", "status", "field", "text"),
    [
        ({"observations": OBSERVATIONS, "labels": ["a"]}, 422, "observations", "not both"),
        ({}, 422, "embeddings", "send embeddings and labels"),
        ({"embeddings": [[0.0]]}, 422, "labels", "send embeddings and labels"),
        (
            {"embeddings": [[0.0, 1.0], [1.0]], "labels": ["a", "b"]},
            422,
            "embeddings",
            "same length",
        ),
        ({"observations": OBSERVATIONS[:2]}, 422, "observations", "at least 3 distinct"),
        ({"observations": [{"n": -1, "scores": [0.5]}]}, 422, "observations[0].n", "positive"),
        ({"observations": OBSERVATIONS, "model": "linear"}, 400, "model", "Invalid enum value"),
        ({"observations": OBSERVATIONS, "fractions": [0.5]}, 400, "fractions", "length >= 2"),
    ],
)
def test_bad_requests(client, payload, status, field, text):
    assert_problem(client.post(PATH, json=payload), status, field, text)


def test_unknown_field_is_named(client):
    response = client.post(PATH, json={"observations": OBSERVATIONS, "folds": 3})
    assert response.status_code == 400
    assert "unknown field `folds`" in response.json()["detail"]
