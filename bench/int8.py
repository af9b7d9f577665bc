"""INT8 quantisation of the encoder, measured before deciding: speed and agreement with FP32.

``onnxruntime.quantization.quantize_dynamic`` (UInt8 weights) of the served ONNX graph, run
in-process on the same batch as the FP32 graph, alternating; printed: images/s of each, their
ratio, and how often the INT8 top-1 ImageNet class matches FP32's on the golden photos and on
200 Fashion-MNIST images, plus the cosine between the two embeddings.

Run: ``.venv/bin/python -m bench.int8``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from bench._common import ONNX_PATH, machine_line
from bench.real_data import decode_for_encoder, fashion_mnist, photos, to_png


def images_per_second(session, batch: np.ndarray, rounds: int = 3) -> float:
    session.run(None, {"images": batch[:2]})
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        session.run(None, {"images": batch})
        best = max(best, len(batch) / (time.perf_counter() - started))
    return best


def main() -> int:
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    print(machine_line())
    fm, _ = fashion_mnist("test", 200)
    batch = np.stack([decode_for_encoder(to_png(x)) for x in fm])
    golden = np.stack([decode_for_encoder(to_png(p)) for p in photos().values()])
    with tempfile.TemporaryDirectory() as tmp:
        int8_path = Path(tmp) / "int8.onnx"
        quantize_dynamic(str(ONNX_PATH), str(int8_path), weight_type=QuantType.QUInt8)
        fp32 = ort.InferenceSession(str(ONNX_PATH), providers=["CPUExecutionProvider"])
        int8 = ort.InferenceSession(str(int8_path), providers=["CPUExecutionProvider"])
        speed = {
            "fp32": images_per_second(fp32, batch[:32]),
            "int8": images_per_second(int8, batch[:32]),
        }
        outs = {}
        for name, session in (("fp32", fp32), ("int8", int8)):
            outs[name] = [
                session.run(["embedding", "logits"], {"images": x}) for x in (batch, golden)
            ]
    print(f"fp32 {speed['fp32']:.1f} img/s, int8 {speed['int8']:.1f} img/s, "
          f"ratio int8/fp32 {speed['int8'] / speed['fp32']:.2f}")  # fmt: skip
    for label, k in (("Fashion-MNIST (200)", 0), ("golden photos", 1)):
        e32, l32 = outs["fp32"][k]
        e8, l8 = outs["int8"][k]
        agree = float(np.mean(l32.argmax(1) == l8.argmax(1)))
        cos = np.sum(e32 * e8, axis=1) / (np.linalg.norm(e32, axis=1) * np.linalg.norm(e8, axis=1))
        print(f"{label}: top-1 agreement {agree:.3f}; embedding cosine mean {cos.mean():.4f}, "
              f"min {cos.min():.4f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
