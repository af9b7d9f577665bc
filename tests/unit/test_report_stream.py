"""``stream_report``: the one report stream both transports write (events, outcome, slot release)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.datasets import DatasetRef, ResolvedDataset
from service.errors import InferenceUnavailable
from service.metrics import Metrics
from service.report import stream as stream_module
from service.report.models import ReportRequest
from service.report.pipeline import Dependencies
from service.report.slots import ReportSlots
from service.report.stream import ReportDone, ReportFailed, ReportProgress, stream_report
from service.settings import Settings

REQUEST = ReportRequest(dataset=DatasetRef(manifest_uri="file:///m.jsonl"))  # run_report is faked


def _deps() -> Dependencies:
    return Dependencies(
        settings=Settings(),
        encoder=None,
        fetcher=None,
        pool=ThreadPoolExecutor(1),
        metrics=Metrics(),
    )


def _count(metrics: Metrics, outcome: str) -> float:
    return metrics.registry.get_sample_value("imagelint_reports_total", {"outcome": outcome}) or 0.0


def _in_flight(metrics: Metrics) -> float:
    return metrics.registry.get_sample_value("imagelint_reports_in_flight")


@pytest.fixture
def slots() -> ReportSlots:
    taken = ReportSlots(2)
    taken.acquire()  # what the transport does before it starts the stream
    return taken


async def test_progress_then_the_report_counts_ok_and_releases_the_slot(monkeypatch, slots):
    async def fake_run_report(request, deps, on_progress, *, request_id, resolved):
        on_progress("load", 1, 2)
        on_progress("load", 2, 2)
        return {"request_id": request_id}

    monkeypatch.setattr(stream_module, "run_report", fake_run_report)
    deps = _deps()
    async with stream_report(REQUEST, deps, slots=slots, request_id="r1") as events:
        seen = [event async for event in events]
        assert _in_flight(deps.metrics) == 1 and slots.in_flight == 1
    assert seen == [
        ReportProgress("load", 1, 2),
        ReportProgress("load", 2, 2),
        ReportDone({"request_id": "r1"}),
    ]
    assert slots.in_flight == 0 and _in_flight(deps.metrics) == 0
    assert _count(deps.metrics, "ok") == 1 and _count(deps.metrics, "client_disconnected") == 0


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (InferenceUnavailable("model not ready"), "inference_unavailable"),
        (RuntimeError("x"), "internal_error"),
    ],
)
async def test_a_failure_is_the_last_event_and_counted_by_its_code(
    monkeypatch, slots, error, outcome
):
    async def fake_run_report(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(stream_module, "run_report", fake_run_report)
    deps = _deps()
    async with stream_report(REQUEST, deps, slots=slots, request_id="r2") as events:
        seen = [event async for event in events]
    assert seen == [ReportFailed(error)]
    assert _count(deps.metrics, outcome) == 1 and slots.in_flight == 0


async def test_leaving_early_cancels_the_report_and_releases_everything(
    monkeypatch, slots, tmp_path
):
    """The client went away after the first event: the report is cancelled, not left running."""
    cancelled = asyncio.Event()

    async def fake_run_report(request, deps, on_progress, *, request_id, resolved):
        on_progress("load", 0, 10)
        try:
            await asyncio.Event().wait()  # a report that would never end
        except asyncio.CancelledError:
            cancelled.set()
            raise

    monkeypatch.setattr(stream_module, "run_report", fake_run_report)
    deps = _deps()
    scratch = tmp_path / "upload"
    scratch.mkdir()
    dataset = ResolvedDataset(items=[], source="archive", scratch=scratch)
    async with stream_report(
        REQUEST, deps, slots=slots, request_id="r3", resolved=dataset
    ) as events:
        async for event in events:
            assert event == ReportProgress("load", 0, 10)
            break
    assert cancelled.is_set()
    assert slots.in_flight == 0 and _in_flight(deps.metrics) == 0 and not scratch.exists()
    assert _count(deps.metrics, "client_disconnected") == 1 and _count(deps.metrics, "ok") == 0


async def test_a_transport_failure_before_the_first_event_still_releases_the_slot(
    monkeypatch, slots
):
    """e.g. gRPC's send_initial_metadata failing because the client is already gone."""

    async def fake_run_report(*_args, **_kwargs):
        await asyncio.Event().wait()

    monkeypatch.setattr(stream_module, "run_report", fake_run_report)
    deps = _deps()
    with pytest.raises(ConnectionError):
        async with stream_report(REQUEST, deps, slots=slots, request_id="r4"):
            raise ConnectionError("client gone")
    assert slots.in_flight == 0 and _in_flight(deps.metrics) == 0
    assert _count(deps.metrics, "client_disconnected") == 1


async def test_a_long_stage_streams_about_a_hundred_progress_events(monkeypatch, slots):
    async def fake_run_report(request, deps, on_progress, *, request_id, resolved):
        on_progress("resolve", 0, 1)
        on_progress("resolve", 1, 1)
        for done in range(1, 20_001):
            on_progress("load", done, 20_000)
        for index in range(3):
            on_progress("duplicates", index, 3)
            on_progress("duplicates", index + 1, 3)
        return {"request_id": request_id}

    monkeypatch.setattr(stream_module, "run_report", fake_run_report)
    async with stream_report(REQUEST, _deps(), slots=slots, request_id="r2") as events:
        seen = [event async for event in events]
    loads = [e.done for e in seen if isinstance(e, ReportProgress) and e.stage == "load"]
    assert loads[0] == 1 and loads[-1] == 20_000 and len(loads) == 101
    assert all(b - a == 200 for a, b in zip(loads[:-2], loads[1:-1], strict=True))
    assert loads[-2:] == [19_801, 20_000]
    small = [(e.stage, e.done) for e in seen if isinstance(e, ReportProgress) and e.stage != "load"]
    assert small == [("resolve", 0), ("resolve", 1)] + [("duplicates", i) for i in range(4)]
