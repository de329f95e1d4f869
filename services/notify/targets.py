"""Webhooks may not reach into our own network.

A target is accepted only if every address its host resolves to is globally routable
(``ipaddress``'s ``is_global``, and neither multicast nor unspecified): private, loopback,
link-local, RFC 6598 shared (100.64.0.0/10, where 100.100.100.200 answers cloud metadata),
documentation and reserved addresses are refused, in IPv4 and IPv6. An IPv6 address that embeds an
IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) is judged by
the IPv4 address it embeds; the deprecated IPv4-compatible ``::/96`` and the local-use NAT64
prefix ``64:ff9b:1::/48`` are refused.

The check happens when subscribing and again before each delivery (a host's DNS can change after
it was accepted), and the delivery then connects to the very addresses it checked, never to the
name again (see ``senders.py``): a name that resolves differently between check and send
(DNS rebinding) cannot steer a webhook inside.

An operator may allow named private networks or hosts (``TargetPolicy``, from the setting
``notify_allowed_private_targets``); the all-or-nothing ``notify_allow_private_targets`` is for
tests.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class PrivateTarget(ValueError):
    """The webhook's host is, or resolves to, an address notify may not reach (or the URL names
    no host that can be checked)."""


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64 or 6to4), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def forbidden(address: Address) -> bool:
    """True unless ``address`` is globally routable (judging an embedded IPv4 by itself)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in LOCAL_NAT64 or address in IPV4_COMPATIBLE:
            return True
        inner = embedded_ipv4(address)
        if inner is not None:
            return forbidden(inner)
    return not address.is_global or address.is_multicast or address.is_unspecified


def normal_host(host: str) -> str:
    return host.strip().rstrip(".").lower()


@dataclass(frozen=True)
class TargetPolicy:
    """Which non-public targets webhooks may reach: none by default; the networks and host names
    an operator listed; or any (``allow_any``, for tests and the local demo)."""

    allow_any: bool = False
    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, allowlist: str, allow_any: bool = False) -> TargetPolicy:
        """From ``"10.20.0.0/16,sirh.region-82.fr"``: CIDR networks (a bare address is a /32 or
        /128) and exact host names, comma-separated. ValueError names a malformed entry."""
        networks: list[Network] = []
        hosts: set[str] = set()
        for entry in filter(None, (part.strip() for part in allowlist.split(","))):
            try:
                networks.append(ipaddress.ip_network(entry))
                continue
            except ValueError as error:
                if "/" in entry or entry.replace(".", "").isdigit() or ":" in entry:
                    raise ValueError(f"{entry!r} is not a CIDR network: {error}") from error
            host = normal_host(entry)
            labels = host.split(".")
            if not all(label and label.replace("-", "").isalnum() for label in labels):
                raise ValueError(f"{entry!r} is neither a CIDR network nor a host name")
            hosts.add(host)
        return cls(allow_any, tuple(networks), frozenset(hosts))

    def entries(self) -> list[str]:
        """What the policy lets through beyond public addresses, as shown on /metrics."""
        return (["*"] if self.allow_any else []) + [
            *(str(network) for network in self.networks),
            *sorted(self.hosts),
        ]

    def permits(self, host: str, address: Address) -> bool:
        if self.allow_any or not forbidden(address) or normal_host(host) in self.hosts:
            return True
        inner = embedded_ipv4(address)
        candidates = [address] if inner is None else [address, inner]
        return any(
            candidate.version == network.version and candidate in network
            for candidate in candidates
            for network in self.networks
        )


NO_PRIVATE_TARGETS = TargetPolicy()


@dataclass(frozen=True)
class CheckedTarget:
    """A URL's host (as httpx connects to it, IDNA-encoded), port, and the addresses checked."""

    host: str
    port: int
    addresses: tuple[Address, ...]


def host_and_port(url: str) -> tuple[str, int]:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise PrivateTarget(f"{url!r} is not a URL whose host can be checked: {error}") from error
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise PrivateTarget(f"{url!r} names no host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if not 0 < port < 65536:
        raise PrivateTarget(f"{url!r} names no valid port")
    return host, port


async def lookup(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (OSError if none); the one DNS lookup of a check."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(sockaddr[0]).split("%")[0]) for *_, sockaddr in infos]


def _unique(addresses: Iterable[Address]) -> tuple[Address, ...]:
    return tuple(dict.fromkeys(addresses))


async def resolve_target(url: str, policy: TargetPolicy) -> CheckedTarget:
    """Resolve ``url``'s host once and check every address: PrivateTarget if one is not allowed,
    OSError if the host does not resolve."""
    host, port = host_and_port(url)
    try:
        addresses: tuple[Address, ...] = (ipaddress.ip_address(host),)
    except ValueError:
        addresses = _unique(await lookup(host, port))
    if not addresses:
        raise OSError(f"{host} resolves to no address")
    for address in addresses:
        if not policy.permits(host, address):
            raise PrivateTarget(f"{host} resolves to {address}, which is not a public address")
    return CheckedTarget(host, port, addresses)


async def ensure_public(url: str, policy: TargetPolicy) -> None:
    """Raise PrivateTarget if ``url``'s host is not allowed; OSError if it does not resolve.
    With any target allowed (tests), nothing is looked up."""
    if not policy.allow_any:
        await resolve_target(url, policy)
