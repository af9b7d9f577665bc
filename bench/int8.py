"""INT8 quantisation of the encoder, measured before deciding: speed and agreement with FP32.

Three INT8 versions of the served ONNX graph, each run in-process on the same batch as the FP32
graph, alternating (ONNX Runtime, 2 intra-op threads, batch 32):

- **dynamic**: ``quantize_dynamic`` (UInt8 weights, activations quantised at run time);
- **static QDQ** and **static QOperator**: ``quantize_static`` after ``quant_pre_process``,
  weights per channel (QInt8), activations (QUInt8) calibrated with min-max on
  ``--calibration`` Fashion-MNIST *train* images plus every other golden photo — none of the
  images the agreement is measured on. EfficientNet-Lite was designed to survive post-training
  quantisation (ReLU6, no squeeze-excite), so static quantisation is the fair test.

Printed per version: images/s of each, their ratio, how often the INT8 top-1 ImageNet class
matches FP32's on 200 Fashion-MNIST *test* images and on the golden photos, how often FP32's
top-1 is in INT8's top 5, and the cosine between the two embeddings. Speed is what decides on a
CPU without VNNI (``machine_line`` prints the CPU's INT8 dot-product flags).

Run: ``.venv/bin/python -m bench.int8 [--size 224] [--calibration 96]``.
"""

from __future__ import annotations

import argparse
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


def int8_dot_flags() -> str:
    """The CPU's INT8 dot-product instructions (what makes INT8 convolutions fast on x86)."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "unknown"
    found = sorted(f for f in ("avx512_vnni", "avx_vnni", "amx_int8") if f in flags)
    return ", ".join(found) or f"none (avx2: {'yes' if 'avx2' in flags else 'no'})"


def quantised_models(folder: Path, calibration: np.ndarray) -> dict[str, Path]:
    """The three INT8 graphs of the served model, written under ``folder``."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self.start = 0

        def get_next(self):
            if self.start >= len(calibration):
                return None
            batch = calibration[self.start : self.start + 8]
            self.start += 8
            return {"images": batch}

    out = {"dynamic": folder / "dynamic.onnx"}
    quantize_dynamic(str(ONNX_PATH), str(out["dynamic"]), weight_type=QuantType.QUInt8)
    prepared = folder / "prepared.onnx"
    quant_pre_process(str(ONNX_PATH), str(prepared), skip_symbolic_shape=True)
    for name, fmt in (("static QDQ", QuantFormat.QDQ), ("static QOperator", QuantFormat.QOperator)):
        out[name] = folder / f"{name.replace(' ', '_')}.onnx"
        quantize_static(
            str(prepared), str(out[name]), Batches(), quant_format=fmt, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            op_types_to_quantize=["Conv", "MatMul", "Gemm"],
            calibrate_method=CalibrationMethod.MinMax,
        )  # fmt: skip
    return out


def session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def agreement(fp32, int8, x: np.ndarray) -> str:
    e32, l32 = fp32.run(["embedding", "logits"], {"images": x})
    e8, l8 = int8.run(["embedding", "logits"], {"images": x})
    top1 = float(np.mean(l32.argmax(1) == l8.argmax(1)))
    top5 = np.argsort(-l8, axis=1)[:, :5]
    in_top5 = float(np.mean([l32[i].argmax() in top5[i] for i in range(len(x))]))
    cos = np.sum(e32 * e8, axis=1) / (np.linalg.norm(e32, axis=1) * np.linalg.norm(e8, axis=1))
    return (f"top-1 agreement {top1:.3f}, FP32 top-1 in INT8 top-5 {in_top5:.3f}, "
            f"embedding cosine mean {cos.mean():.4f} min {cos.min():.4f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--calibration", type=int, default=96, help="FM train images")
    args = parser.parse_args(argv)
    print(machine_line())
    print(f"INT8 dot-product instructions: {int8_dot_flags()}")
    fm, _ = fashion_mnist("test", 200)
    batch = np.stack([decode_for_encoder(to_png(x), args.size) for x in fm])
    golden_photos = list(photos().values())
    golden = np.stack([decode_for_encoder(to_png(p), args.size) for p in golden_photos])
    train, _ = fashion_mnist("train", args.calibration)
    calibration = np.concatenate(
        [np.stack([decode_for_encoder(to_png(x), args.size) for x in train]), golden[::2]]
    )
    with tempfile.TemporaryDirectory() as tmp:
        paths = quantised_models(Path(tmp), calibration)
        fp32 = session(ONNX_PATH)
        for name, path in paths.items():
            int8 = session(path)
            speeds = [(images_per_second(fp32, batch[:32]), images_per_second(int8, batch[:32]))
                      for _ in range(2)]  # fmt: skip
            f32, i8 = max(s[0] for s in speeds), max(s[1] for s in speeds)
            print(f"\n{name}: FP32 {f32:.1f} images/s, INT8 {i8:.1f} images/s, ratio "
                  f"{i8 / f32:.2f} (at {args.size} px)")  # fmt: skip
            print(f"  Fashion-MNIST test (200): {agreement(fp32, int8, batch)}")
            print(f"  golden photos ({len(golden)}): {agreement(fp32, int8, golden)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
