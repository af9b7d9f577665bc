"""Shared fixtures: the real Triton server (started once per test session on free ports).

Integration tests ask for ``triton`` (a running ``LocalTriton``) or ``triton_url``. The server
uses the repository's ``.venv-triton`` and the built ``model.onnx`` (``make test`` builds both).
Tests of jobs and the embedding cache ask for ``postgres`` (a real PostgreSQL 15 server from a
throw-away data directory, ``service.store.local_postgres``) or ``database_url``: a fresh database
on it per request, so tests never see each other's rows.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.inference.local_triton import DEFAULT_TRITON_VENV, LocalTriton
from service.store.local_postgres import LocalPostgres

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


@pytest.fixture(scope="session")
def postgres():
    server = LocalPostgres().start(timeout=120)
    try:
        yield server
    finally:
        server.stop()


def new_database(server_url: str) -> str:
    """A new, empty database on the server at ``server_url``; returns its URL (migrations are
    applied by whoever opens it)."""
    import asyncio
    import uuid

    import asyncpg

    name = f"t_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def database_url(postgres) -> str:
    """A new, empty database on the session's server."""
    return new_database(postgres.url)
