"""The store against the real PostgreSQL server the session starts: migrations, the claim
protocol of jobs (skip-locked claims, stale reclaim, finishing exactly once), retention, and the
embedding cache."""

from __future__ import annotations

import asyncio

import asyncpg
import numpy as np
import pytest

from service.store.database import apply_migrations, migration_files, open_pool
from service.store.embedding_cache import EmbeddingCache, delete_unused, evict_over_caps
from service.store.jobs import JobStore

REQUEST = {"dataset": {"items": [{"uri": "https://example.org/a.png", "label": "a"}]}}
REQUEST_JSON = b'{"dataset":{"items":[{"label":"a","uri":"https://example.org/a.png"}]}}'


@pytest.fixture
async def pool(database_url):
    pool = await open_pool(database_url)
    try:
        yield pool
    finally:
        await pool.close()


async def test_migrations_are_recorded_once_even_when_replicas_race(database_url):
    versions = [v for v, _, _ in migration_files()]
    conns = [await asyncpg.connect(database_url) for _ in range(3)]
    try:
        applied = await asyncio.gather(*(apply_migrations(c) for c in conns))
        # exactly one of the three applied each version; the others found it recorded
        assert sorted(v for run in applied for v in run) == versions
        rows = await conns[0].fetch("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == versions
        assert [r["name"] for r in rows][:2] == ["jobs", "embedding_cache"]
        assert await apply_migrations(conns[0]) == []
    finally:
        for c in conns:
            await c.close()


async def test_two_workers_never_claim_the_same_job(pool):
    store = JobStore(pool)
    ids = [
        (await store.submit(REQUEST, REQUEST_JSON, api_key=None, idempotency_key=None))[0].id
        for _ in range(6)
    ]
    claims = await asyncio.gather(
        *(store.claim(f"w{i % 2}", stale_s=60, max_attempts=3) for i in range(8))
    )
    got = [c.id for c in claims if c is not None]
    assert sorted(got) == sorted(ids)  # six claims succeed, each job once; two find nothing
    assert sum(c is None for c in claims) == 2
    assert all(c.state == "running" and c.attempts == 1 for c in claims if c is not None)


async def test_stale_job_is_reclaimed_and_only_the_new_owner_finishes_it(pool):
    store = JobStore(pool)
    job, _ = await store.submit(REQUEST, REQUEST_JSON, api_key=None, idempotency_key=None)
    first = await store.claim("dead", stale_s=60, max_attempts=3)
    assert first.id == job.id
    assert await store.claim("alive", stale_s=60, max_attempts=3) is None  # fresh heartbeat
    await pool.execute(
        "UPDATE jobs SET heartbeat_at = now() - interval '2 minutes' WHERE id = $1", job.id
    )
    second = await store.claim("alive", stale_s=60, max_attempts=3)
    assert second.id == job.id and second.attempts == 2 and second.owner == "alive"
    # the old worker wakes up: it may neither check in nor finish
    assert await store.heartbeat(job.id, "dead", {"stage": "load", "done": 1, "total": 1}) is False
    assert (
        await store.finish(job.id, "dead", state="succeeded", ttl_s=60, report_json=b'{"x": 1}')
        is False
    )
    assert (
        await store.finish(job.id, "alive", state="succeeded", ttl_s=60, report_json=b'{"x": 2}')
        is True
    )
    assert (
        await store.finish(job.id, "alive", state="succeeded", ttl_s=60, report_json=b'{"x": 3}')
        is False
    )
    assert await store.report_json(job.id) == '{"x": 2}'
    events = [body for _, body in await store.events_after(job.id, 0)]
    assert [e.get("state") for e in events] == ["queued", "running", "running", "succeeded"]


async def test_exhausted_attempts_fail_the_job(pool):
    store = JobStore(pool)
    job, _ = await store.submit(REQUEST, REQUEST_JSON, api_key=None, idempotency_key=None)
    for attempt in range(2):
        claimed = await store.claim(f"w{attempt}", stale_s=60, max_attempts=2)
        assert claimed.attempts == attempt + 1
        await pool.execute(
            "UPDATE jobs SET heartbeat_at = now() - interval '2 minutes' WHERE id = $1", job.id
        )
    assert await store.claim("w9", stale_s=60, max_attempts=2) is None
    assert await store.fail_exhausted(stale_s=60, max_attempts=2, ttl_s=60) == 1
    failed = await store.get(job.id)
    assert failed.state == "failed" and failed.error["code"] == "job_attempts_exhausted"


async def test_idempotency_key_returns_the_first_job(pool):
    store = JobStore(pool)
    a, created_a = await store.submit(REQUEST, REQUEST_JSON, api_key="k1", idempotency_key="same")
    b, created_b = await store.submit(REQUEST, REQUEST_JSON, api_key="k1", idempotency_key="same")
    c, created_c = await store.submit(REQUEST, REQUEST_JSON, api_key="k2", idempotency_key="same")
    assert (created_a, created_b, created_c) == (True, False, True)
    assert a.id == b.id != c.id  # keys are scoped by API key
    assert await store.request_matches(a.id, REQUEST_JSON)
    assert not await store.request_matches(a.id, REQUEST_JSON + b" ")


async def test_cancel_then_expiry_removes_the_job_and_its_events(pool):
    store = JobStore(pool)
    job, _ = await store.submit(REQUEST, REQUEST_JSON, api_key=None, idempotency_key=None)
    cancelled = await store.cancel(job.id, ttl_s=3600)
    assert cancelled.state == "cancelled" and cancelled.expires_at is not None
    assert await store.claim("w", stale_s=60, max_attempts=3) is None
    assert (await store.cancel(job.id, ttl_s=3600)).state == "cancelled"  # idempotent
    assert await store.delete_expired() == 0
    await pool.execute(
        "UPDATE jobs SET expires_at = now() - interval '1 second' WHERE id = $1", job.id
    )
    assert await store.delete_expired() == 1
    assert await store.get(job.id) is None
    assert await pool.fetchval("SELECT count(*) FROM job_events WHERE job_id = $1", job.id) == 0


async def test_embedding_cache_round_trip_is_exact_and_scoped_by_model(pool):
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(3, 8)).astype(np.float32)
    desc = rng.normal(size=(3, 5)).astype(np.float32)
    cache = EmbeddingCache(pool, "enc:1")
    await cache.put_many(["h0", "h1"], emb[:2], None)  # a run without duplicates: no descriptor
    got = await cache.get_many(["h0", "h1", "h2"], need_descriptor=False)
    assert set(got) == {"h0", "h1"}
    np.testing.assert_array_equal(got["h1"].embedding, emb[1])
    assert await cache.get_many(["h0"], need_descriptor=True) == {}  # descriptor still missing
    await cache.put_many(["h0", "h2"], emb[[0, 2]], desc[[0, 2]])
    full = await cache.get_many(["h0", "h1", "h2"], need_descriptor=True)
    assert set(full) == {"h0", "h2"}
    np.testing.assert_array_equal(full["h2"].descriptor, desc[2])
    await cache.put_many(["h1"], emb[[1]], None)  # a later write without descriptor keeps one
    assert set(await cache.get_many(["h0"], need_descriptor=True)) == {"h0"}
    assert await EmbeddingCache(pool, "enc:2").get_many(["h0", "h1"], need_descriptor=False) == {}
    assert (cache.hits, cache.misses) == (2 + 2 + 1, 1 + 1 + 1)
    await pool.execute("UPDATE embedding_cache SET used_at = now() - interval '2 days'")
    assert set(await cache.get_many(["h0"], need_descriptor=False)) == {"h0"}  # a use refreshes it
    assert await delete_unused(pool, ttl_s=86400) == 2  # h1 and h2, unused for two days
    assert set(await cache.get_many(["h0", "h1", "h2"], need_descriptor=False)) == {"h0"}


async def test_cache_caps_evict_the_least_recently_used_entries(pool):
    emb = np.ones((6, 8), np.float32)  # 32 bytes an entry
    desc = np.ones((6, 4), np.float32)  # 16 more when a descriptor is stored
    cache = EmbeddingCache(pool, "enc:1")
    keys = [f"h{i}" for i in range(6)]
    await cache.put_many(keys, emb, None)
    await cache.put_many(["h5"], emb[:1], desc[:1])  # h5: 48 bytes
    for i, key in enumerate(keys):  # h0 used longest ago ... h5 most recently
        await pool.execute(
            "UPDATE embedding_cache SET used_at = now() - make_interval(hours => $1)"
            " WHERE sha256 = $2",
            10 - i, key,
        )  # fmt: skip
    assert await evict_over_caps(pool) == 0  # no cap
    assert await evict_over_caps(pool, max_rows=4) == 2  # h0, h1
    left = {r["sha256"] for r in await pool.fetch("SELECT sha256 FROM embedding_cache")}
    assert left == {"h2", "h3", "h4", "h5"}
    # 48 (h5) + 32 (h4) = 80 bytes fit under 100; h3 would make 112
    assert await evict_over_caps(pool, max_bytes=100) == 2
    left = {r["sha256"] for r in await pool.fetch("SELECT sha256 FROM embedding_cache")}
    assert left == {"h4", "h5"}
    # a hit on an old entry refreshes it: it then outlives a newer one
    await pool.execute("UPDATE embedding_cache SET used_at = now() - interval '2 hours'")
    await pool.execute(
        "UPDATE embedding_cache SET used_at = now() - interval '3 hours' WHERE sha256 = 'h4'"
    )
    assert set(await cache.get_many(["h4"], need_descriptor=False)) == {"h4"}
    assert await evict_over_caps(pool, max_rows=1) == 1
    left = {r["sha256"] for r in await pool.fetch("SELECT sha256 FROM embedding_cache")}
    assert left == {"h4"}
