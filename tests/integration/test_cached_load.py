"""The cache's warm path over real HTTP, the real Triton and the real PostgreSQL: a second report of
an unchanged dataset decodes no image and sends none to Triton, and gives the same findings as
the first; broken files stay broken; the review page's thumbnails come from the cache too. With
the report cache, the same request on unchanged content skips the checks; any change to the
request or to an item's label or bytes runs them again."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import service.report.loading as loading
from service.app import create_app
from tests.conftest import new_database
from tests.integration.test_jobs_api import settings_for, write_digits
from tests.live_server import serve

pytestmark = pytest.mark.integration
CHECKS = ["duplicates", "image_quality", "imbalance", "outliers", "mislabels"]
FLOAT_NOISE = 1e-6  # float32 dot products of the same vectors differ by an ulp across runs


def differences(a, b, path: str = "") -> list[str]:
    """Where two reports' findings differ: every key, list length, string and integer exactly,
    floats beyond ``FLOAT_NOISE`` (relative); [] when they are the same findings."""
    if isinstance(a, float) or isinstance(b, float):
        same = isinstance(a, int | float) and isinstance(b, int | float)
        ok = same and abs(a - b) <= FLOAT_NOISE * max(1.0, abs(a), abs(b))
        return [] if ok else [f"{path}: {a!r} != {b!r}"]
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a.keys() ^ b.keys())}"]
        return [d for k in a for d in differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} != {len(b)} entries"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def test_differences_see_real_changes_and_forgive_an_ulp():
    cold = {"pairs": [{"id": "a", "similarity": 1.0000002384}], "count": 3}
    assert differences(cold, {"pairs": [{"id": "a", "similarity": 1.0000003576}], "count": 3}) == []
    assert differences(cold, {"pairs": [{"id": "a", "similarity": 0.99}], "count": 3}) != []
    assert differences(cold, {"pairs": [{"id": "b", "similarity": 1.0000002384}], "count": 3})
    assert differences(cold, {"pairs": [], "count": 3}) and differences(cold, {"pairs": []})


@pytest.fixture
def decodes(monkeypatch) -> list[int]:
    """Counts decodes on the cached path (the server runs in this process)."""
    calls: list[int] = []
    real = loading._decode

    async def counting(data, deps, size):
        calls.append(len(data))
        return await real(data, deps, size)

    monkeypatch.setattr(loading, "_decode", counting)
    return calls


def test_a_warm_report_decodes_nothing_and_equals_the_cold_one(
    triton_url, database_url, tmp_path: Path, decodes
):
    items = write_digits(tmp_path, 64, seed=5)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    items.append({"id": "broken", "uri": (tmp_path / "broken.png").as_uri(), "label": "1"})
    items.append({"id": "gone", "uri": (tmp_path / "gone.png").as_uri(), "label": "1"})
    items.append({**items[0], "id": "dup-of-0"})  # the same file twice
    body = {"dataset": {"items": items}, "checks": CHECKS}
    settings = settings_for(database_url, triton_url, tmp_path, report_cache=False)
    with serve(create_app(settings)) as url:
        cold = httpx.post(f"{url}/v1/reports", json=body, timeout=600)
        assert cold.status_code == 200, cold.text
        cold_decodes = len(decodes)
        # every fetched file decoded once (the duplicate too; the missing one is never fetched)
        assert cold_decodes == 64 + 1 + 1
        warm = httpx.post(f"{url}/v1/reports", json=body, timeout=600)
        assert warm.status_code == 200, warm.text
        # only the broken file is decoded again: it never made it into the cache
        assert len(decodes) - cold_decodes == 1
        cold, warm = cold.json(), warm.json()
        assert "infer" not in warm["timings_s"] and "descriptors" not in warm["timings_s"]
        assert differences(warm["checks"], cold["checks"]) == []
        assert warm["failed_items"] == cold["failed_items"]
        assert {f["id"] for f in warm["failed_items"]} == {"broken", "gone"}
        assert warm["checks"]["duplicates"]["calibration"]["method"] == "calibrated"
        byte_groups = warm["checks"]["duplicates"]["exact_byte_groups"]
        assert sorted([items[0]["id"], "dup-of-0"]) in [sorted(g) for g in byte_groups]

        # the review page: the first view decodes for its thumbnails, the second does not
        view = {"dataset": {"items": items}, "checks": ["duplicates", "image_quality"]}
        before = len(decodes)
        first = httpx.post(f"{url}/v1/reports/view", json=view, timeout=600)
        assert first.status_code == 200, first.text
        assert len(decodes) - before == 64 + 1 + 1
        before = len(decodes)
        second = httpx.post(f"{url}/v1/reports/view", json=view, timeout=600)
        assert second.status_code == 200
        assert len(decodes) - before == 1  # the broken file
        assert (
            second.text.count("data:image/jpeg;base64,")
            == first.text.count("data:image/jpeg;base64,")
            > 0
        )


def test_the_cached_path_encodes_small_images_at_the_reports_resolution(
    triton_url, database_url, tmp_path: Path, decodes
):
    """32 px digits: without the duplicates check the report encodes at 128 px with the cache on
    too, a warm run is served from entries of that resolution, and a report with duplicates (224
    px) finds none of them and decodes every image again."""
    items = write_digits(tmp_path, 40, seed=9)
    settings = settings_for(database_url, triton_url, tmp_path, report_cache=False)
    runs = []
    with serve(create_app(settings)) as url:
        for checks in (["outliers"], ["outliers"], ["duplicates", "outliers"]):
            body = {
                "dataset": {"items": items},
                "checks": checks,
                "options": {"duplicates": {"threshold": 0.95}},
            }
            before = len(decodes)
            response = httpx.post(f"{url}/v1/reports", json=body, timeout=600)
            assert response.status_code == 200, response.text
            runs.append((response.json(), len(decodes) - before))
    (cold, cold_decodes), (warm, warm_decodes), (dup, dup_decodes) = runs
    assert cold["model"]["input_size"] == warm["model"]["input_size"] == 128
    assert (cold_decodes, warm_decodes) == (40, 0)
    assert warm["checks"]["outliers"] == cold["checks"]["outliers"]
    assert dup["model"]["input_size"] == 224 and dup_decodes == 40
    assert dup["check_errors"] == {}


def test_the_report_cache_returns_stored_findings_only_for_the_same_request_and_content(
    triton_url, database_url, tmp_path: Path, decodes
):
    items = write_digits(tmp_path, 40, seed=6)
    body = {"dataset": {"items": items}, "checks": ["duplicates", "imbalance", "image_quality"]}
    with serve(create_app(settings_for(database_url, triton_url, tmp_path))) as url:

        def report(b: dict) -> dict:
            response = httpx.post(f"{url}/v1/reports", json=b, timeout=600)
            assert response.status_code == 200, response.text
            return response.json()

        first = report(body)
        assert "duplicates" in first["timings_s"] and "report_cache" in first["timings_s"]
        second = report(body)
        assert "duplicates" not in second["timings_s"]  # no check ran
        assert second["checks"] == first["checks"] and second["summary"] == first["summary"]
        assert second["request_id"] != first["request_id"]
        # another option: computed again
        seeded = report({**body, "options": {"seed": 1}})
        assert "duplicates" in seeded["timings_s"]
        # a relabelled item: computed again, and the change shows
        relabelled = [dict(i) for i in items]
        relabelled[0]["label"] = "relabelled"
        changed = report({**body, "dataset": {"items": relabelled}})
        assert "duplicates" in changed["timings_s"]
        assert changed["checks"]["imbalance"] != first["checks"]["imbalance"]
        # other bytes behind the same URI: computed again (the images are hashed every time)
        path = Path(items[1]["uri"].removeprefix("file://"))
        path.write_bytes(Path(items[2]["uri"].removeprefix("file://")).read_bytes())
        rewritten = report(body)
        assert "duplicates" in rewritten["timings_s"]
        groups = [sorted(g) for g in rewritten["checks"]["duplicates"]["exact_byte_groups"]]
        assert sorted([items[1]["id"], items[2]["id"]]) in groups


def test_heavy_chunks_drop_bytes_and_fetch_misses_again(
    triton_url, database_url, postgres, tmp_path: Path, decodes, monkeypatch
):
    """With no byte budget every miss is fetched twice (hash, then decode) and the report is the
    same; a new seed finds the vectors cached but not its planted copies: only the sample rows
    are decoded again."""
    items = write_digits(tmp_path, 60, seed=7)
    body = {"dataset": {"items": items}, "checks": ["duplicates", "image_quality"]}
    settings = settings_for(database_url, triton_url, tmp_path, report_cache=False)
    with serve(create_app(settings)) as url:
        reference = httpx.post(f"{url}/v1/reports", json=body, timeout=600).json()
    monkeypatch.setattr(loading, "HELD_BYTES", 0)
    fetches: list[str] = []
    real_fetch = loading._fetch_one

    async def counting_fetch(item, deps, dataset):
        fetches.append(item.id)
        return await real_fetch(item, deps, dataset)

    monkeypatch.setattr(loading, "_fetch_one", counting_fetch)
    fresh = settings_for(new_database(postgres.url), triton_url, tmp_path, report_cache=False)
    with serve(create_app(fresh)) as url:
        cold = httpx.post(f"{url}/v1/reports", json=body, timeout=600).json()
        assert len(fetches) == 2 * 60  # hashed, dropped, fetched again to decode
        assert differences(cold["checks"], reference["checks"]) == []
        decodes.clear()
        fetches.clear()
        seeded = httpx.post(f"{url}/v1/reports", json={**body, "options": {"seed": 3}}, timeout=600)
        assert seeded.status_code == 200, seeded.text
        seeded = seeded.json()
        # vectors and facts are cached: only the new seed's planted sample is decoded, each
        # image fetched a second time (no bytes were kept)
        planted = seeded["checks"]["duplicates"]["calibration"]["planted_copies"] // 5
        assert 0 < planted < 60 and len(decodes) == planted
        assert len(fetches) == 60 + planted
        assert seeded["checks"]["image_quality"] == reference["checks"]["image_quality"]


def test_a_callers_classifier_gets_every_images_pixels_with_or_without_the_cache(
    triton_url, database_url, tmp_path: Path, decodes
):
    """The served encoder stands in for a caller's classifier in the dataset's label space (its
    first ten ImageNet logits named "0".."9"): with the cache on, every image is still decoded
    for it, twice over two runs, and the findings equal those of a service without a database."""
    from service.settings import Settings

    items = write_digits(tmp_path, 48, seed=11)
    options = {
        "mislabels": {
            "classifier_model": "image_encoder",
            "classifier_classes": [str(i) for i in range(1000)],
        }
    }
    body = {"dataset": {"items": items}, "checks": ["mislabels"], "options": options}
    cached_runs = []
    settings = settings_for(database_url, triton_url, tmp_path, report_cache=False)
    with serve(create_app(settings)) as url:
        for _ in range(2):
            before = len(decodes)
            response = httpx.post(f"{url}/v1/reports", json=body, timeout=600)
            assert response.status_code == 200, response.text
            cached_runs.append((response.json(), len(decodes) - before))
    plain = Settings(triton_url=triton_url, data_root=str(tmp_path), grpc_port=0)
    with serve(create_app(plain)) as url:
        response = httpx.post(f"{url}/v1/reports", json=body, timeout=600)
        assert response.status_code == 200, response.text
        uncached = response.json()
    (first, first_decodes), (second, second_decodes) = cached_runs
    assert (first_decodes, second_decodes) == (48, 48)
    assert first["check_errors"] == second["check_errors"] == uncached["check_errors"] == {}
    assert "triton:image_encoder" in str(uncached["checks"]["mislabels"])
    assert differences(first["checks"], second["checks"]) == []
    assert differences(first["checks"], uncached["checks"]) == []
