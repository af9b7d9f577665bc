"""``service.analysis.reference``: cross pairs with a reference set, leakage into its evaluation
split, label conflicts — on vectors whose answers are known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from service.analysis.reference import (
    ReferenceColumns,
    cross_pairs,
    is_leak,
    match_reference,
)
from service.errors import InvalidInput


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def reference_columns(m: int, splits: list[str | None]) -> ReferenceColumns:
    return ReferenceColumns(
        ids=[f"r{j}" for j in range(m)],
        uris=[f"https://data.example/r{j}.png" for j in range(m)],
        labels=[str(j % 3) for j in range(m)],
        splits=splits,
        byte_hashes=[f"b{j}" for j in range(m)],
        pixel_hashes=[f"p{j}" for j in range(m)],
    )


def test_cross_pairs_equal_brute_force_across_tiles(monkeypatch):
    import service.analysis.reference as reference

    monkeypatch.setattr(reference, "TILE_ROWS", 7)  # many tiles, ragged edges
    rng = np.random.default_rng(0)
    q = unit(rng.normal(size=(40, 16)))
    b = unit(np.vstack([q[:10] + rng.normal(0, 0.05, (10, 16)), rng.normal(size=(25, 16))]))
    rows, refs, sims = cross_pairs(q, b, threshold=0.8)
    full = q @ b.T
    want = {(int(i), int(j)) for i, j in zip(*np.nonzero(full >= 0.8), strict=True)}
    assert {(int(i), int(j)) for i, j in zip(rows, refs, strict=True)} == want
    assert len(want) >= 10  # the planted near copies are there
    np.testing.assert_allclose(sims, full[rows, refs], rtol=1e-5)


def test_cross_pairs_refuse_a_useless_threshold():
    x = unit(np.ones((30, 4)))
    with pytest.raises(InvalidInput):
        cross_pairs(x, x, threshold=0.5, max_pairs=100)


@pytest.mark.parametrize(
    ("new", "ref", "leak"),
    [
        ("train", "test", True),
        (None, "test", True),  # a new batch without splits is taken as training data
        ("test", "test", False),
        ("TEST", "test", False),
        ("test", "train", True),  # new test items copying reference training items
        ("train", "train", False),
        ("train", None, False),  # the reference item's role is unknown
        (None, "train", False),
        ("val", "validation", True),
    ],
)
def test_leak_rule(new, ref, leak):
    assert is_leak(new, ref) is leak


def test_match_reference_finds_planted_copies_leakage_and_conflicts():
    rng = np.random.default_rng(1)
    m = 60
    ref_desc = unit(rng.normal(size=(m, 32)))
    ref = reference_columns(m, ["test" if j % 4 == 0 else "train" for j in range(m)])
    # new items: 0-3 near copies of r0, r1, r4, r5; 4 an exact byte copy of r8; 5-19 unrelated
    near_sources = [0, 1, 4, 5]
    new_desc = unit(
        np.vstack(
            [
                ref_desc[near_sources] + rng.normal(0, 0.02, (4, 32)),
                rng.normal(size=(16, 32)),
            ]
        )
    )
    n = new_desc.shape[0]
    byte_hashes = [f"n{i}" for i in range(n)]
    byte_hashes[4] = "b8"
    labels = [str(j % 3) for j in near_sources] + ["2"] + [None] * 15  # r8 is "2"
    labels[1] = "2"  # r1 is labelled "1": a conflict
    result = match_reference(
        new_desc,
        ref_desc,
        ids=[f"n{i}" for i in range(n)],
        splits=[None] * n,
        labels=labels,
        byte_hashes=byte_hashes,
        pixel_hashes=[None] * n,
        reference=ref,
        threshold=0.9,
        source="collection:train-v3",
    )
    by_new = {p.id: p for p in result.pairs}
    assert set(result.copied) == {"n0", "n1", "n2", "n3", "n4"}
    assert [by_new[f"n{i}"].reference_id for i in range(4)] == ["r0", "r1", "r4", "r5"]
    assert by_new["n4"].evidence == "same_bytes" and by_new["n4"].reference_id == "r8"
    assert by_new["n4"].similarity == 1.0
    assert by_new["n0"].evidence == "near" and 0.9 <= by_new["n0"].similarity <= 1.0
    assert by_new["n0"].reference_uri == "https://data.example/r0.png"
    # r0, r4 and r8 are test items: their copies leak (new items have no split)
    assert result.leakage.items == ["n0", "n2", "n4"]
    assert result.leakage.by_splits == {"unspecified->test": 3}
    assert result.label_conflicts == ["n1"]
    assert result.by_reference_split == {"test": 3, "train": 2}
    assert result.reference_items == m and result.pair_count == 5
    assert result.pairs[0].similarity >= result.pairs[-1].similarity


def test_match_reference_with_an_empty_reference_and_bad_columns():
    x = unit(np.ones((3, 4)))
    empty = reference_columns(0, [])
    result = match_reference(
        x, np.zeros((0, 4), np.float32), ids=["a", "b", "c"], splits=[None] * 3,
        labels=[None] * 3, byte_hashes=["h"] * 3, pixel_hashes=[None] * 3, reference=empty,
        threshold=0.9, source="job:x",
    )  # fmt: skip
    assert result.pair_count == 0 and result.copied == [] and result.leakage.items == []
    with pytest.raises(InvalidInput):
        match_reference(
            x, x, ids=["a"], splits=[None] * 3, labels=[None] * 3, byte_hashes=[None] * 3,
            pixel_hashes=[None] * 3, reference=reference_columns(3, [None] * 3), threshold=0.9,
            source="job:x",
        )  # fmt: skip
