"""A dossier selected over the platforms line's yearly ceiling, end to end: calls, funding and
notify on the real broker and store. Funding refuses its financing with the line's reason, calls
moves the dossier to ``funding-refused`` with that reason, and its contact receives the refusal
e-mail (never a grant's)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from services.calls.app import create_app as calls_app
from services.calls.settings import CallsSettings
from services.calls.tests.samples import DEADLINE, IN_TIME, dossier, platform_call
from services.funding.app import create_app as funding_app
from services.funding.settings import FundingSettings
from services.notify.app import create_app as notify_app
from shared.clock import PARIS, ManualClock
from tests.integration.test_notify_email import settings as notify_settings
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import eventually
from tests.support.mailbox import Mailbox, running_mailbox

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

STATE, CDC = auth("state"), auth("cdc")
AEROSPACE = auth("pole:aerospace-valley", subject="aerospace-valley")
CONTACT = "contact@pf-composites.example.fr"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with running_mailbox() as running:
        yield running


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_dossier_over_the_yearly_ceiling_ends_funding_refused_and_its_contact_is_told(
    isolation: Isolation, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    clock = ManualClock(datetime(2008, 10, 1, 9, 0, tzinfo=PARIS))
    calls_settings = isolation.settings(CallsSettings, calls_close_check_seconds=0.1)
    async with (
        serve(calls_app(calls_settings, clock=clock)) as calls,
        serve(funding_app(isolation.settings(FundingSettings))) as funding,
        serve(notify_app(notify_settings(isolation, port))),
    ):
        await ok(await calls.post("/calls", json=platform_call(), headers=STATE), 201)
        clock.set(IN_TIME)
        big = dossier(investment_cents=4_000_000_000)  # 40.75 M€ asked
        receipt = await ok(
            await calls.post("/calls/PF-2008/dossiers", json=big, headers=AEROSPACE), 201
        )
        dossier_id = receipt["dossier_id"]
        clock.set(DEADLINE)
        clock.set(DEADLINE + timedelta(days=40))
        await eventually(lambda: _closed(calls))
        path = f"/dossiers/{dossier_id}"
        await ok(await calls.post(f"{path}/screening", json={"eligible": True}, headers=STATE))
        for voter in (CDC, STATE):
            vote = {"decision": "yes"}
            await ok(await calls.post(f"{path}/preselection-votes", json=vote, headers=voter))
        study = {"cost_cents": 25_000_000, "cdc_share_cents": 20_000_000}
        await ok(await calls.post(f"{path}/study", json=study, headers=CDC))
        clock.set(datetime(2009, 6, 15, 11, 0, tzinfo=PARIS))
        conclusions = {
            "business_model": "equipment hire",
            "legal_structure": "GIE",
            "business_plan": "break-even in year three",
        }
        await ok(await calls.post(f"{path}/study/completion", json=conclusions, headers=CDC))
        decision = {"selected": True, "state_grant_cents": 3_600_000_000}  # 36 M€ in 2009
        await ok(await calls.post(f"{path}/decision", json=decision, headers=STATE))

        refused = await eventually(lambda: _status(calls, dossier_id, "funding-refused"), 40)
        financing = await ok(await funding.get(f"/financings/{dossier_id}", headers=CDC))
        mails = await eventually(lambda: _refusal_mails(mailbox), 40)

    assert financing["status"] == "refused"
    assert financing["refusal"]["reason"] == "over-yearly-ceiling"
    assert "over-yearly-ceiling" in str(refused)
    assert [m["To"] for m in mails] == [CONTACT]
    subjects = [str(m["Subject"]) for m in mailbox.to(CONTACT)]
    assert not any("Financement réuni" in subject for subject in subjects), subjects


async def _closed(calls: httpx.AsyncClient) -> bool:
    response = await calls.get("/calls/PF-2008", headers=STATE)
    return response.status_code == 200 and response.json().get("status") == "closed"


async def _status(calls: httpx.AsyncClient, dossier_id: str, status: str) -> Any:
    body = (await calls.get(f"/dossiers/{dossier_id}", headers=STATE)).json()
    return body if body.get("status") == status else None


def _refusal_mails(mailbox: Mailbox) -> list[Any]:
    return [m for m in mailbox.messages if "Financement non réuni" in str(m["Subject"])]
