"""Schemathesis on the calls service's OpenAPI: no operation answers a server error, whatever
the body, path, query or headers, for the State, the CDC, an operator or a pôle."""

from __future__ import annotations

import pytest

from services.calls.app import create_app
from services.calls.settings import CallsSettings
from services.calls.tests.samples import IN_TIME, dossier, platform_call
from shared.clock import ManualClock
from tests.api.fuzz import fuzz
from tests.support.infra import Isolation, auth, serve

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_no_operation_answers_a_server_error(isolation: Isolation) -> None:
    app = create_app(isolation.settings(CallsSettings), clock=ManualClock(IN_TIME))
    async with serve(app) as client:
        # Something to find: an open call and a dossier, so generated ids sometimes hit.
        await client.post("/calls", json=platform_call(), headers=auth("state"))
        await client.post(
            "/calls/PF-2008/dossiers",
            json=dossier(),
            headers=auth("pole:aerospace-valley"),
        )
        tokens = [auth("state"), auth("cdc"), auth("pole:aerospace-valley")]
        report = await fuzz(app, client, tokens)
    report.check()
