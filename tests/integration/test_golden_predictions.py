"""The exported encoder is judged by what it predicts on real photos, in-process and via Triton."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from tests.golden_photos import golden_failures, golden_images, top5_names

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = REPO / "model_repository"
LABELS = (MODEL_DIR / "image_encoder" / "imagenet_labels.txt").read_text().splitlines()


def test_label_file_has_one_name_per_imagenet_class():
    assert len(LABELS) == 1000
    assert LABELS[0] == "tench" and LABELS[967] == "espresso" and LABELS[504] == "coffee mug"
    assert all(name.strip() == name and name for name in LABELS)


def test_onnx_file_in_process_gives_acceptable_top5():
    import onnxruntime as ort

    onnx_path = MODEL_DIR / "image_encoder" / "1" / "model.onnx"
    names, images = golden_images()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"images": images})
    assert golden_failures(names, top5_names(logits, LABELS)) == []


def test_round_one_export_fails_the_golden_check(tmp_path):
    """The check can fail: the Swish graph of round 1 is caught by it."""
    import onnxruntime as ort

    sys.path.insert(0, str(MODEL_DIR))
    import export_image_encoder

    wrong = export_image_encoder.export(
        tmp_path / "swish.onnx", activation="swish", normalisation="imagenet"
    )
    names, images = golden_images()
    session = ort.InferenceSession(str(wrong), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"images": images})
    failures = golden_failures(names, top5_names(logits, LABELS))
    assert any(f.startswith("coffee") for f in failures), failures


@pytest.mark.parametrize(
    ("variant", "expected_failures"),
    # Lite2 misses the daisy at its native 260 x 260 too (honeycomb, stinkhorn, ...): measured
    # and recorded in the README; any other miss would be a new failure.
    [("lite1", set()), ("lite2", {"flower"})],
)
def test_other_lite_variants_export_and_pass_the_golden_check(tmp_path, variant, expected_failures):
    """``--variant lite1/lite2``: the same exporter, the same 224 wire input, judged the same way."""
    import onnxruntime as ort

    sys.path.insert(0, str(MODEL_DIR))
    import export_image_encoder

    path = export_image_encoder.export(tmp_path / f"{variant}.onnx", variant=variant)
    names, images = golden_images()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    embedding, logits = session.run(["embedding", "logits"], {"images": images})
    failures = golden_failures(names, top5_names(logits, LABELS))
    assert {f.split(":")[0] for f in failures} == expected_failures, failures
    assert np.allclose(np.linalg.norm(embedding, axis=1), 1.0, atol=1e-4)


@pytest.mark.integration
async def test_live_triton_gives_acceptable_top5_with_class_names(triton_url):
    from service.inference import TritonEncoder

    names, images = golden_images()
    encoder = TritonEncoder(triton_url, batch_size=8)
    try:
        result = await encoder.encode(images)
        served_names = await encoder.class_names()
    finally:
        await encoder.close()
    assert served_names == LABELS  # the names Triton serves are the shipped file's
    top5 = top5_names(result.logits, served_names)
    assert golden_failures(names, top5) == []
    assert top5[names.index("coffee")][0] in {"espresso", "coffee mug", "tea cup"}
    assert np.all(np.isfinite(result.embeddings))
