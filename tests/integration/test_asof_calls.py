"""As-of reads of calls and dossiers on the real broker and store: a dossier submitted, replaced,
screened and pre-selected vote by vote; at each instant between its changes, its state rebuilt
from the log equals what the live API showed then; its present equals the live record; its
changes are listed once each, in order, with who made them; the auditors' tool writes them as
CSV."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.calls.app import create_app
from services.calls.settings import CallsSettings
from services.calls.tests.samples import DEADLINE, IN_TIME, dossier, platform_call
from shared import audit
from shared.clock import ManualClock
from tests.support.infra import Isolation, auth, serve, token
from tests.support.kafka import eventually, read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

LEAD = auth("pole:aerospace-valley", subject="aerospace-valley")
OPERATOR = auth("operator")
STEPS = [
    "calls.dossier.submitted.v1",
    "calls.dossier.replaced.v1",
    "calls.dossier.found-eligible.v1",
    "calls.dossier.preselection-vote.v1",
    "calls.dossier.preselection-vote.v1",
    "calls.dossier.preselected.v1",
]


def part_of(rebuilt: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """The live view's fields the rebuilt one has."""
    assert set(rebuilt) <= set(live), set(rebuilt) - set(live)
    return {name: live[name] for name in rebuilt}


async def test_a_dossier_as_it_stood_at_each_instant_rebuilt_from_the_log(
    isolation: Isolation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(IN_TIME)
    app = create_app(isolation.settings(CallsSettings), clock=clock)
    seen: list[tuple[datetime, dict[str, Any]]] = []  # (instant of a change, the live view then)
    async with serve(app) as client:

        async def changed(response: httpx.Response, dossier_id: str) -> None:
            assert response.status_code in (200, 201), response.text
            live = await client.get(f"/dossiers/{dossier_id}", headers=OPERATOR)
            seen.append((clock.now(), live.json()))

        opened = await client.post("/calls", json=platform_call(), headers=auth("state"))
        assert opened.status_code == 201, opened.text
        call_then = (await client.get("/calls/PF-2008", headers=OPERATOR)).json()
        clock.advance(timedelta(hours=1))
        submitted = await client.post("/calls/PF-2008/dossiers", json=dossier(), headers=LEAD)
        dossier_id = str(submitted.json()["dossier_id"])
        await changed(submitted, dossier_id)
        clock.advance(timedelta(days=1))
        body = dossier(investment_cents=400_000_000)
        await changed(
            await client.put(f"/dossiers/{dossier_id}", json=body, headers=LEAD), dossier_id
        )
        clock.set(DEADLINE + timedelta(days=3))
        screening = {"eligible": True}
        path = f"/dossiers/{dossier_id}"
        await changed(
            await client.post(f"{path}/screening", json=screening, headers=auth("state")),
            dossier_id,
        )
        for voter in ("state", "cdc"):
            clock.advance(timedelta(days=2))
            vote = await client.post(
                f"{path}/preselection-votes", json={"decision": "yes"}, headers=auth(voter)
            )
            await changed(vote, dossier_id)
        assert seen[-1][1]["status"] == "preselected"

        published = await read_events(
            isolation,
            "calls.dossier",
            lambda evs: len([e for e in evs if e.subject == dossier_id]) >= 6,
        )

        async def changes(at: datetime | None = None) -> list[dict[str, Any]]:
            params = {"at": at.isoformat()} if at else {}
            response = await client.get(f"{path}/changes", params=params, headers=LEAD)
            assert response.status_code == 200, response.text
            return list(response.json())

        history = await eventually(lambda: _all(changes(), len(STEPS)))

        async def as_of(at: datetime) -> httpx.Response:
            return await client.get(path, params={"at": at.isoformat()}, headers=LEAD)

        before = await as_of(seen[0][0] - timedelta(seconds=1))
        assert before.status_code == 404
        assert "did not exist yet at" in before.json()["detail"]
        for index, (instant, live) in enumerate(seen):
            later = seen[index + 1][0] if index + 1 < len(seen) else instant + timedelta(days=30)
            for at in (instant, instant + (later - instant) / 2, later - timedelta(seconds=1)):
                rebuilt = (await as_of(at)).json()
                assert rebuilt == part_of(rebuilt, live), at
        present = (await as_of(clock.now())).json()
        live_now = (await client.get(path, headers=LEAD)).json()
        assert present == part_of(present, live_now)
        assert present["status"] == "preselected"
        assert present["version"] == 2
        assert set(present["votes"]) == {"state", "cdc"}

        stranger = auth("pole:minalogic")
        for hidden, params in ((path, {"at": clock.now().isoformat()}), (f"{path}/changes", {})):
            assert (await client.get(hidden, params=params, headers=stranger)).status_code == 404

        call_at = await client.get(
            "/calls/PF-2008", params={"at": IN_TIME.isoformat()}, headers=OPERATOR
        )
        assert call_at.json() == part_of(call_at.json(), call_then)
        call_changes = (await client.get("/calls/PF-2008/changes", headers=OPERATOR)).json()
        call_types = [c["type"] for c in call_changes]
        assert call_types[0] == "calls.call.opened.v1"  # then closed, once its job has run
        assert call_types[1:] in ([], ["calls.call.closed.v1"])

        monkeypatch.setenv("POLES_TOKEN", token("operator"))
        out = tmp_path / "dossier.csv"
        argv = ["history", "--kind", "dossier", "--id", dossier_id, "--csv", str(out)]
        written = await audit.history(
            audit.parser().parse_args(argv), transport=httpx.ASGITransport(app=app)
        )
        until = seen[1][0].isoformat()
        early = tmp_path / "early.csv"
        await audit.history(
            audit.parser().parse_args([*argv[:-1], str(early), "--at", until]),
            transport=httpx.ASGITransport(app=app),
        )

    ours = [e for e in published if e.subject == dossier_id]
    assert [c["type"] for c in history] == STEPS
    assert [c["event_id"] for c in history] == [e.id for e in ours]
    assert len({c["event_id"] for c in history}) == len(STEPS)
    assert [c["who"] for c in history][2:5] == ["state", "state", "cdc"]
    times = [datetime.fromisoformat(c["time"]) for c in history]
    assert times == sorted(times)
    assert times[0] == seen[0][0]
    assert written == len(STEPS)
    with out.open(encoding="utf-8") as rows:
        lines = list(csv.reader(rows))
    assert lines[0] == list(audit.CSV_COLUMNS)
    assert [row[2] for row in lines[1:]] == [c["event_id"] for c in history]
    with early.open(encoding="utf-8") as rows:
        assert [row[1] for row in list(csv.reader(rows))[1:]] == STEPS[:2]


async def _all(pending: Any, count: int) -> list[dict[str, Any]] | None:
    """The changes once the log holds ``count`` of them (the relay publishes after the save)."""
    found: list[dict[str, Any]] = await pending
    return found if len(found) >= count else None
