"""The gRPC contract as data: the ``DatasetQuality`` service's RPCs and the Analyze stream's events.

The messages are generated from the Structs named here (and everything they reach); the service
block of ``proto/imagelint/v1/dataset_quality.proto`` is generated from ``ANALYZE`` and
``CHECK_RPCS``; the server and the client dispatch from the same table. A check RPC runs the same
function as its REST controller (``run(request, settings)`` returns the result Struct).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import Meta

from service.analysis.agreement import AgreementResult
from service.analysis.duplicates import DuplicatesResult
from service.analysis.imbalance import ImbalanceResult
from service.analysis.mislabels import MislabelsResult
from service.analysis.sample_size import SampleSizeResult
from service.checks.duplicates import DuplicatesRequest, run_duplicates
from service.checks.imbalance import ImbalanceRequest, run_imbalance
from service.checks.mislabels import (
    AgreementRequest,
    MislabelsRequest,
    run_agreement,
    run_mislabels,
)
from service.checks.sample_size import SampleSizeRequest, run_sample_size
from service.grpc_api.shapes import PACKAGE
from service.report.models import Report, ReportRequest
from service.settings import Settings

SERVICE = "DatasetQuality"
SERVICE_FULL_NAME = f"{PACKAGE}.{SERVICE}"
SERVICE_DOC = (
    "Audits image-classification datasets: duplicates and leakage, mislabels, sample size, class "
    "imbalance, image quality and outliers. The same operations, messages and field names as the "
    "REST API (POST /v1/reports and POST /v1/checks/...); API keys go in the `x-api-key` metadata "
    "when the server requires them. Protobuf maps have no order: where a REST answer follows the "
    "order of a JSON object in the request (split_counts), gRPC sees its keys sorted."
)


class Progress(msgspec.Struct):
    """Progress of a running report (the REST NDJSON stream's ``progress`` event)."""

    stage: Annotated[
        str, Meta(description="resolve, load, infer, or the name of the check that is running")
    ]
    done: Annotated[int, Meta(description="units of this stage done (items, or checks finished)")]
    total: Annotated[int, Meta(description="units of this stage in all")]


class AnalyzeEvent(msgspec.Struct, omit_defaults=True):
    """One message of the Analyze stream: any number of progress events, then the report (last).

    A failed report ends the stream with an error status instead (the REST stream's ``error``
    event)."""

    proto_oneof: ClassVar[str] = "event"

    progress: Annotated[Progress | None, Meta(description="a stage advanced")] = None
    report: Annotated[Report | None, Meta(description="the finished report; the last message")] = (
        None
    )


@dataclass(frozen=True)
class Rpc:
    method: str  # the RPC's name in the service
    request: type  # request Struct
    response: type  # response Struct (one per message for a streaming RPC)
    doc: str
    streaming: bool = False
    route: str = ""  # the REST twin: /v1/checks/{route} (what ``GrpcClient.check`` takes)
    run: Callable[[Any, Settings], Any] | None = None  # check RPCs: (request, settings) -> result


ANALYZE = Rpc(
    method="Analyze",
    request=ReportRequest,
    response=AnalyzeEvent,
    streaming=True,
    doc=(
        "Audits a dataset: streams progress events, then the full report (as POST /v1/reports "
        "with Accept: application/x-ndjson). At most IMAGELINT_MAX_CONCURRENT_REPORTS run per "
        "replica (shared with REST); more get RESOURCE_EXHAUSTED with retry info. Cancelling "
        "the call cancels the report."
    ),
)

CHECK_RPCS: tuple[Rpc, ...] = (
    Rpc(
        method="CheckDuplicates",
        request=DuplicatesRequest,
        response=DuplicatesResult,
        route="duplicates",
        run=lambda data, settings: run_duplicates(data, settings.max_items),
        doc=(
            "Which images are exact or near copies, do copies leak across splits, and do they "
            "disagree on the label? From your embeddings (POST /v1/checks/duplicates)."
        ),
    ),
    Rpc(
        method="CheckSampleSize",
        request=SampleSizeRequest,
        response=SampleSizeResult,
        route="sample-size",
        run=lambda data, settings: run_sample_size(data, settings.max_items),
        doc=(
            "Is there enough data? A learning curve on your embeddings and labels (or a fit of "
            "your own observations) and the images needed for a target (POST "
            "/v1/checks/sample-size)."
        ),
    ),
    Rpc(
        method="CheckImbalance",
        request=ImbalanceRequest,
        response=ImbalanceResult,
        route="imbalance",
        run=lambda data, settings: run_imbalance(data, settings.max_items),
        doc=(
            "How skewed are the classes, and what weights or resampling fix it? From per-item "
            "labels or class counts (POST /v1/checks/imbalance)."
        ),
    ),
    Rpc(
        method="CheckMislabels",
        request=MislabelsRequest,
        response=MislabelsResult,
        route="mislabels",
        run=lambda data, settings: run_mislabels(data, settings.max_items),
        doc=(
            "Which labels are most likely wrong, and what is the likely right label? From your "
            "embeddings (out-of-sample probe) or your model's probabilities or logits (POST "
            "/v1/checks/mislabels)."
        ),
    ),
    Rpc(
        method="CheckAgreement",
        request=AgreementRequest,
        response=AgreementResult,
        route="agreement",
        run=lambda data, settings: run_agreement(data, settings.max_items),
        doc=(
            "How much do annotators agree, per item and per annotator pair? From several "
            "annotators' labels per item (POST /v1/checks/agreement)."
        ),
    ),
)

RPCS: tuple[Rpc, ...] = (ANALYZE, *CHECK_RPCS)
CHECKS_BY_ROUTE: dict[str, Rpc] = {rpc.route: rpc for rpc in CHECK_RPCS}


def root_structs() -> list[type]:
    """Every Struct that appears in an RPC, in the order the contract lists them."""
    roots: list[type] = []
    for rpc in RPCS:
        for cls in (rpc.request, rpc.response):
            if cls not in roots:
                roots.append(cls)
    return roots
