import ipaddress

import pytest

from services.notify.targets import PrivateTarget, ensure_public, forbidden


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "192.168.0.10", "172.16.5.5", "169.254.169.254", "0.0.0.0", "::1",
     "fe80::1", "fd00::1", "::ffff:10.0.0.1", "240.0.0.1"],
)  # fmt: skip
def test_private_loopback_link_local_and_reserved_addresses_are_forbidden(address: str) -> None:
    assert forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["193.51.24.1", "2001:4860:4860::8888", "8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not forbidden(ipaddress.ip_address(address))


async def test_a_webhook_to_loopback_is_refused_unless_configured() -> None:
    with pytest.raises(PrivateTarget):
        await ensure_public("http://127.0.0.1:8080/hook", allow_private=False)
    with pytest.raises(PrivateTarget):
        await ensure_public("http://localhost/hook", allow_private=False)
    await ensure_public("http://127.0.0.1:8080/hook", allow_private=True)
