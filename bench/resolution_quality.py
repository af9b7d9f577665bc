"""Is a small image's embedding as good at a lower encoder resolution? Fashion-MNIST, side by side.

The served ONNX graph takes any H x W (trained at 224). A 28 x 28 image upscaled to 224 spends
64x the pixels of the original; the report picks one lower resolution per dataset
(``service.images.resolution``). Accepted only where, against 224 px on the same images:

- **probe accuracy** (the encoder_quality probe: StandardScaler + logistic regression on the
  served 2024-d embedding; Fashion-MNIST train[:3000] -> test[:2000]; digits 60/40) is within
  1 point;
- **near-copy recall** is within 0.02 — of the whole duplicates check as a report runs it,
  second stage included (``verified_copies``: recall and precision of the final pairs on 400
  planted copies of 400 Fashion-MNIST test images, among test[:2000]). Printed beside it: the
  first stage's calibrated recall alone (``check_runners.calibrated_descriptors``: copies
  planted with ``plant_copies`` at the decode resolution, every candidate descriptor, the cut at
  the expected false-match share; test[:2000], 200 planted sources), which decided before the
  second stage existed, and the encoder_quality near-copy recall at FPR 1e-3 of the descriptor
  (pixel weight 1.0 and 0.85);
- printed beside them, not part of the bar: the mislabel ranking's mean AP and P@k on FM
  train[:3000] with 3 % flipped labels over 6 flip sets.

Images go through the service's decoder at each resolution (``decode_image(size=...)``); encodings are cached under
``.cache/resolution_quality/`` (speed is ``bench.throughput``'s business).

Run: ``.venv/bin/python -m bench.encoder_quality --sizes 224,128,96`` (or ``-m
bench.resolution_quality``).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import time
from types import SimpleNamespace

import numpy as np
from PIL import Image

from bench._common import CACHE_DIR, ONNX_PATH, machine_line
from bench.encoder_quality import copy_descriptors, copy_variants, near_copy_recall, probe_accuracy
from bench.real_data import decode_for_encoder, digits, fashion_mnist, to_png

PLANTED_SOURCES = 200
CACHE = CACHE_DIR / "resolution_quality"


def image_sets(size: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    train, y_train = fashion_mnist("train", 3000)
    test, y_test = fashion_mnist("test", 2400)
    digit_images, y_digits = digits()
    bases = test[2000:2400]
    copies = [c for image in bases for c in copy_variants(image, rng)]

    def dec(data: bytes) -> np.ndarray:
        return decode_for_encoder(data, size=size)

    return {
        "fm_train": np.stack([dec(to_png(x)) for x in train]),
        "fm_test": np.stack([dec(to_png(x)) for x in test[:2000]]),
        "fm_bases": np.stack([dec(to_png(x)) for x in bases]),
        "fm_copies": np.stack([dec(c) for c in copies]),
        "digits": np.stack([dec(to_png(x)) for x in digit_images]),
        "y_fm_train": y_train, "y_fm_test": y_test[:2000], "y_bases": y_test[2000:2400],
        "y_digits": y_digits,
        "raw_test": test[:2000], "raw_bases": bases,
        "raw_copies": np.stack([np.asarray(Image.open(io.BytesIO(c)).convert("L"))
                                for c in copies]),
    }  # fmt: skip


def encode(session, images: np.ndarray, batch: int = 32) -> dict[str, np.ndarray]:
    names = ["embedding", "feature_grid"]
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for start in range(0, len(images), batch):
        for name, value in zip(names, session.run(names, {"images": images[start : start + batch]}),
                               strict=True):  # fmt: skip
            parts[name].append(value)
    return {n: np.concatenate(v) for n, v in parts.items()}


def cached_encode(session, key: str, size: int, images: np.ndarray) -> dict[str, np.ndarray]:
    """``encode`` cached under ``.cache/resolution_quality/`` per model file, set and size."""
    CACHE.mkdir(parents=True, exist_ok=True)
    file = CACHE / f"{key}-{size}-{len(images)}-{ONNX_PATH.stat().st_size}.npz"
    if file.exists():
        with np.load(file) as cached:
            return {k: cached[k] for k in ("embedding", "feature_grid")}
    out = encode(session, images)
    np.savez(file, **out)
    return out


def calibrated_recall(session, pixels: np.ndarray, grid: np.ndarray, seed: int = 0) -> dict:
    """The report's duplicate calibration on these images with planted copies."""
    from service.analysis.duplicate_calibration import plant_copies
    from service.report.check_runners import calibrated_descriptors
    from service.report.descriptor_parts import stacked_descriptor_parts

    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(pixels), size=PLANTED_SOURCES, replace=False))
    copies, _ = plant_copies(pixels[rows], seed=seed)
    copy_grid = cached_encode(session, "planted", len(pixels[0]), copies)["feature_grid"]
    facts = [
        SimpleNamespace(sha256=f"file-{i}", pixel_hash=hashlib.sha256(p.tobytes()).hexdigest())
        for i, p in enumerate(pixels)
    ]
    ctx = SimpleNamespace(
        descriptors=stacked_descriptor_parts(grid, pixels),
        options=SimpleNamespace(duplicates=SimpleNamespace(threshold=None), seed=seed),
        collected=SimpleNamespace(
            planted_rows=rows.tolist(),
            planted_descriptors=[stacked_descriptor_parts(copy_grid, copies)],
            facts=facts,
        ),
    )
    _, calibration = calibrated_descriptors(ctx)
    return {
        "recall": calibration.estimated_recall or 0.0,
        "precision": calibration.estimated_precision or 0.0,
        "threshold": calibration.threshold,
        "code": f"{calibration.pixel_code} w={calibration.pixel_weight}",
    }


def verified_copies(session, sets: dict, enc: dict, size: int, seed: int = 0) -> dict:
    """The whole duplicates check, second stage included, as a report runs it
    (``check_runners.run_duplicates``: its own calibration on ``min(64, n / 16)`` planted
    sources, candidates verified on their pixel thumbnails), over Fashion-MNIST test[:2000] plus
    400 other test images and one near copy of each (95 % crop, JPEG q75, brightness x1.2 in
    turn). Scored on the final pairs: recall of the 400 base-copy pairs (reported as a pair or put
    in one group) and precision of the reported pairs (right: the same base, or two 28 x 28
    originals within a pixel RMS of 10 — Fashion-MNIST's own near copies, as ``bench.real``)."""
    from service.analysis.duplicate_calibration import (
        DEFAULT_COPY_SAMPLE,
        MIN_COPY_SAMPLE,
        plant_copies,
    )
    from service.report.check_runners import run_duplicates
    from service.report.descriptor_parts import stacked_descriptor_parts

    n_test, n_bases = len(sets["fm_test"]), len(sets["fm_bases"])
    per_base = len(sets["fm_copies"]) // n_bases
    # one copy per base (the kinds in turn): with all three, a base's second-best candidate is
    # another of its copies, and the calibration takes that for a look-alike
    pick = np.arange(n_bases) * per_base + np.arange(n_bases) % per_base
    pixels = np.concatenate([sets["fm_test"], sets["fm_bases"], sets["fm_copies"][pick]])
    grid = np.concatenate([enc["fm_test"]["feature_grid"], enc["fm_bases"]["feature_grid"],
                           enc["fm_copies"]["feature_grid"][pick]])  # fmt: skip
    family = np.concatenate([-1 - np.arange(n_test), np.arange(n_bases), np.arange(n_bases)])
    raw = np.concatenate([sets["raw_test"], sets["raw_bases"], sets["raw_copies"][pick]])
    raw = raw.astype(float)
    n = len(pixels)
    rng = np.random.default_rng(seed)
    planted = np.sort(rng.choice(n, size=min(DEFAULT_COPY_SAMPLE, max(MIN_COPY_SAMPLE, n // 16)),
                                 replace=False))  # fmt: skip
    copies, _ = plant_copies(pixels[planted], seed=seed)
    copy_grid = cached_encode(session, "planted-verify", size, copies)["feature_grid"]
    ids = [f"i{k}" for k in range(n)]
    ctx = SimpleNamespace(
        descriptors=stacked_descriptor_parts(grid, pixels),
        options=SimpleNamespace(duplicates=SimpleNamespace(threshold=None), seed=seed),
        collected=SimpleNamespace(
            planted_rows=planted.tolist(),
            planted_descriptors=[stacked_descriptor_parts(copy_grid, copies)],
            facts=[
                SimpleNamespace(
                    sha256=f"file-{i}", pixel_hash=hashlib.sha256(p.tobytes()).hexdigest()
                )
                for i, p in enumerate(pixels)
            ],
            loaded=[SimpleNamespace(id=i, split=None, label=None) for i in ids],
        ),  # fmt: skip
        ids=ids,
        reference=None,
    )
    result = run_duplicates(ctx)
    row = {i: k for k, i in enumerate(ids)}
    pairs = [(row[p.a], row[p.b]) for p in result.near_pairs]
    groups = [{row[m] for m in g.members} for g in result.groups]

    def right(a: int, b: int) -> bool:
        rms = float(np.sqrt(np.mean((raw[a] - raw[b]) ** 2)))
        return family[a] == family[b] or rms <= 10.0

    truth = [(n_test + b, n_test + n_bases + b) for b in range(n_bases)]
    found = {frozenset(p) for p in pairs}
    hit = sum(frozenset(t) in found or any(set(t) <= g for g in groups) for t in truth)
    verification = result.calibration.verification if result.calibration else None
    return {
        "recall": hit / len(truth),
        "precision": float(sum(right(a, b) for a, b in pairs) / len(pairs)) if pairs else 1.0,
        "pairs": len(pairs),
        "cut": verification.threshold if verification is not None else None,
        "note": verification.note if verification is not None else None,
        "estimated_recall": verification.estimated_recall if verification is not None else None,
    }


def mislabel_ap(embeddings: np.ndarray, y: np.ndarray, seeds: int = 6) -> tuple[float, float]:
    """Mean AP and P@k of the report's mislabel ranking (``rank_label_issues``, defaults) on
    these embeddings with 3 % of the labels flipped to another class, over ``seeds`` flip sets."""
    from bench.real import ranking_scores
    from service.analysis.mislabels import rank_label_issues

    names = [str(c) for c in range(int(y.max()) + 1)]
    ids = [str(i) for i in range(len(y))]
    aps, pks = [], []
    for seed in range(seeds):
        rng = np.random.default_rng(100 + seed)
        flips = rng.choice(len(y), size=int(round(0.03 * len(y))), replace=False)
        noisy = y.copy()
        noisy[flips] = (y[flips] + rng.integers(1, len(names), size=flips.size)) % len(names)
        result = rank_label_issues(
            [str(v) for v in noisy], class_names=names, embeddings=embeddings, ids=ids, seed=0
        )
        scores = ranking_scores([c.id for c in result.candidates], {str(i) for i in flips}, len(y))
        aps.append(scores["ap"])
        pks.append(scores["p_at_k"])
    return float(np.mean(aps)), float(np.mean(pks))


def measure(size: int) -> dict:
    import onnxruntime as ort
    from sklearn.model_selection import train_test_split

    session = ort.InferenceSession(str(ONNX_PATH), providers=["CPUExecutionProvider"])
    sets = image_sets(size)
    enc = {k: cached_encode(session, k, size, v) for k, v in sets.items()
           if not k.startswith(("y_", "raw_"))}  # fmt: skip
    emb = {k: v["embedding"] / np.linalg.norm(v["embedding"], axis=1, keepdims=True)
           for k, v in enc.items()}  # fmt: skip
    fm = probe_accuracy(emb["fm_train"], sets["y_fm_train"], emb["fm_test"], sets["y_fm_test"])
    y_d = sets["y_digits"]
    tr, te = train_test_split(np.arange(len(y_d)), test_size=0.4, stratify=y_d, random_state=0)
    dg = probe_accuracy(emb["digits"][tr], y_d[tr], emb["digits"][te], y_d[te])
    recall_fpr = {}
    for weight in (1.0, 0.85):
        desc = {k: copy_descriptors(enc[k], sets[k], weight)
                for k in ("fm_bases", "fm_copies", "fm_test")}  # fmt: skip
        recall_fpr[weight] = near_copy_recall(
            desc["fm_bases"], sets["y_bases"], desc["fm_copies"], desc["fm_test"],
            sets["y_fm_test"],
        )["all"]  # fmt: skip
    calib = calibrated_recall(session, sets["fm_test"], enc["fm_test"]["feature_grid"])
    verified = verified_copies(session, sets, enc, size)
    mislabels = mislabel_ap(emb["fm_train"], sets["y_fm_train"])
    return {"fm": fm, "digits": dg, "recall_fpr": recall_fpr, "calib": calib,
            "verified": verified, "mislabels": mislabels}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="224,128,96")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(machine_line())
    results = {}
    for size in sizes:
        started = time.perf_counter()
        results[size] = r = measure(size)
        print(f"{size} px: FM probe {r['fm']:.3f}, digits probe {r['digits']:.3f}, calibrated "
              f"near-copy recall {r['calib']['recall']:.3f} (est. precision "
              f"{r['calib']['precision']:.3f}, {r['calib']['code']}, cut "
              f"{r['calib']['threshold']:.4f}), descriptor recall@FPR1e-3 w=1.0 "
              f"{r['recall_fpr'][1.0]:.3f} w=0.85 {r['recall_fpr'][0.85]:.3f}; whole "
              f"duplicates check: recall {r['verified']['recall']:.3f}, precision "
              f"{r['verified']['precision']:.3f} ({r['verified']['pairs']} pairs, cut "
              f"{r['verified']['cut']}); mislabels AP {r['mislabels'][0]:.3f} P@k "
              f"{r['mislabels'][1]:.3f} ({time.perf_counter() - started:.0f} s)",
              flush=True)  # fmt: skip
    ref = results[sizes[0]]
    print(f"\n| resolution | FM probe | digits probe | calibrated near-copy recall | "
          f"recall@FPR1e-3 (w=1.0 / 0.85) | verified copies: recall / precision | mislabels "
          f"AP / P@k | vs {sizes[0]} px |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for size, r in results.items():
        d_fm = 100 * (r["fm"] - ref["fm"])
        d_dg = 100 * (r["digits"] - ref["digits"])
        d_rec = r["calib"]["recall"] - ref["calib"]["recall"]
        v, d_ver = r["verified"], r["verified"]["recall"] - ref["verified"]["recall"]
        # the near-copy bar applies to what the check reports: the verified pairs
        ok = d_fm >= -1.0 and d_dg >= -1.0 and d_ver >= -0.02
        verdict = "reference" if size == sizes[0] else ("accepted" if ok else "rejected")
        print(f"| {size} | {r['fm']:.3f} ({d_fm:+.1f} pt) | {r['digits']:.3f} ({d_dg:+.1f} pt) "
              f"| {r['calib']['recall']:.3f} ({d_rec:+.3f}) | {r['recall_fpr'][1.0]:.3f} / "
              f"{r['recall_fpr'][0.85]:.3f} | {v['recall']:.3f} ({d_ver:+.3f}) / "
              f"{v['precision']:.3f} | {r['mislabels'][0]:.3f} / {r['mislabels'][1]:.3f} "
              f"| {verdict} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
