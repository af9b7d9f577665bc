"""Health and metrics routes: ``/health/live``, ``/health/ready``, ``/metrics``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State

from service.api.problems import problem_responses
from service.errors import InferenceUnavailable


class Liveness(msgspec.Struct):
    status: str


class Readiness(msgspec.Struct):
    """Ready: the model answers. The inference server's address is not shown (public route)."""

    status: str
    model: str


@dataclass
class ReadinessCache:
    """Triton readiness answered from a cache for ``ttl_s`` seconds (probes are frequent)."""

    ttl_s: float
    _value: bool = False
    _at: float = field(default=-1e18)

    async def ready(self, encoder) -> bool:
        now = time.monotonic()
        if now - self._at > self.ttl_s:
            self._value = await encoder.is_model_ready()
            self._at = time.monotonic()
        return self._value


class HealthController(Controller):
    path = "/"
    tags = ["health"]

    @get("/health/live", summary="Process liveness (does not touch Triton)")
    async def live(self) -> Liveness:
        return Liveness(status="ok")

    @get(
        "/health/ready",
        summary="Readiness: the Triton model is ready",
        responses=problem_responses(503),
    )
    async def ready(self, state: State) -> Readiness:
        settings = state.settings
        if await state.readiness.ready(state.encoder):
            return Readiness(status="ready", model=settings.triton_model)
        raise InferenceUnavailable(
            f"model {settings.triton_model!r} is not ready on Triton", retry_after=5
        )

    @get("/metrics", summary="Prometheus metrics", media_type="text/plain; version=0.0.4")
    async def metrics(self, state: State) -> Response:
        return Response(
            content=state.metrics.exposition(),
            media_type="text/plain; version=0.0.4",  # Litestar appends "; charset=utf-8" to text/*
        )
