"""The kernel's command seam on in-memory parts: a repository saving decisions with their events,
idempotency and history; refusals answered once for HTTP and for Kafka; typed event handlers
driven through FastStream's test broker and the kernel's consumer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from faststream.kafka import TestKafkaBroker
from pydantic import BaseModel

from shared.clock import ManualClock
from shared.cloudevents import CloudEvent
from shared.consumer import EventHandlers
from shared.decision import Decision
from shared.errors import Conflict, Forbidden, Invalid, NotFound, Problem, answer_of, invalid
from shared.http import install_problem_answers
from shared.repository import Repository, command_id, derived_id
from shared.service import build_runtime
from shared.store import ConcurrencyConflict, Loaded
from tests.integration.probe import Counted, ProbeSettings
from tests.support.kafka_in_memory import deliver
from tests.support.memory import MemoryAggregates

NOW = datetime(2009, 3, 1, 12, tzinfo=UTC)


class Tally(BaseModel):
    counter_id: str
    total: int = 0


def count(by: int) -> Any:
    def decide(tally: Tally, now: datetime) -> Decision[Tally]:
        if by > 100:
            raise Conflict("too much at once", "too-much")
        changed = tally.model_copy(update={"total": tally.total + by})
        event = Counted(counter_id=tally.counter_id, by=by)
        return Decision.of(changed, [event], {"total": changed.total})

    return decide


def repository(history: bool = False) -> tuple[Repository[Tally], MemoryAggregates]:
    store = MemoryAggregates("tallies")
    clock = ManualClock(NOW)
    repo = Repository(store, Tally, service="probe", clock=clock, what="tally", history=history)
    return repo, store


async def created(repo: Repository[Tally], counter_id: str = "t-1") -> None:
    await repo.create(counter_id, lambda now: Decision.of(Tally(counter_id=counter_id)))


async def test_a_change_saves_the_state_and_its_events_as_cloudevents_of_the_service() -> None:
    repo, store = repository()
    await created(repo)

    answer = await repo.change("t-1", count(3))

    assert answer == {"total": 3}
    assert store.documents["t-1"]["state"]["total"] == 3
    [entry] = store.published
    assert (entry.type, entry.source, entry.key, entry.time) == (
        Counted.type_name,
        "/poles/probe",
        "t-1",
        NOW,
    )


async def test_a_repeated_command_gets_its_first_answer_and_changes_nothing() -> None:
    repo, store = repository()
    await created(repo)
    key = command_id("dge", "k-1")

    first = await repo.change("t-1", count(3), idempotency=key)
    again = await repo.change("t-1", count(5), idempotency=key)

    assert first == again == {"total": 3}
    assert store.documents["t-1"]["state"]["total"] == 3
    assert len(store.published) == 1


async def test_a_refused_decision_changes_nothing() -> None:
    repo, store = repository()
    await created(repo)

    with pytest.raises(Conflict) as refused:
        await repo.change("t-1", count(500))
    assert refused.value.reason == "too-much"
    assert store.documents["t-1"]["version"] == 1
    assert store.published == []


async def test_a_missing_aggregate_is_not_found() -> None:
    repo, _ = repository()
    with pytest.raises(NotFound) as missing:
        await repo.change("nowhere", count(1))
    assert answer_of(missing.value).status_code == 404


async def test_creating_twice_is_a_conflict_unless_it_is_the_same_command() -> None:
    repo, _ = repository()
    key = command_id("dge", "open")
    make = lambda now: Decision.of(Tally(counter_id="t-1"), answer={"created": True})  # noqa: E731

    assert await repo.create("t-1", make, idempotency=key) == {"created": True}
    assert await repo.create("t-1", make, idempotency=key) == {"created": True}
    with pytest.raises(Conflict) as duplicate:
        await repo.create("t-1", make, idempotency=command_id("dge", "other"))
    assert duplicate.value.reason == "duplicate-tally"


async def test_the_history_keeps_every_event_saved() -> None:
    repo, store = repository(history=True)
    await created(repo)
    await repo.change("t-1", count(1))
    await repo.change("t-1", count(2))

    history = store.documents["t-1"]["state"]["history"]
    assert [item["data"]["by"] for item in history] == [1, 2]
    assert [item["event_id"] for item in history] == [e.id for e in store.published]


async def test_a_writer_that_lost_the_race_decides_again() -> None:
    repo, store = repository()
    await created(repo)
    racing = {"left": 1}
    real_save = store.save

    async def save_after_a_rival(loaded: Loaded, *args: Any) -> None:
        if racing["left"]:
            racing["left"] -= 1
            document = store.documents[loaded.id]
            document["version"] += 1
            document["state"]["total"] += 10
            raise ConcurrencyConflict(loaded.id)
        await real_save(loaded, *args)

    store.save = save_after_a_rival  # type: ignore[method-assign,assignment]
    assert await repo.change("t-1", count(1)) == {"total": 11}


def test_ids_derived_from_a_command_are_stable_and_distinct() -> None:
    space = uuid.UUID("00000000-0000-0000-0000-000000000001")
    assert derived_id(space, "dge", "k") == derived_id(space, "dge", "k")
    assert derived_id(space, "dge", "k") != derived_id(space, "cdc", "k")
    assert derived_id(space, "dge", None) != derived_id(space, "dge", None)
    assert command_id("dge", None) is None
    assert command_id("dge", "k") == "cmd:dge:k"


async def test_http_answers_each_refusal_with_its_status_and_reason() -> None:
    app = FastAPI()
    install_problem_answers(app)
    refusals = {
        "missing": NotFound("dossier not found"),
        "forbidden": Forbidden("only the State decides"),
        "conflict": Conflict("already signed", "already-signed"),
        "invalid": Invalid([Problem(("years", 0), "outside the contract")]),
    }

    def raising(error: Exception) -> Any:
        async def route() -> None:
            raise error

        return route

    for name, error in refusals.items():
        app.add_api_route(f"/{name}", raising(error))

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answers = {name: await client.get(f"/{name}") for name in refusals}

    assert {name: a.status_code for name, a in answers.items()} == {
        "missing": 404,
        "forbidden": 403,
        "conflict": 409,
        "invalid": 422,
    }
    assert answers["conflict"].json() == {"detail": "already signed", "reason": "already-signed"}
    assert answers["invalid"].json()["detail"] == [
        {"loc": ["body", "years", 0], "msg": "outside the contract", "type": "value_error"}
    ]
    assert answer_of(invalid(["x"], "bad")).status_code == 422


async def test_typed_handlers_receive_their_events_through_the_test_broker() -> None:
    settings = ProbeSettings(auth_secret="s" * 32, topic_prefix="seam.")
    runtime = build_runtime(settings)
    received: list[tuple[str, Counted]] = []

    async def on_counted(event: CloudEvent, data: Counted) -> None:
        received.append((event.id, data))

    runtime.consume([Counted.topic], EventHandlers().on(Counted, on_counted))

    async with TestKafkaBroker(runtime.broker) as broker:
        sent = await deliver(
            broker, Counted(counter_id="t-1", by=2), key="t-1", topic_prefix="seam."
        )

    assert received == [(sent.id, Counted(counter_id="t-1", by=2))]


async def test_apply_tells_what_it_saved_and_nothing_for_a_repeat_or_no_change() -> None:
    repo, store = repository()
    await created(repo)
    key = command_id("dge", "k-2")

    saved = await repo.apply("t-1", count(2), idempotency=key)
    repeat = await repo.apply("t-1", count(2), idempotency=key)
    unchanged = await repo.apply("t-1", lambda tally, now: None)

    assert saved.saved is not None
    assert saved.at == NOW
    assert [type(e) for e in saved.saved.events] == [Counted]
    assert (repeat.answer, repeat.saved) == (saved.answer, None)
    assert (unchanged.saved, store.documents["t-1"]["version"]) == (None, 2)


async def test_a_service_names_its_own_refusal_for_a_missing_aggregate() -> None:
    store = MemoryAggregates("contracts")
    repo = Repository(
        store,
        Tally,
        service="probe",
        clock=ManualClock(NOW),
        not_found=lambda contract_id: NotFound(f"no contract {contract_id}"),
    )
    with pytest.raises(NotFound) as missing:
        await repo.change("C-1", count(1))
    assert missing.value.detail == "no contract C-1"
