"""Annotator agreement: Fleiss' kappa against the published worked example, Cohen's kappa by
hand and against scikit-learn, consensus and ties, disputed-item order, per-annotator figures."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from service.analysis.agreement import annotator_agreement, cohen_kappa, fleiss_kappa
from service.errors import InvalidInput

# Fleiss (1971) as worked on Wikipedia's "Fleiss' kappa" page: 10 subjects, 14 raters,
# 5 categories; P_bar = 0.378, P_e = 0.213, kappa = 0.210.
FLEISS_TABLE = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


def test_fleiss_kappa_matches_the_worked_example():
    assert fleiss_kappa(FLEISS_TABLE) == pytest.approx(0.20993, abs=5e-5)


def test_fleiss_kappa_through_anonymous_annotations():
    annotations = [
        [(None, f"c{j}") for j, count in enumerate(row) for _ in range(count)]
        for row in FLEISS_TABLE
    ]
    result = annotator_agreement(annotations)
    assert result.fleiss_kappa == pytest.approx(0.20993, abs=5e-5)
    assert result.mean_agreement == pytest.approx(0.378, abs=5e-4)
    assert result.annotators == [] and result.pairwise == []
    assert result.consensus[0] == "c4"


def test_fleiss_kappa_undefined_for_a_single_category():
    assert fleiss_kappa(np.array([[3], [2]])) is None


A = list("aabbcabcca")
B = list("abbbcaccca")


def test_cohen_kappa_by_hand_and_against_sklearn():
    # p_o = 8/10; marginals a:(4,3,3) b:(3,3,4) over (a, b, c) -> p_e = (12 + 9 + 12) / 100
    expected = (0.8 - 0.33) / (1 - 0.33)
    assert cohen_kappa(A, B) == pytest.approx(expected)
    assert cohen_kappa(A, B) == pytest.approx(cohen_kappa_score(A, B))


def test_pairwise_kappa_in_the_result_matches_sklearn():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=40)
    ann = {
        name: np.where(rng.random(40) < err, rng.integers(0, 3, 40), truth)
        for name, err in (("ann", 0.1), ("bob", 0.3), ("cyd", 0.6))
    }
    items = [
        [(name, f"k{ann[name][i]}") for name in ann if not (name == "cyd" and i >= 30)]
        for i in range(40)
    ]
    result = annotator_agreement(items, min_overlap=5)
    assert [(p.a, p.b, p.items) for p in result.pairwise] == [
        ("ann", "bob", 40),
        ("ann", "cyd", 30),
        ("bob", "cyd", 30),
    ]
    for pair in result.pairwise:
        n = pair.items
        expected = cohen_kappa_score(ann[pair.a][:n], ann[pair.b][:n])
        assert pair.kappa == pytest.approx(expected)
    assert annotator_agreement(items, min_overlap=31).pairwise[0].b == "bob"
    assert len(annotator_agreement(items, min_overlap=31).pairwise) == 1


def test_consensus_ties_and_disputed_order():
    items = [
        [("ann", "cat"), ("bob", "cat"), ("cyd", "cat")],  # unanimous
        [("ann", "cat"), ("bob", "dog"), ("cyd", "cat")],  # 2/3
        [("ann", "cat"), ("bob", "dog"), ("cyd", "fox")],  # full disagreement
        [("ann", "dog"), ("bob", "cat")],  # full disagreement and a tie
        [("ann", "owl")],  # one annotation: never disputed
        [],
    ]
    result = annotator_agreement(items, ids=list("abcdef"))
    assert result.consensus == ["cat", "cat", "cat", "cat", "owl", None]
    assert result.ties == 2  # item 2 (three-way) and item 3 (two-way)
    assert [d.index for d in result.disputed] == [2, 3, 1]
    assert result.full_disagreement_count == 2
    assert result.disputed[1].tie and result.disputed[1].tied_labels == ["cat", "dog"]
    assert result.disputed[2].agreement == pytest.approx(2 / 3)
    assert result.disputed[2].pairwise_agreement == pytest.approx(1 / 3)
    assert result.disputed[2].votes == {"cat": 2, "dog": 1}
    assert result.disputed[0].id == "c"
    assert (result.n_items, result.n_annotated, result.n_multi) == (6, 5, 4)


def test_given_label_breaks_ties_and_counts_disagreements():
    items = [[("ann", "dog"), ("bob", "cat")], [("ann", "fox"), ("bob", "fox")]]
    result = annotator_agreement(items, given_labels=["dog", "cat"])
    assert result.consensus == ["dog", "fox"]
    assert result.given_label_disagreements == 1


def test_each_annotators_agreement_with_the_others():
    items = [
        [("ann", "cat"), ("bob", "cat"), ("cyd", "dog")],
        [("ann", "dog"), ("bob", "dog"), ("cyd", "dog")],
        [("ann", "cat"), ("bob", "fox")],
    ]
    result = annotator_agreement(items)
    summary = {s.annotator: s for s in result.per_annotator}
    # ann: item 0 others {cat, dog} tie, chose cat -> 1/2; item 1 -> 1; item 2 others {fox} -> 0
    assert summary["ann"].agreement_with_consensus == pytest.approx((0.5 + 1 + 0) / 3)
    assert summary["cyd"].agreement_with_consensus == pytest.approx((0 + 1) / 2)
    assert summary["cyd"].items == 2


@pytest.mark.parametrize(
    ("annotations", "fragment"),
    [
        ([[("ann", "cat"), ("ann", "dog")]], "more than once"),
        ([[("ann", "")]], "no label"),
        ([["cat"]], "pair"),
        ("cat", "a list"),
    ],
)
def test_bad_annotations(annotations, fragment):
    with pytest.raises(InvalidInput, match=fragment) as err:
        annotator_agreement(annotations)
    assert err.value.field == "annotations"
