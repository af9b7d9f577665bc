"""service.analysis.validation: each constraint declared once, enforced alike by the request
structs (msgspec, REST and gRPC) and by the analyses (``check_option``), and one label rule."""

from __future__ import annotations

import typing

import msgspec
import numpy as np
import pytest

from service.analysis import validation as v
from service.analysis.imbalance import RESAMPLING_TARGETS, analyse_imbalance
from service.analysis.learning_curve import measure_learning_curve
from service.analysis.mislabels import RANKINGS, rank_label_issues
from service.analysis.sample_size import FAMILIES
from service.checks.duplicates import DuplicatesRequest
from service.checks.imbalance import ImbalanceRequest
from service.checks.mislabels import MislabelsRequest
from service.checks.sample_size import SampleSizeRequest
from service.errors import InvalidInput
from service.report.models import ReportOptions

# (struct, field, declaration): every request field that takes a declared option range
SHARED = [
    (MislabelsRequest, "top_fraction", v.TopFraction),
    (MislabelsRequest, "k_neighbours", v.KNeighbours),
    (MislabelsRequest, "folds", v.Folds),
    (MislabelsRequest, "min_class_size", v.MinClassSize),
    (MislabelsRequest, "seed", v.Seed),
    (ImbalanceRequest, "minority_share", v.MinorityShare),
    (SampleSizeRequest, "repeats", v.Repeats),
    (SampleSizeRequest, "eval_fraction", v.EvalFraction),
    (SampleSizeRequest, "bootstrap", v.Bootstrap),
    (SampleSizeRequest, "confidence", v.Confidence),
    (DuplicatesRequest, "outlier_k", v.OutlierK),
    (DuplicatesRequest, "iqr_factor", v.IqrFactor),
]
REQUIRED = {MislabelsRequest: {"labels": ["a"]}}


def _bounds(constraint) -> dict:
    meta = [m for m in typing.get_args(constraint)[1:] if isinstance(m, msgspec.Meta)][0]
    return {k: getattr(meta, k) for k in ("ge", "gt", "le", "lt") if getattr(meta, k) is not None}


def _probes(bounds: dict, integer: bool) -> list:
    step = 1 if integer else 1e-9
    out = []
    for b in bounds.values():
        out += [b, b - step, b + step]
    return [int(x) if integer else float(x) for x in out]


@pytest.mark.parametrize(("struct", "field", "constraint"), SHARED)
def test_request_structs_and_analyses_accept_the_same_values(struct, field, constraint):
    integer = typing.get_args(constraint)[0] is int
    for value in _probes(_bounds(constraint), integer):
        try:
            msgspec.convert({**REQUIRED.get(struct, {}), field: value}, struct)
            by_struct = True
        except msgspec.ValidationError:
            by_struct = False
        try:
            v.check_option(value, constraint, field)
            by_analysis = True
        except InvalidInput as exc:
            assert exc.field == field
            by_analysis = False
        assert by_struct == by_analysis, (field, value)


def test_report_options_use_the_same_declarations():
    opts = ReportOptions
    for path, value in [
        ({"mislabels": {"top_fraction": 0.0}}, False),
        ({"mislabels": {"top_fraction": 1.0}}, True),
        ({"mislabels": {"folds": 1}}, False),
        ({"mislabels": {"k_neighbours": 101}}, False),
        ({"outliers": {"k": 100}}, True),
        ({"sample_size": {"repeats": 21}}, False),
        ({"sample_size": {"fractions": [0.1]}}, False),
        ({"imbalance": {"beta": 1.0}}, False),
        ({"seed": -1}, False),
    ]:
        try:
            msgspec.convert(path, opts)
            ok = True
        except msgspec.ValidationError:
            ok = False
        assert ok == value, path


def test_check_option_says_the_range_and_refuses_bools_and_nan():
    with pytest.raises(InvalidInput, match=r"top_fraction must lie in \(0, 1\]; got 0") as err:
        v.check_option(0, v.TopFraction, "top_fraction")
    assert err.value.field == "top_fraction"
    with pytest.raises(InvalidInput, match=r"must be an integer in \[2, 20\]"):
        v.check_option(21, v.Folds, "folds")
    with pytest.raises(InvalidInput, match="positive integer at most 20"):
        v.check_option(0, v.Repeats, "repeats")
    with pytest.raises(InvalidInput):
        v.check_option(True, v.Repeats, "repeats")
    with pytest.raises(InvalidInput):
        v.check_option(2.0, v.Repeats, "repeats")  # an integer option takes integers only
    with pytest.raises(InvalidInput):
        v.check_option(float("nan"), v.TopFraction, "top_fraction")
    assert v.check_option(np.int64(3), v.Folds, "folds") == 3
    assert v.check_option(np.float32(0.5), v.TopFraction, "top_fraction") == 0.5


def test_literal_choices_match_the_strategy_tables():
    assert set(typing.get_args(v.ResamplingTarget)) == set(RESAMPLING_TARGETS)
    assert typing.get_args(v.SampleSizeModel) == ("auto", *FAMILIES)
    assert RANKINGS == typing.get_args(v.RankBy)
    with pytest.raises(InvalidInput, match=r"valid: \['max', 'median'\]"):
        v.check_choice("mean", v.ResamplingTarget, "target")


def test_analyses_enforce_the_declared_ranges():
    with pytest.raises(InvalidInput, match="k_neighbours") as err:
        rank_label_issues(
            ["a", "b"], class_names=["a", "b"], logits=np.zeros((2, 2)), k_neighbours=101
        )
    assert err.value.field == "k_neighbours"
    with pytest.raises(InvalidInput) as err:
        analyse_imbalance(["a", "b"], minority_share=0.0)
    assert err.value.field == "minority_share"
    rng = np.random.default_rng(0)
    with pytest.raises(InvalidInput) as err:
        measure_learning_curve(rng.normal(size=(40, 3)), [0, 1] * 20, eval_fraction=0.9)
    assert err.value.field == "eval_fraction"


def test_encode_labels_one_rule():
    names, index = v.encode_labels([10, 2, 3, 2])
    assert names == ["2", "3", "10"]  # integers: numeric order
    assert index.tolist() == [2, 0, 1, 0]
    assert v.encode_labels(["10", "2"])[0] == ["10", "2"]  # strings: text order
    assert v.encode_labels(np.array([1, 0, 1]))[1].dtype == np.int64
    assert v.encode_labels(["a", None], none_as="unassigned")[0] == ["a", "unassigned"]
    with pytest.raises(InvalidInput, match='mixes the number 1 and the string "1"'):
        v.encode_labels([1, "1"])
    for bad in ([], [True, False], [1.5, 2.5], ["a", None]):
        with pytest.raises(InvalidInput) as err:
            v.encode_labels(bad)
        assert err.value.field == "labels"
    with pytest.raises(InvalidInput, match="flat"):
        v.encode_labels(np.zeros((2, 2), int))


def test_the_analyses_share_the_label_rule():
    # the same clash is refused by imbalance and the learning curve (and the REST routes)
    for call in (
        lambda: analyse_imbalance([1, "1", "2"]),
        lambda: measure_learning_curve(np.zeros((3, 2)), [1, "1", "2"]),
    ):
        with pytest.raises(InvalidInput, match="mixes the number"):
            call()


def test_embedding_rows_and_matrix():
    with pytest.raises(InvalidInput, match="same length: row 2 has 1 values; row 0 has 2") as err:
        v.embedding_rows([[0.0, 1.0], [1.0, 0.0], [1.0]])
    assert err.value.field == "embeddings"
    assert v.embedding_rows([[1, 2]], dtype=np.float32).dtype == np.float32
    assert v.validate_embeddings(np.ones((2, 3), np.float32), 2).dtype == np.float32
    assert v.validate_embeddings(np.ones((2, 3), np.int64), 2).dtype == np.float64
    with pytest.raises(InvalidInput, match="must match"):
        v.validate_embeddings(np.ones((2, 3)), 3)
    with pytest.raises(InvalidInput, match="NaN"):
        v.validate_embeddings(np.array([[np.inf]]), 1)
    with pytest.raises(InvalidInput, match="2-D"):
        v.validate_embeddings(np.ones(3), 3)


def test_fractions_and_ids():
    assert v.validate_fractions([0.5, 0.1]) == (0.1, 0.5)
    for bad, text in (([0.5], "at least 2"), ([0.1, 1.0], "lie in"), ([0.1, 0.1], "distinct")):
        with pytest.raises(InvalidInput, match=text):
            v.validate_fractions(bad)
    with pytest.raises(InvalidInput, match="at most 12"):
        v.validate_fractions([i / 20 for i in range(1, 14)])
    with pytest.raises(InvalidInput, match=r"ids\[2\] repeats the id 'a'"):
        v.check_unique_ids(["a", "b", "a"])
