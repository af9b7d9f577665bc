"""The full default report on real data (Fashion-MNIST) through the real service, against truth.

A dataset nobody here made: ``--train`` images of Fashion-MNIST's train split and ``--test``
of its test split, written as PNG files under a temporary data root with a JSONL manifest.
Planted, so the findings can be scored:

- **label flips**: ``--flip-rate`` (3 %) of the train items get another class's label;
- **near copies**: ``--copies`` train images are copied (90-95 % crop, JPEG q75, brightness x1.2,
  mirror, half-size round trip), half into train and half into test (leakage).

The real Triton and the real API (uvicorn on 127.0.0.1, free ports) run the report with
*default options* over HTTP. Printed, each against its truth:

- duplicates: the threshold and how it was chosen; precision and recall of near pairs against
  the planted copies (a reported pair also counts as right when its two 28 x 28 images differ by
  a pixel RMS <= 10 — Fashion-MNIST's own near copies); the largest group;
- mislabels: P@k (k = number of flips) and average precision of the report's ranking, the size
  and precision of the "act on" issue list; cleanlab's ``find_label_issues`` on the same
  probe's out-of-sample probabilities, measured in the same run when ``.venv-compare`` has it
  (``make compare-venv``; cleanlab is AGPL: a comparison tool, never a product dependency);
- sample size: the prediction at ``--predict-at`` images against the probe accuracy measured
  at that size on held-out test images (embeddings in-process, same probe);
- image_quality: the share of items flagged on this clean dataset;
- throughput: images/s of the whole report.

Run: ``.venv/bin/python -m bench.real [--train 10000 --test 10000]`` (about 10 minutes on 2
cores; ``--train 3000 --test 2000`` for a quick look).
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from bench._common import machine_line
from bench.real_data import FASHION_MNIST_CLASSES, fashion_mnist, to_png

RMS_NEAR_COPY = 10.0


def copy_of(image: np.ndarray, kind: str, rng: np.random.Generator) -> bytes:
    pil = Image.fromarray(image)
    w, h = pil.size
    if kind == "crop":
        side = rng.uniform(0.90, 0.95)
        cw, ch = round(w * side), round(h * side)
        left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        pil = pil.crop((left, top, left + cw, top + ch)).resize((w, h), Image.Resampling.BILINEAR)
    elif kind == "jpeg":
        buffer = io.BytesIO()
        pil.save(buffer, format="JPEG", quality=75)
        return buffer.getvalue()
    elif kind == "brightness":
        pil = ImageEnhance.Brightness(pil).enhance(1.2)
    elif kind == "mirror":
        pil = pil.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    elif kind == "half_size":
        pil = pil.resize((w // 2, h // 2), Image.Resampling.BILINEAR).resize((w, h))
    return to_png(np.asarray(pil))


KINDS = ("crop", "jpeg", "brightness", "mirror", "half_size")


def build_dataset(
    root: Path, n_train: int, n_test: int, flip_rate: float, n_copies: int, seed: int
):
    """Write the files and the manifest; return the manifest path and the truth."""
    rng = np.random.default_rng(seed)
    train, y_train = fashion_mnist("train", n_train)
    test, y_test = fashion_mnist("test", n_test)
    folder = root / "fm"
    folder.mkdir(parents=True, exist_ok=True)
    rows, pixels = [], {}
    flipped = set(rng.choice(n_train, size=int(round(flip_rate * n_train)), replace=False).tolist())
    for split, images, labels in (("train", train, y_train), ("test", test, y_test)):
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            item_id = f"{split}-{i}"
            given = int(label)
            if split == "train" and i in flipped:
                given = int((label + rng.integers(1, 10)) % 10)
            (folder / f"{item_id}.png").write_bytes(to_png(image))
            rows.append({"id": item_id, "uri": (folder / f"{item_id}.png").as_uri(),
                         "label": FASHION_MNIST_CLASSES[given], "split": split})  # fmt: skip
            pixels[item_id] = image
    planted_pairs = set()
    sources = rng.choice(n_train, size=n_copies, replace=False)
    for k, src in enumerate(sources):
        kind = KINDS[k % len(KINDS)]
        split = "train" if k % 2 == 0 else "test"
        item_id = f"copy-{k}-{kind}"
        data = copy_of(train[src], kind, rng)
        (folder / f"{item_id}.png").write_bytes(data)
        label = rows[int(src)]["label"]
        rows.append({"id": item_id, "uri": (folder / f"{item_id}.png").as_uri(),
                     "label": label, "split": split})  # fmt: skip
        pixels[item_id] = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
        planted_pairs.add(frozenset((f"train-{src}", item_id)))
    manifest = folder / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    truth = {
        "flipped": {f"train-{i}" for i in flipped},
        "planted_pairs": planted_pairs,
        "pixels": pixels,
        "labels": {r["id"]: r["label"] for r in rows},
    }
    return manifest, truth


def pixel_rms(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def score_duplicates(dup: dict, truth: dict) -> dict:
    pairs = [frozenset((p["a"], p["b"])) for p in dup.get("near_pairs", [])]
    planted = truth["planted_pairs"]
    px = truth["pixels"]

    def right(pair) -> bool:
        a, b = tuple(pair)
        return pair in planted or pixel_rms(px[a], px[b]) <= RMS_NEAR_COPY

    correct = sum(right(p) for p in pairs)
    found_planted = len(planted & set(pairs))
    # planted copies grouped with their source also count as found (exact copies are grouped)
    grouped = {frozenset(m) for g in dup.get("groups", []) for m in [g["members"]]}
    in_group = sum(any(p <= g for g in grouped) for p in planted)
    kind_of = {p: next(i for i in p if i.startswith("copy-")).rsplit("-", 1)[1] for p in planted}
    found = planted & set(pairs)
    by_kind = {
        kind: round(
            sum(kind_of[p] == kind for p in found) / sum(k == kind for k in kind_of.values()), 3
        )
        for kind in dict.fromkeys(kind_of.values())
    }
    return {
        "pairs": len(pairs),
        "pair_precision": correct / len(pairs) if pairs else 1.0,
        "pair_recall": found_planted / len(planted) if planted else 1.0,
        "recall_by_kind": by_kind,
        "false_pairs": len(pairs) - correct,
        "planted_grouped": in_group / len(planted) if planted else 1.0,
        "largest_group": max((len(g["members"]) for g in dup.get("groups", [])), default=0),
        "groups": len(dup.get("groups", [])),
        "leaked_items": len(dup.get("leakage", {}).get("items", [])),
    }


def ranking_scores(ranked_ids: list[str], positives: set[str], n_total: int) -> dict:
    k = len(positives)
    hits = np.array([i in positives for i in ranked_ids], bool)
    p_at_k = hits[:k].mean() if k else 1.0
    if not k:
        return {"p_at_k": 1.0, "ap": 1.0}
    precisions = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    ap = float((precisions * hits).sum() / k)  # unranked positives contribute 0
    return {"p_at_k": float(p_at_k), "ap": ap}


COMPARE_PYTHON = Path(__file__).resolve().parents[1] / ".venv-compare" / "bin" / "python"
CLEANLAB_SCRIPT = """
import sys, json, numpy as np
from cleanlab.filter import find_label_issues
data = np.load(sys.argv[1])
ranked = find_label_issues(data["labels"], data["probs"], return_indices_ranked_by="self_confidence")
print(json.dumps([int(i) for i in ranked]))
"""


def probe_probabilities(manifest: Path, seed: int = 0):
    """(ids, labels, out-of-sample probabilities) of the train+test items, from embeddings made
    in-process with the served ONNX graph and the mislabels check's own probe and space."""
    from bench._common import encode_in_process
    from bench.real_data import decode_for_encoder
    from service.analysis.probe import (
        auto_components,
        out_of_sample_probabilities,
        whitened_projection,
    )

    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    images = np.stack(
        [decode_for_encoder(Path(r["uri"][len("file://") :]).read_bytes()) for r in rows]
    )
    x = encode_in_process(images, outputs=("embedding",))["embedding"]
    names = sorted({r["label"] for r in rows})
    y = np.array([names.index(r["label"]) for r in rows])
    space = whitened_projection(x, components=auto_components(len(y)))
    oos = out_of_sample_probabilities(
        space, y, n_classes=len(names), folds=5, seed=seed, components=None
    )
    return [r["id"] for r in rows], y, oos.probabilities, x


def cleanlab_ranking(labels: np.ndarray, probs: np.ndarray) -> list[int] | None:
    """cleanlab's ``find_label_issues`` (ranked by self-confidence) in its own venv, or None."""
    import subprocess

    if not COMPARE_PYTHON.exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "probs.npz"
        np.savez(path, labels=labels, probs=probs)
        out = subprocess.run(
            [str(COMPARE_PYTHON), "-c", CLEANLAB_SCRIPT, str(path)],
            capture_output=True, text=True, check=True, timeout=600,
        )  # fmt: skip
    return json.loads(out.stdout)


def held_out_extrapolation(ids: list[str], y: np.ndarray, x: np.ndarray) -> None:
    """The service's curve on the train split, evaluated on the test split: fit the points up to
    half the pool, predict the full pool, compare with the accuracy measured there."""
    from service.analysis.learning_curve import run_learning_curve
    from service.analysis.sample_size import Observation, fit_sample_size

    test = np.array([i.startswith("test-") or (i.startswith("copy-") and int(i.split("-")[1]) % 2)
                     for i in ids])  # fmt: skip
    run = run_learning_curve(x, y, fractions=(0.05, 0.1, 0.2, 0.35, 0.5), eval_mask=test, seed=0)
    points = run.curve.points
    observed = [Observation(n=p.n, scores=p.accuracy_scores) for p in points[:-1]]
    fit = fit_sample_size(observed, bootstrap=0)
    full = points[-1]
    by_model = {f.model: f for f in fit.fits}
    from service.analysis.sample_size import predict_score

    for name, f in by_model.items():
        if f.converged:
            predicted = float(predict_score(f, full.n)[()])
            print(f"   {name}: fitted on n <= {points[-2].n:.0f}, predicts {predicted:.4f} at "
                  f"n = {full.n:.0f}; measured {full.accuracy_mean:.4f} "
                  f"(error {100 * (predicted - full.accuracy_mean):+.2f} points)"
                  + ("  <- chosen" if name == fit.chosen_model else ""))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=10_000)
    parser.add_argument("--test", type=int, default=10_000)
    parser.add_argument("--flip-rate", type=float, default=0.03)
    parser.add_argument("--copies", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--resolution", type=int, default=0,
        help="encoder resolution forced on the service (IMAGELINT_ENCODER_RESOLUTION); 0 = the "
             "report chooses",
    )  # fmt: skip
    args = parser.parse_args(argv)
    import httpx

    from service.app import create_app
    from service.inference.local_triton import LocalTriton
    from service.settings import Settings
    from tests.live_server import serve

    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        manifest, truth = build_dataset(
            root, args.train, args.test, args.flip_rate, args.copies, args.seed
        )
        n_items = len(truth["labels"])
        print(f"dataset: {n_items} items ({args.train} train, {args.test} test, "
              f"{args.copies} planted copies, {len(truth['flipped'])} flipped labels)")  # fmt: skip
        triton = LocalTriton(intra_op_threads=2)
        triton.start(timeout=240)
        try:
            settings = Settings(triton_url=triton.grpc_url, data_root=str(root),
                                report_deadline_s=3600, grpc_port=0,
                                encoder_resolution=args.resolution)  # fmt: skip
            with serve(create_app(settings)) as url:
                started = time.perf_counter()
                response = httpx.post(
                    f"{url}/v1/reports",
                    json={"dataset": {"manifest_uri": manifest.as_uri()}},
                    timeout=3600,
                )
                elapsed = time.perf_counter() - started
        finally:
            triton.stop()
        if response.status_code != 200:
            print(f"report failed: {response.status_code} {response.text[:500]}")
            return 1
        ids, y, probs, x = probe_probabilities(manifest, seed=args.seed)
    report = response.json()
    checks = report["checks"]
    print(f"\nreport: {elapsed:.1f} s, {n_items / elapsed:.1f} images/s; "
          f"check_errors: {report.get('check_errors') or 'none'}")  # fmt: skip
    print("timings:", {k: round(v, 1) for k, v in report["timings_s"].items()})
    if "duplicates" in checks:
        dup = checks["duplicates"]
        print("\nduplicates:", json.dumps(dup.get("calibration")))
        print("  ", score_duplicates(dup, truth), "| note:", dup.get("note"))
    if "mislabels" in checks:
        mis = checks["mislabels"]
        ranked = [c["id"] for c in mis["candidates"]]
        scores = ranking_scores(ranked, truth["flipped"], n_items)
        print(f"\nmislabels: P@k {scores['p_at_k']:.3f} AP {scores['ap']:.3f} "
              f"(k = {len(truth['flipped'])}; {len(ranked)} candidates listed)")  # fmt: skip
        issues = mis.get("label_issues") or {}
        if issues:
            listed = set(issues.get("ids", []))
            precision = len(listed & truth["flipped"]) / len(listed) if listed else 1.0
            print(f"   act-on list: {len(listed)} items, precision {precision:.3f} "
                  f"(the report expects {issues.get('expected_precision')})")  # fmt: skip
        print("   learnability:", mis.get("learnability"))
        ours_sc = [ids[i] for i in np.argsort(probs[np.arange(len(y)), y], kind="stable")]
        sc = ranking_scores(ours_sc, truth["flipped"], n_items)
        print(f"   self-confidence on the same probe (in-process): P@k {sc['p_at_k']:.3f} "
              f"AP {sc['ap']:.3f}")  # fmt: skip
        ranked_cl = cleanlab_ranking(y, probs)
        if ranked_cl is None:
            print("   cleanlab: not measured (make compare-venv installs it in .venv-compare)")
        else:
            cl = ranking_scores([ids[i] for i in ranked_cl], truth["flipped"], n_items)
            found = set(ids[i] for i in ranked_cl)
            precision = len(found & truth["flipped"]) / len(found) if found else 1.0
            print(f"   cleanlab find_label_issues (same probabilities): P@k {cl['p_at_k']:.3f} "
                  f"AP {cl['ap']:.3f}; its issue set: {len(found)} items, precision "
                  f"{precision:.3f}")  # fmt: skip
    if "sample_size" in checks:
        ss = checks["sample_size"]
        print(f"\nsample_size: chosen {ss.get('chosen_model')} ({ss.get('choice_reason')}); "
              f"n_current {ss.get('n_current')}; predictions "
              + ", ".join(f"{p['n']:.0f}: {p['score']:.3f} [{p.get('low', 0):.3f}, "
                          f"{p.get('high', 0):.3f}]" for p in ss.get("predictions", [])))  # fmt: skip
        held_out_extrapolation(ids, y, x)
    if "image_quality" in checks:
        iq = checks["image_quality"]
        print(f"\nimage_quality: {iq['n_flagged']} of {iq['n_items']} flagged "
              f"({iq['n_flagged'] / max(iq['n_items'], 1):.1%}); counts {iq['counts']}; "
              f"dataset facts {[f['flag'] for f in iq.get('dataset_facts', [])]}")  # fmt: skip
    if "outliers" in checks:
        print(f"\noutliers: {len(checks['outliers'].get('outliers', []))} flagged")
    if "imbalance" in checks:
        plan = checks["imbalance"].get("resampling")
        print(f"imbalance: ratio {checks['imbalance'].get('imbalance_ratio')}, plan: "
              f"{'none' if not plan else 'proposed'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
