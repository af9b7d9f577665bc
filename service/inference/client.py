"""Async Triton client for the image encoder (``tritonclient.grpc.aio``).

``TritonEncoder.encode(images)`` turns a uint8 N x S x S x 3 array (S = 224, the trained
resolution, or a lower multiple of 32 for small images — ``service.images.resolution``) into L2-normalised
embeddings (N x 2024), ImageNet logits (N x 1000) and, when asked, the 3 x 3 feature grid the
duplicate descriptor is built from. It splits the batch into Triton requests of
``batch_size``, keeps at most ``max_inflight`` of them in flight, gives each call a deadline,
and retries UNAVAILABLE with jittered exponential backoff a bounded number of times. gRPC errors
become the project's typed errors in ``map_triton_errors``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from service.errors import (
    InferenceError,
    InferenceFailed,
    InferenceTimeout,
    InferenceUnavailable,
    InvalidInput,
)

IMAGE_SIZE = 224
EMBEDDING_DIM = 2024  # multi-stage readout: pooled stages 3-7 (744) + head (1280)
NUM_IMAGENET_CLASSES = 1000
T = TypeVar("T")

# gRPC status names (as tritonclient reports them) that mean "try again later".
_UNAVAILABLE = {"StatusCode.UNAVAILABLE", "StatusCode.RESOURCE_EXHAUSTED"}
_TIMEOUT = {"StatusCode.DEADLINE_EXCEEDED"}
_NOT_READY_HINTS = ("not found", "unknown model", "is not ready", "unavailable")

log = logging.getLogger("imagelint.triton")


@dataclass(frozen=True)
class EncodeResult:
    """Outputs of the encoder for N images (rows in input order)."""

    embeddings: np.ndarray  # float32 N x 2024, each row L2-normalised
    logits: np.ndarray  # float32 N x 1000
    feature_grid: np.ndarray | None = None  # float32 N x 1280 x 3 x 3 when requested


def l2_normalise(rows: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.maximum(norms, eps)).astype(np.float32, copy=False)


def parse_classification(entries: Sequence[bytes | str]) -> list[str]:
    """Triton classification strings (``"score:index[:label]"``) -> names in index order."""
    names: dict[int, str] = {}
    for entry in entries:
        text = entry.decode("utf-8") if isinstance(entry, bytes) else str(entry)
        parts = text.split(":", 2)
        index = int(parts[1])
        names[index] = parts[2] if len(parts) == 3 and parts[2] else f"class_{index}"
    return [names.get(i, f"class_{i}") for i in range(max(names, default=-1) + 1)]


def output_array(result: Any, name: str) -> np.ndarray:
    """The output ``name`` of a Triton ``InferResult`` (tritonclient types both as optional)."""
    array = result.as_numpy(name) if result is not None else None
    if array is None:
        raise InferenceFailed(f"Triton returned no {name!r} output")
    return array


def batch_slices(n: int, batch_size: int) -> list[slice]:
    """Consecutive slices of at most ``batch_size`` covering ``range(n)``."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    return [slice(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]


def backoff_delays(retries: int, base: float, cap: float, rng: random.Random) -> list[float]:
    """Full-jitter exponential backoff: delay k is uniform in [0, min(cap, base * 2**k)]."""
    return [rng.uniform(0.0, min(cap, base * 2**k)) for k in range(retries)]


def triton_error_kind(status: str | None, message: str) -> type[InferenceError]:
    """Which typed error a tritonclient ``InferenceServerException`` stands for."""
    if status in _TIMEOUT:
        return InferenceTimeout
    if status in _UNAVAILABLE:
        return InferenceUnavailable
    lowered = message.lower()
    if status in {"StatusCode.NOT_FOUND"} or any(h in lowered for h in _NOT_READY_HINTS):
        return InferenceUnavailable
    return InferenceFailed


@contextlib.contextmanager
def map_triton_errors(what: str) -> Iterator[None]:
    """Translate tritonclient / gRPC exceptions into ``InferenceError`` subclasses."""
    from tritonclient.utils import InferenceServerException

    try:
        yield
    except InferenceServerException as exc:
        kind = triton_error_kind(exc.status(), exc.message() or "")
        message = exc.message() or str(exc.status())
        log.warning("Triton call failed (%s): %s", what, message)
        # The public detail never carries the inference server's address: gRPC puts it in
        # connection errors ("ipv4:10.0.3.7:8001: Failed to connect ...").
        if kind is InferenceUnavailable:
            raise kind(f"{what}: the inference server is unavailable") from exc
        if kind is InferenceTimeout:
            raise kind(f"{what}: deadline exceeded") from exc
        raise kind(f"{what}: {redact_addresses(message)}") from exc
    except TimeoutError as exc:
        raise InferenceTimeout(f"{what}: deadline exceeded") from exc
    except (OSError, ConnectionError) as exc:
        raise InferenceUnavailable(f"{what}: {exc.__class__.__name__}") from exc


_ADDRESS = re.compile(
    r"(?:(?:ipv4|ipv6|dns|unix|unix-abstract):[^\s,;)]+)"  # gRPC target URIs
    r"|(?:\[[0-9a-fA-F:.]+\](?::\d+)?)"  # [v6]:port
    r"|(?:\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b)"  # v4[:port]
    r"|(?:\blocalhost:\d+\b)"
)


def redact_addresses(message: str) -> str:
    """``message`` with network addresses replaced by ``<inference server>``."""
    return _ADDRESS.sub("<inference server>", message)


def channel_options() -> list[tuple[str, int]]:
    """gRPC channel options: large messages, and quick reconnects after Triton restarts.

    gRPC's default reconnect backoff grows to 120 s, so a restarted Triton would stay
    "unavailable" for minutes; capping it at 2 s lets readiness recover promptly.
    """
    max_message = 2**31 - 1
    return [
        ("grpc.max_send_message_length", max_message),
        ("grpc.max_receive_message_length", max_message),
        ("grpc.initial_reconnect_backoff_ms", 250),
        ("grpc.min_reconnect_backoff_ms", 250),
        ("grpc.max_reconnect_backoff_ms", 2000),
        ("grpc.keepalive_time_ms", 30000),
        ("grpc.keepalive_timeout_ms", 10000),
    ]


def validate_image_batch(images: np.ndarray) -> np.ndarray:
    """Check the encoder's input contract: uint8 N x S x S x 3, C-contiguous, S a multiple of
    32 in 32..224 (224 = the trained resolution)."""
    if not isinstance(images, np.ndarray):
        raise InvalidInput("images must be a numpy array")
    if images.dtype != np.uint8:
        raise InvalidInput(f"images must be uint8, got {images.dtype}")
    side = images.shape[1] if images.ndim == 4 else 0
    if (
        images.ndim != 4
        or images.shape[1:] != (side, side, 3)
        or not 32 <= side <= IMAGE_SIZE
        or side % 32
    ):
        raise InvalidInput(
            f"images must be N x S x S x 3 with S a multiple of 32 up to {IMAGE_SIZE}, "
            f"got {images.shape}"
        )
    return np.ascontiguousarray(images)


class TritonEncoder:
    """The image encoder served by Triton, reached over gRPC (asyncio)."""

    def __init__(
        self,
        url: str,
        *,
        model: str = "image_encoder",
        version: str = "",
        timeout_s: float = 60.0,
        retries: int = 3,
        batch_size: int = 32,
        max_inflight: int = 2,
        backoff_base_s: float = 0.2,
        backoff_cap_s: float = 2.0,
        seed: int | None = None,
    ) -> None:
        import tritonclient.grpc.aio as grpcclient

        self.url = url
        self.model = model
        self.version = version
        self.timeout_s = timeout_s
        self.retries = retries
        self.batch_size = batch_size
        self.max_inflight = max(1, max_inflight)
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self._rng = random.Random(seed)
        self._client = grpcclient.InferenceServerClient(url=url, channel_args=channel_options())
        self._grpc = grpcclient
        self._class_names: list[str] | None = None
        self.on_call: Callable[[str, float, str], None] | None = None  # (op, seconds, outcome)

    async def close(self) -> None:
        await self._client.close()

    async def _with_retries(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        delays = backoff_delays(self.retries, self.backoff_base_s, self.backoff_cap_s, self._rng)
        for attempt in range(self.retries + 1):
            started = time.perf_counter()
            try:
                with map_triton_errors(what):
                    result = await asyncio.wait_for(call(), timeout=self.timeout_s + 1.0)
                self._observe(what, started, "ok")
                return result
            except InferenceUnavailable as exc:
                self._observe(what, started, exc.code)
                if attempt == self.retries:
                    raise
                await asyncio.sleep(delays[attempt])
            except InferenceError as exc:
                self._observe(what, started, exc.code)
                raise
        raise AssertionError("unreachable")

    def _observe(self, what: str, started: float, outcome: str) -> None:
        if self.on_call is not None:
            self.on_call(what, time.perf_counter() - started, outcome)

    async def is_model_ready(self, model: str | None = None) -> bool:
        """One quick readiness probe (no retries); False on any error."""
        try:
            with map_triton_errors("model ready"):
                return bool(
                    await self._client.is_model_ready(
                        model or self.model, self.version, client_timeout=2.0
                    )
                )
        except InferenceError:
            return False

    async def model_info(self, model: str | None = None) -> dict:
        """Model metadata (name, versions, inputs, outputs) as a dict."""
        name = model or self.model
        info = await self._with_retries(
            "model metadata",
            lambda: self._client.get_model_metadata(
                name, "" if model else self.version, as_json=True, client_timeout=5.0
            ),
        )
        if info is None:
            raise InferenceFailed(f"Triton returned no metadata for model {name!r}")
        return dict(info)

    async def infer(
        self,
        inputs: dict[str, np.ndarray],
        outputs: Sequence[str],
        *,
        model: str | None = None,
        version: str = "",
    ) -> dict[str, np.ndarray]:
        """One Triton request with the given named numpy inputs; returns the named outputs."""
        from tritonclient.utils import np_to_triton_dtype

        request_inputs = []
        for name, array in inputs.items():
            tensor = self._grpc.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
            tensor.set_data_from_numpy(np.ascontiguousarray(array))
            request_inputs.append(tensor)
        requested = [self._grpc.InferRequestedOutput(name) for name in outputs]
        name = model or self.model

        async def call():
            return await self._client.infer(
                name,
                request_inputs,
                model_version=version if model else self.version,
                outputs=requested,
                client_timeout=self.timeout_s,
            )

        result = await self._with_retries(f"infer {name}", call)
        return {n: output_array(result, n) for n in outputs}

    async def class_names(self) -> list[str]:
        """The encoder's ImageNet class names in index order, read once from Triton.

        They ship with the model (``label_filename`` of the ``logits`` output): one request with
        the classification extension asking for every class returns ``"score:index:name"``
        strings, so the names always match the model Triton serves. An unlabelled model gives
        ``"class_<index>"`` names.
        """
        if self._class_names is None:
            blank = np.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
            tensor = self._grpc.InferInput("images", list(blank.shape), "UINT8")
            tensor.set_data_from_numpy(blank)
            wanted = self._grpc.InferRequestedOutput("logits", class_count=NUM_IMAGENET_CLASSES)

            async def call():
                return await self._client.infer(
                    self.model,
                    [tensor],
                    model_version=self.version,
                    outputs=[wanted],
                    client_timeout=self.timeout_s,
                )

            result = await self._with_retries("class names", call)
            self._class_names = parse_classification(
                output_array(result, "logits").ravel().tolist()
            )
        return self._class_names

    async def encode(self, images: np.ndarray, *, with_grid: bool = False) -> EncodeResult:
        """Encode uint8 N x S x S x 3 images; rows of the result follow the input order."""
        images = validate_image_batch(images)
        n = images.shape[0]
        names = ["embedding", "logits"] + (["feature_grid"] if with_grid else [])
        if n == 0:
            empty = {
                "embedding": np.zeros((0, EMBEDDING_DIM), np.float32),
                "logits": np.zeros((0, NUM_IMAGENET_CLASSES), np.float32),
                "feature_grid": np.zeros((0, EMBEDDING_DIM, 3, 3), np.float32),
            }
            return EncodeResult(
                empty["embedding"], empty["logits"], empty["feature_grid"] if with_grid else None
            )
        gate = asyncio.Semaphore(self.max_inflight)

        async def one(part: slice) -> dict[str, np.ndarray]:
            async with gate:
                return await self.infer({"images": images[part]}, names)

        parts = await asyncio.gather(*(one(s) for s in batch_slices(n, self.batch_size)))
        joined = {name: np.concatenate([p[name] for p in parts], axis=0) for name in names}
        return EncodeResult(
            embeddings=l2_normalise(joined["embedding"].astype(np.float32, copy=False)),
            logits=joined["logits"].astype(np.float32, copy=False),
            feature_grid=joined.get("feature_grid"),
        )
