"""The local PostgreSQL of ``make run``: a kept data directory survives a restart."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import asyncpg

from service.store.local_postgres import LocalPostgres


async def _run(url: str, query: str):
    conn = await asyncpg.connect(url)
    try:
        if ";" in query:
            return await conn.execute(query)
        return await conn.fetchval(query)
    finally:
        await conn.close()


def test_kept_data_directory_survives_a_restart():
    parent = Path(tempfile.mkdtemp(prefix="imagelint-pg-test-"))
    parent.chmod(0o755)  # the server may run as an unprivileged user
    try:
        data = parent / "data"
        with LocalPostgres(data_dir=data) as first:
            assert first.started_in_s > 0
            asyncio.run(_run(first.url, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)"))
        assert (data / "PG_VERSION").exists()  # stop() keeps a directory it was given
        with LocalPostgres(data_dir=data) as second:
            assert asyncio.run(_run(second.url, "SELECT x FROM kept")) == 42
            assert asyncio.run(_run(second.url, "SHOW fsync")) == "off"
            assert asyncio.run(_run(second.url, "SELECT current_user")) == "imagelint"
    finally:
        shutil.rmtree(parent, ignore_errors=True)
