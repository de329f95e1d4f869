"""Webhooks may not reach into our own network: a URL whose host resolves to a private,
loopback, link-local or reserved address is refused, when subscribing and again before each
delivery (a host's DNS can change after it was accepted)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class PrivateTarget(ValueError):
    """The webhook's host is, or resolves to, an address inside a private network."""


def forbidden(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


async def ensure_public(url: str, allow_private: bool) -> None:
    """Raise PrivateTarget if ``url``'s host is private; OSError if it does not resolve."""
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if forbidden(address):
            raise PrivateTarget(f"{host} resolves to {address}, which is not a public address")
