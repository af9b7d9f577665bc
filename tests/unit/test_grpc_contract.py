"""The gRPC contract: the committed protos and stubs are current, the type mapping, stable field
numbers, Struct <-> message translation, and errors -> gRPC status."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import grpc
import msgspec
import numpy as np
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.rpc import error_details_pb2, status_pb2
from msgspec import Meta

from service.analysis.imbalance import analyse_imbalance
from service.analysis.sample_size import fit_sample_size
from service.errors import (
    DeadlineExceeded,
    InferenceFailed,
    InferenceTimeout,
    InferenceUnavailable,
    InvalidDataset,
    InvalidInput,
    PayloadTooLarge,
    TooManyRequests,
)
from service.grpc_api import protogen, translate
from service.grpc_api.shapes import UnsupportedType, message_shape
from service.grpc_api.status import status_for, validation_field
from service.grpc_api.translate import TranslationError, from_message, to_builtins, to_message
from service.report.models import (
    Checks,
    DatasetSummary,
    ModelInfo,
    Report,
    ReportRequest,
)

# --- the committed files are what the Structs generate ----------------------------------------


def test_committed_protos_match_the_structs():
    stale = protogen.stale_protos()
    assert stale == [], f"stale: {stale}; run `make proto`"


def test_committed_stubs_match_the_protos():
    stale = protogen.stale_stubs()
    assert stale == [], f"stale: {stale}; run `make proto`"


def test_a_changed_struct_makes_the_protos_stale(monkeypatch):
    class Annotation(msgspec.Struct):
        """A Struct that is not in the contract yet."""

        note: str

    Annotation.__module__ = "service.report.models"
    roots = protogen.root_structs()
    monkeypatch.setattr(protogen, "root_structs", lambda: [*roots, Annotation])
    assert protogen.stale_protos() == ["imagelint/v1/report.proto"]


def test_an_edited_proto_file_is_stale(tmp_path):
    shutil.copytree(protogen.PROTO_ROOT, tmp_path / "proto")
    path = tmp_path / "proto" / "imagelint/v1/report.proto"
    path.write_text(path.read_text().replace("int64 seed = 7;", "int32 seed = 7;"))
    assert protogen.stale_protos(tmp_path / "proto") == ["imagelint/v1/report.proto"]


def test_buf_lint_passes():
    """Buf's STANDARD and COMMENTS rules (exceptions, with reasons, in proto/buf.yaml)."""
    buf = Path(sys.executable).with_name("buf")
    result = subprocess.run(
        [str(buf), "lint"], cwd=protogen.PROTO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generation_is_a_fixed_point():
    existing = protogen.read_existing()
    assert protogen.render_files(protogen.render_files(existing)) == existing


# --- stable field numbers ---------------------------------------------------------------------


def test_field_numbers_survive_insertions_and_removals():
    old = protogen.Numbers(fields={"a": 1, "b": 2, "c": 3})
    new = protogen.assign_numbers(["a", "inserted", "c"], old)
    assert new.fields == {"a": 1, "inserted": 4, "c": 3}
    assert new.reserved_numbers == {2}
    assert new.reserved_names == {"b"}
    again = protogen.assign_numbers(["a", "b", "inserted", "c"], new)  # b comes back: a new number
    assert again.fields == {"a": 1, "b": 5, "inserted": 4, "c": 3}
    assert again.reserved_numbers == {2} and again.reserved_names == set()


def test_reserved_numbers_are_written_and_read_back():
    class Example(msgspec.Struct):
        """An example."""

        a: int
        c: str

    numbers = protogen.assign_numbers(["a", "c"], protogen.Numbers(fields={"a": 1, "b": 2, "c": 3}))
    text = "\n".join(protogen.render_message(message_shape(Example), numbers))
    assert "  reserved 2;" in text and '  reserved "b";' in text
    read = protogen.read_numbers([text])["Example"]
    assert read.fields == {"a": 1, "c": 3}
    assert read.reserved_numbers == {2} and read.reserved_names == {"b"}


# --- the type mapping -------------------------------------------------------------------------


class Point(msgspec.Struct):
    """A labelled point."""

    label: str
    weight: float = 1.0


class Everything(msgspec.Struct, omit_defaults=True):
    """Every kind of field the mapping covers."""

    text: str
    count: int
    ratio: float
    flag: bool
    mode: Literal["fast", "slow"] = "fast"
    key: str | int | None = None
    amount: int | float = 0
    maybe: Annotated[float, Meta(ge=0.0, description="a described optional float")] | None = None
    limit: int = 5  # a trailing comment documents this field
    point: Point | None = None
    points: list[Point] = []
    names_or_points: list[Point | str] | None = None
    tags: list[str | None] | None = None
    matrix: list[list[float]] | None = None
    table: dict[str, dict[str, int]] | None = None
    groups: dict[str, list[str]] = {}
    values: tuple[float, ...] = ()
    extra: Any = None
    pair: tuple[str, str] | None = None


def declarations(cls: type) -> list[str]:
    shape = message_shape(cls)
    numbers = protogen.assign_numbers([f.name for f in shape.fields], None)
    return [
        line.strip()
        for line in protogen.render_message(shape, numbers)
        if not line.strip().startswith("//")
    ]


def test_the_type_mapping():
    lines = declarations(Everything)
    for expected in (
        "string text = 1;",
        "int64 count = 2;",
        "double ratio = 3;",
        "bool flag = 4;",
        "optional string mode = 5;",  # non-zero default: presence
        "google.protobuf.Value key = 6;",  # str | int | None: a string or a whole number
        "double amount = 7;",  # int | float
        "optional double maybe = 8;",
        "optional int64 limit = 9;",
        "Point point = 10;",
        "repeated Point points = 11;",
        "repeated Point names_or_points = 12;",
        "repeated string tags = 13;",
        "repeated DoubleList matrix = 14;",
        "map<string, Int64Map> table = 15;",
        "map<string, StringList> groups = 16;",
        "repeated double values = 17;",
        "google.protobuf.Value extra = 18;",
        "repeated string pair = 19;",
    ):
        assert expected in lines, expected


def test_comments_come_from_descriptions_and_source():
    text = "\n".join(
        protogen.render_message(
            message_shape(Everything),
            protogen.assign_numbers([f.name for f in message_shape(Everything).fields], None),
        )
    )
    assert "// Every kind of field the mapping covers." in text
    assert "// a described optional float. Constraints: >= 0.0. Unset = null." in text
    assert "// a trailing comment documents this field. Default: 5." in text
    assert "One of: fast, slow" in text


@pytest.mark.parametrize(
    "annotation",
    [dict[str, int | None], list[int | None], tuple[int, str], int | list[int], list[bool | float]],
)
def test_unsupported_types_name_the_field(annotation):
    Bad = msgspec.defstruct("Bad", [("broken", annotation)])
    with pytest.raises(UnsupportedType, match=r"Bad\.broken"):
        message_shape(Bad)


# --- translation ------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def test_messages(tmp_path_factory):
    """Messages for this module's own Structs, compiled into a pool of their own."""
    graph = protogen.build_graph([Everything])
    lines = [
        'syntax = "proto3";',
        "package imagelint.v1;",
        'import "google/protobuf/struct.proto";',
    ]
    for wrapper in graph.wrappers:
        lines += protogen.render_wrapper(wrapper)
    for shape in graph.messages:
        lines += protogen.render_message(
            shape, protogen.assign_numbers([f.name for f in shape.fields], None)
        )
    folder = tmp_path_factory.mktemp("proto")
    (folder / "test.proto").write_text("\n".join(lines) + "\n")
    out = folder / "set.pb"
    protogen.run_protoc(
        [
            f"-I{folder}",
            f"-I{protogen.proto_include()}",
            "--include_imports",
            f"--descriptor_set_out={out}",
            "test.proto",
        ]
    )
    pool = descriptor_pool.DescriptorPool()
    for file in descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file:
        pool.Add(file)
    real = translate.message_class

    def message_class(cls: type):
        if cls in (Everything, Point):
            return message_factory.GetMessageClass(
                pool.FindMessageTypeByName(f"imagelint.v1.{cls.__name__}")
            )
        return real(cls)

    patch = pytest.MonkeyPatch()
    patch.setattr(translate, "message_class", message_class)
    yield
    patch.undo()


def roundtrip(value: msgspec.Struct) -> Any:
    return from_message(to_message(value), type(value))


def json_shaped(value: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value))


def test_roundtrip_keeps_every_kind_of_value():
    value = Everything(
        text="t",
        count=2**62,
        ratio=math.nan,
        flag=True,
        mode="slow",
        key="k",
        amount=2.5,
        maybe=0.0,
        limit=0,
        point=Point("p", weight=-math.inf),
        points=[Point("a"), Point("b", 0.5)],
        names_or_points=[Point("x", 2.0)],
        tags=["a", None, "b"],
        matrix=[[1.0, 2.0], [], [3.5]],
        table={"train": {"a": 1}, "test": {}},
        groups={"g": ["a", "b"], "empty": []},
        values=(1.0, 2.0),
        extra={"nested": [1, "two", None, {"x": True}]},
        pair=("left", "right"),
    )
    back = roundtrip(value)
    assert math.isnan(back.ratio) and back.point.weight == -math.inf
    assert json_shaped(back) == json_shaped(value)
    assert back.count == 2**62 and back.limit == 0 and back.maybe == 0.0


def test_defaults_and_nulls_stay_unset():
    back = roundtrip(Everything(text="", count=0, ratio=0.0, flag=False))
    assert back == Everything(text="", count=0, ratio=0.0, flag=False)
    assert back.mode == "fast" and back.limit == 5 and back.key is None and back.tags is None


def test_union_and_promotion_conversions():
    message = to_message(
        {"text": "t", "count": 1, "ratio": 1, "flag": False, "key": 7, "names_or_points": ["bare"]},
        Everything,
    )
    assert message.key.number_value == 7 and message.ratio == 1.0
    assert to_builtins(message, Everything)["key"] == 7
    assert to_builtins(message, Everything)["names_or_points"] == [{"label": "bare"}]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"text": 3, "count": 1, "ratio": 1.0, "flag": True}, "text"),
        (
            {
                "text": "t",
                "count": 1,
                "ratio": 1.0,
                "flag": True,
                "points": [{"label": "a", "weight": "x"}],
            },
            "points[0].weight",
        ),
        (
            {"text": "t", "count": 1, "ratio": 1.0, "flag": True, "matrix": [[1.0], "row"]},
            "matrix[1]",
        ),
        ({"text": "t", "count": None, "ratio": 1.0, "flag": True}, "count"),
    ],
)
def test_translation_errors_name_the_field(payload, field):
    with pytest.raises(TranslationError) as caught:
        to_message(payload, Everything)
    assert caught.value.field == field


def test_unknown_fields_are_refused_where_rest_refuses_them():
    with pytest.raises(TranslationError) as caught:
        to_message({"dataset": {"items": []}, "bogus": 1}, ReportRequest)
    assert caught.value.field == "bogus"


def test_validation_is_the_rest_validation():
    message = to_message({"dataset": {"items": [{"uri": "file:///x.png"}]}}, ReportRequest)
    message.options.mislabels.folds = 1
    with pytest.raises(msgspec.ValidationError, match=r"\$\.options\.mislabels\.folds"):
        from_message(message, ReportRequest)
    message = to_message({"dataset": {"items": [{"uri": "file:///x.png"}]}}, ReportRequest)
    message.dataset.manifest_uri = "file:///m.jsonl"
    with pytest.raises(msgspec.ValidationError, match="exactly one of"):
        from_message(message, ReportRequest)


def test_real_results_roundtrip_inside_a_report():
    rng = np.random.default_rng(0)
    labels = ["a"] * 30 + ["b"] * 8 + ["c"] * 3
    splits = ["train" if i % 4 else "test" for i in range(len(labels))]
    splits[5] = None
    imbalance = analyse_imbalance(
        labels, splits=splits, embeddings=rng.normal(size=(len(labels), 8))
    )
    observations = [
        {"n": n, "scores": [0.9 - 3.0 / n**0.5, 0.91 - 3.0 / n**0.5]} for n in (50, 100, 200, 400)
    ]
    sample_size = fit_sample_size(observations, target_accuracy=0.85, bootstrap=20)
    report = Report(
        schema_version="1.0",
        request_id="r",
        model=ModelInfo(name="m", version="1"),
        dataset=DatasetSummary(
            items=41, loaded=41, failed=0, labelled=41, classes={"a": 30}, splits={}
        ),
        checks_run=["imbalance", "sample_size"],
        failed_items=[],
        checks=Checks(imbalance=imbalance, sample_size=sample_size),
        check_errors={},
        timings_s={"total": 0.5},
    )
    assert imbalance.hierarchy is not None and imbalance.drift
    assert json_shaped(roundtrip(report)) == json_shaped(report)


def test_map_keys_come_back_sorted():
    summary = DatasetSummary(
        items=3, loaded=3, failed=0, labelled=3, classes={"b": 1, "a": 1, "c": 1}, splits={}
    )
    assert list(roundtrip(summary).classes) == ["a", "b", "c"]


# --- errors -> status -------------------------------------------------------------------------


def details_of(status: grpc.Status) -> dict[str, Any]:
    found: dict[str, Any] = {}
    raw = dict(status.trailing_metadata)["grpc-status-details-bin"]
    for packed in status_pb2.Status.FromString(raw).details:
        for kind in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.RetryInfo,
        ):
            if packed.Is(kind.DESCRIPTOR):
                message = kind()
                packed.Unpack(message)
                found[kind.__name__] = message
    return found


@pytest.mark.parametrize(
    ("error", "code", "reason"),
    [
        (
            InvalidInput("labels must match", field="labels"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "invalid_input",
        ),
        (
            InvalidDataset("bad manifest", field="dataset"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "invalid_dataset",
        ),
        (
            PayloadTooLarge("manifest too large"),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "payload_too_large",
        ),
        (
            TooManyRequests("2 running", retry_after=10),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "too_many_requests",
        ),
        (InferenceUnavailable("down"), grpc.StatusCode.UNAVAILABLE, "inference_unavailable"),
        (InferenceTimeout("slow"), grpc.StatusCode.DEADLINE_EXCEEDED, "inference_timeout"),
        (InferenceFailed("bad model"), grpc.StatusCode.INTERNAL, "inference_failed"),
        (DeadlineExceeded("too long"), grpc.StatusCode.DEADLINE_EXCEEDED, "deadline_exceeded"),
        (
            RuntimeError("secret internal address 10.0.0.1"),
            grpc.StatusCode.INTERNAL,
            "internal_error",
        ),
    ],
)
def test_errors_map_like_http(error, code, reason):
    status = status_for(error)
    assert status.code == code
    info = details_of(status)["ErrorInfo"]
    assert info.reason == reason and info.domain == "imagelint.dev"
    assert "10.0.0.1" not in status.details


def test_invalid_argument_names_the_field():
    status = status_for(InvalidInput("1 splits for 2 labels", field="splits"))
    assert status.details.startswith("splits: ")
    violation = details_of(status)["BadRequest"].field_violations[0]
    assert violation.field == "splits" and "1 splits" in violation.description


def test_retry_info_and_retry_after_metadata():
    status = status_for(InferenceUnavailable("Triton is not ready"))
    assert details_of(status)["RetryInfo"].retry_delay.seconds == 5
    assert ("retry-after", "5") in status.trailing_metadata


def test_validation_errors_name_the_field():
    try:
        msgspec.convert(
            {"dataset": {"items": []}, "options": {"mislabels": {"folds": 1}}}, ReportRequest
        )
    except msgspec.ValidationError as exc:
        status = status_for(exc)
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(status)["BadRequest"].field_violations[0].field == "options.mislabels.folds"
    assert validation_field("Object missing required field `dataset`") == "dataset"
    assert validation_field("Object contains unknown field `x` - at `$.options`") == "options.x"
    assert (
        validation_field("Expected `str`, got `int` - at `$.dataset.items[0].uri`")
        == "dataset.items[0].uri"
    )
