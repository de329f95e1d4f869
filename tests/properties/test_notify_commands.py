"""The notify service's commands, fed anything: a subscription body is valid or a
ValidationError; a valid body makes a subscription (and an event that can be stored) or is
refused with Invalid (422, naming the field); a webhook URL, however mangled, is
refused with Invalid or, for its host, PrivateTarget or OSError, which the API maps
to 422; never another error (a 500)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import bson
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.notify.api import ReplayBody, SubscriptionBody
from services.notify.domain.subscription import check_target, create
from services.notify.targets import NO_PRIVATE_TARGETS, PrivateTarget, ensure_public
from shared.auth import Principal
from shared.errors import Invalid
from tests.properties.strategies import any_input, quick, valid

SAMPLE = {
    "channel": "webhook",
    "target": "https://example.org/hooks/poles",
    "event_types": ["calls.dossier.*"],
    "filters": {"pole_id": "minalogic"},
}
OWNER = Principal("someone", frozenset({"pole:minalogic"}))
NOW = datetime(2010, 5, 11, 9, 0, tzinfo=UTC)


@quick
@given(value=any_input(SubscriptionBody, SAMPLE))
def test_any_subscription_body_is_valid_or_a_validation_error(value: Any) -> None:
    with contextlib.suppress(ValidationError):
        SubscriptionBody.model_validate(value)


@quick
@given(value=any_input(ReplayBody, {"since": NOW.isoformat()}))
def test_any_replay_body_is_valid_or_a_validation_error(value: Any) -> None:
    with contextlib.suppress(ValidationError):
        ReplayBody.model_validate(value)


@quick
@given(body=valid(SubscriptionBody))
def test_a_valid_body_makes_a_storable_subscription_or_names_the_wrong_field(
    body: SubscriptionBody,
) -> None:
    try:
        decision = create(
            "sub-1", OWNER, body.channel, body.target, body.event_types, body.filters, NOW
        )
    except Invalid as error:
        refused = error
    else:
        bson.encode(decision.state.model_dump())
        [created] = decision.events
        created.model_dump_json()
        return
    [problem] = refused.problems
    assert problem.loc in {("target",), ("event_types",), ("filters",)}


# Hosts that resolve without asking a DNS server (literals, localhost) or fail before it does.
hosts = st.sampled_from(
    [
        "10.0.0.1", "192.168.1.1", "169.254.169.254", "127.0.0.1", "8.8.8.8", "0.0.0.0",
        "[::1]", "[::ffff:10.0.0.1]", "[fe80::1%25eth0]", "[2001:4860:4860::8888]", "[::1",
        "::1]", "localhost", "a" * 64 + ".fr", "é" * 70, "", "@", "user:pw@8.8.8.8",
    ]
)  # fmt: skip
ports = st.sampled_from(["", ":80", ":0", ":65535", ":65536", ":99999", ":-1", ":x", ":"])
urls = st.one_of(
    st.builds(
        lambda scheme, host, port, path: f"{scheme}{host}{port}{path}",
        st.sampled_from(["http://", "https://", "ftp://", "http:/", ""]),
        hosts,
        ports,
        st.sampled_from(["", "/", "/hook?x=1", "#f"]),
    ),
    st.text(max_size=40),
)


@settings(quick, max_examples=200)
@given(url=urls)
@example(url="http://" + "a" * 64 + ".fr/hook")
@example(url="http://10.0.0.1:99999/")
async def test_any_webhook_url_is_refused_with_a_clear_error_or_accepted(url: str) -> None:
    try:
        check_target("webhook", url)
        await ensure_public(url, NO_PRIVATE_TARGETS)
    except (Invalid, PrivateTarget, OSError):
        pass
