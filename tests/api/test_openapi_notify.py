"""Schemathesis on the notify service's OpenAPI: no operation answers a server error, whatever
the body, path, query or headers, for an operator, the State or a pôle."""

from __future__ import annotations

import pytest

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from tests.api.fuzz import fuzz
from tests.support.infra import Isolation, auth, serve

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_no_operation_answers_a_server_error(isolation: Isolation) -> None:
    app = create_app(isolation.settings(NotifySettings))
    async with serve(app) as client:
        # A subscription to find, pause, rotate and replay.
        await client.post(
            "/subscriptions",
            json={"channel": "email", "target": "veille@minalogic.example", "event_types": ["*"]},
            headers=auth("pole:minalogic"),
        )
        tokens = [auth("operator"), auth("state"), auth("pole:minalogic")]
        report = await fuzz(app, client, tokens)
    report.check()
