"""Which network addresses the fetcher may connect to.

An address is allowed when it is *global* (``ipaddress`` ``is_global``, not multicast) after
unwrapping every form that embeds an IPv4 address in IPv6 (IPv4-mapped ``::ffff:a.b.c.d``,
IPv4-compatible ``::a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96`` and ``64:ff9b:1::/48``,
Teredo ``2001::/32``), or when the operator's allow-list names its host or a network containing
it. Cloud metadata endpoints are refused even when an allow-list entry would cover them.

Host names in URLs that are numeric but not a canonical dotted quad (``2130706433``,
``0x7f000001``, ``0177.0.0.1``, ``127.1``) are refused outright: resolvers disagree on what
they mean, which is exactly what request-forgery payloads rely on.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance-metadata services (AWS/GCP/Azure/OpenStack, AWS IPv6, Alibaba, Oracle).
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
_NAT64_NETWORKS = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
)
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?$", re.IGNORECASE)
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_QUAD = re.compile(rf"^{_OCTET}(\.{_OCTET}){{3}}$")


def is_ambiguous_numeric_host(host: str) -> bool:
    """True for numeric host names that are not a canonical dotted quad (``127.1``, ``0x7f..``)."""
    return bool(_NUMERIC_HOST.match(host)) and not _CANONICAL_QUAD.match(host)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, NAT64, Teredo)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address (de-obfuscated by ipaddress)
    packed = address.packed
    if any(address in net for net in _NAT64_NETWORKS) or (
        address in _IPV4_COMPATIBLE and int(address) > 1
    ):
        return ipaddress.IPv4Address(packed[-4:])
    return None


def non_public_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address, or ``None`` when it is."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    inner = embedded_ipv4(address)
    if inner is not None:
        reason = non_public_reason(inner)
        return f"an IPv6 form of {reason}" if reason else None
    for attribute, words in (
        ("is_loopback", "a loopback address"),
        ("is_unspecified", "the unspecified address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(address, attribute):
            return words
    if not address.is_global:
        return "a non-global address"
    return None


@dataclass(frozen=True)
class AllowList:
    """Operator opt-ins: exact host names, ``*.suffix`` wildcards, IP addresses and CIDRs."""

    hosts: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_entries(cls, entries: tuple[str, ...] | list[str]) -> AllowList:
        """Parse ``IMAGELINT_ALLOW_HOSTS`` entries; a malformed entry is a ``ValueError``."""
        hosts: set[str] = set()
        suffixes: list[str] = []
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if entry.startswith("*."):
                suffixes.append(entry[1:])
            elif re.fullmatch(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?", entry):
                hosts.add(entry)
            else:
                raise ValueError(f"allow-list entry {raw!r} is not a host name, IP address or CIDR")
        return cls(frozenset(hosts), tuple(suffixes), tuple(networks))

    def allows_host(self, host: str) -> bool:
        name = host.lower().rstrip(".")
        return name in self.hosts or any(name.endswith(s) for s in self.suffixes)

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in net for net in self.networks if net.version == address.version)


def is_metadata_address(address: IPAddress) -> bool:
    """A metadata endpoint, directly or inside an IPv6 form."""
    inner = embedded_ipv4(address)
    return address in METADATA_ADDRESSES or (inner is not None and inner in METADATA_ADDRESSES)


def refusal_reason(address: IPAddress, *, host_allowed: bool, allow: AllowList) -> str | None:
    """Why the fetcher must not connect to ``address`` (``None``: it may)."""
    if is_metadata_address(address):
        return "resolves to a cloud metadata address"
    if host_allowed or allow.allows_address(address):
        return None
    reason = non_public_reason(address)
    return f"resolves to {reason}" if reason else None
