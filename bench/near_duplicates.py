"""Near-duplicate quality benchmark: which descriptor and threshold find real copies?

Real photos bundled offline (scikit-learn's ``load_sample_images``, scikit-image's ``data``)
give *sources*: each whole photo plus five distinct crops of it (four corners and the centre,
60 % of each side) — distinct crops of one scene are hard negatives, as are the texture photos
(brick, grass, gravel) against each other. Every source gets the generated transforms below
(JPEG at three qualities, two downscales, crops up to 10 %, a horizontal flip, brightness and
colour shifts, a small text overlay, and one combination), applied at the source's resolution;
each result is saved as a file (PNG, or the JPEG itself) and decoded by the service's own
``decode_image`` to 224 x 224 — what the report pipeline feeds the encoder. Ground truth: two images are duplicates iff they come from the same source.

Every pair of images is scored (original-vs-transform and transform-vs-transform pairs are
positives, everything across sources is a negative). Printed, for the seed baseline (pooled
embedding, cosine 0.90) and for the project's descriptor at its default threshold: precision,
recall and F1 per transform (pairs that involve an image with that transform) and overall, the
F1-optimal threshold with precision >= 0.95 for each, and the ratio of the F1s.

Run: ``.venv/bin/python -m bench.near_duplicates`` (encodes 1.8k images once with ONNX Runtime,
cached under ``.cache/``; later runs take seconds).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

from bench._common import CACHE_DIR, ONNX_PATH, encode_in_process, machine_line

SIZE = 224
SEED_THRESHOLD = 0.90
MIN_PRECISION = 0.95
CROP_SIDE = 0.60  # distinct crops keep 60 % of each side
BENCH_VERSION = "2"  # 2: files decoded by service.images.decode (squash policy)


# --- photos and sources ---------------------------------------------------------------------
def photo_library() -> dict[str, Image.Image]:
    """Real photos available offline, as RGB PIL images (``cat`` is ``chelsea``: left out)."""
    import skimage.data as data
    from sklearn.datasets import load_sample_images

    photos: dict[str, np.ndarray] = {}
    sample = load_sample_images()
    for path, image in zip(sample.filenames, sample.images, strict=True):
        photos[path.rsplit("/", 1)[-1].split(".")[0]] = image
    for name in (
        "astronaut", "camera", "chelsea", "coffee", "rocket", "hubble_deep_field",
        "immunohistochemistry", "retina", "moon", "coins", "clock", "brick", "grass",
        "gravel", "page", "text", "colorwheel", "logo",
    ):  # fmt: skip
        photos[name] = getattr(data, name)()
    out: dict[str, Image.Image] = {}
    for name, array in photos.items():
        img = Image.fromarray(array)
        if img.mode == "RGBA":
            background = Image.new("RGB", img.size, (255, 255, 255))
            background.paste(img, mask=img.getchannel("A"))
            img = background
        out[name] = img.convert("RGB")
    return out


def source_regions(img: Image.Image) -> dict[str, Image.Image]:
    """The whole photo and five distinct crops of it (corners and centre, 60 % of each side)."""
    w, h = img.size
    cw, ch = round(w * CROP_SIDE), round(h * CROP_SIDE)
    boxes = {
        "full": (0, 0, w, h),
        "tl": (0, 0, cw, ch),
        "tr": (w - cw, 0, w, ch),
        "bl": (0, h - ch, cw, h),
        "br": (w - cw, h - ch, w, h),
        "c": ((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch),
    }
    return {k: img.crop(b) for k, b in boxes.items()}


def encode_file(img: Image.Image, fmt: str = "PNG", quality: int = 95) -> bytes:
    """The image as a file: PNG (lossless, fast compression) or JPEG at ``quality``."""
    buf = io.BytesIO()
    if fmt == "JPEG":
        img.save(buf, format="JPEG", quality=quality)
    else:
        img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def prepare(data: bytes) -> np.ndarray:
    """The file decoded exactly as the service does (``decode_image``: 224 x 224 uint8 RGB)."""
    from service.images.decode import decode_image

    return decode_image(data).pixels


# --- transforms (applied at the source's resolution) ------------------------------------------
def _jpeg(quality: int) -> Callable[[Image.Image], bytes]:
    """Re-encoded as JPEG: the file itself goes to the decoder (its DCT-domain downscaling)."""
    return lambda img: encode_file(img, "JPEG", quality)


def _downscale(factor: float) -> Callable[[Image.Image], Image.Image]:
    def apply(img: Image.Image) -> Image.Image:
        w, h = img.size
        return img.resize((max(8, round(w * factor)), max(8, round(h * factor))), Image.BILINEAR)

    return apply


def _crop(left: float, top: float, right: float, bottom: float):
    def apply(img: Image.Image) -> Image.Image:
        w, h = img.size
        return img.crop(
            (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
        )

    return apply


def _enhance(kind: type, factor: float):
    return lambda img: kind(img).enhance(factor)


def _warm(img: Image.Image) -> Image.Image:
    """A small colour-temperature shift: red up 8 %, blue down 8 %."""
    arr = np.asarray(img).astype(np.float32) * np.array([1.08, 1.0, 0.92], np.float32)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _text(img: Image.Image) -> Image.Image:
    """A small caption (about 6 % of the height) in the lower-left corner."""
    out = img.copy()
    size = max(10, round(img.size[1] * 0.06))
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(out)
    draw.text((round(img.size[0] * 0.04), round(img.size[1] * 0.88)), "(c) example.com",
              fill=(255, 255, 255), font=font, stroke_width=1, stroke_fill=(0, 0, 0))  # fmt: skip
    return out


def _combo(img: Image.Image) -> bytes:
    """Crop 5 %, brightness +10 %, JPEG quality 50."""
    return _jpeg(50)(_enhance(ImageEnhance.Brightness, 1.1)(_crop(0.05, 0.0, 0.0, 0.05)(img)))


TRANSFORMS: dict[str, Callable[[Image.Image], Image.Image | bytes]] = {
    "jpeg_q90": _jpeg(90),
    "jpeg_q50": _jpeg(50),
    "jpeg_q20": _jpeg(20),
    "resize_50": _downscale(0.5),
    "resize_30": _downscale(0.3),
    "crop_5": _crop(0.05, 0.05, 0.0, 0.0),
    "crop_10": _crop(0.0, 0.10, 0.10, 0.0),
    "hflip": lambda img: img.transpose(Image.FLIP_LEFT_RIGHT),
    "bright_+15": _enhance(ImageEnhance.Brightness, 1.15),
    "bright_-15": _enhance(ImageEnhance.Brightness, 0.85),
    "saturation_+30": _enhance(ImageEnhance.Color, 1.3),
    "warm": _warm,
    "text": _text,
    "combo": _combo,
}


@dataclass(frozen=True)
class Benchmark:
    """Images (uint8 N x 224 x 224 x 3) with their source index, photo and transform names."""

    images: np.ndarray
    source: np.ndarray  # int N: same value = duplicates
    photo: np.ndarray  # str N
    transform: np.ndarray  # str N ("original" for the untransformed source)


def build_benchmark() -> Benchmark:
    """Every source region of every photo, untransformed and under each transform."""
    images, source, photo, transform = [], [], [], []
    sid = 0
    for name, img in photo_library().items():
        for region in source_regions(img).values():
            images.append(prepare(encode_file(region)))
            source.append(sid), photo.append(name), transform.append("original")
            for tname, apply in TRANSFORMS.items():
                out = apply(region)
                images.append(prepare(out if isinstance(out, bytes) else encode_file(out)))
                source.append(sid), photo.append(name), transform.append(tname)
            sid += 1
    return Benchmark(np.stack(images), np.array(source), np.array(photo), np.array(transform))


def encoded_benchmark() -> tuple[Benchmark, dict[str, np.ndarray]]:
    """The benchmark and its encoder outputs (embedding, feature_grid), cached under .cache/.

    The cache is keyed on the model file and ``BENCH_VERSION`` (bump it when the photos,
    regions or transforms change).
    """
    CACHE_DIR.mkdir(exist_ok=True)
    path = CACHE_DIR / "near_duplicates_encoded.npz"
    stamp = f"{ONNX_PATH.stat().st_mtime_ns}-{BENCH_VERSION}"
    if path.exists():
        cached = np.load(path)
        if str(cached["stamp"]) == stamp:
            bench = Benchmark(*(cached[k] for k in ("images", "source", "photo", "transform")))
            return bench, {"embedding": cached["embedding"], "feature_grid": cached["feature_grid"]}
    bench = build_benchmark()
    out = encode_in_process(bench.images, outputs=("embedding", "feature_grid"))
    np.savez(path, stamp=stamp, images=bench.images, source=bench.source, photo=bench.photo,
             transform=bench.transform, **out)  # fmt: skip
    return bench, out


# --- scoring ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


def score(predicted: np.ndarray, truth: np.ndarray) -> Scores:
    tp = int(np.sum(predicted & truth))
    fp = int(np.sum(predicted & ~truth))
    fn = int(np.sum(~predicted & truth))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, tp, fp, fn)


def pair_table(descriptors: np.ndarray, bench: Benchmark):
    """(i, j, cosine, same_source) for every unordered pair i < j."""
    sims = descriptors @ descriptors.T
    i, j = np.triu_indices(len(descriptors), k=1)
    return i, j, sims[i, j], bench.source[i] == bench.source[j]


def best_threshold(sims: np.ndarray, truth: np.ndarray, min_precision: float = MIN_PRECISION):
    """The threshold with the highest F1 among those with precision >= ``min_precision``."""
    order = np.argsort(-sims, kind="stable")
    hits = truth[order].astype(np.int64)
    tp = np.cumsum(hits)
    k = np.arange(1, len(hits) + 1)
    precision = tp / k
    recall = tp / max(1, hits.sum())
    f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall + 1e-12), 0)
    # only cut between distinct similarity values
    last = np.r_[sims[order][1:] != sims[order][:-1], True]
    ok = (precision >= min_precision) & last
    if not ok.any():
        return float("nan"), 0.0
    best = np.argmax(np.where(ok, f1, -1))
    return float(sims[order][best]), float(f1[best])


def per_transform(bench: Benchmark, i, j, sims, truth, threshold: float) -> dict[str, Scores]:
    """Scores over the pairs that involve an image under each transform, then overall.

    For transform T: every pair with at least one T image (positives: with the other images of
    its source, originals and other transforms; negatives: with every other source's images).
    """
    predicted = sims >= threshold
    out = {}
    for tname in ("original", *TRANSFORMS):
        mask = (bench.transform[i] == tname) | (bench.transform[j] == tname)
        out[tname] = score(predicted[mask], truth[mask])
    out["overall (all pairs)"] = score(predicted, truth)
    hard = truth | (bench.photo[i] == bench.photo[j])
    out["only crops of one photo as negatives"] = score(predicted[hard], truth[hard])
    return out


def print_table(title: str, table: dict[str, Scores]) -> None:
    print(f"\n{title}")
    print(f"  {'transform':36s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'FP':>6s}")
    for name, s in table.items():
        print(f"  {name:36s} {s.precision:9.3f} {s.recall:7.3f} {s.f1:6.3f} {s.fp:6d}")


def main() -> None:
    from service.analysis.descriptors import DEFAULT_NEAR_DUPLICATE_THRESHOLD, duplicate_descriptors

    started = time.perf_counter()
    bench, enc = encoded_benchmark()
    n_sources = len(np.unique(bench.source))
    print(f"near-duplicate benchmark: {len(bench.images)} images, {n_sources} sources from "
          f"{len(np.unique(bench.photo))} photos, {len(TRANSFORMS)} transforms")  # fmt: skip
    seed = enc["embedding"]
    t0 = time.perf_counter()
    ours = duplicate_descriptors(enc["feature_grid"], pixels=bench.images)
    desc_s = time.perf_counter() - t0
    print(f"descriptor: {ours.shape[1]} dims, {1e3 * desc_s / len(ours):.2f} ms/image")

    results, best = {}, {}
    for label, desc, thr in (
        ("seed baseline: pooled embedding, cosine >= 0.90", seed, SEED_THRESHOLD),
        (f"imagelint: duplicate_descriptors, cosine >= {DEFAULT_NEAR_DUPLICATE_THRESHOLD}", ours,
         DEFAULT_NEAR_DUPLICATE_THRESHOLD),
    ):  # fmt: skip
        i, j, sims, truth = pair_table(desc, bench)
        table = per_transform(bench, i, j, sims, truth, thr)
        print_table(label, table)
        cross = bench.photo[i] != bench.photo[j]
        print(f"  false pairs between different photos: {int(np.sum(cross & (sims >= thr)))}")
        best_t, best_f1 = best_threshold(sims, truth)
        print(
            f"  best threshold with precision >= {MIN_PRECISION}: {best_t:.4f} (F1 {best_f1:.3f})"
        )
        results[label] = table["overall (all pairs)"]
        best[label] = best_f1

    print("\nablations (best F1 with precision >= 0.95, false pairs across photos at that cut):")
    for label, weight in (("pixel code alone", 1.0), ("grid code alone", 0.0)):
        desc = duplicate_descriptors(enc["feature_grid"], pixels=bench.images, pixel_weight=weight)
        i, j, sims, truth = pair_table(desc, bench)
        best_t, best_f1 = best_threshold(sims, truth)
        cross = int(np.sum((bench.photo[i] != bench.photo[j]) & (sims >= best_t)))
        print(f"  {label:18s} threshold {best_t:.4f}  F1 {best_f1:.3f}  cross-photo FP {cross}")

    seed_s, ours_s = results.values()
    print(f"\noverall F1: imagelint {ours_s.f1:.3f} vs seed {seed_s.f1:.3f} "
          f"(ratio {ours_s.f1 / max(seed_s.f1, 1e-9):.2f}x); recall at precision "
          f"{ours_s.precision:.3f}: {ours_s.recall:.3f} vs {seed_s.recall:.3f}")  # fmt: skip
    seed_best, ours_best = best.values()
    print(f"best F1 at precision >= {MIN_PRECISION}: imagelint {ours_best:.3f} vs seed "
          f"{seed_best:.3f} (ratio {ours_best / max(seed_best, 1e-9):.2f}x)")  # fmt: skip
    print(f"pairs scored: {len(i)}; wall {time.perf_counter() - started:.1f} s")
    verification_section(bench, ours)
    print(machine_line())


def verification_section(bench: Benchmark, descriptors: np.ndarray, seed: int = 0) -> None:
    """The report's second stage on these photos: candidate pairs verified on their pixels at a
    cut calibrated as a report calibrates it (copies planted on 64 images, 4,000 sampled
    look-alikes); prints the pairs it adds and how many join different photos or sources."""
    from service.analysis.copy_verification import verification_thumbnails, verified_copy_pairs
    from service.analysis.duplicate_calibration import COPY_KINDS, plant_copies

    rng = np.random.default_rng(seed)
    n = len(bench.images)
    rows = np.sort(rng.choice(n, size=64, replace=False))
    copies, _ = plant_copies(bench.images[rows], seed=seed)
    thumbs = verification_thumbnails(bench.images)
    t0 = time.perf_counter()
    first, second, verification = verified_copy_pairs(
        thumbs, descriptors,
        planted_sources=np.repeat(rows, len(COPY_KINDS)),
        planted_thumbs=verification_thumbnails(copies),
        sample=np.sort(rng.choice(n, size=min(n, 4000), replace=False)),
        copy_kinds=list(COPY_KINDS) * len(rows),
    )  # fmt: skip
    elapsed = time.perf_counter() - t0
    right = bench.source[first] == bench.source[second]
    cross = bench.photo[first] != bench.photo[second]
    print(f"\nsecond stage (copy verification, cut {verification.threshold:.4f}, "
          f"{verification.candidate_pairs} candidates, {elapsed:.1f} s): {first.size} verified "
          f"pairs, {int(right.sum())} of one source, {int((~right).sum())} false, "
          f"**{int(cross.sum())} between different photos**")  # fmt: skip


if __name__ == "__main__":
    main()
