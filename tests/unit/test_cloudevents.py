from datetime import UTC, datetime

import pytest

from shared.cloudevents import CloudEvent, EnvelopeError

EVENT = CloudEvent(
    id="e-1",
    type="calls.call.opened.v1",
    source="calls",
    time=datetime(2008, 10, 1, 9, 0, tzinfo=UTC),
    subject="call-1",
    data={"call_id": "call-1", "amount_cents": 3_500_000_000},
)


def test_an_event_survives_the_round_trip_through_kafka_headers_and_body() -> None:
    assert CloudEvent.from_kafka(EVENT.kafka_headers(), EVENT.kafka_value()) == EVENT


def test_the_headers_are_the_cloudevents_binary_mode_attributes() -> None:
    headers = dict(EVENT.kafka_headers())
    assert headers["ce_id"] == b"e-1"
    assert headers["ce_type"] == b"calls.call.opened.v1"
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_subject"] == b"call-1"
    assert headers["content-type"] == b"application/json"


def test_a_record_without_cloudevents_headers_is_refused_with_the_missing_names() -> None:
    with pytest.raises(EnvelopeError, match="missing CloudEvents headers: id, source, time, type"):
        CloudEvent.from_kafka([], b"{}")


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", None])
def test_a_body_that_is_not_a_json_object_is_refused(body: bytes | None) -> None:
    with pytest.raises(EnvelopeError):
        CloudEvent.from_kafka(EVENT.kafka_headers(), body)


def test_the_structured_form_carries_attributes_and_data_together() -> None:
    structured = EVENT.structured()
    assert structured["specversion"] == "1.0"
    assert structured["data"]["amount_cents"] == 3_500_000_000
