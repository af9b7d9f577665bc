"""Triton model instances x ONNX Runtime threads on this machine: which layout encodes fastest?

The same Fashion-MNIST images (decoded by the service's decoder at ``--size`` px) go through
``TritonEncoder.encode`` (batch 32) to the local Triton started with each layout of the
model repository's ``instance_group`` / ``intra_op_num_threads`` (a temporary copy of
``model_repository`` with the config rewritten; the ONNX file is linked), and with
``--inflight`` requests in flight. Rounds alternate the layouts so background load hits them
alike; the median round is printed with the ratio to the first layout (the previous default:
one instance, ONNX Runtime's default thread count).

Run: ``.venv/bin/python -m bench.triton_instances [--images 512 --size 128 --rounds 2]``
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench._common import REPO_ROOT, machine_line

# name: (instances, intra-op threads; 0 = ONNX Runtime's default), client requests in flight
LAYOUTS: dict[str, tuple[int, int, int]] = {
    "1 instance x default threads, 2 in flight (previous)": (1, 0, 2),
    "1 instance x 2 threads, 2 in flight": (1, 2, 2),
    "2 instances x 1 thread, 2 in flight": (2, 1, 2),
    "2 instances x 1 thread, 4 in flight": (2, 1, 4),
}


def layout_repository(into: Path, instances: int, intra: int) -> Path:
    """A copy of the model repository whose config has this layout (the ONNX file linked)."""
    source = REPO_ROOT / "model_repository" / "image_encoder"
    target = into / "image_encoder"
    (target / "1").mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file():
            shutil.copy(path, target / path.name)
    shutil.copy(source / "1" / "model.py", target / "1" / "model.py")
    (target / "1" / "model.onnx").symlink_to((source / "1" / "model.onnx").resolve())
    config = (target / "config.pbtxt").read_text()
    config = re.sub(r"count: \d+", f"count: {instances}", config, count=1)
    config = re.sub(
        r'(key: "intra_op_num_threads"\s*value: \{ string_value: )"\d+"',
        rf'\1"{intra}"',
        config,
    )
    (target / "config.pbtxt").write_text(config)
    return into


async def encode_rate(url: str, images: np.ndarray, inflight: int) -> float:
    from service.inference import TritonEncoder

    encoder = TritonEncoder(url, batch_size=32, max_inflight=inflight, timeout_s=600)
    try:
        await encoder.encode(images[:64])  # warm-up
        started = time.perf_counter()
        await encoder.encode(images)
        return len(images) / (time.perf_counter() - started)
    finally:
        await encoder.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    from bench.real_data import decode_for_encoder, fashion_mnist, to_png
    from service.inference.local_triton import LocalTriton

    print(machine_line())
    raw, _ = fashion_mnist("test", args.images)
    images = np.stack([decode_for_encoder(to_png(x), size=args.size) for x in raw])
    rates: dict[str, list[float]] = {name: [] for name in LAYOUTS}
    for round_ in range(args.rounds):
        for name, (instances, intra, inflight) in LAYOUTS.items():
            with tempfile.TemporaryDirectory(prefix="imagelint-layout-") as tmp:
                triton = LocalTriton(
                    model_repository=layout_repository(Path(tmp), instances, intra)
                )
                triton.start(timeout=300)
                try:
                    rate = asyncio.run(encode_rate(triton.grpc_url, images, inflight))
                finally:
                    triton.stop()
            rates[name].append(rate)
            print(f"[{round_ + 1}] {name}: {rate:.1f} images/s", flush=True)
    first = statistics.median(next(iter(rates.values())))
    print(f"\n{args.images} images at {args.size} px, median of {args.rounds} rounds:")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:<55} {median:7.1f} images/s  {median / first:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
