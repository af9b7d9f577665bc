"""Serve a Litestar app over real HTTP (uvicorn on 127.0.0.1, a free port) in a thread."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import uvicorn

from service.inference.local_triton import free_port
from service.settings import Settings

SHARED_GRPC_PORT = Settings().grpc_port


@contextlib.contextmanager
def serve(app, *, host: str = "127.0.0.1", timeout: float = 30.0) -> Iterator[str]:
    """Run ``app`` until the block exits; yields its base URL (``http://127.0.0.1:PORT``).

    Refuses an app whose gRPC API would bind the service's default port: that port belongs to
    ``make run`` on a developer's machine, so a test must turn gRPC off (``grpc_port=0``) or
    give it a free port."""
    if app.state.settings.grpc_port == SHARED_GRPC_PORT:
        raise ValueError(
            f"serve(): the app would bind gRPC on the shared default port {SHARED_GRPC_PORT}; "
            "pass grpc_port=0 or a free port in its Settings"
        )
    port = free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)
