"""The fetcher's refusal matrix: every URI here is refused before any connection is attempted.

The fetcher runs on a recording network backend (``ScriptedBackend``): it records every
connection attempt and answers with a scripted HTTP response, so a test can prove both that
refused URIs never reach the connector and what an allowed hop sent (address, Host header).
"""

from __future__ import annotations

import ipaddress
import os

import httpcore
import pytest

from service.errors import ItemError
from service.fetch.addresses import (
    AllowList,
    embedded_ipv4,
    is_ambiguous_numeric_host,
    non_public_reason,
)
from service.fetch.fetcher import Fetcher, redact_uri
from service.settings import Settings

PUBLIC_IP = "93.184.215.14"


class ScriptedStream(httpcore.AsyncNetworkStream):
    def __init__(self, response: bytes, sent: list[bytes]):
        self._response = response
        self._sent = sent

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        chunk, self._response = self._response[:max_bytes], self._response[max_bytes:]
        return chunk

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._sent.append(buffer)

    async def aclose(self) -> None:
        return None

    def get_extra_info(self, info: str):
        return None


class ScriptedBackend(httpcore.AsyncNetworkBackend):
    """Records ``(address, port)`` of each connection; answers from ``responses`` in order."""

    def __init__(self, responses: list[bytes] | None = None):
        self.connects: list[tuple[str, int]] = []
        self.sent: list[bytes] = []
        self.responses = list(responses or [])

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connects.append((host, port))
        if not self.responses:
            raise httpcore.ConnectError("scripted backend: no response left")
        return ScriptedStream(self.responses.pop(0), self.sent)

    async def sleep(self, seconds: float) -> None:
        return None


class RecordingResolver:
    def __init__(self, table: dict[str, list[str]]):
        self.table = table
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.table:
            raise OSError("no such host")
        return self.table[host]


def http_response(status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def make_fetcher(responses=None, table=None, **settings):
    backend = ScriptedBackend(responses)
    resolver = RecordingResolver(
        table
        if table is not None
        else {
            "localhost": ["127.0.0.1", "::1"],
            "public.example": [PUBLIC_IP],
            "host": [PUBLIC_IP],
        }
    )
    fetcher = Fetcher(Settings(**settings), resolver=resolver, network_backend=backend)
    return fetcher, backend, resolver


REFUSED_HTTP = [
    "http://127.0.0.1/",
    "http://localhost/",
    "http://[::1]/",
    "http://0.0.0.0/",
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f000001/",
    "http://127.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::127.0.0.1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
    "http://[fe80::1]/",
    "http://224.0.0.1/",
    "https://user:pass@host/",
    "https://user@host/",
    "ftp://host/file.jpg",
    "gopher://host:70/_GET",
    "data:image/png;base64,iVBORw0KGgo=",
    "javascript:alert(1)",
    "//host/no-scheme.jpg",
    "file:///etc/passwd",
]


@pytest.mark.parametrize("uri", REFUSED_HTTP)
async def test_refused_without_any_connection(uri):
    fetcher, backend, _ = make_fetcher([http_response(200, body=b"x")])
    async with fetcher:
        with pytest.raises(ItemError) as caught:
            await fetcher.fetch(uri)
    assert caught.value.code == "fetch_refused", caught.value.detail
    assert backend.connects == []
    assert fetcher.backend.connects == 0


async def test_public_looking_url_redirecting_to_loopback_stops_at_the_redirect():
    redirect = http_response(302, {"Location": "http://127.0.0.1/secret"})
    fetcher, backend, resolver = make_fetcher([redirect, http_response(200, body=b"secret")])
    async with fetcher:
        with pytest.raises(ItemError) as caught:
            await fetcher.fetch("http://public.example/img.jpg")
    assert caught.value.code == "fetch_refused"
    assert "redirect" in caught.value.detail
    assert backend.connects == [(PUBLIC_IP, 80)]  # only the first hop, to the vetted address


@pytest.mark.parametrize(
    "location",
    [
        "http://localhost/x",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "ftp://public.example/x",
        "http://u:p@public.example/x",
    ],
)
async def test_every_redirect_hop_is_vetted(location):
    fetcher, backend, _ = make_fetcher([http_response(301, {"Location": location})] * 2)
    async with fetcher:
        with pytest.raises(ItemError) as caught:
            await fetcher.fetch("http://public.example/a.jpg")
    assert caught.value.code == "fetch_refused"
    assert len(backend.connects) == 1


async def test_connects_to_the_vetted_address_and_keeps_the_host_header():
    fetcher, backend, resolver = make_fetcher([http_response(200, body=b"image-bytes")])
    async with fetcher:
        data = await fetcher.fetch("http://public.example:8080/a.jpg?sig=secret")
    assert data == b"image-bytes"
    assert resolver.calls == ["public.example"]  # resolved once
    assert backend.connects == [(PUBLIC_IP, 8080)]  # connected to the address, not the name
    request = b"".join(backend.sent)
    assert b"Host: public.example:8080" in request
    assert b"GET /a.jpg?sig=secret HTTP/1.1" in request


async def test_host_resolving_to_any_private_address_is_refused():
    table = {"mixed.example": [PUBLIC_IP, "10.1.2.3"]}
    fetcher, backend, _ = make_fetcher([http_response(200)], table=table)
    async with fetcher:
        with pytest.raises(ItemError) as caught:
            await fetcher.fetch("http://mixed.example/a.jpg")
    assert caught.value.code == "fetch_refused"
    assert "private" in caught.value.detail and "10.1.2.3" not in caught.value.detail
    assert backend.connects == []


async def test_allow_list_opts_in_hosts_and_networks_but_never_metadata():
    table = {
        "minio.internal": ["10.0.0.5"],
        "cache.internal": ["10.9.0.7"],
        "meta.internal": ["169.254.169.254"],
    }
    ok = http_response(200, body=b"ok")
    fetcher, backend, _ = make_fetcher(
        [ok, ok, ok], table=table, allow_hosts=("minio.internal", "10.9.0.0/16", "169.254.0.0/16")
    )
    async with fetcher:
        assert await fetcher.fetch("http://minio.internal/a.jpg") == b"ok"
        assert await fetcher.fetch("http://cache.internal/a.jpg") == b"ok"
        for refused in ("http://meta.internal/", "http://169.254.169.254/", "http://10.0.0.6/"):
            with pytest.raises(ItemError) as caught:
                await fetcher.fetch(refused)
            assert caught.value.code == "fetch_refused"
    assert backend.connects == [("10.0.0.5", 80), ("10.9.0.7", 80)]


async def test_unresolvable_host_is_a_fetch_failure_without_connection():
    fetcher, backend, _ = make_fetcher([http_response(200)], table={})
    async with fetcher:
        with pytest.raises(ItemError) as caught:
            await fetcher.fetch("http://nowhere.example/a.jpg")
    assert caught.value.code == "fetch_failed"
    assert backend.connects == []


async def test_uri_length_limit():
    fetcher, backend, _ = make_fetcher([http_response(200)], max_uri_length=64)
    async with fetcher:
        with pytest.raises(ItemError) as caught:
            await fetcher.fetch("http://public.example/" + "a" * 64)
    assert caught.value.code == "fetch_refused"
    assert backend.connects == []


async def test_error_details_never_carry_the_query_string():
    responses = [http_response(403), http_response(404), http_response(500)]
    fetcher, _, _ = make_fetcher(responses)
    codes = []
    async with fetcher:
        for _ in range(3):
            with pytest.raises(ItemError) as caught:
                await fetcher.fetch("http://public.example/k.jpg?X-Amz-Signature=s3cr3t")
            assert "s3cr3t" not in caught.value.detail and "?" not in caught.value.detail
            codes.append(caught.value.code)
    assert codes == ["fetch_failed", "not_found", "fetch_failed"]


def test_redact_uri():
    assert redact_uri("https://u:p@s3.example.com/b/k.jpg?X-Amz-Signature=abc#f") == (
        "https://s3.example.com/b/k.jpg"
    )
    assert redact_uri("file:///data/a.jpg?x") == "file:///data/a.jpg"
    assert redact_uri("http://h/p") == "http://h/p"


# --- file:// -----------------------------------------------------------------------------


@pytest.fixture
def data_root(tmp_path):
    root = tmp_path / "root"
    (root / "cats").mkdir(parents=True)
    (root / "cats" / "a.jpg").write_bytes(b"A")
    (tmp_path / "secret.txt").write_bytes(b"SECRET")
    os.symlink(tmp_path / "secret.txt", root / "escape.jpg")
    os.symlink(root / "cats" / "a.jpg", root / "inside-link.jpg")
    (root / "odd name %2e.jpg").write_bytes(b"P")
    return root


@pytest.mark.parametrize(
    "path",
    [
        "{root}/../secret.txt",
        "{root}/%2e%2e/secret.txt",
        "{root}/%2E%2E/secret.txt",
        "{root}/cats/a.jpg#frag",
        "{root}/cats/a.jpg?x=1",
        "{root}/escape.jpg",
        "/etc/passwd",
        "{root}/cats/..%2f..%2fsecret.txt",
        "{root}/cats/a.jpg%00.png",
        "{root}/cats%5c..%5csecret.txt",
    ],
)
async def test_file_uris_outside_or_malformed_are_refused(data_root, path):
    fetcher, _, _ = make_fetcher(data_root=str(data_root))
    async with fetcher:
        with pytest.raises(ItemError) as caught:
            await fetcher.fetch("file://" + path.format(root=data_root))
    assert caught.value.code == "fetch_refused", caught.value.detail


async def test_file_uris_inside_the_root_are_read(data_root):
    fetcher, _, _ = make_fetcher(data_root=str(data_root), fetch_max_bytes=4)
    async with fetcher:
        assert await fetcher.fetch(f"file://{data_root}/cats/a.jpg") == b"A"
        assert await fetcher.fetch(f"file://localhost{data_root}/inside-link.jpg") == b"A"
        # Decoded once: %252e stays a literal "%2e" in the file name.
        assert await fetcher.fetch(f"file://{data_root}/odd%20name%20%252e.jpg") == b"P"
        with pytest.raises(ItemError) as missing:
            await fetcher.fetch(f"file://{data_root}/cats/none.jpg")
        assert missing.value.code == "not_found"
        (data_root / "big.jpg").write_bytes(b"12345")
        with pytest.raises(ItemError) as big:
            await fetcher.fetch(f"file://{data_root}/big.jpg")
        assert big.value.code == "too_large"
        with pytest.raises(ItemError) as directory:
            await fetcher.fetch(f"file://{data_root}/cats")
        assert directory.value.code == "fetch_refused"


async def test_file_uris_are_refused_without_a_data_root(data_root):
    fetcher, _, _ = make_fetcher()
    async with fetcher:
        with pytest.raises(ItemError) as caught:
            await fetcher.fetch(f"file://{data_root}/cats/a.jpg")
    assert caught.value.code == "fetch_refused"
    assert "DATA_ROOT" in caught.value.detail


async def test_file_uri_naming_a_host_is_refused(data_root):
    fetcher, backend, _ = make_fetcher(data_root=str(data_root))
    async with fetcher:
        with pytest.raises(ItemError) as caught:
            await fetcher.fetch(f"file://evil.example{data_root}/cats/a.jpg")
    assert caught.value.code == "fetch_refused"
    assert backend.connects == []


# --- address vetting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fc00::1", False),
        ("fe80::1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::a00:1", False),
        ("64:ff9b::808:808", True),
        ("2002:a00:1::", False),
        ("::7f00:1", False),
        ("ff02::1", False),
    ],
)
def test_non_public_reason(address, public):
    assert (non_public_reason(ipaddress.ip_address(address)) is None) == public


def test_embedded_ipv4_forms():
    assert str(embedded_ipv4(ipaddress.ip_address("::ffff:127.0.0.1"))) == "127.0.0.1"
    assert str(embedded_ipv4(ipaddress.ip_address("2002:7f00:1::"))) == "127.0.0.1"
    assert str(embedded_ipv4(ipaddress.ip_address("64:ff9b::7f00:1"))) == "127.0.0.1"
    teredo = ipaddress.ip_address("2001:0:4136:e378:8000:63bf:80ff:fffe")
    assert str(embedded_ipv4(teredo)) == "127.0.0.1"
    assert embedded_ipv4(ipaddress.ip_address("2606:4700::1111")) is None


def test_ambiguous_numeric_hosts():
    for host in ("2130706433", "0x7f000001", "0177.0.0.1", "127.1", "010.0.0.1", "1.2.3"):
        assert is_ambiguous_numeric_host(host), host
    for host in ("127.0.0.1", "8.8.8.8", "example.com", "1e100.net", "123.example"):
        assert not is_ambiguous_numeric_host(host), host


def test_allow_list_parsing():
    allow = AllowList.from_entries(["MinIO.internal.", "*.svc.cluster.local", "10.0.0.0/8", "::1"])
    assert allow.allows_host("minio.internal")
    assert allow.allows_host("store.ns.svc.cluster.local")
    assert not allow.allows_host("svc.cluster.local.evil.com")
    assert allow.allows_address(ipaddress.ip_address("10.2.3.4"))
    assert allow.allows_address(ipaddress.ip_address("::1"))
    assert not allow.allows_address(ipaddress.ip_address("11.0.0.1"))
    with pytest.raises(ValueError, match="not a host"):
        AllowList.from_entries(["http://x/"])
