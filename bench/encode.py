"""Images/s through the full Triton gRPC path vs ONNX Runtime in-process, same batches, same run.

The project path: ``TritonEncoder.encode`` -> gRPC -> tritonserver (CPU) -> Python backend ->
ONNX Runtime. The baseline: the same ONNX file in an in-process ONNX Runtime session. Both get
the same uint8 batches of 32 real-photo crops; rounds alternate (Triton, in-process, Triton, ...)
so background load hits both alike; the median round is reported.

    .venv/bin/python -m bench.encode [--batches 6] [--rounds 3] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import numpy as np

from bench._common import ONNX_PATH, machine_line
from service.inference import TritonEncoder
from service.inference.local_triton import LocalTriton


def photo_batch(n: int, seed: int = 0) -> np.ndarray:
    """n random 224x224 crops of scikit-learn's and scikit-image's bundled photos."""
    from PIL import Image
    from skimage import data
    from sklearn.datasets import load_sample_images

    photos = list(load_sample_images().images) + [data.chelsea(), data.coffee(), data.astronaut()]
    rng = np.random.default_rng(seed)
    out = np.empty((n, 224, 224, 3), np.uint8)
    for i in range(n):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        side = int(rng.integers(224, min(h, w) + 1))
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = Image.fromarray(photo[top : top + side, left : left + side]).resize((224, 224))
        out[i] = np.asarray(crop.convert("RGB"))
    return out


def in_process_rate(session, batches: list[np.ndarray]) -> float:
    started = time.perf_counter()
    for batch in batches:
        session.run(["embedding", "logits"], {"images": batch})
    return sum(len(b) for b in batches) / (time.perf_counter() - started)


async def triton_rate(encoder: TritonEncoder, batches: list[np.ndarray]) -> float:
    started = time.perf_counter()
    for batch in batches:
        await encoder.encode(batch)
    return sum(len(b) for b in batches) / (time.perf_counter() - started)


async def main_async(args) -> None:
    import onnxruntime as ort

    images = photo_batch(args.batches * args.batch_size)
    batches = [images[i : i + args.batch_size] for i in range(0, len(images), args.batch_size)]
    session = ort.InferenceSession(str(ONNX_PATH), providers=["CPUExecutionProvider"])
    triton = LocalTriton().start()
    encoder = TritonEncoder(triton.grpc_url, batch_size=args.batch_size, max_inflight=1)
    try:
        await encoder.encode(batches[0])  # warm-up both paths
        session.run(["embedding", "logits"], {"images": batches[0]})
        triton_rates, local_rates = [], []
        for _ in range(args.rounds):
            triton_rates.append(await triton_rate(encoder, batches))
            local_rates.append(in_process_rate(session, batches))
    finally:
        await encoder.close()
        triton.stop()
    t, o = statistics.median(triton_rates), statistics.median(local_rates)
    print(machine_line())
    print(f"batch size {args.batch_size}, {len(images)} images per round, {args.rounds} rounds")
    print(
        f"triton gRPC path     : {t:7.1f} images/s  (rounds: {', '.join(f'{r:.1f}' for r in triton_rates)})"
    )
    print(
        f"in-process ONNX RT   : {o:7.1f} images/s  (rounds: {', '.join(f'{r:.1f}' for r in local_rates)})"
    )
    print(f"ratio triton/in-proc : {t / o:.2f}  (target >= 0.80)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
