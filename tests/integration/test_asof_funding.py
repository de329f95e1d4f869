"""A budget line on the real broker and store, across an envelope amendment: its balance now
equals the live line, just before the amendment the amount it was loaded with; its changes,
read from the topics, list its loading, the amendment and its commitment once each, by time;
the auditors' tool writes them as CSV."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from services.funding.app import create_app
from shared import audit
from tests.integration.test_funding_money_rules import (
    EXTENSION,
    M_EUR,
    STATE,
    commit_body,
    post,
    settings,
)
from tests.support.infra import Isolation, auth, serve, token
from tests.support.kafka import eventually, read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

PLATFORMS = "/lines/intervention.platforms"


async def test_a_line_across_an_envelope_amendment(
    isolation: Isolation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = auth("operator")
    app = create_app(settings(isolation))
    async with serve(app) as client:
        loaded = (await client.get(PLATFORMS, headers=reader)).json()
        amended = await post(client, "/envelope/amendments", EXTENSION, STATE, "a-1")
        assert amended.status_code == 201, amended.text
        made = await post(
            client, f"{PLATFORMS}/commitments", commit_body(2012, M_EUR), STATE, "c-1"
        )
        assert made.status_code == 201, made.text
        live = (await client.get(PLATFORMS, headers=reader)).json()
        now = (await client.get(f"{PLATFORMS}/balance", headers=reader)).json()
        events = await read_events(
            isolation, "funding.line", lambda evs: any("envelope-amended" in e.type for e in evs)
        )
        [event] = [e for e in events if e.type == "funding.line.envelope-amended.v1"]
        amended_at = datetime.fromisoformat(event.data["amended_at"])
        params = {"at": (amended_at - timedelta(milliseconds=1)).isoformat()}
        before = (await client.get(f"{PLATFORMS}/balance", params=params, headers=reader)).json()

        async def changes() -> list[dict[str, str]] | None:
            found = (await client.get(f"{PLATFORMS}/changes", headers=reader)).json()
            made_ = any(c["type"] == "funding.commitment.made.v1" for c in found)
            return list(found) if made_ else None

        history = await eventually(changes)
        monkeypatch.setenv("POLES_TOKEN", token("operator"))
        out = tmp_path / "line.csv"
        argv = ["history", "--kind", "line", "--id", "intervention.platforms", "--csv", str(out)]
        written = await audit.history(
            audit.parser().parse_args(argv), transport=httpx.ASGITransport(app=app)
        )

    assert live["amount_cents"] == 140 * M_EUR != loaded["amount_cents"]
    assert (now["amount_cents"], now["committed_cents"]) == (
        live["amount_cents"],
        live["committed_cents"],
    )
    assert before["amount_cents"] == loaded["amount_cents"]
    types = [c["type"] for c in history]
    assert types == [
        "funding.line.loaded.v1",
        "funding.line.envelope-amended.v1",
        "funding.commitment.made.v1",
    ]
    assert len({c["event_id"] for c in history}) == len(history)
    assert history[1]["event_id"] == event.id
    times = [datetime.fromisoformat(c["time"]) for c in history]
    assert times == sorted(times)
    assert written == len(history)
    with out.open(encoding="utf-8") as rows:
        lines = list(csv.reader(rows))
    assert lines[0] == list(audit.CSV_COLUMNS)
    assert [row[1] for row in lines[1:]] == types
