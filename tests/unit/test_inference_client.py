"""The encoder client's pure parts and its retry/error mapping, with a fake gRPC client at the seam."""

from __future__ import annotations

import random

import numpy as np
import pytest
from tritonclient.utils import InferenceServerException

from service.errors import InferenceFailed, InferenceTimeout, InferenceUnavailable, InvalidInput
from service.inference.client import (
    TritonEncoder,
    backoff_delays,
    batch_slices,
    l2_normalise,
    triton_error_kind,
    validate_image_batch,
)


def test_batch_slices_cover_range_in_order():
    parts = batch_slices(70, 32)
    assert [(s.start, s.stop) for s in parts] == [(0, 32), (32, 64), (64, 70)]
    assert batch_slices(0, 8) == []
    with pytest.raises(ValueError):
        batch_slices(3, 0)


def test_backoff_delays_are_jittered_and_capped():
    delays = backoff_delays(6, base=0.1, cap=0.5, rng=random.Random(1))
    assert len(delays) == 6
    for k, d in enumerate(delays):
        assert 0.0 <= d <= min(0.5, 0.1 * 2**k)
    assert len(set(delays)) == 6  # jitter: not a fixed schedule


def test_l2_normalise_rows_and_zero_row():
    rows = np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32)
    out = l2_normalise(rows)
    np.testing.assert_allclose(out[0], [0.6, 0.8], rtol=1e-6)
    np.testing.assert_array_equal(out[1], [0.0, 0.0])


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        ("StatusCode.UNAVAILABLE", "failed to connect", InferenceUnavailable),
        ("StatusCode.DEADLINE_EXCEEDED", "Deadline Exceeded", InferenceTimeout),
        (
            "StatusCode.INTERNAL",
            "Request for unknown model: 'x' is not found",
            InferenceUnavailable,
        ),
        ("StatusCode.INVALID_ARGUMENT", "unexpected shape for input 'images'", InferenceFailed),
    ],
)
def test_triton_error_kind(status, message, kind):
    assert triton_error_kind(status, message) is kind


def test_validate_image_batch_rejects_wrong_dtype_and_shape():
    with pytest.raises(InvalidInput, match="uint8"):
        validate_image_batch(np.zeros((1, 224, 224, 3), np.float32))
    with pytest.raises(InvalidInput, match="224"):
        validate_image_batch(np.zeros((1, 100, 224, 3), np.uint8))
    ok = validate_image_batch(np.zeros((2, 224, 224, 3), np.uint8))
    assert ok.shape == (2, 224, 224, 3)


class FakeResult:
    def __init__(self, outputs):
        self._outputs = outputs

    def as_numpy(self, name):
        return self._outputs[name]


class FlakyClient:
    """Fails with UNAVAILABLE ``failures`` times, then echoes the batch's first pixel as output."""

    def __init__(self, failures: int, status: str = "StatusCode.UNAVAILABLE"):
        self.failures = failures
        self.status = status
        self.calls = 0
        self.batch_sizes: list[int] = []

    async def infer(self, name, inputs, model_version, outputs, client_timeout):
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise InferenceServerException(msg="connect failed", status=self.status)
        images = inputs[0]._get_content() if hasattr(inputs[0], "_get_content") else None
        n = inputs[0].shape()[0]
        self.batch_sizes.append(n)
        marker = np.frombuffer(images, dtype=np.uint8).reshape(n, -1)[:, 0].astype(np.float32)
        emb = np.zeros((n, 1280), np.float32)
        emb[:, 0] = marker + 1.0
        return FakeResult({"embedding": emb, "logits": np.tile(marker[:, None], (1, 1000))})

    async def close(self):
        pass


def make_encoder(fake, **kw) -> TritonEncoder:
    enc = TritonEncoder("127.0.0.1:1", backoff_base_s=0.001, backoff_cap_s=0.002, seed=0, **kw)
    enc._client = fake
    return enc


async def test_encode_retries_unavailable_then_succeeds_and_keeps_order():
    fake = FlakyClient(failures=2)
    enc = make_encoder(fake, retries=3, batch_size=2, max_inflight=1)
    images = np.zeros((5, 224, 224, 3), np.uint8)
    images[:, 0, 0, 0] = [10, 20, 30, 40, 50]
    outcomes = []
    enc.on_call = lambda op, s, outcome: outcomes.append(outcome)
    result = await enc.encode(images)
    assert fake.calls == 2 + 3  # two failed attempts, then 3 batches
    assert fake.batch_sizes == [2, 2, 1]
    np.testing.assert_array_equal(result.logits[:, 0], [10, 20, 30, 40, 50])
    np.testing.assert_allclose(np.linalg.norm(result.embeddings, axis=1), 1.0, rtol=1e-6)
    assert outcomes.count("inference_unavailable") == 2


async def test_encode_gives_up_after_bounded_retries():
    fake = FlakyClient(failures=100)
    enc = make_encoder(fake, retries=2)
    with pytest.raises(InferenceUnavailable):
        await enc.encode(np.zeros((1, 224, 224, 3), np.uint8))
    assert fake.calls == 3


async def test_non_retryable_error_is_not_retried():
    fake = FlakyClient(failures=5, status="StatusCode.INVALID_ARGUMENT")
    enc = make_encoder(fake, retries=3)
    with pytest.raises(InferenceFailed):
        await enc.encode(np.zeros((1, 224, 224, 3), np.uint8))
    assert fake.calls == 1
