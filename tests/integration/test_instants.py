"""One instant reads the same everywhere: the receipt a pôle gets, the event calls publishes, the
stored dossier and every API read carry the same string, because the clocks give milliseconds
and the store (BSON dates) keeps milliseconds (issue 17)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.calls.app import create_app
from services.calls.settings import CallsSettings
from services.calls.tests.samples import IN_TIME, dossier, platform_call
from shared.clock import ManualClock, SimulatedClock
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

LEAD = auth("pole:aerospace-valley", subject="aerospace-valley")
# The instant of issue 17's report: microseconds that the store would have cut.
WITH_MICROSECONDS = IN_TIME.astimezone(UTC).replace(second=32, microsecond=787_853)


@pytest.mark.parametrize("simulated", [True, False], ids=["simulated", "manual"])
async def test_the_receipt_the_event_and_the_reads_give_the_same_instant(
    isolation: Isolation, simulated: bool
) -> None:
    clock = SimulatedClock(WITH_MICROSECONDS) if simulated else ManualClock(WITH_MICROSECONDS)
    async with serve(create_app(isolation.settings(CallsSettings), clock=clock)) as client:
        if (await client.get("/calls/PF-2008", headers=auth("operator"))).status_code == 404:
            opened = await client.post("/calls", json=platform_call(), headers=auth("state"))
            assert opened.status_code == 201, opened.text
        receipt = await client.post("/calls/PF-2008/dossiers", json=dossier(), headers=LEAD)
        assert receipt.status_code == 201, receipt.text
        dossier_id = receipt.json()["dossier_id"]
        events = await read_events(
            isolation, "calls.dossier", lambda evs: any(e.subject == dossier_id for e in evs)
        )
        read = await client.get(f"/dossiers/{dossier_id}", headers=LEAD)
        listed = await client.get("/calls/PF-2008/dossiers", headers=auth("operator"))
    submitted = next(e for e in events if e.subject == dossier_id)
    assert submitted.type == "calls.dossier.submitted.v1"
    instant = receipt.json()["submitted_at"]
    assert submitted.data["submitted_at"] == instant
    assert submitted.time == datetime.fromisoformat(instant)  # the event's own time attribute
    assert read.json()["submitted_at"] == instant
    assert [d["submitted_at"] for d in listed.json() if d["dossier_id"] == dossier_id] == [instant]
    assert receipt.json()["updated_at"] == read.json()["updated_at"]
    decided = datetime.fromisoformat(instant)
    assert decided.microsecond % 1000 == 0
    if not simulated:
        assert instant == "2008-11-20T09:00:32.787000Z"
