"""Mislabel ranking on real embeddings: 300 rendered digits encoded by the real Triton over gRPC,
ten labels flipped; the flips rank near the top with the right suggested label."""

from __future__ import annotations

import numpy as np
import pytest

from bench._common import rendered_digits
from service.analysis.mislabels import rank_label_issues
from service.inference import TritonEncoder

pytestmark = pytest.mark.integration
N_IMAGES, N_FLIPS = 300, 10


async def test_flipped_digits_rank_near_the_top(triton_url):
    images, truth = rendered_digits(limit=N_IMAGES)
    encoder = TritonEncoder(triton_url, batch_size=32)
    try:
        encoded = await encoder.encode(images)
    finally:
        await encoder.close()
    rng = np.random.default_rng(0)
    flipped = rng.choice(N_IMAGES, N_FLIPS, replace=False)
    given = truth.copy()
    given[flipped] = (truth[flipped] + rng.integers(1, 10, N_FLIPS)) % 10

    result = rank_label_issues(
        [str(v) for v in given],
        class_names=[str(d) for d in range(10)],
        embeddings=encoded.embeddings,
        seed=0,
    )

    flips = set(flipped.tolist())
    top = result.candidates[: N_IMAGES // 10]
    found = [c for c in top if c.index in flips]
    assert len(found) >= 8, [c.index for c in top]
    assert sum(c.index in flips for c in result.candidates[:N_FLIPS]) >= 6
    right = sum(c.suggested_label == str(truth[c.index]) for c in found)
    assert right >= 0.75 * len(found)
    assert result.learnability.source == "probe"
    assert result.learnability.accuracy > 0.7  # against the noisy labels, out of sample
