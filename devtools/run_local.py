"""``make run``: the embedded local Triton and PostgreSQL plus the API on 127.0.0.1, all stopped
on Ctrl-C.

Starts PostgreSQL 15 (``service.store.local_postgres``; skipped when ``IMAGELINT_DATABASE_URL``
names a server) from a throw-away data directory, or from ``IMAGELINT_PG_DATA`` to keep jobs and
the embedding cache across runs; then ``tritonserver`` (from the nvidia-pytriton wheel, CPU) on
the ports in ``TRITON_GRPC_PORT`` / ``TRITON_HTTP_PORT`` / ``TRITON_METRICS_PORT`` (defaults
8001-8003), waits for the model to be READY, then serves the API with uvicorn until
SIGINT/SIGTERM/SIGHUP, and finally stops Triton — its whole process group, on every exit path
(an error, Ctrl-C during start-up, a closed terminal; if this process is killed outright the
kernel kills Triton with it) — and PostgreSQL. Refuses to start when a Triton port is already
held (an orphan of an earlier run would otherwise be taken for our server). While the API runs,
a supervisor restarts Triton if it dies.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

import uvicorn

from service.app import create_app
from service.inference.local_triton import LocalTriton, PortInUse, TritonSupervisor
from service.settings import Settings
from service.store.local_postgres import LocalPostgres


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--host", default=os.environ.get("IMAGELINT_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("IMAGELINT_PORT", 8000)))
    args = parser.parse_args(argv)

    postgres = None
    database_url = os.environ.get("IMAGELINT_DATABASE_URL", "")
    if not database_url:
        pg_data = os.environ.get("IMAGELINT_PG_DATA")
        postgres = LocalPostgres(data_dir=Path(pg_data).resolve() if pg_data else None)
        print("starting PostgreSQL ...", flush=True)
        postgres.start(timeout=120)
        database_url = postgres.url
        print(f"PostgreSQL ready at {database_url} in {postgres.started_in_s:.1f}s", flush=True)
    try:
        return serve(args, database_url)
    finally:
        if postgres is not None:
            postgres.stop()
            print("PostgreSQL stopped", flush=True)


def serve(args: argparse.Namespace, database_url: str) -> int:
    started = time.monotonic()
    triton = LocalTriton(
        grpc_port=int(os.environ.get("TRITON_GRPC_PORT", 8001)),
        http_port=int(os.environ.get("TRITON_HTTP_PORT", 8002)),
        metrics_port=int(os.environ.get("TRITON_METRICS_PORT", 8003)),
    )
    # A closed terminal (SIGHUP) stops the API the way Ctrl-C does, so the cleanup below runs.
    signal.signal(signal.SIGHUP, lambda _signum, _frame: os.kill(os.getpid(), signal.SIGTERM))
    print("starting Triton (CPU) ...", flush=True)
    supervisor = None
    try:
        try:
            triton.start(timeout=240)
        except PortInUse as exc:
            print(f"not starting: {exc}", file=sys.stderr, flush=True)
            return 2
        print(
            f"Triton ready at grpc={triton.grpc_url} in {time.monotonic() - started:.1f}s",
            flush=True,
        )
        supervisor = TritonSupervisor(triton).start()
        settings = Settings.from_env().with_overrides(
            triton_url=triton.grpc_url, host=args.host, port=args.port, database_url=database_url
        )
        print(f"API on http://{args.host}:{args.port} (OpenAPI at /schema)", flush=True)
        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    finally:
        if supervisor is not None:
            supervisor.stop()
        triton.stop()
        print("Triton stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
