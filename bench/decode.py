"""Decoding throughput: the project's loader vs plain Pillow, on 12 MP and 1 MP JPEGs.

JPEGs are generated in the run (a real photo, scikit-image's ``astronaut``, upscaled with mild
sensor-like noise, quality 90) and written under a temporary data root. Two figures per size:

- **single thread**: ``decode_image(data)`` (draft-mode decode, EXIF, RGB, 224 x 224 resize,
  and every fact: SHA-256, pixel hash, dHash, brightness, contrast, sharpness, entropy) vs the
  baseline ``np.asarray(Image.open(BytesIO(data)).convert("RGB").resize((224, 224)))``;
- **loader**: ``load_images`` over ``file://`` items (guarded fetch, decode in a thread pool of
  one worker per core) vs the baseline reading each file and decoding it in the same pool.

Images/s of both, and the ratio. ``--resize-policy`` adds the resize-policy comparison (squash
vs centre crop) with the project's encoder, in-process (needs ``model.onnx`` and onnxruntime;
a few minutes on 2 cores).

Run: ``.venv/bin/python -m bench.decode`` (about a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from bench._common import machine_line
from service.datasets.model import Item
from service.fetch.fetcher import Fetcher
from service.images.decode import decode_image
from service.images.loader import LoadedItem, load_images
from service.settings import Settings

SIZES = {"12 MP": (4000, 3000), "1 MP": (1152, 864)}
SINGLE_ROUNDS = {"12 MP": 6, "1 MP": 30}
LOADER_ITEMS = {"12 MP": 16, "1 MP": 64}


def make_jpeg(width: int, height: int, seed: int) -> bytes:
    from skimage import data

    rng = np.random.default_rng(seed)
    base = Image.fromarray(data.astronaut()).resize((width, height), Image.Resampling.BICUBIC)
    pixels = np.asarray(base, dtype=np.int16) + rng.integers(-6, 7, (height, width, 3))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def baseline_decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB").resize((224, 224)))


def baseline_file(path: Path) -> np.ndarray:
    return baseline_decode(path.read_bytes())


def images_per_second(func, inputs: list, rounds: int) -> float:
    func(inputs[0])  # warm-up
    started = time.perf_counter()
    for k in range(rounds):
        func(inputs[k % len(inputs)])
    return rounds / (time.perf_counter() - started)


async def loader_rate(items: list[Item], settings: Settings, pool: ThreadPoolExecutor) -> float:
    async with Fetcher(settings) as fetcher:
        started = time.perf_counter()
        results = await load_images(items, fetcher=fetcher, pool=pool, settings=settings)
        elapsed = time.perf_counter() - started
    assert all(isinstance(r, LoadedItem) for r in results), "bench images must all load"
    return len(items) / elapsed


def baseline_pool_rate(paths: list[Path], pool: ThreadPoolExecutor) -> float:
    started = time.perf_counter()
    list(pool.map(baseline_file, paths))
    return len(paths) / (time.perf_counter() - started)


def run_throughput() -> None:
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="imagelint-bench-") as tmp:
        root = Path(tmp)
        settings = Settings(data_root=str(root), fetch_max_bytes=200 * 1024 * 1024)
        with ThreadPoolExecutor(cores) as pool:
            for label, (width, height) in SIZES.items():
                variants = [make_jpeg(width, height, seed) for seed in range(2)]
                mb = sum(map(len, variants)) / len(variants) / 1e6
                rounds = SINGLE_ROUNDS[label]
                project = images_per_second(decode_image, variants, rounds)
                baseline = images_per_second(baseline_decode, variants, max(2, rounds // 3))
                print(
                    f"{label} JPEG ({width}x{height}, {mb:.1f} MB), single thread: "
                    f"project {project:.1f} img/s, baseline {baseline:.1f} img/s, "
                    f"ratio {project / baseline:.1f}x"
                )
                count = LOADER_ITEMS[label]
                paths = []
                for k in range(count):
                    path = root / f"{label.replace(' ', '')}-{k}.jpg"
                    path.write_bytes(variants[k % len(variants)])
                    paths.append(path)
                items = [Item(id=str(k), uri=f"file://{p}") for k, p in enumerate(paths)]
                project_pool = asyncio.run(loader_rate(items, settings, pool))
                baseline_pool = baseline_pool_rate(paths, pool)
                print(
                    f"{label} JPEG, loader ({count} files, pool of {cores}): "
                    f"project {project_pool:.1f} img/s, baseline {baseline_pool:.1f} img/s, "
                    f"ratio {project_pool / baseline_pool:.1f}x"
                )


def run_resize_policy() -> None:
    """Squash vs centre crop: near-duplicate separation and an off-centre-object probe."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from bench._common import ONNX_PATH, encode_in_process
    from bench.near_duplicates import photo_library

    if not ONNX_PATH.exists():
        print("resize policy: skipped (no model.onnx; run `make model`)")
        return

    def png(image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return buffer.getvalue()

    def framings(image: Image.Image) -> list[Image.Image]:
        w, h = image.size
        out = [image, image.resize((int(w * 1.3), h)), image.crop((0, 0, w - w // 10, h - h // 10))]
        if w >= h:
            cw = min(w, h * 4 // 3)
            out.append(image.crop(((w - cw) // 2, 0, (w - cw) // 2 + cw, cw * 3 // 4)))
        small = io.BytesIO()
        image.resize((max(1, w // 2), max(1, h // 2))).save(small, "JPEG", quality=70)
        out.append(Image.open(io.BytesIO(small.getvalue())).convert("RGB"))
        return out

    sources, files = [], []
    for index, image in enumerate(photo_library().values()):
        for variant in framings(image.convert("RGB")):
            sources.append(index)
            files.append(png(variant))
    sources_arr = np.array(sources)
    upper = np.triu_indices(len(files), 1)
    same = (sources_arr[:, None] == sources_arr[None, :])[upper]

    rng = np.random.default_rng(0)
    digits = load_digits()
    wide = []
    for glyph8 in digits.images[:300]:
        ink = (255 * (1 - np.clip(glyph8 / 16, 0, 1))).astype(np.uint8)
        glyph = Image.fromarray(ink, "L").resize((160, 160), Image.Resampling.BILINEAR)
        canvas = Image.new("L", (448, 224), 255)
        canvas.paste(glyph, (int(rng.integers(0, 289)), int(rng.integers(0, 65))))
        wide.append(png(canvas.convert("RGB")))
    labels = digits.target[:300]

    for policy in ("squash", "crop"):
        pixels = np.stack([decode_image(f, resize=policy).pixels for f in files])
        emb = encode_in_process(pixels, outputs=("embedding",))["embedding"].astype(np.float64)
        auc = roc_auc_score(same, (emb @ emb.T)[upper])
        wide_px = np.stack([decode_image(f, resize=policy).pixels for f in wide])
        wide_emb = encode_in_process(wide_px, outputs=("embedding",))["embedding"]
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000))
        folds = StratifiedKFold(5, shuffle=True, random_state=0)
        accuracy = cross_val_score(probe, wide_emb, labels, cv=folds).mean()
        print(
            f"resize policy {policy:6s}: near-duplicate pair ROC-AUC {auc:.4f} "
            f"({len(files)} images), probe accuracy on 2:1 off-centre digits {accuracy:.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resize-policy", action="store_true", help="also compare policies")
    args = parser.parse_args()
    run_throughput()
    if args.resize_policy:
        run_resize_policy()
    print(machine_line())


if __name__ == "__main__":
    main()
