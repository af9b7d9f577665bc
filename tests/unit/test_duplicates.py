"""find_duplicates on hand-built embeddings where the answer is known: thresholds, chains,
exact copies, keep/drop, leakage across splits, label conflicts, validation."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from service.analysis.duplicates import (
    DuplicatesResult,
    check_duplicates,
    choose_keep,
    connected_groups,
    exact_groups,
    find_duplicates,
)
from service.errors import InvalidInput


def on_circle(*angles: float, dims: int = 8) -> np.ndarray:
    """cos(a_i - a_j) is the cosine between rows i and j."""
    a = np.array(angles)
    x = np.zeros((a.size, dims), np.float32)
    x[:, 0], x[:, 1] = np.cos(a), np.sin(a)
    return x


def test_pair_just_above_is_found_and_just_below_is_not():
    # cos(0.45) = 0.9004 >= 0.9; cos(0.452) = 0.89956 < 0.9 (items 2, 3)
    x = on_circle(0.0, 0.45, 2.0, 2.452)
    r = find_duplicates(x, ids=["a", "b", "c", "d"], threshold=0.9)
    assert [(p.a, p.b) for p in r.near_pairs] == [("a", "b")]
    assert r.near_pairs[0].similarity == pytest.approx(np.cos(0.45), abs=1e-6)
    assert [g.members for g in r.groups] == [["a", "b"]]
    assert r.droppable == 1


def test_chain_forms_one_group_even_when_its_ends_differ():
    # 0~1 and 1~2 at cos(0.4) = 0.92, but 0 vs 2 is cos(0.8) = 0.70
    x = on_circle(0.0, 0.4, 0.8, 2.5)
    r = find_duplicates(x, threshold=0.9)
    assert r.near_pair_count == 2
    assert [g.members for g in r.groups] == [["0", "1", "2"]]
    assert r.groups[0].drop == ["1", "2"] and r.groups[0].keep == "0"
    assert r.droppable == 2


def test_long_chain_of_look_alikes_is_not_one_group():
    # each neighbour at cos(0.4) = 0.92; 0 vs 4 is cos(1.6) = -0.03: connected components would
    # make one 5-member group; star linkage gives groups around representatives 1 and 3
    x = on_circle(0.0, 0.4, 0.8, 1.2, 1.6)
    r = find_duplicates(x, threshold=0.9)
    assert r.near_pair_count == 4
    assert [g.members for g in r.groups] == [["0", "1", "2"], ["3", "4"]]
    sims = x @ x.T
    for g in r.groups:  # every member is a near copy of some member it was grouped with
        idx = [int(m) for m in g.members]
        assert max(len(idx), 2) == len(idx) and all(
            max(sims[i, j] for j in idx if j != i) >= 0.9 for i in idx
        )


def test_pair_limit_raises_the_threshold_with_a_note_instead_of_failing():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(1, 16))
    x = base + 0.3 * rng.normal(size=(40, 16))  # ~600 pairs above 0.5, a spread of similarities
    x[:4] = rng.normal(size=(4, 16))
    x[4] = x[5] + 1e-4  # one pair much closer than the rest
    r = find_duplicates(x, threshold=0.5, max_pairs=50, byte_hashes=["h"] * 2 + [None] * 38)
    assert r.note is not None and "raised" in r.note
    assert r.threshold > 0.5 and r.near_pair_count <= 50
    assert r.exact_byte_groups == [["0", "1"]]  # exact groups survive the degradation


def test_exact_copies_with_different_ids_are_reported_by_kind():
    x = on_circle(0.0, 0.0, 0.0, 1.0, 2.0, 3.0)
    r = find_duplicates(
        x,
        ids=["orig", "copy", "png", "u", "v", "w"],
        byte_hashes=["h1", "h1", "h2", None, None, "h9"],
        pixel_hashes=["p1", "p1", "p1", None, "", "p9"],
        threshold=0.95,
    )
    assert r.exact_byte_groups == [["orig", "copy"]]
    assert r.exact_pixel_groups == [["orig", "copy", "png"]]  # a re-encode: same pixels only
    assert [g.members for g in r.groups] == [["orig", "copy", "png"]]
    assert r.groups[0].evidence == ["same_bytes", "same_pixels", "near"]


def test_exact_evidence_groups_items_whose_descriptors_differ():
    # identical bytes but descriptors far apart (e.g. a caller's noisy embedding): still a group
    x = on_circle(0.0, 2.0, 4.0)
    r = find_duplicates(x, byte_hashes=["h", None, "h"], threshold=0.9)
    assert r.near_pair_count == 0
    assert [g.members for g in r.groups] == [["0", "2"]]
    assert r.groups[0].evidence == ["same_bytes"]


def test_group_spanning_train_and_test_is_leakage_and_keeps_the_test_copy():
    x = on_circle(0.0, 0.01, 0.02, 1.5, 1.51, 3.0, 3.01)
    splits = ["train", "test", "train", "train", "val", "test", "test"]
    r = find_duplicates(x, ids=list("abcdefg"), splits=splits, threshold=0.99)
    assert [g.members for g in r.groups] == [["a", "b", "c"], ["d", "e"], ["f", "g"]]
    assert [g.keep for g in r.groups] == ["b", "e", "f"]
    assert r.groups[0].drop == ["a", "c"]
    assert r.groups[0].splits == ["test", "train"]
    assert r.leakage.groups == [0, 1]  # group 2 is within test only
    assert r.leakage.items == ["a", "b", "c", "d", "e"]
    by_pair = {tuple(p.splits): (p.groups, p.items) for p in r.leakage.by_split_pair}
    assert by_pair == {("test", "train"): (1, 3), ("train", "val"): (1, 2)}
    # f and g are both test items: evaluation items are never suggested for dropping
    assert r.groups[2].keep == "f" and r.groups[2].drop == []
    assert r.droppable == 3


def test_group_over_three_splits_counts_every_split_pair():
    x = on_circle(0.0, 0.01, 0.02, 2.0)
    r = find_duplicates(x, splits=["train", "val", "test", "train"], threshold=0.99)
    by_pair = {tuple(p.splits): (p.groups, p.items) for p in r.leakage.by_split_pair}
    assert by_pair == {("test", "train"): (1, 2), ("test", "val"): (1, 2), ("train", "val"): (1, 2)}
    assert r.groups[0].keep == "2"  # the test copy


def test_label_conflicts_and_majority_label_is_kept():
    x = on_circle(0.0, 0.01, 0.02, 1.0, 1.01, 2.0, 2.01)
    labels = ["dog", "cat", "cat", 3, 3, "x", None]
    r = find_duplicates(x, labels=labels, threshold=0.99)
    assert len(r.label_conflicts) == 1
    conflict = r.label_conflicts[0]
    assert conflict.group == 0 and conflict.labels == {"cat": 2, "dog": 1}
    assert conflict.members == ["0", "1", "2"]
    assert r.groups[0].keep == "1"  # majority label "cat", first listed
    assert r.groups[0].labels == ["cat", "dog"]
    assert r.groups[1].labels == ["3"]  # integer labels compare as strings
    assert r.groups[2].keep == "5"  # the labelled member over the unlabelled one


def test_choose_keep_orders_split_then_label_then_input():
    splits = ["train", "custom", None, "train", "dev"]
    labels = ["a", "a", "a", "b", "b"]
    assert choose_keep([0, 1, 2, 3], splits, labels) == 0  # train beats custom and no split
    assert choose_keep([1, 2], splits, labels) == 1  # a named split beats none
    assert choose_keep([0, 3, 4], splits, labels) == 4  # dev (validation) beats train
    assert choose_keep([3, 0], ["train", "train"] * 2, ["b", "a", "a", "b"]) == 0


def test_near_pairs_listed_most_similar_first_and_capped():
    x = on_circle(0.0, 0.05, 0.1, 3.0, 3.01)
    r = find_duplicates(x, threshold=0.99, max_listed_pairs=2)
    assert r.near_pair_count == 4
    assert [(p.a, p.b) for p in r.near_pairs] == [("3", "4"), ("0", "1")]


def test_empty_and_single_item():
    r = find_duplicates(np.zeros((0, 4), np.float32))
    assert r.n_items == 0 and r.groups == [] and r.droppable == 0
    r = find_duplicates(np.ones((1, 4), np.float32), splits=["train"])
    assert r.n_items == 1 and r.near_pairs == [] and r.leakage.groups == []


def test_result_serialises_to_json():
    x = on_circle(0.0, 0.01, 2.0)
    r = find_duplicates(x, splits=["train", "test", None], labels=[1, 2, 1], threshold=0.99)
    body = msgspec.json.decode(msgspec.json.encode(r))
    assert body["groups"][0]["keep"] == "1"
    assert "outliers" not in body  # omitted until check_duplicates fills it
    assert msgspec.json.decode(msgspec.json.encode(r), type=DuplicatesResult) == r


def test_check_duplicates_adds_outliers_from_separate_embeddings():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(30, 6)) * 0.05 + np.array([1, 0, 0, 0, 0, 0])
    emb[7] = [0, 0, 0, 0, 0, 1]  # far from the rest
    desc = on_circle(*np.linspace(0, 6, 30))
    r = check_duplicates(desc, embeddings=emb, ids=[f"i{k}" for k in range(30)], outlier_k=5)
    assert [o.id for o in r.outliers.outliers] == ["i7"]
    with pytest.raises(InvalidInput) as err:
        check_duplicates(desc, embeddings=emb[:10])
    assert err.value.field == "embeddings"


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"ids": ["a", "b"]}, "ids", "2 entries for 3 items"),
        ({"ids": ["a", "b", "a"]}, "ids", "'a' appears more than once"),
        ({"splits": ["train"]}, "splits", "1 entries for 3 items"),
        ({"labels": [1, 2, 3, 4]}, "labels", "4 entries"),
        ({"byte_hashes": []}, "byte_hashes", "0 entries"),
        ({"pixel_hashes": ["x"]}, "pixel_hashes", "1 entries"),
        ({"threshold": 2.0}, "threshold", "[-1, 1]"),
    ],
)
def test_invalid_columns_and_options(kwargs, field, text):
    with pytest.raises(InvalidInput) as err:
        find_duplicates(on_circle(0.0, 1.0, 2.0), **kwargs)
    assert err.value.field == field
    assert text in err.value.detail


def test_invalid_embeddings_name_the_row():
    x = on_circle(0.0, 1.0, 2.0)
    x[2] = 0.0
    with pytest.raises(InvalidInput, match="all-zero row.*first at row 2"):
        find_duplicates(x)
    with pytest.raises(InvalidInput, match="2-D"):
        find_duplicates(np.ones(4))


def test_exact_groups_and_components_helpers():
    assert exact_groups(["x", None, "y", "x", "y", "z"]) == [[0, 3], [2, 4]]
    groups = connected_groups(6, np.array([4, 0, 1]), np.array([5, 1, 2]))
    assert groups == [[0, 1, 2], [4, 5]]


def test_exact_units_join_overlapping_exact_groups_transitively():
    from service.analysis.duplicates import exact_units

    # byte group {1, 4} and pixel group {4, 6} overlap: 1, 4, 6 are one content
    units = exact_units(7, [[1, 4], [4, 6], [2, 3]])
    assert units.tolist() == [0, 1, 2, 2, 1, 5, 1]
    assert exact_units(3, []).tolist() == [0, 1, 2]
