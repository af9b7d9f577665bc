"""The gRPC contract: the hand-edited protos pass buf lint and buf breaking (and buf breaking
catches a wire-incompatible edit), the committed stubs are what `make proto` writes, every REST
field has a protobuf field of the same name and kind, Struct <-> message translation, and errors ->
gRPC status."""

from __future__ import annotations

import base64
import filecmp
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import msgspec
import msgspec.inspect as mi
import numpy as np
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.rpc import error_details_pb2, status_pb2

from service.analysis.imbalance import analyse_imbalance
from service.analysis.sample_size import fit_sample_size
from service.checks.duplicates import DuplicatesRequest
from service.checks.imbalance import ImbalanceRequest
from service.checks.mislabels import AgreementRequest
from service.checks.sample_size import SampleSizeRequest
from service.errors import (
    DeadlineExceeded,
    IdempotencyKeyReused,
    InferenceFailed,
    InferenceTimeout,
    InferenceUnavailable,
    InvalidDataset,
    InvalidInput,
    JobNotFound,
    JobNotReady,
    JobsUnavailable,
    PayloadTooLarge,
    TooManyRequests,
)
from service.grpc_api import contract
from service.grpc_api.status import status_for, validation_field
from service.grpc_api.translate import (
    TranslationError,
    _without_null,
    from_message,
    message_class,
    to_builtins,
    to_message,
)
from service.report.models import Checks, DatasetSummary, ModelInfo, Report, ReportRequest

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "proto"
BUF = Path(sys.executable).with_name("buf")
GEN = ROOT / "service/grpc_api/gen"

# --- the .proto files: buf lint, buf breaking, stubs ------------------------------------------


def buf(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BUF), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_buf_lint_passes():
    """Buf's STANDARD and COMMENTS rules (exceptions, with reasons, in proto/buf.yaml)."""
    result = buf("lint", "proto")
    assert result.returncode == 0, result.stdout + result.stderr


def test_buf_breaking_passes_against_the_released_contract():
    result = buf("breaking", "proto", "--against", "proto/imagelint-v1.binpb")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ("int64 seed = 13;", "int64 seed = 15;", 'field "13" with name "seed"'),  # renumbered
        ("int64 seed = 13;", "int64 random_seed = 13;", 'changed name from "seed"'),  # renamed
        ("int64 seed = 13;", "string seed = 13;", 'from "int64" to "string"'),  # retyped
    ],
)
def test_buf_breaking_fails_on_a_wire_incompatible_edit(tmp_path, old, new, complaint):
    shutil.copytree(PROTO, tmp_path / "proto")
    path = tmp_path / "proto/imagelint/v1/checks.proto"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    result = buf("breaking", str(tmp_path / "proto"), "--against", "proto/imagelint-v1.binpb")
    assert result.returncode != 0 and complaint in result.stdout, result.stdout + result.stderr
    added = text.replace(
        "  int64 seed = 13;\n", "  int64 seed = 13;\n  // New.\n  bool extra = 99;\n", 1
    )
    path.write_text(added)  # adding a field is fine
    result = buf("breaking", str(tmp_path / "proto"), "--against", "proto/imagelint-v1.binpb")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_committed_stubs_are_what_make_proto_writes(tmp_path):
    subprocess.run(
        ["bash", "proto/generate.sh", sys.executable, str(tmp_path)], cwd=ROOT, check=True
    )
    written = sorted(p.name for p in (tmp_path / "imagelint/v1").iterdir())
    committed = sorted(
        p.name for p in (GEN / "imagelint/v1").iterdir() if p.suffix in (".py", ".pyi")
    )
    assert written == committed
    _, mismatch, errors = filecmp.cmpfiles(
        tmp_path / "imagelint/v1", GEN / "imagelint/v1", written, shallow=False
    )
    assert mismatch == errors == [], f"stale stubs: {mismatch + errors}; run `make proto`"


# --- every REST field has a protobuf field of the same name and kind ---------------------------

SCALARS = {
    mi.StrType: {"string"},
    mi.IntType: {"int64"},
    mi.FloatType: {"double"},
    mi.BoolType: {"bool"},
    mi.BytesType: {"bytes"},
}
# Fields only gRPC has: embeddings as float32 bytes (REST sends JSON rows or base64).
GRPC_ONLY = {
    f"{name}.embeddings_f32"
    for name in ("DuplicatesRequest", "SampleSizeRequest", "ImbalanceRequest", "MislabelsRequest")
}


def proto_type(fd: FieldDescriptor) -> str:
    if fd.message_type is not None:
        return fd.message_type.full_name
    names = {FieldDescriptor.TYPE_INT64: "int64", FieldDescriptor.TYPE_DOUBLE: "double"}
    names |= {FieldDescriptor.TYPE_STRING: "string", FieldDescriptor.TYPE_BOOL: "bool"}
    names |= {FieldDescriptor.TYPE_BYTES: "bytes"}
    return names.get(fd.type, f"protobuf type {fd.type}")


class Walk:
    """Walks a Struct and its message side by side, collecting what does not match."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.grpc_only: set[str] = set()
        self.seen: set[tuple[type, str]] = set()

    def struct(self, cls: type, desc: Descriptor) -> None:
        if (cls, desc.full_name) in self.seen:
            return
        self.seen.add((cls, desc.full_name))
        if desc.name != cls.__name__:
            self.problems.append(f"{cls.__name__} travels as {desc.name}")
        fields = mi.type_info(cls).fields
        for f in fields:
            fd = desc.fields_by_name.get(f.encode_name)
            where = f"{desc.name}.{f.encode_name}"
            if fd is None:
                self.problems.append(f"{where}: no protobuf field")
            else:
                self.field(f.type, fd, where)
        names = {f.encode_name for f in fields}
        self.grpc_only |= {f"{desc.name}.{fd.name}" for fd in desc.fields if fd.name not in names}

    def field(self, t: Any, fd: FieldDescriptor, where: str) -> None:
        _, t = _without_null(t)
        is_map = fd.message_type is not None and fd.message_type.GetOptions().map_entry
        repeated = fd.label == FieldDescriptor.LABEL_REPEATED and not is_map
        if isinstance(t, mi.DictType):
            if not is_map:
                self.problems.append(f"{where}: an object, not a map")
                return
            return self.single(t.value_type, fd.message_type.fields_by_name["value"], where)
        if isinstance(t, mi.ListType | mi.VarTupleType | mi.TupleType | mi.SetType):
            if not repeated:
                self.problems.append(f"{where}: a list, not a repeated field")
                return
            item = t.item_types[0] if isinstance(t, mi.TupleType) else t.item_type
            return self.single(item, fd, where)
        if is_map or repeated:
            self.problems.append(f"{where}: a single value, not a repeated field or map")
            return
        self.single(t, fd, where)

    def single(self, t: Any, fd: FieldDescriptor, where: str) -> None:
        _, t = _without_null(t)
        members = t.types if isinstance(t, mi.UnionType) else (t,)
        members = [_without_null(m)[1] for m in members]
        kinds = {type(m) for m in members}
        got = proto_type(fd)
        desc = fd.message_type
        if desc is not None and len(desc.fields) == 1 and desc.fields[0].name == "values":
            return self.field(t, desc.fields[0], where)  # a list or map nested in a list or map
        structs = [m for m in members if isinstance(m, mi.StructType)]
        if structs:  # a Struct (REST may also take a bare string for its first field)
            if desc is None or not kinds <= {mi.StructType, mi.StrType}:
                self.problems.append(f"{where}: {t!r} travels as {got}")
            else:
                self.struct(structs[0].cls, desc)
            return
        allowed: set[str] = set()
        if kinds <= {mi.StrType, mi.IntType} and len(kinds) == 2:
            allowed = {"google.protobuf.Value"}  # a string or a whole number
        elif kinds <= {mi.IntType, mi.FloatType} and len(kinds) == 2:
            allowed = {"double"}
        elif kinds == {mi.AnyType}:
            allowed = {"google.protobuf.Value"}
        elif len(members) == 1 and isinstance(members[0], mi.LiteralType | mi.EnumType):
            values = [getattr(v, "value", v) for v in getattr(members[0], "values", ())]
            values = values or [e.value for e in getattr(members[0], "cls", [])]
            allowed = {"int64"} if all(isinstance(v, int) for v in values) else {"string"}
        elif kinds & {mi.LiteralType, mi.EnumType} and mi.IntType in kinds:
            allowed = {"string"}  # integers as their decimal string
        elif len(members) == 1:
            allowed = SCALARS.get(type(members[0]), set())
        if got not in allowed:
            self.problems.append(f"{where}: {t!r} travels as {got}")


def walk_contract() -> Walk:
    walk = Walk()
    for rpc in contract.RPCS:
        method = contract.SERVICE.methods_by_name[rpc.method]
        walk.struct(rpc.request, method.input_type)
        walk.struct(rpc.response, method.output_type)
    return walk


def test_every_rest_field_has_a_protobuf_field_of_the_same_name_and_kind():
    walk = walk_contract()
    assert walk.problems == []
    assert len(walk.seen) > 60  # every message of the report and the checks was compared
    assert walk.grpc_only == GRPC_ONLY  # a new proto-only field is translated on purpose


def test_a_rest_field_without_a_protobuf_field_is_found():
    class Progress(contract.Progress):
        eta_s: float | None = None  # added to REST, forgotten in the .proto

    class ReportSummary(msgspec.Struct):
        images_needed: str | None  # retyped in REST (int64 in the .proto)

    walk = Walk()
    walk.struct(Progress, message_class(contract.Progress).DESCRIPTOR)
    walk.struct(ReportSummary, message_class(ReportSummary).DESCRIPTOR)
    assert walk.problems[0] == "Progress.eta_s: no protobuf field"
    assert walk.problems[1].startswith("ReportSummary.images_needed: StrType")


def test_the_rpc_table_is_the_service():
    methods = contract.SERVICE.methods_by_name
    assert sorted(methods) == sorted(rpc.method for rpc in contract.RPCS)
    for rpc in contract.RPCS:
        assert methods[rpc.method].server_streaming == rpc.streaming
        assert methods[rpc.method].input_type.name == rpc.request.__name__
        assert methods[rpc.method].output_type.name == rpc.response.__name__


# --- translation ------------------------------------------------------------------------------


def roundtrip(value: msgspec.Struct) -> Any:
    return from_message(to_message(value), type(value))


def json_shaped(value: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value))


def test_numbers_that_protobuf_json_writes_as_strings_come_back_as_numbers():
    message = to_message(
        {"fractions": [math.nan, math.inf, -math.inf, 0.5], "bootstrap": 2**62},
        SampleSizeRequest,
    )
    assert message.bootstrap == 2**62 and math.isnan(message.fractions[0])
    data = to_builtins(message, SampleSizeRequest)
    assert data["bootstrap"] == 2**62
    assert math.isnan(data["fractions"][0]) and data["fractions"][1:] == [math.inf, -math.inf, 0.5]


def test_zero_values_nulls_and_defaults():
    assert roundtrip(contract.Progress(stage="", done=0, total=0)) == contract.Progress("", 0, 0)
    back = from_message(
        to_message({"counts": {"a": 0, "b": 3}}, ImbalanceRequest), ImbalanceRequest
    )
    assert back.counts == {"a": 0, "b": 3}
    assert back.labels is None and back.split_counts is None  # empty repeated/map = null
    assert back.target == "median" and back.minority_share == 0.5  # unset optional = default
    request = from_message(
        to_message({"labels": ["a", 7, None], "splits": ["train", None, ""]}, DuplicatesRequest),
        DuplicatesRequest,
    )
    assert request.labels == ["a", 7, None]  # Values: whole numbers are ints where ints are taken
    assert request.splits == ["train", None, None]  # null items travel as ""


def test_wrappers_and_bare_strings():
    message = to_message(
        {"annotations": [["a", {"annotator": "x", "label": "b"}], []], "labels": ["a", None]},
        AgreementRequest,
    )
    assert message.annotations[0].values[0].label == "a"
    assert to_builtins(message, AgreementRequest)["annotations"] == [
        [{"label": "a"}, {"label": "b", "annotator": "x"}],
        [],
    ]
    split_counts = {"train": {"b": 1, "a": 2}, "test": {}}
    message = to_message({"split_counts": split_counts}, ImbalanceRequest)
    assert message.split_counts["train"].values["b"] == 1
    assert to_builtins(message, ImbalanceRequest)["split_counts"] == {
        "test": {},
        "train": {"a": 2, "b": 1},
    }


def test_a_float32_matrix_fills_the_rest_fields():
    matrix = np.arange(12, dtype="<f4").reshape(4, 3) / 7
    message = message_class(ImbalanceRequest)(labels=[])
    message.embeddings_f32.data = matrix.tobytes()
    message.embeddings_f32.shape[:] = [4, 3]
    assert to_builtins(message, ImbalanceRequest)["embeddings"] == matrix.tolist()
    message = message_class(DuplicatesRequest)()
    message.embeddings_f32.data = matrix.tobytes()
    message.embeddings_f32.shape[:] = [4, 3]
    data = to_builtins(message, DuplicatesRequest)
    assert base64.b64decode(data["embeddings_b64"]) == matrix.tobytes() and data["shape"] == [4, 3]
    message.embeddings_b64 = "AAAA"
    with pytest.raises(InvalidInput, match="send embeddings_f32 or embeddings, not both"):
        to_builtins(message, DuplicatesRequest)


def test_what_does_not_fit_a_message_is_a_translation_error():
    with pytest.raises(TranslationError, match="bogus"):
        to_message({"dataset": {"items": []}, "bogus": 1}, ReportRequest)
    with pytest.raises(TranslationError, match="seed"):
        to_message({"dataset": {"items": []}, "options": {"seed": "x"}}, ReportRequest)


def test_validation_is_the_rest_validation():
    message = to_message({"dataset": {"items": [{"uri": "file:///x.png"}]}}, ReportRequest)
    message.options.mislabels.folds = 1
    with pytest.raises(msgspec.ValidationError, match=r"\$\.options\.mislabels\.folds"):
        from_message(message, ReportRequest)
    message = to_message({"dataset": {"items": [{"uri": "file:///x.png"}]}}, ReportRequest)
    message.dataset.manifest_uri = "file:///m.jsonl"
    with pytest.raises(msgspec.ValidationError, match="exactly one of"):
        from_message(message, ReportRequest)
    with pytest.raises(msgspec.ValidationError, match="missing required field `dataset`"):
        from_message(message_class(ReportRequest)(), ReportRequest)


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
        (JobNotFound("no job x"), grpc.StatusCode.NOT_FOUND, "job_not_found"),
        (JobNotReady("job x is running"), grpc.StatusCode.FAILED_PRECONDITION, "job_not_ready"),
        (JobsUnavailable("no database"), grpc.StatusCode.UNAVAILABLE, "jobs_unavailable"),
        (
            IdempotencyKeyReused("another body", field="Idempotency-Key"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "idempotency_key_reused",
        ),
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
