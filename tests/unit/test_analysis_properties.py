"""Property tests (Hypothesis) on every analysis entry point, as the check routes and the report
call them (issue 14, build item 2): degenerate and random inputs — constant or rank-1
embeddings, huge or tiny norms, zeros, one class, tiny classes, flat or decreasing learning
curves — give a result whose every number is finite (JSON has no NaN) or a typed error
(``ImagelintError`` or ``ValueError``); never another exception.

Requests are built with ``msgspec.convert`` (the validation a REST body or a gRPC message gets),
then handed to the route's ``run_*`` function, so the property covers the whole path below the
transport.
"""

from __future__ import annotations

import math
import os

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.checks.duplicates import DuplicatesRequest, run_duplicates
from service.checks.imbalance import ImbalanceRequest, run_imbalance
from service.checks.mislabels import (
    AgreementRequest,
    MislabelsRequest,
    run_agreement,
    run_mislabels,
)
from service.checks.sample_size import SampleSizeRequest, run_sample_size
from service.errors import ImagelintError

MAX_ITEMS = 100_000
# A few dozen examples per property in the suite (2 shared cores); IMAGELINT_PROPERTY_EXAMPLES
# raises it for a longer hunt.
EXAMPLES = int(os.environ.get("IMAGELINT_PROPERTY_EXAMPLES", "30"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(
    max_examples=max(4, EXAMPLES // 3), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def finite_everywhere(value, path="$") -> None:
    if isinstance(value, float):
        assert math.isfinite(value), f"{path} = {value}"
    elif isinstance(value, dict):
        for k, v in value.items():
            finite_everywhere(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            finite_everywhere(v, f"{path}[{i}]")


def outcome(
    run, *args, allowed: tuple[type[BaseException], ...] = (ImagelintError,), label: str = ""
) -> None:
    """The property: finite JSON, or a typed error. Through a route's ``run_*`` only the
    project's errors count (a bare ValueError there is a 500); the pure analyses may also raise
    ``ValueError`` for arguments the routes validate first."""
    from hypothesis import event

    try:
        result = run(*args)
    except allowed as exc:
        event(f"{label}typed error: {type(exc).__name__}")
        return
    event(f"{label}result")
    finite_everywhere(msgspec.to_builtins(result))
    msgspec.json.encode(result)


@st.composite
def embeddings(draw, n_min: int = 1, n_max: int = 24, d_max: int = 6) -> np.ndarray:
    n = draw(st.integers(n_min, n_max))
    d = draw(st.integers(1, d_max))
    kind = draw(st.sampled_from(["random", "constant", "rank1", "zeros", "copies"]))
    scale = draw(st.sampled_from([1e-30, 1e-8, 1.0, 1e8, 1e30]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "random":
        x = rng.normal(size=(n, d))
    elif kind == "constant":
        x = np.tile(rng.normal(size=(1, d)), (n, 1))
    elif kind == "rank1":
        x = np.outer(rng.normal(size=n), rng.normal(size=d))
    elif kind == "zeros":
        x = np.zeros((n, d))
    else:
        base = rng.normal(size=(max(1, n // 3), d))
        x = base[rng.integers(0, len(base), n)]
    return (x * scale).astype(np.float32).astype(np.float64)


@st.composite
def labels_for(draw, n: int) -> list[str]:
    classes = draw(st.integers(1, 4))
    weights = draw(st.sampled_from(["even", "one_tiny", "one_big"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if weights == "even":
        p = np.full(classes, 1.0 / classes)
    elif weights == "one_tiny":
        p = (
            np.array([0.02] + [0.98 / max(1, classes - 1)] * (classes - 1))
            if classes > 1
            else np.ones(1)
        )
    else:
        p = (
            np.array([0.9] + [0.1 / max(1, classes - 1)] * (classes - 1))
            if classes > 1
            else np.ones(1)
        )
    p = p / p.sum()
    return [f"c{k}" for k in rng.choice(classes, size=n, p=p)]


@st.composite
def labelled(draw, n_min: int = 1, n_max: int = 24):
    x = draw(embeddings(n_min=n_min, n_max=n_max))
    return x, draw(labels_for(len(x)))


@FAST
@given(labelled(), st.booleans())
def test_duplicates(data, with_labels):
    x, labels = data
    body = {"embeddings": x.tolist()}
    if with_labels:
        body["labels"] = labels
    outcome(run_duplicates, msgspec.convert(body, DuplicatesRequest), MAX_ITEMS)


@FAST
@given(labelled(), st.sampled_from(["median", "max"]), st.booleans())
def test_imbalance_from_labels(data, target, with_embeddings):
    x, labels = data
    body = {"labels": labels, "target": target}
    if with_embeddings:
        body["embeddings"] = x.tolist()
    outcome(run_imbalance, msgspec.convert(body, ImbalanceRequest), MAX_ITEMS)


@FAST
@given(st.dictionaries(st.text("abc", min_size=1, max_size=3), st.integers(0, 10**9), max_size=5))
def test_imbalance_from_counts(counts):
    outcome(run_imbalance, msgspec.convert({"counts": counts}, ImbalanceRequest), MAX_ITEMS)


@SLOW
@given(labelled(n_min=2, n_max=40), st.integers(2, 5))
def test_mislabels_from_embeddings(data, folds):
    x, labels = data
    body = {"labels": labels, "embeddings": x.tolist(), "folds": folds}
    outcome(run_mislabels, msgspec.convert(body, MislabelsRequest), MAX_ITEMS)


@FAST
@given(labelled(n_min=2, n_max=30), st.sampled_from(["probabilities", "logits"]))
def test_mislabels_from_model_outputs(data, kind):
    x, labels = data
    names = sorted(set(labels))
    k = len(names)
    rng = np.random.default_rng(len(labels))
    scores = rng.normal(size=(len(labels), k)) * float(np.abs(x).max() or 1.0)
    if kind == "probabilities":
        scores = np.abs(scores) + 1e-300
        scores = scores / scores.sum(axis=1, keepdims=True)
    body = {"labels": labels, kind: scores.tolist(), "class_names": names}
    outcome(run_mislabels, msgspec.convert(body, MislabelsRequest), MAX_ITEMS)


@SLOW
@given(labelled(n_min=2, n_max=60), st.sampled_from([None, 0.9]))
def test_sample_size_learning_curve(data, target):
    x, labels = data
    body = {
        "labels": labels,
        "embeddings": x.tolist(),
        "repeats": 2,
        "bootstrap": 10,
        "fractions": [0.3, 0.6],
    }
    if target is not None:
        body["target_accuracy"] = target
    outcome(run_sample_size, msgspec.convert(body, SampleSizeRequest), MAX_ITEMS)


@st.composite
def curves(draw):
    shape = draw(
        st.sampled_from(["flat", "decreasing", "increasing", "random", "saturated", "nearly_flat"])
    )
    sizes = sorted(draw(st.sets(st.integers(1, 100_000), min_size=1, max_size=6)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if shape == "flat":
        scores = [0.5] * len(sizes)
    elif shape == "decreasing":
        scores = list(np.linspace(0.9, 0.1, len(sizes)))
    elif shape == "increasing":
        scores = list(np.linspace(0.1, 0.9, len(sizes)))
    elif shape == "saturated":
        scores = [1.0] * len(sizes)
    elif shape == "nearly_flat":  # the curve that overflowed the power-law solve (make demo)
        scores = [0.5 * (n / sizes[0]) ** 1e-4 for n in sizes]
    else:
        scores = list(rng.uniform(0, 1, len(sizes)))
    repeats = draw(st.integers(1, 3))
    return [
        {
            "n": n,
            "scores": [
                float(min(1.0, max(0.0, s + rng.normal(0, 0.01 * (r > 0))))) for r in range(repeats)
            ],
        }
        for n, s in zip(sizes, scores, strict=True)
    ]


@FAST
@given(
    curves(),
    st.sampled_from([None, 0.5, 0.95, 0.999]),
    st.sampled_from(["auto", "inverse_power_law", "power_law"]),
)
def test_sample_size_fit_of_observations(observations, target, model):
    body = {"observations": observations, "model": model, "bootstrap": 20}
    if target is not None:
        body["target_accuracy"] = target
    outcome(run_sample_size, msgspec.convert(body, SampleSizeRequest), MAX_ITEMS)


@FAST
@given(
    st.lists(
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=0, max_size=4), min_size=1, max_size=12
    )
)
def test_agreement(annotations):
    outcome(
        run_agreement, msgspec.convert({"annotations": annotations}, AgreementRequest), MAX_ITEMS
    )


@FAST
@given(embeddings(n_min=1, n_max=30), st.integers(1, 10))
def test_outliers(x, k):
    from service.analysis.outliers import find_outliers

    outcome(lambda: find_outliers(x, k=k), allowed=(ImagelintError, ValueError))


def test_the_properties_cover_every_check_route():
    from service.grpc_api.contract import CHECK_RPCS

    covered = {"duplicates", "imbalance", "mislabels", "sample-size", "agreement"}
    assert {rpc.route for rpc in CHECK_RPCS} <= covered


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-q"])


# --- the report's checks, through the same runners the pipeline uses --------------------------


def _facts(rng: np.random.Generator, kind: str):
    from service.images.decode import ImageFacts

    if kind == "identical":
        values = dict(brightness=0.5, contrast=0.0, blur=0.0, entropy=0.0, width=224, height=224)
    elif kind == "extreme":
        values = dict(
            brightness=float(rng.choice([0.0, 1.0])),
            contrast=float(rng.choice([0.0, 0.5])),
            blur=float(rng.choice([0.0, 1e9])),
            entropy=float(rng.choice([0.0, 8.0])),
            width=int(rng.choice([1, 100_000])),
            height=int(rng.choice([1, 3])),
        )
    else:
        values = dict(
            brightness=float(rng.uniform()),
            contrast=float(rng.uniform(0, 0.5)),
            blur=float(rng.exponential()),
            entropy=float(rng.uniform(0, 8)),
            width=int(rng.integers(1, 4000)),
            height=int(rng.integers(1, 4000)),
        )
    return ImageFacts(
        format="PNG",
        mode="RGB",
        n_bytes=100,
        sha256=f"{rng.integers(0, 3):064x}",
        pixel_hash=f"{rng.integers(0, 3):032x}",
        dhash=f"{rng.integers(0, 3):016x}",
        is_grayscale=bool(rng.integers(0, 2)),
        **values,
    )


@SLOW
@given(
    labelled(n_min=1, n_max=40),
    st.sampled_from(["identical", "extreme", "random"]),
    st.integers(0, 2**16),
)
def test_every_report_check_on_degenerate_collections(data, facts_kind, seed):
    """What ``run_checks`` calls: each runner gives finite JSON or the typed error / ValueError
    the pipeline reports as ``check_errors`` (anything else would now be ``internal_error``)."""
    from service.datasets.model import Item
    from service.report.check_runners import CHECK_RUNNERS
    from service.report.context import CheckContext, Collected
    from service.report.models import ReportOptions

    x, labels = data
    rng = np.random.default_rng(seed)
    items = [
        Item(
            id=f"i{k}",
            uri=f"https://x.example/{k}.png",
            label=label,
            split=str(rng.choice(["train", "test"])),
            annotations=(("a", label), ("b", str(rng.choice(labels)))),
        )
        for k, label in enumerate(labels)
    ]
    collected = Collected(loaded=list(items), facts=[_facts(rng, facts_kind) for _ in items])
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    descriptors = (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    options = msgspec.convert(
        {"sample_size": {"fractions": [0.3, 0.6], "repeats": 2}}, ReportOptions
    )
    ctx = CheckContext(
        items=items,
        collected=collected,
        options=options,
        embeddings=x.astype(np.float32),
        descriptors=descriptors,
        classifier_logits=None,
    )
    for name, runner in CHECK_RUNNERS.items():
        outcome(
            lambda runner=runner: runner(ctx),
            allowed=(ImagelintError, ValueError),
            label=f"{name}: ",
        )
        ctx.results.pop(name, None)
