"""A tiny aggregate and event used to prove the kernel on the real broker and store.

A ``Counter`` document counts the ``tests.probe.counted.v1`` events applied to it; an emitter
saves ``Counter`` changes with their events in the outbox. Nothing here fakes a server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from pydantic import Field

from shared.cloudevents import CloudEvent
from shared.events.base import EventData, event_type, new_outbox_entry
from shared.settings import ServiceSettings
from shared.store import AggregateStore, Processed, retry_on_conflict
from shared.topics import CALLS_CALL

PROBE_TOPIC = CALLS_CALL


@event_type("tests.probe.counted.v1", PROBE_TOPIC)
class Counted(EventData):
    counter_id: str
    by: int = Field(ge=1)


class ProbeSettings(ServiceSettings):
    service: str = "probe"


async def emit(store: AggregateStore, counter_id: str, by: int = 1) -> str:
    """Save a change to the emitting side's counter, with its event in the outbox."""
    entry = new_outbox_entry(
        Counted(counter_id=counter_id, by=by),
        source="probe",
        key=counter_id,
        time=datetime.now(UTC),
    )
    loaded = await store.load(counter_id)
    if loaded is None:
        await store.create(counter_id, {"emitted": by}, [entry])
    else:
        await store.save(loaded, {"emitted": loaded.state["emitted"] + by}, [entry])
    return entry.id


def applier(
    store: AggregateStore, applied: list[str], duplicates: list[str] | None = None
) -> Callable[[CloudEvent, Counted], Awaitable[None]]:
    """An idempotent handler: adds the event's amount once, whatever the redeliveries; notes the
    ids it applied and the ids it recognised as already applied."""

    async def apply(event: CloudEvent, data: Counted) -> None:
        async def attempt() -> None:
            loaded = await store.load(data.counter_id)
            if loaded is None:
                await store.create(data.counter_id, {"total": data.by}, (), Processed(event.id))
            elif loaded.answer_for(event.id) is None:
                state = {"total": loaded.state["total"] + data.by}
                await store.save(loaded, state, (), Processed(event.id))
            else:
                if duplicates is not None:
                    duplicates.append(event.id)
                return
            applied.append(event.id)

        await retry_on_conflict(attempt)

    return apply
