"""The app factory: ``create_app(settings) -> Litestar``.

Registers every route, the exception handlers (RFC 9457 problem details), the HTTP metrics
middleware, OpenAPI at ``/schema``, and the lifespan that owns the Triton client.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.admission import MemoryBudget, check_request_cost, return_large_blocks_to_the_os
from service.api.auth import api_key_guard
from service.api.checks import (
    DuplicatesCheckController,
    ImbalanceCheckController,
    MislabelsCheckController,
    SampleSizeCheckController,
)
from service.api.collections import CollectionsController
from service.api.docs import (
    assets_router,
    complete_openapi_on_startup,
    docs_csp_middleware,
    openapi_config,
)
from service.api.embeddings import EmbeddingsController
from service.api.health import HealthController, ReadinessCache
from service.api.jobs import JobsController
from service.api.problems import EXCEPTION_HANDLERS
from service.api.reports import ReportsController
from service.api.request_id import add_request_id_header
from service.api.review import ReportExportController
from service.fetch.fetcher import Fetcher
from service.grpc_api.server import grpc_lifespan
from service.inference import TritonEncoder
from service.metrics import Metrics
from service.report.slots import ReportSlots
from service.settings import Settings, get_settings

VERSION = "0.1.0"

# Every controller of the API, in one list.
CONTROLLERS: list[type] = [
    HealthController,
    EmbeddingsController,
    ReportsController,
    ReportExportController,
    JobsController,
    CollectionsController,
    SampleSizeCheckController,
    ImbalanceCheckController,
    MislabelsCheckController,
    DuplicatesCheckController,
]


def metrics_middleware(app: ASGIApp) -> ASGIApp:
    """Count and time every HTTP request by route template, method and status."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            metrics: Metrics = scope["app"].state.metrics
            route = scope.get("path_template") or "unmatched"
            method = scope.get("method", "GET")
            metrics.http_requests.labels(route, method, str(status_holder["status"])).inc()
            metrics.http_latency.labels(route, method).observe(time.perf_counter() - started)

    return middleware


CHECKS_PREFIX = "/v1/checks/"


def check_admission_middleware(app: ASGIApp) -> ASGIApp:
    """``/v1/checks/*`` take their working memory from the shared budget before the body is
    read (429 when it is in use), and give it back when the response is sent."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(CHECKS_PREFIX):
            await app(scope, receive, send)
            return
        state = scope["app"].state
        length = None
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = None
        budget: MemoryBudget = state.memory_budget
        taken = budget.try_take(
            check_request_cost(length, state.settings.max_body_bytes), what="check request"
        )
        try:
            await app(scope, receive, send)
        finally:
            budget.release(taken)

    return middleware


def create_app(
    settings: Settings | None = None, *, encoder: TritonEncoder | None = None
) -> Litestar:
    """Build the API. ``encoder`` lets a caller supply its own Triton client (tests)."""
    settings = settings or get_settings()
    metrics = Metrics()
    return_large_blocks_to_the_os()  # the memory budget counts on freed pixels leaving the process

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own = encoder is None
        client = encoder or TritonEncoder(
            settings.triton_url,
            model=settings.triton_model,
            version=settings.triton_model_version,
            timeout_s=settings.triton_timeout_s,
            retries=settings.triton_retries,
            batch_size=settings.triton_batch_size,
            max_inflight=settings.triton_max_inflight,
            seed=settings.seed,
        )
        client.on_call = metrics.observe_triton_call
        pool = ThreadPoolExecutor(settings.decode_worker_count, thread_name_prefix="decode")
        fetcher = Fetcher(settings)
        app.state.encoder = client
        app.state.decode_pool = pool
        app.state.fetcher = fetcher
        db_pool = runner = None
        try:
            if settings.database_url:
                db_pool, runner = await start_jobs(app, settings, metrics)
            yield
        finally:
            if runner is not None:
                await runner.stop()
            if db_pool is not None:
                await db_pool.close()
            await fetcher.aclose()
            pool.shutdown(wait=False, cancel_futures=True)
            if own:
                await client.close()

    cors = CORSConfig(allow_origins=list(settings.cors_origins)) if settings.cors_origins else None
    return Litestar(
        route_handlers=[*CONTROLLERS, assets_router()],
        on_startup=[complete_openapi_on_startup],
        lifespan=[lifespan, grpc_lifespan],  # gRPC starts after the Triton client, stops before it
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[metrics_middleware, docs_csp_middleware, check_admission_middleware],
        before_send=[add_request_id_header],
        guards=[api_key_guard],
        cors_config=cors,
        request_max_body_size=settings.max_body_bytes,
        state=_initial_state(settings, metrics),
        openapi_config=openapi_config(VERSION),
    )


def cache_model(settings: Settings) -> str:
    """The model part of the embedding cache's and the reference sets' keys."""
    model = f"{settings.triton_model}:{settings.triton_model_version or 'latest'}"
    if settings.embedding_cache_namespace:
        model += f":{settings.embedding_cache_namespace}"
    return model


async def start_jobs(app: Litestar, settings: Settings, metrics: Metrics):
    """Open the database (migrations applied), the embedding cache and this replica's job
    workers; returns (pool, runner) for the lifespan to close."""
    from service.job_runner import JobRunner
    from service.report.pipeline import Dependencies
    from service.store.database import open_pool
    from service.store.embedding_cache import (
        PREPROCESSING_VERSION,
        CalibrationCache,
        EmbeddingCache,
    )
    from service.store.jobs import JobStore
    from service.store.references import ReferenceStore

    pool = await open_pool(settings.database_url, max_size=max(4, 2 * settings.job_workers + 4))
    app.state.job_store = JobStore(pool)
    if settings.embedding_cache:
        app.state.embedding_cache = EmbeddingCache(pool, cache_model(settings), metrics=metrics)
        app.state.calibration_cache = CalibrationCache(
            pool, cache_model(settings), PREPROCESSING_VERSION
        )
    if settings.report_cache:
        from service.store.report_cache import ReportCache, source_fingerprint

        fingerprint = f"{source_fingerprint()}:{cache_model(settings)}:{PREPROCESSING_VERSION}"
        app.state.report_cache = ReportCache(pool, fingerprint)
    app.state.references = ReferenceStore(pool, cache_model(settings), PREPROCESSING_VERSION)
    runner = JobRunner(app.state.job_store, settings, Dependencies.from_state(app.state), metrics)
    app.state.job_runner = runner
    runner.start()
    return pool, runner


def _initial_state(settings: Settings, metrics: Metrics):
    from litestar.datastructures import State

    return State(
        {
            "settings": settings,
            "metrics": metrics,
            "memory_budget": MemoryBudget(settings.memory_budget_bytes),
            "readiness": ReadinessCache(ttl_s=settings.ready_cache_s),
            "report_slots": ReportSlots(settings.max_concurrent_reports),
            "job_store": None,  # set by the lifespan when IMAGELINT_DATABASE_URL is given
            "job_runner": None,
            "embedding_cache": None,
            "references": None,
            "calibration_cache": None,
            "report_cache": None,
        }
    )
