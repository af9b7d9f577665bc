"""Throughput of the whole service on real data, beside the in-process ceiling and CleanVision.

``--items`` Fashion-MNIST images (default 20,000: the train split first, then test) are written
as 28 x 28 PNG files under a temporary data root with a JSONL manifest. Measured in one run, on
the same files, back to back:

- **full report**: the default report (every check, default options) through the real service —
  the real API served by uvicorn on 127.0.0.1 and the real local Triton (CPU), each in a fresh
  process, ``POST /v1/reports`` with the manifest: images/s and the report's own stage timings;
- **embedding-only report** (``checks: ["outliers"]``): the same path when the checks cost
  nothing, against the **ceiling**: the service's decoder and the served ONNX graph in one
  process (ONNX Runtime, default threads; the next chunk decodes in a thread pool while this one
  is encoded), at the resolution the report chose (``--ceiling-size`` overrides);
- **CleanVision** (``Imagelab.find_issues()``, every default issue type, no neural network) on
  the same files, from ``.venv-compare`` (``make compare-venv``; AGPL: a comparison tool only,
  never imported by the product);
- with ``--baseline-ref REF``: the same full (and embedding-only) report on a previous version of
  the service (``git archive REF`` into a temporary folder, sharing ``.venv``/``.venv-triton``
  and, unless ``--baseline-model`` names another, this tree's ONNX file), run before each run of
  this tree, ``--rounds`` times; printed with the ratio current / baseline.

Run: ``.venv/bin/python -m bench.throughput [--items 20000] [--baseline-ref 2f00034]``
(``--items 2000`` for a quick look; ``--skip full,cleanvision,ceiling,embedding,baseline-embedding``
leaves parts out).

``python bench/throughput.py --serve ...`` is the runner each service measurement starts (it
imports only ``service`` and ``tests.live_server``, which both versions have).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPARE_PYTHON = REPO_ROOT / ".venv-compare" / "bin" / "python"
ONNX_RELATIVE = Path("model_repository") / "image_encoder" / "1" / "model.onnx"
SHARED_LINKS = (".venv", ".venv-triton", ".tools")
CLEANVISION_SCRIPT = """
import json, sys, time
from cleanvision import Imagelab
paths = [line for line in open(sys.argv[1]).read().splitlines() if line]
started = time.perf_counter()
lab = Imagelab(filepaths=paths)
lab.find_issues(verbose=False)
elapsed = time.perf_counter() - started
summary = lab.issue_summary
print(json.dumps({"elapsed_s": elapsed, "issues": {str(r["issue_type"]): int(r["num_images"])
                  for _, r in summary.iterrows()}}))
"""


# --- the runner (a fresh process per measurement; also used for the baseline tree) -----------


def serve_and_report(manifest: Path, data_root: Path, checks: list[str] | None) -> dict:
    """Start the local Triton and the API, run one report over HTTP, return what it measured.
    ``IMAGELINT_BENCH_MODEL_REPOSITORY`` / ``IMAGELINT_BENCH_GPU=1`` (``bench/device_check.sh``)
    point the local Triton at another model repository and keep its GPU memory pools."""
    import httpx

    from service.app import create_app
    from service.inference.local_triton import LocalTriton
    from service.settings import Settings
    from tests.live_server import serve

    triton = LocalTriton()
    if os.environ.get("IMAGELINT_BENCH_MODEL_REPOSITORY"):
        triton.model_repository = Path(os.environ["IMAGELINT_BENCH_MODEL_REPOSITORY"])
    if os.environ.get("IMAGELINT_BENCH_GPU") == "1":
        triton.gpu = True
    triton.start(timeout=300)
    try:
        settings = Settings.from_env().with_overrides(
            triton_url=triton.grpc_url,
            data_root=str(data_root),
            report_deadline_s=7200,
            grpc_port=0,
        )
        body: dict = {"dataset": {"manifest_uri": manifest.as_uri()}}
        if checks:
            body["checks"] = checks
        with serve(create_app(settings)) as url:
            started = time.perf_counter()
            response = httpx.post(f"{url}/v1/reports", json=body, timeout=7200)
            elapsed = time.perf_counter() - started
    finally:
        triton.stop()
    if response.status_code != 200:
        return {"error": f"{response.status_code} {response.text[:400]}"}
    report = response.json()
    return {
        "elapsed_s": elapsed,
        "loaded": report["dataset"]["loaded"],
        "timings": report.get("timings_s", {}),
        "check_errors": sorted(report.get("check_errors") or {}),
        "image_size": (report.get("model") or {}).get("input_size"),
    }


def run_service(tree: Path, manifest: Path, data_root: Path, checks: list[str] | None) -> dict:
    """``serve_and_report`` in a fresh process whose ``service`` package is ``tree``'s."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    command = [
        str(REPO_ROOT / ".venv" / "bin" / "python"),
        str(Path(__file__).resolve()),
        "--serve",
        "--manifest",
        str(manifest),
        "--data-root",
        str(data_root),
    ] + (["--checks", ",".join(checks)] if checks else [])
    out = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"error": f"runner exited {out.returncode}: {out.stderr[-1500:]}"}
    return json.loads(lines[-1])


# --- data, ceiling, comparison --------------------------------------------------------------


def write_dataset(root: Path, n_items: int) -> tuple[Path, list[Path]]:
    """``n_items`` Fashion-MNIST PNGs (train first, then test) and a JSONL manifest."""
    import numpy as np

    from bench.real_data import FASHION_MNIST_CLASSES, fashion_mnist, to_png

    train, y_train = fashion_mnist("train")
    test, y_test = fashion_mnist("test")
    images = np.concatenate([train, test])[:n_items]
    labels = np.concatenate([y_train, y_test])[:n_items]
    splits = ["train"] * min(n_items, len(train)) + ["test"] * max(0, n_items - len(train))
    folder = root / "fm"
    folder.mkdir(parents=True)
    rows, paths = [], []
    for i, (image, label, split) in enumerate(zip(images, labels, splits, strict=True)):
        path = folder / f"{i:05d}.png"
        path.write_bytes(to_png(image))
        paths.append(path)
        rows.append(json.dumps({"id": f"fm-{i}", "uri": path.as_uri(), "split": split,
                                "label": FASHION_MNIST_CLASSES[int(label)]}))  # fmt: skip
    manifest = folder / "manifest.jsonl"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest, paths


def ceiling(
    paths: list[Path], onnx_path: Path, size: int, chunk: int = 256, batch: int = 32, gpu=False
):
    """Images/s of decode + encode in one process: the service's decoder in a thread pool (the
    next chunk decodes while this one is encoded), the ONNX graph in ONNX Runtime."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import onnxruntime as ort

    from service.images.decode import decode_image

    providers = ["CPUExecutionProvider"]
    if gpu and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    session = ort.InferenceSession(str(onnx_path), providers=providers)
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)

    def decode_chunk(part: list[Path]) -> np.ndarray:
        return np.stack(
            list(pool.map(lambda p: decode_image(p.read_bytes(), size=size).pixels, part))
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1) as ahead:
        pending = ahead.submit(decode_chunk, paths[:chunk])
        for start in range(0, len(paths), chunk):
            pixels = pending.result()
            if start + chunk < len(paths):
                pending = ahead.submit(decode_chunk, paths[start + chunk : start + 2 * chunk])
            for b in range(0, len(pixels), batch):
                session.run(["embedding"], {"images": pixels[b : b + batch]})
    elapsed = time.perf_counter() - started
    pool.shutdown()
    return len(paths) / elapsed


def cleanvision(paths: list[Path], root: Path) -> dict | None:
    """CleanVision's ``find_issues`` on the files, in ``.venv-compare``; None when missing."""
    if not COMPARE_PYTHON.exists():
        return None
    listing = root / "cleanvision-files.txt"
    listing.write_text("\n".join(str(p) for p in paths))
    out = subprocess.run(
        [str(COMPARE_PYTHON), "-c", CLEANVISION_SCRIPT, str(listing)],
        capture_output=True, text=True, check=False, cwd=root,
    )  # fmt: skip
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"error": out.stderr[-800:]}
    return json.loads(lines[-1])


def baseline_tree(ref: str, into: Path, model: Path | None) -> Path:
    """``git archive ref`` unpacked into ``into``, sharing the virtual environments and a model."""
    tree = into / "baseline"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    for name in SHARED_LINKS:
        if (REPO_ROOT / name).exists():
            (tree / name).symlink_to((REPO_ROOT / name).resolve())
    target = tree / ONNX_RELATIVE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to((model or (REPO_ROOT / ONNX_RELATIVE)).resolve())
    return tree


def rate(result: dict, n: int) -> float | None:
    return None if "error" in result else n / result["elapsed_s"]


def describe(name: str, result: dict, n: int) -> str:
    if "error" in result:
        return f"{name}: FAILED {result['error']}"
    timings = {k: round(v, 1) for k, v in result["timings"].items()}
    return (f"{name}: {result['elapsed_s']:.1f} s, {n / result['elapsed_s']:.1f} images/s "
            f"(loaded {result['loaded']}, check_errors {result['check_errors'] or 'none'})\n"
            f"    timings {timings}")  # fmt: skip


def ratio_text(a: float | None, b: float | None) -> str:
    return "n/a" if not a or not b else f"{a / b:.2f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--baseline-ref", default=None, help="git ref of the previous service")
    parser.add_argument("--baseline-model", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=1, help="baseline/current alternations")
    parser.add_argument(
        "--skip",
        default="",
        help="comma list: full,cleanvision,ceiling,embedding,baseline-embedding",
    )
    parser.add_argument("--ceiling-size", type=int, default=None)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--manifest", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data-root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--checks", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        checks = args.checks.split(",") if args.checks else None
        print(json.dumps(serve_and_report(args.manifest, args.data_root, checks)), flush=True)
        return 0

    skip = set(filter(None, args.skip.split(",")))
    print(f"machine: {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="imagelint-throughput-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        manifest, paths = write_dataset(root, args.items)
        n = len(paths)
        print(f"dataset: {n} Fashion-MNIST PNGs (28 x 28) written in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        baseline = baseline_tree(args.baseline_ref, root, args.baseline_model) if (
            args.baseline_ref) else None  # fmt: skip

        full_now, full_base = [], []
        size = 224
        for round_ in range(0 if "full" in skip else args.rounds):
            if baseline is not None:
                result = run_service(baseline, manifest, root, None)
                full_base.append(rate(result, n))
                print(describe(f"[{round_ + 1}] baseline {args.baseline_ref} full report",
                               result, n), flush=True)  # fmt: skip
            result = run_service(REPO_ROOT, manifest, root, None)
            full_now.append(rate(result, n))
            print(describe(f"[{round_ + 1}] this tree full report", result, n), flush=True)
            size = result.get("image_size") or 224

        emb_now = emb_base = ceil = None
        if "embedding" not in skip:
            if baseline is not None and "baseline-embedding" not in skip:
                result = run_service(baseline, manifest, root, ["outliers"])
                emb_base = rate(result, n)
                print(describe(f"baseline {args.baseline_ref} embedding-only", result, n))
            result = run_service(REPO_ROOT, manifest, root, ["outliers"])
            emb_now = rate(result, n)
            print(describe("this tree embedding-only (checks: outliers)", result, n), flush=True)
            size = result.get("image_size") or size
        if "ceiling" not in skip:
            ceiling_size = args.ceiling_size or size
            gpu = os.environ.get("IMAGELINT_BENCH_GPU") == "1"
            ceil = ceiling(paths, REPO_ROOT / ONNX_RELATIVE, ceiling_size, gpu=gpu)
            print(f"ceiling: decode + ONNX Runtime{' (CUDA)' if gpu else ''} in one process at "
                  f"{ceiling_size} px: "
                  f"{ceil:.1f} images/s", flush=True)  # fmt: skip
        cv = None if "cleanvision" in skip else cleanvision(paths, root)
        if cv is not None and "error" not in cv:
            print(f"CleanVision find_issues: {cv['elapsed_s']:.1f} s, "
                  f"{n / cv['elapsed_s']:.1f} images/s; issues {cv['issues']}")  # fmt: skip
        elif cv is not None:
            print(f"CleanVision: FAILED {cv['error']}")
        elif "cleanvision" not in skip:
            print("CleanVision: not measured (make compare-venv installs it in .venv-compare)")

    def median(values):
        values = [v for v in values if v]
        return statistics.median(values) if values else None

    now, base = median(full_now), median(full_base)
    cv_rate = n / cv["elapsed_s"] if cv and "error" not in cv else None
    print("\nsummary (images/s, median of rounds):")
    if now:
        print(f"  full report, this tree:       {now:8.1f}")
    if base:
        print(f"  full report, {args.baseline_ref:<16} {base:8.1f}   ratio {ratio_text(now, base)}"
              "  (target >= 2x)")  # fmt: skip
    if emb_now:
        print(f"  embedding-only, this tree:    {emb_now:8.1f}")
    if emb_base:
        print(f"  embedding-only, baseline:     {emb_base:8.1f}   ratio "
              f"{ratio_text(emb_now, emb_base)}")  # fmt: skip
    if ceil:
        print(f"  in-process ceiling:           {ceil:8.1f}   embedding-only / ceiling "
              f"{ratio_text(emb_now, ceil)} (target >= 0.9); full / ceiling "
              f"{ratio_text(now, ceil)}")  # fmt: skip
    if cv_rate:
        print(f"  CleanVision:                  {cv_rate:8.1f}   full report / CleanVision "
              f"{ratio_text(now, cv_rate)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
