"""The export step: ONNX output matches torch on a random uint8 batch (needs the export extra)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "model_repository"))
import export_image_encoder  # noqa: E402


def test_onnx_matches_torch_within_1e_4():
    assert importlib.util.find_spec("torch") is not None, "make test installs the export extra"
    onnx_path = export_image_encoder.DEFAULT_OUTPUT
    assert onnx_path.exists(), "make test builds the model first"
    diffs = export_image_encoder.max_abs_difference_vs_torch(onnx_path, batch=3, seed=7)
    assert set(diffs) == {"embedding", "logits", "feature_grid"}
    assert max(diffs.values()) < 1e-4, diffs
