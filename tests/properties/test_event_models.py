"""Every event model of the platform, fed anything: it validates or raises pydantic's
ValidationError, nothing else; a valid event survives the trip through Kafka (CloudEvents
headers and JSON body) unchanged; and any Kafka record at all either reads as an event or fails
with one of the errors the kernel's consumer dead-letters."""

from __future__ import annotations

import contextlib
from datetime import datetime

import orjson
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import shared.events  # noqa: F401 - registers every event type
from shared.cloudevents import CloudEvent, EnvelopeError
from shared.events.base import (
    EventData,
    UnknownEventType,
    new_outbox_entry,
    parse_event_data,
    platform_event_types,
)
from tests.properties.strategies import (
    any_input,
    aware_datetimes,
    json_values,
    quick,
    shaped_like,
)

MODELS = list(platform_event_types().values())


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.type_name)
@quick
@given(data=st.data())
def test_any_json_validates_or_raises_a_validation_error(
    model: type[EventData], data: st.DataObject
) -> None:
    value = data.draw(any_input(model))
    with contextlib.suppress(ValidationError):
        model.model_validate(value)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.type_name)
@quick
@given(data=st.data(), time=aware_datetimes(), key=st.text(min_size=1, max_size=60))
def test_a_valid_event_round_trips_through_kafka_headers_and_body(
    model: type[EventData], data: st.DataObject, time: datetime, key: str
) -> None:
    try:
        event = model.model_validate(data.draw(shaped_like(model)))
    except ValidationError:
        reject()  # a rule the schema cannot say (an order of dates, say): not an event
    entry = new_outbox_entry(event, source="/poles/tests", key=key, time=time)
    sent = entry.cloud_event()

    received = CloudEvent.from_kafka(sent.kafka_headers(), sent.kafka_value())

    assert received == sent
    assert parse_event_data(received) == event


headers = st.lists(
    st.tuples(
        st.sampled_from(["ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion", "other"]),
        st.one_of(st.binary(max_size=30), st.sampled_from([m.type_name.encode() for m in MODELS])),
    ),
    max_size=8,
)
bodies = st.one_of(st.none(), st.binary(max_size=200), json_values().map(orjson.dumps))


@settings(max_examples=300, deadline=None)
@given(record_headers=headers, value=bodies)
def test_any_kafka_record_reads_as_an_event_or_fails_as_the_consumer_expects(
    record_headers: list[tuple[str, bytes]], value: bytes | None
) -> None:
    with contextlib.suppress(EnvelopeError, UnknownEventType, ValidationError):
        parse_event_data(CloudEvent.from_kafka(record_headers, value))


def test_every_service_publishes_models_that_are_covered() -> None:
    assert {m.type_name.split(".")[0] for m in MODELS} == {
        "calls",
        "funding",
        "contracts",
        "notify",
    }
