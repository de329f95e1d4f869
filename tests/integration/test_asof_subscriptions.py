"""A subscription on the real broker and store: created with a backfill, paused by an operator,
resumed, its secret rotated, deleted; at each instant between its changes its state rebuilt from
the log equals what the live API showed then (on the fields its events carry, never a secret);
its present equals the live record; its changes are listed once each, in order, with who made
them; a deleted subscription's past stays readable by its owner, never by another."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.notify.app import create_app
from services.notify.tests.test_asof import live_part
from tests.integration.test_asof_calls import _all
from tests.integration.test_notify_webhooks import settings
from tests.support.infra import Isolation, auth, serve
from tests.support.kafka import eventually, read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

OWNER = auth("integrator", subject="veille-si")
OPERATOR = auth("operator", subject="ops")
STRANGER = auth("integrator", subject="someone-else")
STEPS = ["created", "paused", "resumed", "secret-rotated", "deleted"]
SINCE = datetime(2009, 1, 5, 9, 0, 0, 123456, tzinfo=UTC)  # the store keeps milliseconds


async def test_a_subscription_as_it_stood_at_each_instant_rebuilt_from_the_log(
    isolation: Isolation,
) -> None:
    # (just after a change, the live view then, just before the next change)
    seen: list[tuple[datetime, dict[str, Any], datetime]] = []
    body = {
        "channel": "webhook",
        "target": "http://127.0.0.1:9/hooks",
        "event_types": ["calls.dossier.*"],
        "filters": {"call_id": "PF-2008"},
        "since": SINCE.isoformat(),
    }
    async with serve(create_app(settings(isolation))) as client:
        first = datetime.now(UTC)
        created = await client.post("/subscriptions", json=body, headers=OWNER)
        assert created.status_code == 201, created.text
        path = f"/subscriptions/{created.json()['id']}"

        async def changed() -> None:
            live = await client.get(path, headers=OWNER)
            assert live.status_code == 200, live.text
            after = datetime.now(UTC)
            await asyncio.sleep(0.05)
            seen.append((after, live.json(), datetime.now(UTC)))

        await changed()
        for step, caller in (("pause", OPERATOR), ("resume", OWNER), ("rotate-secret", OWNER)):
            response = await client.post(f"{path}/{step}", headers=caller)
            assert response.status_code == 200, response.text
            await changed()
        live_now = seen[-1][1]
        deleted = await client.delete(path, headers=OWNER)
        assert deleted.status_code == 200, deleted.text
        gone = await client.get(path, headers=OWNER)

        async def changes(headers: dict[str, str] = OWNER) -> list[dict[str, Any]]:
            response = await client.get(f"{path}/changes", headers=headers)
            assert response.status_code == 200, response.text
            return list(response.json())

        history = await eventually(lambda: _all(changes(), len(STEPS)))
        by_operator = await changes(OPERATOR)

        async def as_of(at: datetime, headers: dict[str, str] = OWNER) -> httpx.Response:
            return await client.get(path, params={"at": at.isoformat()}, headers=headers)

        before = await as_of(first - timedelta(milliseconds=1))
        rebuilt_then = [
            (at, (await as_of(at)).json(), live)
            for after, live, until in seen
            for at in (after, after + (until - after) / 2, until)
        ]
        present = (await as_of(seen[-1][2])).json()
        now = datetime.now(UTC)
        after_deletion = [(await as_of(now, who)).json() for who in (OWNER, OPERATOR)]
        hidden = [
            (await client.get(hidden_path, params=params, headers=STRANGER)).status_code
            for hidden_path, params in ((path, {"at": now.isoformat()}), (f"{path}/changes", {}))
        ]
        published = await read_events(
            isolation, "notify.subscription", lambda evs: len(evs) >= len(STEPS)
        )

    assert before.status_code == 404
    assert "did not exist yet at" in before.json()["detail"]
    for at, rebuilt, live in rebuilt_then:
        assert rebuilt == live_part(rebuilt, live), at
        assert not {"secret", "secrets"} & set(rebuilt)
    assert [rebuilt["status"] for _, rebuilt, _ in rebuilt_then[::3]] == [
        "active",
        "paused",
        "active",
        "active",
    ]
    assert present == live_part(present, live_now)
    assert present["backfill"] == {"since": "2009-01-05T09:00:00.123000Z"}
    assert set(live_now) - set(present) == {"failing_since", "final_failures_in_row"}
    assert gone.status_code == 404
    assert [view["status"] for view in after_deletion] == ["deleted", "deleted"]
    assert after_deletion[0] == after_deletion[1] == {**present, "status": "deleted"}
    assert hidden == [404, 404]
    ours = [e for e in published if e.subject == created.json()["id"]]
    assert [c["type"] for c in history] == [f"notify.subscription.{step}.v1" for step in STEPS]
    assert [c["event_id"] for c in history] == [e.id for e in ours]
    assert len({c["event_id"] for c in history}) == len(STEPS)
    assert [c["who"] for c in history] == [
        "veille-si",
        "ops",
        "veille-si",
        "veille-si",
        "veille-si",
    ]
    assert by_operator == history
    times = [datetime.fromisoformat(c["time"]) for c in history]
    assert times == sorted(times)
    for time, (after, _, _) in zip(times[:-1], seen, strict=True):  # the deletion: no view
        assert first <= time <= after  # each change made before the live view that showed it
    assert "whsec_" not in str([e.data for e in ours])
