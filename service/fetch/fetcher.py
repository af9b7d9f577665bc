"""The one guarded fetcher: every byte the service reads from a URI comes through ``Fetcher``.

``await fetcher.fetch(uri, max_bytes=None) -> bytes`` raises ``ItemError`` (``fetch_refused``,
``not_found``, ``fetch_failed``, ``timeout``, ``too_large``) and nothing else for a bad URI.

http/https, per hop (the first request and every redirect):

1. The URL is parsed by httpx; only ``http``/``https``; no userinfo; numeric hosts that are not
   a canonical dotted quad are refused (``addresses.is_ambiguous_numeric_host``).
2. The host is resolved once (``getaddrinfo``, or taken as is for an IP literal). Every address
   must be public (``addresses.refusal_reason``) unless the operator's allow-list names the
   host or a network containing the address; metadata endpoints are refused regardless.
3. The connection is made to the vetted address: ``PinnedBackend`` (an httpcore network backend)
   swaps the host for the address pinned for this request and refuses any host not pinned — so
   there is no second DNS lookup to rebind, while the URL (hence ``Host`` and TLS SNI /
   certificate name) keeps the host name.
4. Redirects are followed by hand (``fetch_max_redirects``), each hop re-vetted from step 1.
5. The body is streamed; ``Content-Length`` over the cap is refused before reading, and bytes
   are counted while streaming. One deadline (``fetch_timeout_s``) covers DNS, every hop and the
   whole body — a slow drip cannot outlive it. A per-host semaphore bounds concurrent requests to
   one host.

``file://`` URIs go to ``local_files`` (data root confinement). Every other scheme is refused.
Nothing reported (error details, logs) carries a query string: see ``redact_uri``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpcore
import httpx

from service.errors import ItemError
from service.fetch.addresses import AllowList, is_ambiguous_numeric_host, refusal_reason
from service.fetch.local_files import (
    copy_confined_file,
    read_confined_file,
    resolve_file_uri,
)
from service.settings import Settings

Resolver = Callable[[str, int], Awaitable[list[str]]]
T = TypeVar("T")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "imagelint/0.1 (+dataset audit)"
_CHUNK = 64 * 1024
# host name -> vetted address, for the request being made in this task.
_PINS: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "imagelint_pinned_addresses", default=None
)


def redact_uri(uri: str) -> str:
    """``uri`` without userinfo, query or fragment — the only form that may be reported."""
    text = str(uri)
    cut = min((i for i in (text.find("?"), text.find("#")) if i >= 0), default=len(text))
    text = text[:cut]
    scheme, sep, rest = text.partition("://")
    if sep:
        authority, slash, path = rest.partition("/")
        authority = authority.rpartition("@")[2]
        text = f"{scheme}{sep}{authority}{slash}{path}"
    return text


async def system_resolver(host: str, port: int) -> list[str]:
    """All addresses ``getaddrinfo`` gives for ``host`` (TCP), in its order."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]
        if address not in seen:
            seen.append(address)
    return seen


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to the address pinned for the requested host in this task.

    ``connects`` counts connections actually attempted (tests assert refusals never get here).
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None):
        # httpcore declares a placeholder AnyIOBackend for when anyio is missing: pyright sees both
        self._inner: httpcore.AsyncNetworkBackend = inner or httpcore.AnyIOBackend()  # pyright: ignore[reportAttributeAccessIssue]
        self.connects = 0

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        pins = _PINS.get()
        address = pins.get(host) if pins else None
        if address is None:
            raise httpcore.ConnectError(f"refusing to connect to unvetted host {host!r}")
        self.connects += 1
        return await self._inner.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool rebuilt on ``PinnedBackend``."""

    def __init__(
        self,
        backend: PinnedBackend,
        limits: httpx.Limits,
        verify: ssl.SSLContext | str | bool = True,
    ):
        super().__init__(limits=limits, trust_env=False, verify=verify)
        # httpx builds its httpcore pool without a network_backend argument; rebuild it with ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


class Fetcher:
    """Guarded fetching of http(s) and data-root ``file://`` URIs; share one per process.

    Parameters
    ----------
    settings : Settings
        ``allow_hosts``, ``data_root``, ``fetch_timeout_s``, ``fetch_max_bytes``,
        ``fetch_max_redirects``, ``fetch_per_host_concurrency``, ``max_uri_length``.
    resolver : callable, optional
        ``async (host, port) -> [address, ...]``; the system resolver by default (a test seam).
    network_backend : httpcore.AsyncNetworkBackend, optional
        What ``PinnedBackend`` connects through (a test seam).
    verify : bool or ssl.SSLContext
        TLS verification for https (tests with a self-signed server pass a context).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        resolver: Resolver | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
        verify: ssl.SSLContext | str | bool = True,
    ):
        self.settings = settings
        self.allow = AllowList.from_entries(settings.allow_hosts)
        self.data_root = settings.data_root_path
        self._resolve = resolver or system_resolver
        self.backend = PinnedBackend(network_backend)
        per_host = max(1, settings.fetch_per_host_concurrency)
        limits = httpx.Limits(
            max_connections=max(per_host, settings.fetch_concurrency) * 4,
            max_keepalive_connections=max(per_host, settings.fetch_concurrency),
        )
        self._client = httpx.AsyncClient(
            transport=_PinnedTransport(self.backend, limits, verify),
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(settings.fetch_timeout_s),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
        )
        self._per_host = per_host
        self._host_slots: dict[str, list] = {}  # host -> [Semaphore, users]
        # File and archive work (resolving, reading, copying, unpacking) runs in its own threads:
        # a slow or hostile file system can then never take the threads every other route uses.
        self.file_pool = ThreadPoolExecutor(
            max(4, settings.fetch_concurrency), thread_name_prefix="files"
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()
        self.file_pool.shutdown(wait=False, cancel_futures=True)

    async def run_file_work(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` in the file-work threads (not the shared default pool)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.file_pool, functools.partial(function, *args, **kwargs)
        )

    async def fetch(self, uri: str, *, max_bytes: int | None = None) -> bytes:
        """The bytes ``uri`` names, or ``ItemError``; ``max_bytes`` defaults to the fetch cap."""
        cap = self.settings.fetch_max_bytes if max_bytes is None else max_bytes
        if self._check_scheme(uri) == "file":
            return await self.run_file_work(_read_file_uri, uri, self.data_root, cap)
        parts: list[bytes] = []
        await self._fetch_http_within_deadline(uri, cap, parts.append)
        return b"".join(parts)

    async def fetch_to_file(self, uri: str, dest: Path, *, max_bytes: int) -> int:
        """Stream ``uri`` into ``dest`` (created or truncated); returns the byte count."""
        if self._check_scheme(uri) == "file":
            return await self.run_file_work(_copy_file_uri, uri, self.data_root, dest, max_bytes)
        with open(dest, "wb") as handle:
            return await self._fetch_http_within_deadline(uri, max_bytes, handle.write)

    def _check_scheme(self, uri: str) -> str:
        if not isinstance(uri, str) or not uri:
            raise ItemError("fetch_refused", "empty URI")
        if len(uri) > self.settings.max_uri_length:
            raise ItemError(
                "fetch_refused", f"URI longer than {self.settings.max_uri_length} characters"
            )
        scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
        if scheme not in ("http", "https", "file"):
            shown = scheme or "(none)"
            raise ItemError(
                "fetch_refused", f"scheme {shown!r} is not fetched; use https, http or file"
            )
        return scheme

    async def _fetch_http_within_deadline(
        self, uri: str, cap: int, sink: Callable[[bytes], object]
    ) -> int:
        # The deadline starts once the first per-host slot is held: queueing behind other
        # fetches to the same host is not this fetch's slowness.
        deadline = asyncio.timeout(None)
        try:
            async with deadline:
                return await self._fetch_http(uri, cap, sink, deadline)
        except TimeoutError as exc:
            raise ItemError(
                "timeout", f"no complete response within {self.settings.fetch_timeout_s:g} s"
            ) from exc

    async def _fetch_http(
        self, uri: str, cap: int, sink: Callable[[bytes], object], deadline: asyncio.Timeout
    ) -> int:
        url = _parse_url(uri)
        for hop in range(self.settings.fetch_max_redirects + 1):
            async with self._host_slot(url.host):
                if deadline.when() is None:
                    loop = asyncio.get_running_loop()
                    deadline.reschedule(loop.time() + self.settings.fetch_timeout_s)
                host, address = await self._vet(url, hop)
                async with self._pinned(host, address):
                    try:
                        async with self._client.stream("GET", url) as response:
                            if response.status_code in REDIRECT_STATUSES:
                                url = _redirect_target(url, response)
                                continue
                            return await _read_body(response, url, cap, sink)
                    except httpx.TimeoutException as exc:
                        raise ItemError(
                            "timeout", f"{type(exc).__name__} from {redact_uri(str(url))}"
                        ) from exc
                    except httpx.HTTPError as exc:
                        raise ItemError(
                            "fetch_failed", f"{type(exc).__name__} from {redact_uri(str(url))}"
                        ) from exc
        raise ItemError("fetch_failed", f"more than {self.settings.fetch_max_redirects} redirects")

    async def _vet(self, url: httpx.URL, hop: int) -> tuple[str, str]:
        host = url.host
        where = "redirect target" if hop else "host"
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is None and is_ambiguous_numeric_host(host):
            raise ItemError("fetch_refused", f"{where} {host!r} is a non-canonical numeric address")
        host_allowed = literal is None and self.allow.allows_host(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = await self._resolve(host, url.port or _default_port(url.scheme))
            except (OSError, UnicodeError) as exc:
                raise ItemError("fetch_failed", f"{where} {host!r} does not resolve") from exc
            if not addresses:
                raise ItemError("fetch_failed", f"{where} {host!r} does not resolve")
        for text in addresses:
            try:
                address = ipaddress.ip_address(text)
            except ValueError as exc:
                raise ItemError(
                    "fetch_refused", f"{where} resolved to a malformed address"
                ) from exc
            reason = refusal_reason(address, host_allowed=host_allowed, allow=self.allow)
            if reason:
                raise ItemError("fetch_refused", f"{where} {host!r} {reason}")
        return host, addresses[0]

    @contextlib.asynccontextmanager
    async def _host_slot(self, host: str) -> AsyncIterator[None]:
        """At most ``fetch_per_host_concurrency`` requests to ``host`` at once."""
        key = host.lower()
        entry = self._host_slots.get(key)
        if entry is None:
            entry = self._host_slots[key] = [asyncio.Semaphore(self._per_host), 0]
        entry[1] += 1  # users (holding or waiting); the entry is dropped when none are left
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                self._host_slots.pop(key, None)

    @contextlib.asynccontextmanager
    async def _pinned(self, host: str, address: str) -> AsyncIterator[None]:
        token = _PINS.set({host: address})
        try:
            yield
        finally:
            _PINS.reset(token)


def _read_file_uri(uri: str, root: Path | None, cap: int) -> bytes:
    return read_confined_file(resolve_file_uri(uri, root), max_bytes=cap)


def _copy_file_uri(uri: str, root: Path | None, dest: Path, cap: int) -> int:
    return copy_confined_file(resolve_file_uri(uri, root), dest, max_bytes=cap)


def _parse_url(uri: str | httpx.URL, *, via_redirect: bool = False) -> httpx.URL:
    where = "redirect target" if via_redirect else "URI"
    try:
        url = uri if isinstance(uri, httpx.URL) else httpx.URL(uri)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise ItemError("fetch_refused", f"{where} is not a valid URL") from exc
    if url.scheme not in ("http", "https"):
        raise ItemError("fetch_refused", f"{where} scheme {url.scheme!r} is not fetched")
    if url.userinfo:
        raise ItemError("fetch_refused", f"{where} carries credentials (user:password@)")
    if not url.host:
        raise ItemError("fetch_refused", f"{where} has no host")
    return url


def _redirect_target(url: httpx.URL, response: httpx.Response) -> httpx.URL:
    location = response.headers.get("location")
    if not location:
        raise ItemError("fetch_failed", f"HTTP {response.status_code} without a Location header")
    try:
        target = url.join(location)
    except (httpx.InvalidURL, ValueError) as exc:
        raise ItemError("fetch_refused", "redirect target is not a valid URL") from exc
    return _parse_url(target, via_redirect=True)


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


async def _read_body(
    response: httpx.Response, url: httpx.URL, cap: int, sink: Callable[[bytes], object]
) -> int:
    shown = redact_uri(str(url))
    if response.status_code in (404, 410):
        raise ItemError("not_found", f"HTTP {response.status_code} from {shown}")
    if not 200 <= response.status_code < 300:
        raise ItemError("fetch_failed", f"HTTP {response.status_code} from {shown}")
    declared = response.headers.get("content-length")
    if declared and declared.strip().isdigit() and int(declared) > cap:
        raise ItemError(
            "too_large", f"Content-Length {int(declared):,} exceeds the cap of {cap:,} bytes"
        )
    total = 0
    async for chunk in response.aiter_bytes(_CHUNK):
        total += len(chunk)
        if total > cap:
            raise ItemError("too_large", f"more than {cap:,} bytes from {shown}")
        sink(chunk)
    return total
