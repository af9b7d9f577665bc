"""Real data nobody here made, available offline, for benchmarks and tests.

- ``fashion_mnist(split, limit)``: Zalando's Fashion-MNIST (MIT licence) from Debian's
  ``dataset-fashion-mnist`` package, unpacked by ``make fashion-mnist`` into
  ``.cache/datasets/fashion-mnist`` (``apt-get download`` + ``dpkg-deb -x``, nothing installed
  system-wide). ``IMAGELINT_FASHION_MNIST_DIR`` points elsewhere.
- ``fashion_mnist_png(image)``: one 28 x 28 image as PNG bytes — what a caller would upload.
- ``digits()``: scikit-learn's bundled 8 x 8 digits (1,797 images).
- ``photos()``: scikit-image's and scikit-learn's bundled real photos, by name.
- ``decode_for_encoder(png)``: bytes -> the 224 x 224 RGB array the service feeds the encoder
  (``service.images.decode.decode_image``, the squash policy).
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
FASHION_MNIST_DIR = Path(
    os.environ.get(
        "IMAGELINT_FASHION_MNIST_DIR", REPO_ROOT / ".cache" / "datasets" / "fashion-mnist"
    )
)
FASHION_MNIST_CLASSES = (
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle-boot",
)  # fmt: skip
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def ensure_fashion_mnist() -> Path:
    """The unpacked dataset folder; runs ``make fashion-mnist`` when it is missing."""
    if not (FASHION_MNIST_DIR / _FILES["test"][0]).exists():
        subprocess.run(["make", "--no-print-directory", "fashion-mnist"], cwd=REPO_ROOT, check=True)
    return FASHION_MNIST_DIR


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion_mnist(split: str = "train", limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 N x 28 x 28, labels int64 N) of the ``train`` (60k) or ``test`` (10k) split."""
    if split not in _FILES:
        raise ValueError(f"split must be one of {sorted(_FILES)}")
    folder = ensure_fashion_mnist()
    images = _read_idx(folder / _FILES[split][0])
    labels = _read_idx(folder / _FILES[split][1]).astype(np.int64)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images, labels


def to_png(image: np.ndarray) -> bytes:
    """A uint8 grey (H x W) or RGB (H x W x 3) array as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def decode_for_encoder(data: bytes, size: int = 224) -> np.ndarray:
    """What the report pipeline feeds the encoder for these bytes."""
    from service.images.decode import decode_image

    return decode_image(data, size=size).pixels


def digits() -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 N x 8 x 8 — ink dark on white, labels) from scikit-learn's digits."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    ink = np.clip(bunch.images * 16.0, 0, 255).astype(np.uint8)
    return (255 - ink).astype(np.uint8), bunch.target.astype(np.int64)


def photos() -> dict[str, np.ndarray]:
    """Real RGB photos bundled with scikit-image and scikit-learn, uint8 H x W x 3."""
    import skimage.data as data
    from sklearn.datasets import load_sample_images

    out: dict[str, np.ndarray] = {}
    sample = load_sample_images()
    for path, image in zip(sample.filenames, sample.images, strict=True):
        out[Path(path).stem] = image
    for name in ("astronaut", "chelsea", "coffee", "rocket", "camera", "coins", "moon"):
        image = getattr(data, name)()
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        out[name] = np.ascontiguousarray(image[..., :3])
    return out
