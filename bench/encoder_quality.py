"""Encoder quality on real data: which export, normalisation and readout carry the signal?

Every variant is an ONNX export of EfficientNet-Lite0 made by
``model_repository/export_image_encoder.py`` into ``.cache/variants/`` (the served model, the
as-trained ReLU6 graph with ImageNet mean/std, and round 1's Swish graph, kept to print the old
figures beside the new ones). Images go through the service's own decoder (28 x 28 PNG ->
224 x 224, squash). Printed for each variant and readout:

- **probe accuracy**: StandardScaler + logistic regression (C by 5-fold CV) on Fashion-MNIST
  train[:3000] -> test[:2000], and on scikit-learn's digits (stratified 60/40);
- **near-copy recall at FPR 1e-3**: 400 Fashion-MNIST test images (test[2000:2400]) each get three
  copies (a 95 % crop — 27 of 28 pixels, offset 0-1 —, JPEG q=75, brightness x1.2); positives
  are (image, own copy) cosines, negatives are the image against every other image of the same
  class in test[:2000]; the threshold is the 99.9th percentile of negatives. Measured for the
  readouts and for the duplicate check's descriptor (pixel code weight 1.0 and 0.85);
- **golden top-5** on real photos (scikit-image, scikit-learn): the ImageNet class names.

Readouts: ``head`` (the 1280-d pooled last feature map), ``stages+head`` (pooled outputs of
stages 3-7, 744-d, and the head, each L2-normalised, concatenated: 2024-d — the exported
``embedding``; the head is its last 1280 columns).

The duplicates check's second stage (``copy_verification``: a copy score on 32 x 32 pixel
thumbnails) is measured on the same copies and negatives; ``--verification-only`` prints just
that line (no encoder needed).

Run: ``.venv/bin/python -m bench.encoder_quality`` (encodes ~8.4k images per variant once;
cached under ``.cache/``). ``--sizes 224,128,96`` compares the served graph at encoder
resolutions instead (``bench.resolution_quality``).

**Models** (``--part models``): EfficientNet-Lite0, Lite1 and Lite2 (``--variant`` of the
exporter; ReLU6, (x-127)/128, stages+head; Lite1/2 resize the 224 wire input to 240/260 inside the
graph), side by side: golden top-5 on the photos, the same two probes, and speed — images/s of
in-process ONNX Runtime with 2 intra-op threads on the same 64 Fashion-MNIST images, batch 32,
rounds alternating between the models in one run (best of 3 per model; ratios to Lite0).

Run: ``.venv/bin/python -m bench.encoder_quality [--part variants|models|all]`` (encodes ~8.4k
images per variant and ~6.8k per model once; cached under ``.cache/``). On a loaded machine the
models part can run on fewer images: ``--fm-train 1000 --fm-test 1000 --skip-digits`` (Lite0's
figures are then taken from the same subset).
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from bench._common import CACHE_DIR, REPO_ROOT, machine_line
from bench.real_data import decode_for_encoder, digits, fashion_mnist, photos, to_png

VARIANTS = {
    # name: (activation, normalisation)
    "relu6 (x-127)/128": ("relu6", "tflite"),
    "relu6 imagenet": ("relu6", "imagenet"),
    "swish imagenet (round 1)": ("swish", "imagenet"),
}
LABELS_PATH = REPO_ROOT / "model_repository" / "image_encoder" / "imagenet_labels.txt"
FPR = 1e-3
GOLDEN_PHOTOS = ("coffee", "chelsea", "astronaut", "rocket", "china", "flower")


MODELS = ("lite0", "lite1", "lite2")
MODEL_SETS = ("fm_train", "fm_test", "digits")  # what the model comparison encodes
SPEED_IMAGES = 64
SPEED_ROUNDS = 3
SPEED_THREADS = 2


def variant_path(activation: str, normalisation: str, model: str = "lite0") -> Path:
    suffix = "" if model == "lite0" else f"-{model}"  # Lite0's files keep their round-2 names
    path = CACHE_DIR / "variants" / f"{activation}-{normalisation}{suffix}.onnx"
    if not path.exists():
        subprocess.run(
            [sys.executable, str(REPO_ROOT / "model_repository" / "export_image_encoder.py"),
             "--output", str(path), "--activation", activation, "--normalisation", normalisation,
             "--variant", model],
            check=True,
        )  # fmt: skip
    return path


def copy_variants(image: np.ndarray, rng: np.random.Generator) -> list[bytes]:
    """Three near copies of a 28 x 28 grey image: 95 % crop, JPEG q=75, brightness x1.2."""
    pil = Image.fromarray(image)
    w, h = pil.size
    cw, ch = int(round(w * 0.95)), int(round(h * 0.95))
    left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    crop = pil.crop((left, top, left + cw, top + ch)).resize((w, h), Image.Resampling.BILINEAR)
    jpeg = io.BytesIO()
    pil.save(jpeg, format="JPEG", quality=75)
    bright = ImageEnhance.Brightness(pil).enhance(1.2)
    return [to_png(np.asarray(crop)), jpeg.getvalue(), to_png(np.asarray(bright))]


class LazyImages:
    """Raw images that look like the decoded 224 x 224 stack: decoded only when sliced."""

    def __init__(self, raw: np.ndarray) -> None:
        self.raw = raw

    def __len__(self) -> int:
        return len(self.raw)

    def __getitem__(self, item) -> np.ndarray:
        return np.stack([decode_for_encoder(to_png(x)) for x in self.raw[item]])


def model_sets() -> dict:
    """The model comparison's images (decoded lazily: cached sets are never decoded)."""
    train, y_train = fashion_mnist("train", 3000)
    test, y_test = fashion_mnist("test", 2000)
    digit_images, y_digits = digits()
    return {
        "fm_train": LazyImages(train), "fm_test": LazyImages(test),
        "digits": LazyImages(digit_images),
        "y_fm_train": y_train, "y_fm_test": y_test, "y_digits": y_digits,
    }  # fmt: skip


def image_sets() -> dict[str, np.ndarray]:
    """Every image the bench encodes, as 224 x 224 RGB arrays, with labels."""
    rng = np.random.default_rng(0)
    train, y_train = fashion_mnist("train", 3000)
    test, y_test = fashion_mnist("test", 2400)
    digit_images, y_digits = digits()
    bases = test[2000:2400]
    copies = [c for image in bases for c in copy_variants(image, rng)]
    return {
        "fm_train": np.stack([decode_for_encoder(to_png(x)) for x in train]),
        "fm_test": np.stack([decode_for_encoder(to_png(x)) for x in test[:2000]]),
        "fm_bases": np.stack([decode_for_encoder(to_png(x)) for x in bases]),
        "fm_copies": np.stack([decode_for_encoder(c) for c in copies]),
        "digits": np.stack([decode_for_encoder(to_png(x)) for x in digit_images]),
        "y_fm_train": y_train, "y_fm_test": y_test[:2000], "y_bases": y_test[2000:2400],
        "y_digits": y_digits,
    }  # fmt: skip


def encode(path: Path, images: np.ndarray, batch: int = 32) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = ["embedding", "logits", "feature_grid"]
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for start in range(0, len(images), batch):
        got = session.run(names, {"images": images[start : start + batch]})
        for name, value in zip(names, got, strict=True):
            parts[name].append(value)
    return {n: np.concatenate(v) for n, v in parts.items()}


def cached_encode(path: Path, key: str, images: np.ndarray) -> dict[str, np.ndarray]:
    """``encode`` cached under ``.cache/encoder_quality/`` per model file and image set."""
    folder = CACHE_DIR / "encoder_quality"
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / f"{path.stem}-{key}-{path.stat().st_mtime_ns}-{len(images)}.npz"
    if file.exists():
        with np.load(file) as cached:
            return {k: cached[k] for k in cached.files}
    out = encode(path, images)
    np.savez(file, **out)
    return out


def l2(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def readouts(out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"head": l2(out["embedding"][:, STAGES_DIM:]), "stages+head": l2(out["embedding"])}


def probe_accuracy(x_train, y_train, x_test, y_test) -> float:
    """StandardScaler + logistic regression, C chosen by 3-fold CV on the training part only."""
    import warnings

    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = GridSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=200)),
        {"logisticregression__C": [0.01, 0.1]},
        cv=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x_train, y_train)
    return float((model.predict(x_test) == y_test).mean())


COPY_KINDS = ("crop 95%", "jpeg q75", "brightness 1.2")
STAGES_DIM = 744


def near_copy_recall(bases, y_bases, copies, pool, y_pool, fpr: float = FPR) -> dict[str, float]:
    """Recall of (image, own copy) at the cosine whose false-positive rate against same-class
    others is ``fpr``; overall and per copy kind."""
    positives = np.einsum("id,icd->ic", bases, copies.reshape(len(bases), 3, -1))
    negatives = np.concatenate(
        [pool[y_pool == y] @ bases[y_bases == y].T for y in np.unique(y_bases)], axis=None
    )
    threshold = np.quantile(negatives, 1.0 - fpr)
    out = {"all": float((positives > threshold).mean())}
    out.update({k: float((positives[:, j] > threshold).mean()) for j, k in enumerate(COPY_KINDS)})
    return out


def copy_descriptors(enc: dict[str, np.ndarray], pixels: np.ndarray, weight: float) -> np.ndarray:
    """The duplicate check's descriptor (pixel DCT code fused with the feature grid)."""
    from service.analysis.descriptors import duplicate_descriptors

    return duplicate_descriptors(enc["feature_grid"], pixels=pixels, pixel_weight=weight)


def verification_recall() -> dict[str, float]:
    """Near-copy recall at FPR 1e-3 of the duplicates check's second stage (the copy score of
    ``service.analysis.copy_verification``, pixels only), on the same copies and negatives as
    ``near_copy_recall``: every (base, same-class other) pair is scored, not only candidates."""
    from service.analysis.copy_verification import copy_scores, verification_thumbnails

    rng = np.random.default_rng(0)
    test, y_test = fashion_mnist("test", 2400)
    bases = test[2000:2400]
    copies = [c for image in bases for c in copy_variants(image, rng)]
    pool = np.stack([decode_for_encoder(to_png(x)) for x in test[:2000]])
    base_px = np.stack([decode_for_encoder(to_png(x)) for x in bases])
    copy_px = np.stack([decode_for_encoder(c) for c in copies])
    thumbs = verification_thumbnails(np.concatenate([pool, base_px, copy_px]))
    n_pool, n_base = len(pool), len(bases)
    base_rows = n_pool + np.arange(n_base)
    positives = copy_scores(
        thumbs, np.repeat(base_rows, 3), n_pool + n_base + np.arange(3 * n_base)
    ).reshape(n_base, 3)
    y_pool, y_bases = y_test[:2000], y_test[2000:2400]
    firsts, seconds = [], []
    for b, y in zip(base_rows, y_bases, strict=True):
        same = np.flatnonzero(y_pool == y)
        firsts.append(np.full(same.size, b))
        seconds.append(same)
    negatives = copy_scores(thumbs, np.concatenate(firsts), np.concatenate(seconds))
    threshold = np.quantile(negatives, 1.0 - FPR)
    out = {"all": float((positives > threshold).mean())}
    out.update({k: float((positives[:, j] > threshold).mean()) for j, k in enumerate(COPY_KINDS)})
    return out


def top5(logits: np.ndarray, names: list[str]) -> list[str]:
    return [names[i] for i in np.argsort(-logits)[:5]]


def images_per_second(paths: dict[str, Path], images: np.ndarray) -> dict[str, float]:
    """Best-of-rounds images/s per model, 2 intra-op threads, rounds alternating between models."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = SPEED_THREADS
    options.inter_op_num_threads = 1
    sessions = {
        m: ort.InferenceSession(str(p), options, providers=["CPUExecutionProvider"])
        for m, p in paths.items()
    }
    for session in sessions.values():  # warm-up
        session.run(["embedding"], {"images": images[:32]})
    best = dict.fromkeys(sessions, 0.0)
    for _ in range(SPEED_ROUNDS):
        for model, session in sessions.items():
            t0 = time.perf_counter()
            for start in range(0, len(images), 32):
                session.run(list(OUTPUTS), {"images": images[start : start + 32]})
            best[model] = max(best[model], len(images) / (time.perf_counter() - t0))
    return best


OUTPUTS = ("embedding", "logits", "feature_grid")


def subset_encode(path: Path, key: str, images: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """The first ``n`` images encoded: sliced from the whole set's cache when there is one."""
    folder = CACHE_DIR / "encoder_quality"
    whole = folder / f"{path.stem}-{key}-{path.stat().st_mtime_ns}-{len(images)}.npz"
    if n < len(images) and whole.exists():
        with np.load(whole) as cached:
            return {k: cached[k][:n] for k in cached.files}
    if n < len(images):  # stay lazy: decode only on a cache miss
        images = LazyImages(images.raw[:n]) if isinstance(images, LazyImages) else images[:n]
    return cached_encode(path, key, images)


def compare_models(
    sets: dict, photo_arrays: dict[str, np.ndarray], fm_train: int, fm_test: int, *, digits=True
) -> None:
    """Lite0 vs Lite1 vs Lite2: golden top-5, probe accuracy, images/s, in one run.

    ``fm_train``/``fm_test``: the Fashion-MNIST sizes (3000/2000 for the published protocol;
    fewer when the machine cannot encode 6.8k images per model in time — the table says which).
    """
    sizes = {"fm_train": fm_train, "fm_test": fm_test, "digits": len(sets["digits"])}
    sets = dict(
        sets, y_fm_train=sets["y_fm_train"][:fm_train], y_fm_test=sets["y_fm_test"][:fm_test]
    )
    from sklearn.model_selection import train_test_split

    from tests.golden_photos import golden_failures, golden_images, top5_names

    names = LABELS_PATH.read_text().splitlines()
    paths = {m: variant_path("relu6", "tflite", m) for m in MODELS}
    speed = images_per_second(paths, sets["fm_test"][:SPEED_IMAGES])
    golden_names, golden = golden_images()
    y_d = sets["y_digits"]
    idx_tr, idx_te = train_test_split(
        np.arange(len(y_d)), test_size=0.4, stratify=y_d, random_state=0
    )
    rows = []
    for model, path in paths.items():
        logits = encode(path, golden)["logits"]
        failures = golden_failures(golden_names, top5_names(logits, names))
        shown = encode(path, np.stack([photo_arrays[n] for n in GOLDEN_PHOTOS]))["logits"]
        print(f"\n== {model}: golden failures {failures or 'none'}")
        for photo, row in zip(GOLDEN_PHOTOS, shown, strict=True):
            print(f"  {photo:>10}: {', '.join(top5(row, names))}")
        keys = MODEL_SETS if digits else MODEL_SETS[:2]
        enc = {k: subset_encode(path, k, sets[k], sizes[k]) for k in keys}
        feats = {k: l2(v["embedding"]) for k, v in enc.items()}
        fm = probe_accuracy(
            feats["fm_train"], sets["y_fm_train"], feats["fm_test"], sets["y_fm_test"]
        )
        dg = float("nan")
        if digits:
            dg = probe_accuracy(
                feats["digits"][idx_tr], y_d[idx_tr], feats["digits"][idx_te], y_d[idx_te]
            )
        dim = feats["fm_train"].shape[1]
        print(f"  FM probe {fm:.3f}  digits probe {dg:.3f}  {speed[model]:.1f} img/s  dim {dim}")
        rows.append((model, len(failures), fm, dg, speed[model], dim))
    print(f"\n| model | golden photos failed | Fashion-MNIST probe ({fm_train} -> {fm_test}) "
          "| digits probe (60/40) "
          "| images/s (ORT, 2 threads) | vs Lite0 | embedding dim |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for model, failed, fm, dg, ips, dim in rows:
        print(f"| {model} | {failed} | {fm:.3f} | {dg:.3f} | {ips:.1f} | "
              f"{ips / speed['lite0']:.2f}x | {dim} |")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    import argparse

    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0].startswith("--sizes"):  # one encoder resolution against another
        from bench.resolution_quality import main as resolution_main

        return resolution_main(argv)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("variants", "models", "all"), default="all")
    parser.add_argument("--fm-train", type=int, default=3000, help="models part: FM train size")
    parser.add_argument("--fm-test", type=int, default=2000, help="models part: FM test size")
    parser.add_argument("--skip-digits", action="store_true", help="models part: FM only")
    parser.add_argument(
        "--verification-only", action="store_true", help="only the duplicates' second stage"
    )
    args = parser.parse_args(argv)
    print(machine_line())
    if args.verification_only:
        rec = verification_recall()
        print("duplicates second stage (copy score): near-copy recall@FPR1e-3 "
              + " ".join(f"{k} {v:.3f}" for k, v in rec.items()))  # fmt: skip
        return 0
    names = LABELS_PATH.read_text().splitlines()
    photo_arrays = {n: decode_for_encoder(to_png(p)) for n, p in photos().items()}
    if args.part in ("models", "all"):
        compare_models(
            model_sets(), photo_arrays, args.fm_train, args.fm_test, digits=not args.skip_digits
        )
    if args.part == "models":
        return 0
    t0 = time.perf_counter()
    sets = image_sets()
    print(f"decoded {sum(len(v) for k, v in sets.items() if not k.startswith('y_'))} images "
          f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    rows = []
    for variant, (activation, normalisation) in VARIANTS.items():
        path = variant_path(activation, normalisation)
        t0 = time.perf_counter()
        enc = {k: cached_encode(path, k, v) for k, v in sets.items() if not k.startswith("y_")}
        elapsed = time.perf_counter() - t0
        n_images = sum(len(v) for k, v in sets.items() if not k.startswith("y_"))
        print(f"\n== {variant}: encoded {n_images} images at {n_images / elapsed:.1f} img/s")
        golden = encode(path, np.stack([photo_arrays[n] for n in GOLDEN_PHOTOS]))["logits"]
        for photo, logits in zip(GOLDEN_PHOTOS, golden, strict=True):
            print(f"  {photo:>10}: {', '.join(top5(logits, names))}")
        feats = {k: readouts(v) for k, v in enc.items()}
        for k in ("fm_bases", "fm_copies", "fm_test"):
            feats[k]["descriptor w=1.0"] = copy_descriptors(enc[k], sets[k], 1.0)
            feats[k]["descriptor w=0.85"] = copy_descriptors(enc[k], sets[k], 0.85)
        for readout in ("descriptor w=1.0", "descriptor w=0.85"):
            rec = near_copy_recall(
                feats["fm_bases"][readout], sets["y_bases"], feats["fm_copies"][readout],
                feats["fm_test"][readout], sets["y_fm_test"],
            )  # fmt: skip
            rows.append((variant, readout, None, None, rec["all"]))
            print(f"  {readout:>12}: near-copy recall@FPR1e-3 "
                  + " ".join(f"{k} {v:.3f}" for k, v in rec.items()))  # fmt: skip
        y_d = sets["y_digits"]
        from sklearn.model_selection import train_test_split

        idx_tr, idx_te = train_test_split(
            np.arange(len(y_d)), test_size=0.4, stratify=y_d, random_state=0
        )
        for readout in ("head", "stages+head"):
            fm = probe_accuracy(
                feats["fm_train"][readout], sets["y_fm_train"],
                feats["fm_test"][readout], sets["y_fm_test"],
            )  # fmt: skip
            dg = probe_accuracy(
                feats["digits"][readout][idx_tr], y_d[idx_tr],
                feats["digits"][readout][idx_te], y_d[idx_te],
            )  # fmt: skip
            rec = near_copy_recall(
                feats["fm_bases"][readout], sets["y_bases"], feats["fm_copies"][readout],
                feats["fm_test"][readout], sets["y_fm_test"],
            )  # fmt: skip
            rows.append((variant, readout, fm, dg, rec["all"]))
            print(f"  {readout:>12}: FM probe {fm:.3f}  digits probe {dg:.3f}  "
                  "near-copy recall@FPR1e-3 "
                  + " ".join(f"{k} {v:.3f}" for k, v in rec.items()))  # fmt: skip
    rec = verification_recall()
    rows.append(
        ("duplicates second stage (pixels, any export)", "copy score", None, None, rec["all"])
    )
    print("\nduplicates second stage (copy score): near-copy recall@FPR1e-3 "
          + " ".join(f"{k} {v:.3f}" for k, v in rec.items()))  # fmt: skip
    print("\n| export | readout | Fashion-MNIST probe (3k -> 2k) | digits probe (60/40) "
          "| near-copy recall @ FPR 1e-3 |")  # fmt: skip
    print("|---|---|---|---|---|")
    for variant, readout, fm, dg, rec in rows:
        fm_text = "—" if fm is None else f"{fm:.3f}"
        dg_text = "—" if dg is None else f"{dg:.3f}"
        print(f"| {variant} | {readout} | {fm_text} | {dg_text} | {rec:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
