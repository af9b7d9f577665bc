"""The connection pool and versioned migrations.

Migrations are the numbered ``migrations/NNNN_name.sql`` files, applied in order, each in its own
transaction, and recorded in ``schema_migrations``. Several replicas starting at once serialise
on an advisory lock, so each file runs exactly once per database.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import asyncpg
import asyncpg.pool

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x1A6E_11_7  # pg_advisory_lock key of the migration step
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, str, Path]]:
    """(version, name, path) of each migration, by version; a gap or a duplicate is an error."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise ValueError(f"migration {path.name!r} is not named NNNN_name.sql")
        found.append((int(match.group(1)), match.group(2), path))
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"migration versions must be 1..n without gaps; got {versions}")
    return found


async def apply_migrations(
    conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy, directory: Path = MIGRATIONS_DIR
) -> list[int]:
    """Apply the migrations not yet recorded; returns the versions applied now."""
    applied_now: list[int] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, name, path in migration_files(directory):
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text())
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name
                )
            applied_now.append(version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied_now


def _encode_jsonb(value: object) -> str:
    """Python values as JSON; bytes are taken as JSON already encoded (msgspec output)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode()
    return json.dumps(value)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=json.loads, schema="pg_catalog"
    )


async def open_pool(url: str, *, min_size: int = 1, max_size: int = 8) -> asyncpg.Pool:
    """A pool whose connections read and write ``jsonb`` as Python values; migrations applied."""
    pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=_init_connection
    )
    async with pool.acquire() as conn:
        await apply_migrations(conn)
    return pool
