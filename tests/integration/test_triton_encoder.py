"""The real encoder through the real Triton over gRPC."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data

from service.inference import TritonEncoder

pytestmark = pytest.mark.integration
CAT_CLASSES = range(281, 286)  # ImageNet: tabby, tiger cat, Persian, Siamese, Egyptian cat


def centre_crop_224(array: np.ndarray) -> np.ndarray:
    img = Image.fromarray(array).convert("RGB")
    scale = 224 / min(img.size)
    img = img.resize((round(img.width * scale), round(img.height * scale)), Image.BICUBIC)
    left, top = (img.width - 224) // 2, (img.height - 224) // 2
    return np.asarray(img.crop((left, top, left + 224, top + 224)))


async def test_chelsea_is_a_cat_through_triton(triton_url):
    encoder = TritonEncoder(triton_url, batch_size=4)
    try:
        assert await encoder.is_model_ready()
        images = np.stack([centre_crop_224(data.chelsea()), centre_crop_224(data.coffee())])
        result = await encoder.encode(images, with_grid=True)
    finally:
        await encoder.close()
    assert result.embeddings.shape == (2, 2024) and result.embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(result.embeddings, axis=1), 1.0, rtol=1e-5)
    assert result.logits.shape == (2, 1000)
    assert result.feature_grid.shape == (2, 1280, 3, 3)
    assert int(result.logits[0].argmax()) in CAT_CLASSES
    assert int(result.logits[1].argmax()) not in CAT_CLASSES


async def test_batching_does_not_change_results_or_order(triton_url):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(7, 224, 224, 3), dtype=np.uint8)
    small = TritonEncoder(triton_url, batch_size=3, max_inflight=2)
    whole = TritonEncoder(triton_url, batch_size=64)
    try:
        a = await small.encode(images)
        b = await whole.encode(images)
        single = await whole.encode(images[4:5])
    finally:
        await small.close()
        await whole.close()
    np.testing.assert_allclose(a.embeddings, b.embeddings, atol=1e-4)
    np.testing.assert_allclose(a.logits, b.logits, atol=1e-3)
    np.testing.assert_allclose(single.embeddings[0], b.embeddings[4], atol=1e-4)
    assert not np.allclose(b.embeddings[0], b.embeddings[1])


async def test_unknown_model_is_unavailable_not_a_crash(triton_url):
    from service.errors import InferenceUnavailable

    encoder = TritonEncoder(triton_url, model="no_such_model", retries=0)
    try:
        assert not await encoder.is_model_ready()
        with pytest.raises(InferenceUnavailable):
            await encoder.encode(np.zeros((1, 224, 224, 3), np.uint8))
    finally:
        await encoder.close()
