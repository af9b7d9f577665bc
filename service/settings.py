"""All configuration, from ``IMAGELINT_*`` environment variables.

Every field has a default and a one-line description; ``Settings.from_env()`` reads
``IMAGELINT_<FIELD NAME IN CAPITALS>`` for each. Tuples are comma-separated. ``get_settings()``
caches one instance; tests build their own ``Settings(...)`` and pass it to ``create_app``.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ENV_PREFIX = "IMAGELINT_"


@dataclass(frozen=True)
class Settings:
    # --- HTTP server -------------------------------------------------------------------------
    host: str = field(default="127.0.0.1", metadata={"doc": "address the API binds to"})
    port: int = field(default=8000, metadata={"doc": "port the API listens on"})
    max_body_bytes: int = field(
        default=64 * 1024 * 1024, metadata={"doc": "largest request body accepted (bytes)"}
    )
    api_keys: tuple[str, ...] = field(
        default=(), metadata={"doc": "accepted API keys (X-API-Key header); empty = auth off"}
    )
    cors_origins: tuple[str, ...] = field(
        default=(), metadata={"doc": "origins allowed by CORS; empty = CORS off"}
    )
    grpc_port: int = field(
        default=50051, metadata={"doc": "port of the gRPC API (same host as the HTTP API); 0 = off"}
    )
    # --- Triton ------------------------------------------------------------------------------
    triton_url: str = field(default="127.0.0.1:8001", metadata={"doc": "Triton gRPC host:port"})
    triton_model: str = field(default="image_encoder", metadata={"doc": "encoder model name"})
    triton_model_version: str = field(default="", metadata={"doc": "model version; '' = latest"})
    triton_timeout_s: float = field(default=60.0, metadata={"doc": "deadline of one Triton call"})
    triton_retries: int = field(default=3, metadata={"doc": "retries on UNAVAILABLE (jittered)"})
    triton_batch_size: int = field(default=32, metadata={"doc": "images per Triton request"})
    encoder_resolution: int = field(
        default=0,
        metadata={
            "doc": "pixels per side the report encodes at; 0 = chosen per dataset from its image "
            "sizes (small images below 224), else a multiple of 32 up to 224"
        },
    )
    triton_max_inflight: int = field(
        default=2, metadata={"doc": "Triton requests in flight per encode call"}
    )
    ready_cache_s: float = field(
        default=1.5, metadata={"doc": "how long a readiness answer is reused"}
    )
    # --- fetching ----------------------------------------------------------------------------
    data_root: str = field(
        default="", metadata={"doc": "directory file:// URIs may read; '' = refused"}
    )
    allow_hosts: tuple[str, ...] = field(
        default=(),
        metadata={"doc": "hosts or CIDRs allowed even if not public (e.g. object store)"},
    )
    fetch_timeout_s: float = field(default=20.0, metadata={"doc": "total deadline per fetch"})
    fetch_max_bytes: int = field(default=50 * 1024 * 1024, metadata={"doc": "byte cap per fetch"})
    fetch_max_redirects: int = field(default=3, metadata={"doc": "redirects followed per fetch"})
    fetch_concurrency: int = field(default=16, metadata={"doc": "fetches in flight per report"})
    fetch_per_host_concurrency: int = field(
        default=8, metadata={"doc": "fetches in flight per host"}
    )
    # --- datasets ----------------------------------------------------------------------------
    max_items: int = field(default=100_000, metadata={"doc": "items per dataset"})
    max_manifest_bytes: int = field(default=64 * 1024 * 1024, metadata={"doc": "manifest size cap"})
    max_archive_bytes: int = field(
        default=2 * 1024 * 1024 * 1024,
        metadata={"doc": "archive size cap (compressed and unpacked)"},
    )
    max_archive_members: int = field(default=200_000, metadata={"doc": "members per archive"})
    max_uri_length: int = field(default=4096, metadata={"doc": "longest URI accepted"})
    # --- decoding ----------------------------------------------------------------------------
    max_image_pixels: int = field(
        default=178_956_970, metadata={"doc": "decompression-bomb limit (pixels, from the header)"}
    )
    decode_workers: int = field(
        default=0,
        metadata={
            "doc": "decode worker threads; 0 = the CPUs this container may use (cgroup quota)"
        },
    )
    memory_budget_bytes: int = field(
        default=1024 * 1024 * 1024,
        metadata={
            "doc": "working memory admitted at once: image decodes (by decoded pixels) and "
            "/v1/checks/* requests share it; fits the chart's 3 GiB limit with margin"
        },
    )
    max_upload_files: int = field(default=64, metadata={"doc": "files per /v1/embeddings upload"})
    # --- reports -----------------------------------------------------------------------------
    max_concurrent_reports: int = field(default=2, metadata={"doc": "reports running per replica"})
    report_deadline_s: float = field(default=900.0, metadata={"doc": "server-side report deadline"})
    scratch_dir: str = field(default="", metadata={"doc": "scratch directory; '' = system temp"})
    seed: int = field(
        default=0,
        metadata={"doc": "seed of the Triton retry jitter (reports are seeded by options.seed)"},
    )
    # --- jobs and state (PostgreSQL) --------------------------------------------------------
    database_url: str = field(
        default="",
        metadata={"doc": "PostgreSQL URL (jobs, results, embedding cache); '' = jobs off"},
    )
    job_workers: int = field(
        default=1, metadata={"doc": "jobs run at once per replica; 0 = serve only"}
    )
    job_poll_s: float = field(
        default=0.5, metadata={"doc": "how often an idle worker looks for queued jobs"}
    )
    job_heartbeat_s: float = field(
        default=2.0, metadata={"doc": "how often a running job's worker checks in"}
    )
    job_stale_s: float = field(
        default=30.0, metadata={"doc": "a running job silent this long is re-run by another worker"}
    )
    job_max_attempts: int = field(
        default=3, metadata={"doc": "runs of one job before it is failed"}
    )
    job_max_active_per_key: int = field(
        default=20, metadata={"doc": "queued + running jobs per API key (429 above)"}
    )
    job_ttl_s: float = field(
        default=7 * 86400.0, metadata={"doc": "finished jobs (and reports) kept this long"}
    )
    embedding_cache: bool = field(
        default=True,
        metadata={"doc": "reuse per-image vectors by content hash (needs database_url)"},
    )
    embedding_cache_namespace: str = field(
        default="",
        metadata={"doc": "part of the cache key: change it when a model is replaced in place"},
    )
    embedding_cache_ttl_s: float = field(
        default=30 * 86400.0, metadata={"doc": "cache entries unused this long are removed"}
    )
    report_cache: bool = field(
        default=True,
        metadata={
            "doc": "return the stored report for the same request on unchanged content (needs database_url)"
        },
    )
    embedding_cache_max_rows: int = field(
        default=0,
        metadata={"doc": "cache entries kept at most (least recently used go first); 0: no cap"},
    )
    embedding_cache_max_bytes: int = field(
        default=0,
        metadata={
            "doc": "bytes of cached vectors kept at most (least recently used go first); 0: no cap"
        },
    )
    cleanup_interval_s: float = field(
        default=300.0, metadata={"doc": "how often expired rows are removed"}
    )

    @classmethod
    def from_env(cls, environ: typing.Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``IMAGELINT_*`` variables; unknown values raise ``ValueError``."""
        environ = os.environ if environ is None else environ
        hints = typing.get_type_hints(cls)
        values: dict[str, typing.Any] = {}  # each parsed to its field's type by _parse
        for f in dataclasses.fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _parse(raw, hints[f.name], f.name)
        return cls(**values)

    @property
    def data_root_path(self) -> Path | None:
        return Path(self.data_root).resolve() if self.data_root else None

    @property
    def decode_worker_count(self) -> int:
        from service.admission import available_cpus

        return self.decode_workers or available_cpus()

    def with_overrides(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)


def _parse(raw: str, kind: object, name: str) -> object:
    try:
        if kind is bool:
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if typing.get_origin(kind) is tuple:
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        return raw
    except ValueError as exc:
        raise ValueError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind}") from exc


def describe_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for each setting — for the README."""
    return [
        (ENV_PREFIX + f.name.upper(), repr(f.default), f.metadata.get("doc", ""))
        for f in dataclasses.fields(Settings)
    ]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
