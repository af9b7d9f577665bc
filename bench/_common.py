"""Data and helpers shared by the benchmarks (and usable by tests).

- ``rendered_digits()``: scikit-learn's bundled 8x8 ``digits`` rendered to RGB 224x224 uint8
  images (grey strokes on white, upscaled with bilinear interpolation) with their labels.
- ``encode_in_process(images)``: the exported ONNX model run in-process with ONNX Runtime — the
  same graph Triton serves — returning embedding (L2-normalised), logits and feature_grid.
- ``cached_digit_embeddings()``: the rendered digits encoded once, cached under ``.cache/``.
- ``machine_line()``: the core count line every bench prints.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from devtools.demo import render_digit

REPO_ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = REPO_ROOT / ".cache"
ONNX_PATH = REPO_ROOT / "model_repository" / "image_encoder" / "1" / "model.onnx"


def machine_line() -> str:
    return f"machine: {os.cpu_count()} cores"


def rendered_digits(limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 N x 224 x 224 x 3, labels int N) from ``sklearn.datasets.load_digits``."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images[:limit] if limit else digits.images
    labels = digits.target[:limit] if limit else digits.target
    return np.stack([render_digit(x, 224) for x in images]), labels.astype(np.int64)


def encode_in_process(
    images: np.ndarray, batch_size: int = 32, outputs: tuple[str, ...] = ("embedding", "logits")
) -> dict[str, np.ndarray]:
    """Run the exported ONNX model with ONNX Runtime in this process."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(ONNX_PATH), providers=["CPUExecutionProvider"])
    parts: dict[str, list[np.ndarray]] = {name: [] for name in outputs}
    for start in range(0, len(images), batch_size):
        got = session.run(list(outputs), {"images": images[start : start + batch_size]})
        for name, value in zip(outputs, got, strict=True):
            parts[name].append(value)
    result = {name: np.concatenate(values) for name, values in parts.items()}
    if "embedding" in result:
        emb = result["embedding"]
        result["embedding"] = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)
    return result


def cached_digit_embeddings() -> tuple[np.ndarray, np.ndarray]:
    """(L2-normalised embeddings N x 1280, labels) of all 1797 rendered digits, cached."""
    CACHE_DIR.mkdir(exist_ok=True)
    path = CACHE_DIR / "digits_embeddings.npz"
    stamp = str(ONNX_PATH.stat().st_mtime_ns)
    if path.exists():
        cached = np.load(path)
        if str(cached["stamp"]) == stamp:
            return cached["embeddings"], cached["labels"]
    images, labels = rendered_digits()
    embeddings = encode_in_process(images, outputs=("embedding",))["embedding"]
    np.savez(path, embeddings=embeddings, labels=labels, stamp=stamp)
    return embeddings, labels
