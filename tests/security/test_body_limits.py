"""Bodies over ``max_body_bytes`` are refused with 413 on every route that takes one, before
anything reads them: without a token (else 401) and with bytes that are not JSON (else 422),
whether the size is declared (Content-Length) or only found while streaming."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.security.services import MAX_BODY_BYTES, Service, four_services
from tests.support.infra import Isolation

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TOO_BIG = b"{" * (MAX_BODY_BYTES + 1)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def services(isolation: Isolation) -> AsyncIterator[list[Service]]:
    async with four_services(isolation) as running:
        yield running


async def streamed(body: bytes, chunk: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(body), chunk):
        yield body[start : start + chunk]


def with_bodies(services: list[Service]) -> list[tuple[Service, str, str]]:
    return [
        (service, method, path)
        for service in services
        for method, path in service.routes()
        if method in {"POST", "PUT", "PATCH"}
    ]


async def test_a_declared_oversized_body_is_refused_before_parsing(services: list[Service]) -> None:
    routes = with_bodies(services)
    assert len(routes) >= 30
    for service, method, path in routes:
        response = await service.client.request(method, path, content=TOO_BIG)
        assert response.status_code == 413, (service.name, method, path, response.text)


async def test_a_streamed_oversized_body_is_refused_before_parsing(services: list[Service]) -> None:
    for service, method, path in with_bodies(services):
        response = await service.client.request(method, path, content=streamed(TOO_BIG))
        assert response.status_code == 413, (service.name, method, path, response.text)


async def test_a_body_at_the_limit_goes_through_to_the_token_check(
    services: list[Service],
) -> None:
    for service, method, path in with_bodies(services):
        response = await service.client.request(method, path, content=b" " * MAX_BODY_BYTES)
        assert response.status_code in {401, 422}, (service.name, method, path, response.text)
