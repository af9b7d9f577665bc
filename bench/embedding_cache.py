"""A re-audit of an unchanged dataset with the caches vs the first audit, same run.

Starts the real Triton (CPU) and a real PostgreSQL, writes ``--items`` Fashion-MNIST training
images as PNG files, and runs the same job three times through ``POST /v1/jobs``: the first run
decodes and encodes everything and fills the caches; the second (an API with the report cache
off, same database) fetches and hashes every file, decodes none and runs the checks on cached
vectors and facts; the third (report cache on) also skips the checks. Wall times (submit to
succeeded), stage timings and the ratios to the first run are printed; the encode path is
load + infer + cache + descriptors + calibration.

    .venv/bin/python -m bench.embedding_cache [--items 2000] [--checks duplicates,imbalance,...]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import tempfile
import time
from pathlib import Path

import httpx

from bench._common import machine_line
from bench.real_data import fashion_mnist, to_png
from service.app import create_app
from service.inference.local_triton import LocalTriton
from service.settings import Settings
from service.store.local_postgres import LocalPostgres
from tests.live_server import serve

ENCODE_STAGES = ("load", "infer", "cache", "descriptors", "calibration")
CHECK_STAGES = ("duplicates", "mislabels", "sample_size", "imbalance", "image_quality", "outliers")


def write_dataset(root: Path, n: int) -> list[dict]:
    images, labels = fashion_mnist("train", limit=n)
    folder = root / "fmnist"
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        path = folder / f"{i:06d}.png"
        path.write_bytes(to_png(image))
        items.append({"id": f"f{i:06d}", "uri": path.as_uri(), "label": str(int(label)),
                      "split": "test" if i % 10 == 9 else "train"})  # fmt: skip
    return items


def run_job(url: str, body: dict) -> tuple[float, dict]:
    started = time.perf_counter()
    job_id = httpx.post(f"{url}/v1/jobs", json=body, timeout=60).json()["id"]
    while True:
        job = httpx.get(f"{url}/v1/jobs/{job_id}", timeout=60).json()
        if job["state"] in {"succeeded", "failed", "cancelled"}:
            break
        time.sleep(0.5)
    seconds = time.perf_counter() - started
    if job["state"] != "succeeded":
        raise SystemExit(f"job {job_id} {job['state']}: {job.get('error')}")
    report = httpx.get(f"{url}/v1/jobs/{job_id}/report", timeout=300).json()
    return seconds, report["timings_s"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--checks", default="", help="comma-separated; default: all")
    args = parser.parse_args(argv)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    print(machine_line(), flush=True)
    with tempfile.TemporaryDirectory(prefix="imagelint-bench-cache-") as tmp:
        root = Path(tmp)
        items = write_dataset(root, args.items)
        body: dict = {"dataset": {"items": items}}
        if args.checks:
            body["checks"] = [c.strip() for c in args.checks.split(",") if c.strip()]
        triton = LocalTriton()
        triton.start(timeout=300)
        postgres = LocalPostgres().start()
        print(f"PostgreSQL started in {postgres.started_in_s:.2f}s", flush=True)
        try:
            settings = Settings(
                triton_url=triton.grpc_url, data_root=str(root), database_url=postgres.url,
                grpc_port=0, report_deadline_s=7200,
            )  # fmt: skip
            with serve(create_app(settings)) as url:
                first_s, first_t = run_job(url, body)
            per_item = dataclasses.replace(settings, report_cache=False)
            with serve(create_app(per_item)) as url:
                second_s, second_t = run_job(url, body)
            with serve(create_app(settings)) as url:
                third_s, third_t = run_job(url, body)
        finally:
            postgres.stop()
            triton.stop()

    def encode_path(timings: dict) -> float:
        return sum(timings.get(stage, 0.0) for stage in ENCODE_STAGES)

    print(f"items: {args.items} Fashion-MNIST PNGs; checks: {body.get('checks', 'all')}")
    print(f"first run  (cold caches):             {first_s:8.1f} s   stages {first_t}")
    print(f"second run (per-item caches, checks): {second_s:8.1f} s   stages {second_t}")
    print(f"third run  (report cache):            {third_s:8.1f} s   stages {third_t}")
    print(
        f"whole job    second/first = {second_s / first_s:.3f}  ({first_s / second_s:.1f}x faster)"
    )
    print(f"whole job    third/first  = {third_s / first_s:.3f}  ({first_s / third_s:.1f}x faster)")
    checks_s = sum(v for k, v in second_t.items() if k in CHECK_STAGES)
    print(
        f"checks alone on the second run: {checks_s:.1f} s ({checks_s / first_s:.3f} of the first run)"
    )
    e1, e2 = encode_path(first_t), encode_path(second_t)
    print(f"encode path  second/first = {e2 / e1:.3f}  ({e1:.1f} s -> {e2:.1f} s; "
          f"{', '.join(ENCODE_STAGES)})")  # fmt: skip
    print(
        f"infer alone  second/first = {second_t.get('infer', 0) / max(first_t.get('infer', 0), 1e-9):.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
