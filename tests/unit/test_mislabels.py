"""rank_label_issues: planted flips in separated clusters, clean data, the three probability
sources, duplicate conflicts, small classes, and the input errors."""

from __future__ import annotations

import numpy as np
import pytest

from service.analysis.label_scores import normalized_margin, self_confidence, softmax
from service.analysis.mislabels import act_on_list, align_class_columns, rank_label_issues
from service.errors import InvalidInput

NAMES = ["cat", "dog", "fox", "owl"]


def clusters(per_class=30, dims=16, seed=0):
    """Four well-separated Gaussian clusters (means 8 apart, unit noise)."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(len(NAMES), dims))
    means *= 8.0 / np.linalg.norm(means, axis=1, keepdims=True)
    labels = np.repeat(np.arange(len(NAMES)), per_class)
    x = means[labels] + rng.normal(scale=0.5, size=(labels.size, dims))
    return x, labels


@pytest.fixture(scope="module")
def planted():
    x, y = clusters()
    noisy = y.copy()
    noisy[5] = 2  # a cat labelled fox
    noisy[70] = 0  # a fox labelled cat
    return x, y, noisy


def test_planted_flips_rank_first_with_the_right_suggestion(planted):
    x, y, noisy = planted
    result = rank_label_issues(noisy, class_names=NAMES, embeddings=x, seed=0)
    top = result.candidates[:2]
    assert {c.index for c in top} == {5, 70}
    for c in top:
        assert c.suggested_label == NAMES[y[c.index]]
        assert c.given_label == NAMES[noisy[c.index]]
        assert c.confident_learning
        assert c.suggested_probability > 0.5
    assert result.rank_by == "combined"
    assert result.learnability.source == "probe"
    assert result.learnability.folds == 5
    assert result.learnability.accuracy == pytest.approx((y.size - 2) / y.size)


def test_clean_dataset_has_few_issues():
    x, y = clusters(seed=1)
    result = rank_label_issues([NAMES[i] for i in y], class_names=NAMES, embeddings=x)
    assert result.issue_count == 0
    assert result.label_health == pytest.approx(1.0)
    assert all(c.estimated_noise_rate == pytest.approx(0.0) for c in result.classes)
    assert result.confusable_pairs == []
    # only the labelfix top fraction is listed, all with confident scores
    assert len(result.candidates) == int(np.ceil(0.05 * y.size))
    assert all(not c.confident_learning for c in result.candidates)


def test_noise_rate_and_pairs_follow_the_flips():
    x, y = clusters(per_class=40, seed=2)
    noisy = y.copy()
    flipped = np.flatnonzero(y == 1)[:6]  # six dogs labelled owl
    noisy[flipped] = 3
    result = rank_label_issues(noisy, class_names=NAMES, embeddings=x, seed=0)
    assert {c.index for c in result.candidates[:6]} == set(flipped.tolist())
    assert all(c.suggested_label == "dog" for c in result.candidates[:6])
    # confident learning is conservative: no false issue, most of the flips
    cl_issues = {c.index for c in result.candidates if c.confident_learning}
    assert cl_issues <= set(flipped.tolist()) and len(cl_issues) >= 4
    by_label = {c.label: c for c in result.classes}
    assert by_label["owl"].estimated_noise_rate == pytest.approx(6 / 46, abs=0.05)
    assert by_label["owl"].issues == len(cl_issues)
    assert by_label["dog"].estimated_noise_rate == pytest.approx(0.0, abs=1e-9)
    assert by_label["dog"].estimated_true_count == pytest.approx(40, abs=3)
    pair = result.confusable_pairs[0]
    assert {pair.a, pair.b} == {"dog", "owl"}
    assert pair.estimated_mixups == pytest.approx(6, abs=2.0)
    assert result.label_health == pytest.approx(1 - 6 / 160, abs=0.015)


def test_caller_probabilities_and_logits_are_the_same_source():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(40, 4))
    labels = logits.argmax(axis=1)
    labels[0] = (labels[0] + 1) % 4
    from_logits = rank_label_issues(labels, class_names=NAMES, logits=logits, top_fraction=0.1)
    from_probs = rank_label_issues(
        labels, class_names=NAMES, probabilities=softmax(logits), top_fraction=0.1
    )
    assert from_logits.rank_by == "self_confidence"
    assert [c.index for c in from_logits.candidates] == [c.index for c in from_probs.candidates]
    assert from_logits.learnability.source == "logits"
    assert from_probs.learnability.source == "probabilities"
    assert from_logits.learnability.accuracy == pytest.approx(39 / 40)
    expected = np.argsort(self_confidence(softmax(logits), labels), kind="stable")[:4]
    assert [c.index for c in from_probs.candidates[:4]] == expected.tolist()


def test_triton_logits_enter_after_column_alignment():
    logits = np.array([[5.0, 0.0, 1.0, 0.0, 9.0]] * 3)
    model_classes = ["dog", "zebra", "cat", "fox", "owl"]
    aligned = align_class_columns(logits, model_classes, NAMES)
    assert aligned[0].tolist() == [1.0, 5.0, 0.0, 9.0]
    result = rank_label_issues(
        ["owl", "owl", "dog"],
        class_names=NAMES,
        logits=aligned,
        probability_source="triton:clf",
        min_class_size=1,
    )
    assert result.learnability.source == "triton:clf"
    assert result.candidates[0].index == 2
    assert result.candidates[0].suggested_label == "owl"
    with pytest.raises(InvalidInput) as err:
        align_class_columns(logits, model_classes, [*NAMES, "yak"])
    assert err.value.field == "classifier_classes"


def test_margin_ranking_by_hand():
    p = np.array([[0.6, 0.3, 0.1, 0.0], [0.4, 0.5, 0.1, 0.0]])
    assert normalized_margin(p, np.array([0, 0])) == pytest.approx([0.65, 0.45])
    result = rank_label_issues(
        [0, 0], class_names=NAMES, probabilities=p, rank_by="normalized_margin", min_class_size=1
    )
    assert [c.index for c in result.candidates] == [1]
    assert result.candidates[0].score == pytest.approx(0.45)


def test_duplicate_conflict_raises_suspicion(planted):
    x, y, noisy = planted
    plain = rank_label_issues(noisy, class_names=NAMES, embeddings=x, seed=0, top_fraction=0.01)
    ids = [f"img-{i}" for i in range(y.size)]
    flagged = rank_label_issues(
        noisy,
        class_names=NAMES,
        embeddings=x,
        seed=0,
        top_fraction=0.01,
        ids=ids,
        conflict_ids={"img-40", 41},
    )
    listed = {c.index: c for c in flagged.candidates}
    assert 40 not in {c.index for c in plain.candidates}
    assert listed[40].duplicate_conflict and listed[41].duplicate_conflict
    assert listed[40].id == "img-40"
    base = {c.index: c.score for c in plain.candidates}
    assert listed[5].score == pytest.approx(base[5])
    c = listed[40]
    unpenalised = np.sqrt(c.self_confidence * (c.neighbour_agreement * 10 + 1) / 12)
    assert c.score == pytest.approx(0.5 * unpenalised)


def test_small_classes_are_not_judged_and_do_not_crash():
    x, y = clusters(per_class=12, seed=4)
    keep = np.r_[np.flatnonzero(y != 3), np.flatnonzero(y == 3)[:2]]  # owl: 2 items
    result = rank_label_issues(y[keep], class_names=NAMES, embeddings=x[keep], seed=0)
    assert result.too_small_classes == ["owl"]
    assert result.n_judged == 36
    owl = next(c for c in result.classes if c.label == "owl")
    assert not owl.judged and owl.estimated_noise_rate is None
    assert all(c.given_label != "owl" for c in result.candidates)


def test_fold_count_drops_when_every_class_is_tiny():
    x, y = clusters(per_class=3, seed=5)
    result = rank_label_issues(y, class_names=NAMES, embeddings=x, min_class_size=3, folds=5)
    assert result.learnability.folds == 3
    assert result.n_judged == 12


def test_results_are_deterministic(planted):
    x, _, noisy = planted
    a = rank_label_issues(noisy, class_names=NAMES, embeddings=x, seed=7)
    b = rank_label_issues(noisy, class_names=NAMES, embeddings=x, seed=7)
    assert a == b


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"probabilities": np.full((3, 4), 0.5)}, "probabilities", "sum to 1"),
        ({"probabilities": np.full((3, 3), 1 / 3)}, "probabilities", "columns"),
        ({"logits": np.zeros((2, 4))}, "logits", "rows"),
        ({"embeddings": np.zeros((4, 8))}, "embeddings", "must match"),
        (
            {"logits": np.zeros((3, 4)), "probabilities": np.full((3, 4), 0.25)},
            "logits",
            "not both",
        ),
        ({}, "embeddings", "give embeddings"),
        ({"logits": np.zeros((3, 4)), "rank_by": "combined"}, "rank_by", "needs embeddings"),
        ({"logits": np.zeros((3, 4)), "rank_by": "loss"}, "rank_by", "valid"),
        ({"logits": np.zeros((3, 4)), "top_fraction": 0.0}, "top_fraction", "(0, 1]"),
        ({"logits": np.zeros((3, 4)), "ids": ["a"]}, "ids", "must match"),
        ({"logits": np.zeros((3, 4)), "conflict_ids": [9]}, "conflict_ids", "outside"),
        ({"logits": np.zeros((3, 4)), "conflict_ids": ["zz"]}, "conflict_ids", "not among"),
        ({"logits": np.array([[0, 0, 0, np.nan]] * 3)}, "logits", "NaN"),
    ],
)
def test_input_errors_name_the_field(kwargs, field, fragment):
    with pytest.raises(InvalidInput) as err:
        rank_label_issues(["cat", "dog", "cat"], class_names=NAMES, **kwargs)
    assert err.value.field == field
    assert fragment in err.value.detail


def test_label_and_class_errors():
    with pytest.raises(InvalidInput, match="'yak' of item 1 is not in class_names"):
        rank_label_issues(["cat", "yak"], class_names=NAMES, logits=np.zeros((2, 4)))
    with pytest.raises(InvalidInput, match="at least 2 classes") as err:
        rank_label_issues(["cat"], class_names=["cat"], logits=np.zeros((1, 1)))
    assert err.value.field == "class_names"
    with pytest.raises(InvalidInput, match="outside the 4 classes"):
        rank_label_issues([0, 4], class_names=NAMES, logits=np.zeros((2, 4)))
    with pytest.raises(InvalidInput, match="distinct"):
        rank_label_issues([0, 1], class_names=["a", "a"], logits=np.zeros((2, 2)))


def test_act_on_list_keeps_the_prefix_with_the_expected_precision():
    from service.analysis.mislabels import act_on_list

    # five items labelled 0; the model's p[i, 0]: three clear errors, one coin flip, one agreement
    p = np.array([[0.02, 0.98], [0.05, 0.95], [0.10, 0.90], [0.45, 0.55], [0.9, 0.1]])
    y = np.zeros(5, dtype=np.int64)
    ranking = p[:, 0].copy()  # self-confidence: lowest first
    out = act_on_list(p, y, ranking, np.ones(5, bool), names=["a", "b"], ids=list("vwxyz"),
                      target_precision=0.8)  # fmt: skip
    # prefix means of 1 - p[i, 0]: 0.98, 0.965, 0.943, 0.845 -> all four disagreeing items
    assert out.ids == ["v", "w", "x", "y"] and out.count == 4
    assert out.expected_precision == pytest.approx((0.98 + 0.95 + 0.90 + 0.55) / 4, abs=1e-4)
    assert out.suggested_labels == ["b"] * 4
    strict = act_on_list(p, y, ranking, np.ones(5, bool), names=["a", "b"], ids=None,
                         target_precision=0.95)  # fmt: skip
    assert strict.ids == ["0", "1"] and strict.expected_precision == pytest.approx(0.965)
    none = act_on_list(p[4:], y[4:], ranking[4:], np.ones(1, bool), names=["a", "b"], ids=None)
    assert none.count == 0 and none.expected_precision is None and "no item" in none.note


def test_act_on_list_precision_is_estimated_from_planted_errors():
    from service.analysis.mislabels import act_on_list_from_planted

    rng = np.random.default_rng(0)
    n = 4000
    y = np.zeros(n, dtype=np.int64)
    is_error = rng.random(n) < 0.03
    # the model disagrees with 15 % of the labels: real errors score low, its own mistakes
    # (hard but correct items) spread over a wider, higher range
    ranking = np.where(is_error, rng.uniform(0.0, 0.2, n), rng.uniform(0.05, 1.0, n))
    p = np.zeros((n, 2))
    disagree = is_error | (rng.random(n) < 0.12)
    p[:, 1] = np.where(disagree, 0.9, 0.1)
    p[:, 0] = 1 - p[:, 1]
    planted_scores = rng.uniform(0.0, 0.2, 200)  # planted errors score like real ones
    out = act_on_list_from_planted(
        p, y, ranking, np.ones(n, bool), (np.arange(200), planted_scores),
        names=["a", "b"], ids=None, target_precision=0.8,
    )  # fmt: skip
    listed = np.array([int(i) for i in out.ids])
    true_precision = is_error[listed].mean()
    assert out.count > 0 and true_precision >= 0.75
    assert out.expected_precision == pytest.approx(true_precision, abs=0.12)
    assert "planted" in out.basis
    # the model's own probabilities would have promised 0.9 for every disagreeing item
    naive = act_on_list(p, y, ranking, np.ones(n, bool), names=["a", "b"], ids=None)
    assert naive.count > out.count and is_error[[int(i) for i in naive.ids]].mean() < 0.4


def test_an_empty_act_on_list_from_planted_errors_promises_no_precision():
    # every real item scores above the planted errors' lowest quarter: the error rate estimate is
    # 0 and only a cut below every item "reaches" the target; the list is empty and must not
    # claim precision 1.0
    from service.analysis.mislabels import act_on_list_from_planted

    rng = np.random.default_rng(1)
    n = 300
    y = np.zeros(n, dtype=np.int64)
    ranking = rng.uniform(0.3, 1.0, n)
    p = np.zeros((n, 2))
    p[:, 1] = np.where(ranking < 0.35, 0.9, 0.1)  # a few disagreements, none scoring low
    p[:, 0] = 1 - p[:, 1]
    planted_scores = rng.uniform(0.0, 0.25, 20)
    out = act_on_list_from_planted(
        p, y, ranking, np.ones(n, bool), (np.arange(20), planted_scores),
        names=["a", "b"], ids=None, target_precision=0.8,
    )  # fmt: skip
    assert out.count == 0 and out.ids == []
    assert out.expected_precision is None
    assert "planted errors" in out.note and "review the candidates" in out.note
