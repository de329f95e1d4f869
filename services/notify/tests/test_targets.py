"""Which webhook targets notify may reach, and that a send connects to the address it checked."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpcore
import pytest

from services.notify import targets
from services.notify.domain.backoff import Outcome
from services.notify.domain.delivery import Delivery
from services.notify.senders import PinnedBackend, WebhookSender, webhook_client
from services.notify.settings import NotifySettings
from services.notify.targets import (
    NO_PRIVATE_TARGETS,
    Address,
    PrivateTarget,
    TargetPolicy,
    ensure_public,
    forbidden,
    resolve_target,
)

NOT_GLOBAL = {
    "private IPv4": ["10.1.2.3", "192.168.0.10", "172.16.5.5"],
    "loopback": ["127.0.0.1", "::1"],
    "link-local and cloud metadata": ["169.254.169.254", "fe80::1"],
    "RFC 6598 shared space (carrier NAT, Alibaba metadata)": ["100.64.0.1", "100.100.100.200"],
    "unspecified": ["0.0.0.0", "::"],
    "multicast": ["224.0.0.1", "ff02::1", "ff0e::1"],
    "reserved, broadcast, documentation": ["240.0.0.1", "255.255.255.255", "192.0.2.1"],
    "IPv6 unique local and documentation": ["fd00::1", "2001:db8::1"],
    "IPv4-mapped": ["::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:100.100.100.200"],
    "NAT64 embedding a private IPv4": ["64:ff9b::a00:1", "64:ff9b::a9fe:a9fe"],
    "local-use NAT64 and IPv4-compatible": ["64:ff9b:1::808:808", "::808:808", "::a00:1"],
    "6to4 embedding a private IPv4": ["2002:a00:1::1", "2002:7f00:1::1"],
    "Teredo": ["2001::1"],
}
GLOBAL = ["193.51.24.1", "8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8",
          "64:ff9b::808:808", "2002:808:808::1"]  # fmt: skip


@pytest.mark.parametrize(
    "address",
    [
        pytest.param(a, id=f"{kind}: {a}")
        for kind, addresses in NOT_GLOBAL.items()
        for a in addresses
    ],
)
def test_every_address_that_is_not_globally_routable_is_forbidden(address: str) -> None:
    assert forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", GLOBAL)
def test_public_addresses_and_the_forms_embedding_one_are_allowed(address: str) -> None:
    assert not forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://100.64.0.1/x",
     "http://100.100.100.200/latest/meta-data/", "http://[::ffff:169.254.169.254]/",
     "http://[64:ff9b::a00:1]/hook"],
)  # fmt: skip
async def test_a_webhook_to_an_inside_address_is_refused(url: str) -> None:
    with pytest.raises(PrivateTarget):
        await ensure_public(url, NO_PRIVATE_TARGETS)


async def test_any_private_target_passes_with_the_test_flag() -> None:
    await ensure_public("http://127.0.0.1:8080/hook", TargetPolicy(allow_any=True))


def resolving(monkeypatch: pytest.MonkeyPatch, *answers: list[str]) -> list[str]:
    """Make ``targets.lookup`` answer each list in turn (the last one forever); returns the names
    looked up."""
    asked: list[str] = []
    remaining = list(answers)

    async def lookup(host: str, port: int) -> list[Address]:
        asked.append(host)
        answer = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return [ipaddress.ip_address(a) for a in answer]

    monkeypatch.setattr(targets, "lookup", lookup)
    return asked


async def test_a_name_is_refused_if_any_of_its_addresses_is_not_public(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolving(monkeypatch, ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(PrivateTarget, match=r"10\.0\.0\.7"):
        await ensure_public("https://hooks.example.fr/x", NO_PRIVATE_TARGETS)


def test_the_allowlist_reads_networks_addresses_and_host_names() -> None:
    policy = TargetPolicy.parse(" 10.20.0.0/16, sirh.Region-82.fr. ,fd12::/64,192.168.1.5,")
    assert policy.entries() == ["10.20.0.0/16", "fd12::/64", "192.168.1.5/32", "sirh.region-82.fr"]
    assert TargetPolicy.parse("").entries() == []
    assert TargetPolicy.parse("10.0.0.0/8", allow_any=True).entries() == ["*", "10.0.0.0/8"]


def settings(allowlist: str) -> NotifySettings:
    return NotifySettings(auth_secret="s" * 32, notify_allowed_private_targets=allowlist)


@pytest.mark.parametrize("entry", ["10.20.0.1/16", "10.20.0.0/33", "300.1.1.1", "a b.fr", "x..fr"])
def test_a_malformed_allowlist_stops_the_service_at_start(entry: str) -> None:
    with pytest.raises(ValueError, match="notify_allowed_private_targets"):
        settings(entry)


def test_the_allowlist_accepts_its_networks_and_hosts_and_nothing_else_private() -> None:
    policy = settings("10.20.0.0/16,sirh.region-82.fr,fd12::/64").target_policy()

    def permits(host: str, address: str) -> bool:
        return policy.permits(host, ipaddress.ip_address(address))

    assert permits("10.20.3.4", "10.20.3.4")
    assert permits("intranet", "::ffff:10.20.3.4")  # the mapped form of an allowed address
    assert permits("intranet", "fd12::9")
    assert permits("SIRH.region-82.fr", "172.16.0.9")  # the named host, wherever it points
    assert permits("hooks.example.fr", "8.8.8.8")  # public stays allowed
    assert not permits("10.21.0.1", "10.21.0.1")
    assert not permits("other.region-82.fr", "172.16.0.9")
    assert not permits("metadata", "100.100.100.200")
    assert not permits("intranet", "fd13::9")


async def test_an_allowed_private_network_lets_a_subscription_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolving(monkeypatch, ["10.20.5.5"])
    policy = TargetPolicy.parse("10.20.0.0/16")
    target = await resolve_target("http://rh.interne:8443/hook", policy)
    assert (target.host, target.port, target.addresses) == (
        "rh.interne",
        8443,
        (ipaddress.ip_address("10.20.5.5"),),
    )
    with pytest.raises(PrivateTarget):
        await resolve_target("http://10.30.0.1/hook", policy)


class Recording(httpcore.AsyncNetworkBackend):
    """Records where it was asked to connect and connects nowhere."""

    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.connects.append((host, port))
        raise httpcore.ConnectError("recorded")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def delivery(target: str) -> Delivery:
    return Delivery.model_validate(
        {
            "id": "del-1",
            "subscription_id": "sub-1",
            "event_id": "evt-1",
            "event_type": "calls.dossier.preselected.v1",
            "channel": "webhook",
            "target": target,
            "event": {"id": "evt-1", "type": "calls.dossier.preselected.v1", "data": {}},
            "owner_subject": "integrator-1",
            "created_at": "2026-01-01T00:00:00Z",
            "next_attempt_at": "2026-01-01T00:00:00Z",
        }
    )


def sender_through(backend: httpcore.AsyncNetworkBackend, policy: TargetPolicy) -> WebhookSender:
    client = webhook_client(5.0, 5)
    pool: Any = client._transport._pool  # type: ignore[attr-defined]
    pool._network_backend = PinnedBackend(backend)
    return WebhookSender(client, policy)


async def test_a_rebinding_name_is_sent_to_the_address_that_was_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The name is public when checked, then resolves to loopback (the rebinding): the send
    connects to the checked public address, by address, and never looks the name up again."""
    asked = resolving(monkeypatch, ["93.184.216.34"], ["127.0.0.1"])
    lookups: list[object] = []

    async def no_lookup(*args: object, **kwargs: object) -> object:
        lookups.append(args)
        raise AssertionError("a second lookup")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", no_lookup)
    backend = Recording()
    sender = sender_through(backend, NO_PRIVATE_TARGETS)
    sent = await sender.send(delivery("http://rebind.example.fr:8080/hook"), ["whsec_" + "A" * 32])
    await sender.close()
    assert backend.connects == [("93.184.216.34", 8080)]
    assert asked == ["rebind.example.fr"]
    assert lookups == []
    assert sent.outcome == Outcome.RETRY  # the recording backend connects nowhere


async def test_a_name_that_rebinds_to_an_inside_address_before_the_send_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolving(monkeypatch, ["93.184.216.34"], ["169.254.169.254"])
    await ensure_public("http://rebind.example.fr/hook", NO_PRIVATE_TARGETS)  # subscribing
    backend = Recording()
    sender = sender_through(backend, NO_PRIVATE_TARGETS)
    sent = await sender.send(delivery("http://rebind.example.fr/hook"), ["whsec_" + "A" * 32])
    await sender.close()
    assert sent.outcome == Outcome.FINAL
    assert "169.254.169.254" in (sent.error or "")
    assert backend.connects == []


@asynccontextmanager
async def http_receiver(status: int, headers: str = "") -> AsyncIterator[tuple[int, list[bytes]]]:
    """A loopback HTTP server answering ``status`` to every request; records the raw heads."""
    heads: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(
            next(
                (
                    line.split(b":", 1)[1]
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                b"0",
            )
        )
        await reader.readexactly(length)
        heads.append(head)
        tail = "Content-Length: 0\r\nConnection: close\r\n\r\n"
        writer.write(f"HTTP/1.1 {status} X\r\n{headers}{tail}".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1], heads


async def test_an_allowed_host_is_reached_at_its_checked_address_with_its_own_host_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolving(monkeypatch, ["127.0.0.1"])
    sender = WebhookSender(webhook_client(5.0, 5), TargetPolicy.parse("sirh.region-82.fr"))
    async with http_receiver(204) as (port, heads):
        sent = await sender.send(
            delivery(f"http://sirh.region-82.fr:{port}/hook"), ["whsec_" + "A" * 32]
        )
    await sender.close()
    assert sent.outcome == Outcome.DELIVERED, sent
    assert f"host: sirh.region-82.fr:{port}".encode() in heads[0].lower()


async def test_a_redirect_is_not_followed_but_is_a_failed_attempt_with_its_status(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolving(monkeypatch, ["127.0.0.1"])
    sender = WebhookSender(webhook_client(5.0, 5), TargetPolicy.parse("127.0.0.0/8"))
    location = "Location: http://169.254.169.254/latest/meta-data/\r\n"
    async with http_receiver(302, location) as (port, heads):
        sent = await sender.send(delivery(f"http://127.0.0.1:{port}/hook"), ["whsec_" + "A" * 32])
    await sender.close()
    assert (sent.outcome, sent.status_code, sent.error) == (Outcome.FINAL, 302, "HTTP 302")
    assert len(heads) == 1


async def test_a_client_used_without_a_check_connects_nowhere() -> None:
    backend = Recording()
    client = sender_through(backend, NO_PRIVATE_TARGETS)._client
    with pytest.raises(Exception, match="was not checked"):
        await client.get("http://127.0.0.1:9/")
    await client.aclose()
    assert backend.connects == []
