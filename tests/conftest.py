"""Shared fixtures: the real Triton server (started once per test session on free ports).

Integration tests ask for ``triton`` (a running ``LocalTriton``) or ``triton_url``. The server
uses the repository's ``.venv-triton`` and the built ``model.onnx`` (``make test`` builds both).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.inference.local_triton import DEFAULT_TRITON_VENV, LocalTriton

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def triton():
    venv = Path(os.environ.get("IMAGELINT_TRITON_VENV", DEFAULT_TRITON_VENV))
    server = LocalTriton(venv=venv, intra_op_threads=2)
    server.start(timeout=240)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def triton_url(triton) -> str:
    return triton.grpc_url
