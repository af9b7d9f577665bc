"""Prometheus collectors, one registry per app (so tests can build several apps in one process).

Names follow Prometheus conventions: ``_total`` for counters, ``_seconds`` for durations, base
units everywhere, ``imagelint_`` prefix.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class Metrics:
    """All of the service's collectors, registered on ``self.registry``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            "imagelint_http_requests_total",
            "HTTP requests handled, by route template, method and status code.",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            "imagelint_http_request_duration_seconds",
            "HTTP request latency, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.grpc_requests = Counter(
            "imagelint_grpc_requests_total",
            "gRPC calls handled, by method (package.Service/Method) and status code.",
            ["method", "code"],
            registry=r,
        )
        self.grpc_latency = Histogram(
            "imagelint_grpc_request_duration_seconds",
            "gRPC call latency (to the end of the call, streams included), by method.",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.triton_calls = Counter(
            "imagelint_triton_requests_total",
            "Calls to Triton, by operation and outcome (ok or an error code).",
            ["operation", "outcome"],
            registry=r,
        )
        self.triton_latency = Histogram(
            "imagelint_triton_request_duration_seconds",
            "Latency of calls to Triton, by operation.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.images_processed = Counter(
            "imagelint_images_processed_total",
            "Images fetched and decoded successfully.",
            registry=r,
        )
        self.images_failed = Counter(
            "imagelint_images_failed_total",
            "Images that could not be loaded, by error code.",
            ["code"],
            registry=r,
        )
        self.reports = Counter(
            "imagelint_reports_total",
            "Reports finished, by outcome (ok or an error code).",
            ["outcome"],
            registry=r,
        )
        self.reports_in_flight = Gauge(
            "imagelint_reports_in_flight",
            "Reports running now.",
            registry=r,
        )
        self.stage_duration = Histogram(
            "imagelint_stage_duration_seconds",
            "Duration of one report stage (fetch, decode, infer, each check).",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.findings = Counter(
            "imagelint_findings_total",
            "Problems found in datasets, by kind (duplicates, leaked_items, label_issues, ...).",
            ["kind"],
            registry=r,
        )

        self.jobs = Gauge(
            "imagelint_jobs",
            "Jobs in the database, by state (queued, running, succeeded, failed, cancelled).",
            ["state"],
            registry=r,
        )
        self.jobs_running = Gauge(
            "imagelint_jobs_running_here",
            "Jobs this replica's workers are running now.",
            registry=r,
        )
        self.job_duration = Histogram(
            "imagelint_job_duration_seconds",
            "Run time of one job attempt, by outcome (succeeded, failed, lost: cancelled or "
            "reclaimed elsewhere, released: this replica stopped).",
            ["outcome"],
            buckets=LATENCY_BUCKETS + (1200, 1800, 3600),
            registry=r,
        )
        self.cache_lookups = Counter(
            "imagelint_embedding_cache_lookups_total",
            "Images looked up in the embedding cache, by result (hit or miss).",
            ["result"],
            registry=r,
        )

    def observe_triton_call(self, operation: str, seconds: float, outcome: str) -> None:
        """Hook for ``TritonEncoder.on_call``."""
        operation = operation.split(" ")[0]  # "infer image_encoder" -> "infer": bounded labels
        self.triton_calls.labels(operation, outcome).inc()
        self.triton_latency.labels(operation).observe(seconds)

    def observe_grpc_call(self, method: str, code: str, seconds: float) -> None:
        """Hook for the gRPC server's metrics interceptor (``code``: OK, INVALID_ARGUMENT, ...)."""
        self.grpc_requests.labels(method, code).inc()
        self.grpc_latency.labels(method).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
