"""The Python side of ``proto/imagelint/v1/dataset_quality.proto``: which Struct each RPC takes and
returns (its message has the Struct's name and field names), and which function runs a check RPC
(the same as its REST controller: ``run(request, settings)`` returns the result Struct). The server
and the client dispatch from this table; ``tests/unit/test_grpc_contract.py`` checks it against the
service's descriptor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

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
from service.grpc_api.gen.imagelint.v1 import dataset_quality_pb2
from service.jobs_api import JobStatus
from service.report.models import Report, ReportRequest
from service.settings import Settings

SERVICE = dataset_quality_pb2.DESCRIPTOR.services_by_name["DatasetQuality"]
SERVICE_FULL_NAME = SERVICE.full_name


class Progress(msgspec.Struct):
    """Progress of a running report (the REST NDJSON stream's ``progress`` event)."""

    stage: str
    done: int
    total: int


class AnalyzeEvent(msgspec.Struct, omit_defaults=True):
    """One message of the Analyze stream: progress events, then the report (exactly one is set)."""

    progress: Progress | None = None
    report: Report | None = None


class SubmitJobRequest(msgspec.Struct, omit_defaults=True):
    """SubmitJob: the POST /v1/jobs body and its Idempotency-Key header."""

    request: ReportRequest
    idempotency_key: str | None = None


class JobRef(msgspec.Struct):
    """Names a job (GetJob, GetJobReport, CancelJob)."""

    id: str


class WatchJobRequest(msgspec.Struct):
    """WatchJob: the job and the last event already seen (0: from the first)."""

    id: str
    last_event_id: int = 0


class JobEvent(msgspec.Struct, omit_defaults=True):
    """One event of a job (a line of GET /v1/jobs/{id}/events)."""

    id: int
    event: str
    state: str | None = None
    attempt: int | None = None
    reason: str | None = None
    error: dict[str, Any] | None = None
    stage: str | None = None
    done: int | None = None
    total: int | None = None


@dataclass(frozen=True)
class Rpc:
    method: str  # the RPC's name in the service
    request: type  # request Struct
    response: type  # response Struct (one per message for a streaming RPC)
    streaming: bool = False
    route: str = ""  # the REST twin: /v1/checks/{route} (what ``GrpcClient.check`` takes)
    run: Callable[[Any, Settings], Any] | None = None  # check RPCs: (request, settings) -> result


ANALYZE = Rpc(method="Analyze", request=ReportRequest, response=AnalyzeEvent, streaming=True)

CHECK_RPCS: tuple[Rpc, ...] = (
    Rpc(
        method="CheckDuplicates",
        request=DuplicatesRequest,
        response=DuplicatesResult,
        route="duplicates",
        run=lambda data, settings: run_duplicates(data, settings.max_items),
    ),
    Rpc(
        method="CheckSampleSize",
        request=SampleSizeRequest,
        response=SampleSizeResult,
        route="sample-size",
        run=lambda data, settings: run_sample_size(data, settings.max_items),
    ),
    Rpc(
        method="CheckImbalance",
        request=ImbalanceRequest,
        response=ImbalanceResult,
        route="imbalance",
        run=lambda data, settings: run_imbalance(data, settings.max_items),
    ),
    Rpc(
        method="CheckMislabels",
        request=MislabelsRequest,
        response=MislabelsResult,
        route="mislabels",
        run=lambda data, settings: run_mislabels(data, settings.max_items),
    ),
    Rpc(
        method="CheckAgreement",
        request=AgreementRequest,
        response=AgreementResult,
        route="agreement",
        run=lambda data, settings: run_agreement(data, settings.max_items),
    ),
)

# Jobs (/v1/jobs): the operations of ``service.jobs_api``, as REST does them.
SUBMIT_JOB = Rpc(method="SubmitJob", request=SubmitJobRequest, response=JobStatus)
GET_JOB = Rpc(method="GetJob", request=JobRef, response=JobStatus)
GET_JOB_REPORT = Rpc(method="GetJobReport", request=JobRef, response=Report)
WATCH_JOB = Rpc(method="WatchJob", request=WatchJobRequest, response=JobEvent, streaming=True)
CANCEL_JOB = Rpc(method="CancelJob", request=JobRef, response=JobStatus)
JOB_RPCS: tuple[Rpc, ...] = (SUBMIT_JOB, GET_JOB, GET_JOB_REPORT, WATCH_JOB, CANCEL_JOB)

RPCS: tuple[Rpc, ...] = (ANALYZE, *CHECK_RPCS, *JOB_RPCS)
CHECKS_BY_ROUTE: dict[str, Rpc] = {rpc.route: rpc for rpc in CHECK_RPCS}
