"""The fetcher against a real loopback HTTP(S) server, reached only through the allow-list."""

from __future__ import annotations

import asyncio
import time

import pytest

from service.errors import ItemError
from service.fetch.fetcher import Fetcher
from service.settings import Settings
from tests.fixtures import hazard_images as h
from tests.fixtures.http_server import FixtureHTTPServer
from tests.fixtures.tls import client_context, self_signed_certificate, server_context

PNG = h.encode(h.gradient(32, 24), "PNG")


@pytest.fixture(scope="module")
def server():
    srv = FixtureHTTPServer().start()
    srv.add("ok.png", PNG)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def fresh(server):
    server.clear_requests()
    return server


def allowed(**overrides) -> Settings:
    base = {"allow_hosts": ("127.0.0.1/32",), "fetch_timeout_s": 2.0, "fetch_max_bytes": 100_000}
    base.update(overrides)
    return Settings(**base)


async def fetch(settings: Settings, uri: str, **kwargs) -> bytes:
    async with Fetcher(settings, **kwargs) as fetcher:
        return await fetcher.fetch(uri)


async def fetch_error(settings: Settings, uri: str, **kwargs) -> ItemError:
    with pytest.raises(ItemError) as caught:
        await fetch(settings, uri, **kwargs)
    return caught.value


async def test_loopback_server_is_refused_unless_allow_listed(fresh):
    for uri in (fresh.url("/files/ok.png"), f"http://localhost:{fresh.port}/files/ok.png"):
        error = await fetch_error(Settings(), uri)
        assert error.code == "fetch_refused"
    assert fresh.requests == []  # no request ever reached the server


async def test_allow_listed_server_serves_images(fresh):
    assert await fetch(allowed(), fresh.url("/files/ok.png")) == PNG
    assert await fetch(allowed(), fresh.url("/files/ok.png?nolength=1")) == PNG
    assert [path for path, _ in fresh.requests] == ["/files/ok.png", "/files/ok.png?nolength=1"]


async def test_redirects_followed_up_to_the_limit(fresh):
    assert await fetch(allowed(), fresh.url("/chain/3")) == PNG
    error = await fetch_error(allowed(), fresh.url("/chain/4"))
    assert error.code == "fetch_failed" and "redirects" in error.detail
    assert sum(path.startswith("/chain/") for path, _ in fresh.requests) == 3 + 4


async def test_redirect_to_a_refused_address_makes_no_second_request(fresh):
    # Only the name "fixture.test" is allow-listed (resolved to the loopback server by a test
    # resolver); its redirect to the same server by IP must be refused.
    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"] if host == "fixture.test" else []

    settings = Settings(allow_hosts=("fixture.test",), fetch_timeout_s=2.0)
    start = f"http://fixture.test:{fresh.port}"
    for target in (fresh.url("/files/ok.png"), "http://169.254.169.254/latest/meta-data/"):
        fresh.clear_requests()
        error = await fetch_error(settings, f"{start}/redirect?to={target}", resolver=resolver)
        assert error.code == "fetch_refused"
        assert [path.split("?")[0] for path, _ in fresh.requests] == ["/redirect"]
        assert fresh.requests[0][1] == f"fixture.test:{fresh.port}"  # Host header kept


async def test_slow_response_hits_the_total_deadline(fresh):
    started = time.monotonic()
    error = await fetch_error(allowed(fetch_timeout_s=1.0), fresh.url("/slow?seconds=10"))
    assert error.code == "timeout"
    assert time.monotonic() - started < 5.0  # the deadline, not the 10 s the server would drip


async def test_oversized_responses_are_refused(fresh):
    settings = allowed(fetch_max_bytes=50_000)
    declared = await fetch_error(settings, fresh.url("/big?bytes=10000000&declare=1"))
    assert declared.code == "too_large" and "Content-Length" in declared.detail
    counted = await fetch_error(settings, fresh.url("/big?bytes=10000000"))
    assert counted.code == "too_large" and "more than 50,000 bytes" in counted.detail


async def test_http_errors_map_to_codes(fresh):
    assert (await fetch_error(allowed(), fresh.url("/files/missing.png"))).code == "not_found"
    assert (await fetch_error(allowed(), fresh.url("/status/410"))).code == "not_found"
    assert (await fetch_error(allowed(), fresh.url("/status/503"))).code == "fetch_failed"
    lying = await fetch_error(allowed(), fresh.url("/lying?declare=1000&send=10"))
    assert lying.code == "fetch_failed"


async def test_per_host_concurrency_limit(fresh):
    settings = allowed(fetch_per_host_concurrency=2, fetch_timeout_s=10.0)
    async with Fetcher(settings) as fetcher:
        results = await asyncio.gather(
            *(fetcher.fetch(fresh.url(f"/delay?seconds=0.3&n={i}")) for i in range(6))
        )
    assert results == [PNG] * 6
    assert len(fresh.requests) == 6
    assert fresh.peak_in_flight == 2  # never more than the per-host limit at the server


async def test_https_connects_to_the_vetted_address_with_the_host_name_for_sni(tmp_path):
    pair = self_signed_certificate(tmp_path, "images.fixture.test")
    if pair is None:
        pytest.skip("openssl CLI not available to make a test certificate")
    cert, key = pair
    srv = FixtureHTTPServer(tls=server_context(cert, key)).start()
    srv.add("ok.png", PNG)
    resolved: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        resolved.append(host)
        return ["127.0.0.1"]

    try:
        settings = Settings(allow_hosts=("images.fixture.test",), fetch_timeout_s=5.0)
        uri = f"https://images.fixture.test:{srv.port}/files/ok.png"
        data = await fetch(settings, uri, resolver=resolver, verify=client_context(cert))
        assert data == PNG
        assert resolved == ["images.fixture.test"]
        assert srv.sni == ["images.fixture.test"]  # TLS name kept while dialling 127.0.0.1
        assert srv.requests[0][1] == f"images.fixture.test:{srv.port}"
        # A name the certificate does not cover fails verification: the name really is checked.
        srv.requests.clear()

        async def other(host: str, port: int) -> list[str]:
            return ["127.0.0.1"]

        wrong = Settings(allow_hosts=("other.fixture.test",), fetch_timeout_s=5.0)
        error = await fetch_error(
            wrong,
            f"https://other.fixture.test:{srv.port}/files/ok.png",
            resolver=other,
            verify=client_context(cert),
        )
        assert error.code == "fetch_failed"
        assert srv.requests == []
    finally:
        srv.stop()


async def test_waiting_for_a_host_slot_does_not_count_against_the_deadline(fresh):
    # 3 fetches of 0.6 s each through one slot take ~1.8 s; each is within its 1.2 s deadline.
    settings = allowed(fetch_per_host_concurrency=1, fetch_timeout_s=1.2)
    async with Fetcher(settings) as fetcher:
        results = await asyncio.gather(
            *(fetcher.fetch(fresh.url(f"/delay?seconds=0.6&n={i}")) for i in range(3))
        )
        assert fetcher._host_slots == {}  # noqa: SLF001 - per-host entries are released
    assert results == [PNG] * 3
    assert fresh.peak_in_flight == 1
