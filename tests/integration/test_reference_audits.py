"""Reference audits over real HTTP with the real Triton and the real PostgreSQL: a reference job,
a named collection made from it (and one from a dataset), and a new batch with planted copies of
reference items — byte copies of training items, JPEG re-encoded copies of test items —
found as cross pairs, with the test-set copies reported as leakage; the reference's images are
not read again (they are deleted before the audit)."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from service.app import create_app
from tests.integration.test_jobs_api import settings_for, wait_for
from tests.live_server import serve

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"


def digit_image(index: int, rng: np.random.Generator) -> np.ndarray:
    from sklearn.datasets import load_digits

    image = np.kron(load_digits().images[index] / 16.0 * 255.0, np.ones((4, 4)))
    return np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)


def write_items(root: Path, indices: range, *, seed: int, split_every: int = 0) -> list[dict]:
    """PNGs of scikit-learn digits ``indices`` (every ``split_every``-th in the test split)."""
    from sklearn.datasets import load_digits

    targets = load_digits().target
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    items = []
    for n, k in enumerate(indices):
        path = root / f"{k:05d}.png"
        Image.fromarray(digit_image(k, rng)).convert("RGB").save(path)
        item = {"id": f"{root.name}-{k}", "uri": path.as_uri(), "label": str(targets[k])}
        if split_every:
            item["split"] = "test" if n % split_every == 0 else "train"
        items.append(item)
    return items


def plant_copies(reference: list[dict], out: Path) -> tuple[list[dict], dict[str, str]]:
    """Copies of reference items as new items: byte copies of 3 training items, JPEG re-encoded
    copies of 3 test items; returns (items, new id -> reference id). (Digits on black look so
    alike that the calibrated cut sits near 0.99: shifted copies fall below it.)"""
    out.mkdir(parents=True, exist_ok=True)
    train = [r for r in reference if r["split"] == "train"][:3]
    test = [r for r in reference if r["split"] == "test"][:3]
    items, truth = [], {}
    for r in train:
        target = out / f"copy-{r['id']}.png"
        shutil.copyfile(Path(r["uri"].removeprefix("file://")), target)
        items.append({"id": f"copy-{r['id']}", "uri": target.as_uri(), "label": r["label"]})
        truth[f"copy-{r['id']}"] = r["id"]
    for r in test:
        pixels = np.asarray(Image.open(Path(r["uri"].removeprefix("file://"))).convert("RGB"))
        target = out / f"near-{r['id']}.jpg"
        Image.fromarray(pixels).save(target, quality=95)  # other bytes, other pixels
        items.append({"id": f"near-{r['id']}", "uri": target.as_uri(), "label": r["label"]})
        truth[f"near-{r['id']}"] = r["id"]
    return items, truth


def problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == code, body
    return body


def test_reference_audits_find_planted_copies_of_reference_items_and_its_test_set(
    triton_url, database_url, tmp_path
):
    reference = write_items(tmp_path / "ref", range(0, 80), seed=1, split_every=4)
    fresh = write_items(tmp_path / "new", range(600, 660), seed=2)
    planted, truth = plant_copies(reference, tmp_path / "planted")
    leaked_truth = {new for new, ref in truth.items() if new.startswith("near-")}
    settings = settings_for(database_url, triton_url, tmp_path)
    with serve(create_app(settings)) as url:
        # 1. the reference audited as a job; its items are kept under the job
        submitted = httpx.post(
            f"{url}/v1/jobs",
            json={"dataset": {"items": reference}, "checks": ["duplicates"]},
            timeout=60,
        )
        assert submitted.status_code == 202, submitted.text
        ref_job = submitted.json()["id"]
        assert wait_for(url, ref_job, {"succeeded", "failed"})["state"] == "succeeded"

        # 2. a named collection from the job (copied in the database)
        made = httpx.put(f"{url}/v1/collections/train-v3", json={"job": ref_job}, timeout=60)
        assert made.status_code == 201, made.text
        info = made.json()
        assert info["items"] == 80 and info["splits"] == {"test": 20, "train": 60}
        assert info["source"] == {"job": ref_job}
        assert httpx.get(f"{url}/v1/collections/train-v3", timeout=30).json() == info
        again = httpx.put(f"{url}/v1/collections/train-v3", json={"job": ref_job}, timeout=60)
        assert again.status_code == 200  # replaced

        # the reference's images are gone: the audit must not need them
        shutil.rmtree(tmp_path / "ref")

        # 3. a new batch with planted copies, audited against the collection (as a job)
        new_items = fresh + planted
        body = {
            "dataset": {"items": new_items},
            "checks": ["duplicates"],
            "reference": {"collection": "train-v3"},
        }
        submitted = httpx.post(f"{url}/v1/jobs", json=body, timeout=60)
        assert submitted.status_code == 202, submitted.text
        job = wait_for(url, submitted.json()["id"], {"succeeded", "failed"})
        assert job["state"] == "succeeded", job
        report = httpx.get(f"{url}{job['links']['report']}", timeout=60).json()
        result = report["checks"]["duplicates"]["reference"]
        assert result["reference"] == "collection:train-v3"
        assert result["reference_items"] == 80
        pairs = {(p["id"], p["reference_id"]): p for p in result["pairs"]}
        for new_id, ref_id in truth.items():  # every planted copy found, with its partner
            assert (new_id, ref_id) in pairs, (new_id, sorted(pairs))
        for new_id, ref_id in truth.items():
            pair = pairs[(new_id, ref_id)]
            assert pair["evidence"] == ("same_bytes" if new_id.startswith("copy-") else "near")
            assert pair["reference_uri"].endswith(f"{int(ref_id.split('-')[1]):05d}.png")
            assert pair["reference_split"] in {"train", "test"}
        # exactly the planted copies: none of the 60 unrelated new digits
        assert set(result["copied"]) == set(truth)
        # copies of reference test items leak (the new batch has no split); of train items not
        assert set(result["leakage"]["items"]) == leaked_truth
        assert result["leakage"]["by_splits"] == {"unspecified->test": len(leaked_truth)}

        # 4. the same audit against the job itself, synchronously: the same pairs
        direct = httpx.post(
            f"{url}/v1/reports", json={**body, "reference": {"job": ref_job}}, timeout=600
        )
        assert direct.status_code == 200, direct.text
        by_job = direct.json()["checks"]["duplicates"]["reference"]
        assert by_job["reference"] == f"job:{ref_job}"
        assert by_job["pairs"] == result["pairs"] and by_job["leakage"] == result["leakage"]

        # 5. missing references are problems naming the field
        missing = {**body, "reference": {"collection": "nope"}}
        body_404 = problem(
            httpx.post(f"{url}/v1/jobs", json=missing, timeout=60), 404, "reference_not_found"
        )
        assert body_404["field"] == "reference.collection"
        problem(
            httpx.post(f"{url}/v1/reports", json=missing, timeout=60), 404, "reference_not_found"
        )
        unknown_job = {**body, "reference": {"job": "00000000-0000-0000-0000-000000000000"}}
        assert (
            problem(
                httpx.post(f"{url}/v1/jobs", json=unknown_job, timeout=60),
                404,
                "reference_not_found",
            )["field"]
            == "reference.job"
        )
        no_dup = {**body, "checks": ["imbalance"]}
        assert (
            problem(httpx.post(f"{url}/v1/jobs", json=no_dup, timeout=60), 422, "invalid_input")[
                "field"
            ]
            == "reference"
        )
        both = {**body, "reference": {"collection": "train-v3", "job": ref_job}}
        assert httpx.post(f"{url}/v1/jobs", json=both, timeout=60).status_code == 400

        # 6. a collection from a dataset; GET / DELETE; 404 after
        small = write_items(tmp_path / "small", range(900, 912), seed=3, split_every=3)
        made = httpx.put(
            f"{url}/v1/collections/small.v1", json={"dataset": {"items": small}}, timeout=600
        )
        assert made.status_code == 201, made.text
        assert made.json()["items"] == 12 and made.json()["splits"] == {"test": 4, "train": 8}
        assert httpx.delete(f"{url}/v1/collections/small.v1", timeout=30).status_code == 204
        problem(httpx.get(f"{url}/v1/collections/small.v1", timeout=30), 404, "reference_not_found")
        problem(
            httpx.delete(f"{url}/v1/collections/small.v1", timeout=30), 404, "reference_not_found"
        )
        assert httpx.get(f"{url}/v1/collections/bad%20name", timeout=30).status_code == 400
        problem(
            httpx.put(
                f"{url}/v1/collections/x",
                json={"job": "00000000-0000-0000-0000-000000000000"},
                timeout=30,
            ),
            404,
            "job_not_found",
        )
