from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain import subscription as decide
from services.notify.domain.subscription import FailurePolicy, Subscription
from shared.auth import Principal
from shared.errors import Conflict, Invalid
from shared.events.notify import SubscriptionDisabled

NOW = datetime(2009, 3, 2, 10, 0, tzinfo=UTC)
POLE = Principal("minalogic-si", frozenset({"pole:minalogic"}))
POLICY = FailurePolicy(failing_for=timedelta(hours=24), final_failures_in_row=3)


def webhook(**changes: object) -> Subscription:
    sub = decide.create(
        "sub-1", POLE, "webhook", "https://hooks.example.org/poles", ["calls.dossier.*"], {}, NOW
    ).state
    return sub.model_copy(update=changes)


def test_creating_records_the_owner_and_normalized_patterns_and_makes_a_secret() -> None:
    created = decide.create(
        "sub-1",
        POLE,
        "webhook",
        "https://hooks.example.org/poles",
        ["calls.dossier.*", "calls.dossier."],
        {"call_id": "fui-8"},
        NOW,
    )
    sub, [event] = created.state, created.events
    assert (sub.owner_subject, sub.owner_roles) == ("minalogic-si", ["pole:minalogic"])
    assert sub.event_types == ["calls.dossier."]
    assert sub.status == "active"
    assert sub.signing_secrets(NOW)[0].startswith("whsec_")
    assert event.model_dump()["subscription_id"] == "sub-1"
    assert "whsec_" not in event.model_dump_json()
    assert created.answer["secret"] == sub.signing_secrets(NOW)[0]
    assert "secrets" not in created.answer


@pytest.mark.parametrize(
    ("channel", "target", "types", "filters", "field"),
    [
        ("webhook", "ftp://x.example/h", ["*"], {}, "target"),
        ("webhook", "https://user:pw@x.example/h", ["*"], {}, "target"),
        ("email", "not-an-address", ["*"], {}, "target"),
        ("email", "a@b.fr", [], {}, "event_types"),
        ("email", "a@b.fr", ["calls..x"], {}, "event_types"),
        ("email", "a@b.fr", ["*"], {"state.x": "1"}, "filters"),
    ],
)
def test_bad_subscriptions_are_refused_naming_the_field(
    channel: str, target: str, types: list[str], filters: dict[str, str], field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        decide.create("s", POLE, channel, target, types, filters, NOW)  # type: ignore[arg-type]
    assert [problem.loc for problem in refused.value.problems] == [(field,)]
    assert refused.value.detail[0]["loc"] == ["body", field]


def test_an_email_subscription_has_no_secret_to_rotate() -> None:
    sub = decide.create("s", POLE, "email", "a@b.fr", ["*"], {}, NOW).state
    assert sub.secrets == []
    with pytest.raises(Conflict):
        decide.rotate_secret(sub, NOW, by=POLE.subject, overlap=timedelta(hours=24))


def test_pause_resume_delete_follow_the_lifecycle() -> None:
    paused = decide.pause(webhook(), NOW, by=POLE.subject)
    assert paused.state.status == paused.answer["status"] == "paused"
    with pytest.raises(Conflict):
        decide.pause(paused.state, NOW, by=POLE.subject)
    resumed = decide.resume(paused.state, NOW, by=POLE.subject).state
    assert resumed.status == "active"
    with pytest.raises(Conflict):
        decide.resume(resumed, NOW, by=POLE.subject)
    deleted = decide.delete(resumed, NOW, by=POLE.subject).state
    with pytest.raises(Conflict):
        decide.delete(deleted, NOW, by=POLE.subject)


def test_after_a_rotation_both_secrets_sign_until_the_overlap_ends() -> None:
    sub = webhook()
    rotation = decide.rotate_secret(sub, NOW, by=POLE.subject, overlap=timedelta(hours=24))
    rotated, [event] = rotation.state, rotation.events
    old = sub.signing_secrets(NOW)[0]
    assert rotated.signing_secrets(NOW + timedelta(hours=23))[1:] == [old]
    assert rotated.signing_secrets(NOW + timedelta(hours=25)) == rotated.signing_secrets(NOW)[:1]
    assert event.model_dump()["previous_secret_valid_until"] == NOW + timedelta(hours=24)
    assert rotation.answer["secret"] == rotated.signing_secrets(NOW)[0]
    twice = decide.rotate_secret(
        rotated, NOW + timedelta(hours=30), by=POLE.subject, overlap=timedelta(hours=24)
    ).state
    assert len(twice.secrets) == 2


def test_a_subscription_selects_what_it_asked_for_and_its_owner_may_see() -> None:
    sub = webhook(filters={"call_id": "fui-8"})
    mine = {"pole_id": "minalogic", "call_id": "fui-8", "region_codes": ["82"]}
    assert sub.selects("calls.dossier.submitted.v1", mine)
    assert not sub.selects("calls.call.opened.v1", {"call_id": "fui-8"})
    assert not sub.selects("calls.dossier.submitted.v1", {**mine, "call_id": "fui-9"})
    assert not sub.selects("calls.dossier.submitted.v1", {**mine, "pole_id": "cap-digital"})
    assert not webhook(status="paused").selects("calls.dossier.submitted.v1", mine)


def test_an_integrators_filter_can_narrow_but_never_widen_visibility() -> None:
    sub = webhook(filters={"pole_id": "cap-digital"})
    assert not sub.selects("calls.dossier.submitted.v1", {"pole_id": "cap-digital"})


def test_failures_in_a_row_disable_the_subscription_with_an_event() -> None:
    sub = webhook()
    for _ in range(2):
        decided = decide.record_failure(sub, NOW, True, POLICY)
        assert decided is not None
        assert decided.events == ()
        sub = decided.state
    disabling = decide.record_failure(sub, NOW, True, POLICY)
    assert disabling is not None
    disabled, [event] = disabling.state, disabling.events
    assert disabled.status == "disabled"
    assert isinstance(event, SubscriptionDisabled)
    assert event.final_failures_in_row == 3


def test_failing_for_too_long_disables_and_a_success_heals() -> None:
    first = decide.record_failure(webhook(), NOW, False, POLICY)
    assert first is not None
    failing = first.state
    assert failing.failing_since == NOW
    assert decide.record_failure(failing, NOW + timedelta(hours=1), False, POLICY) is None
    healed = decide.record_success(failing)
    assert healed is not None
    assert healed.state.failing_since is None
    assert decide.record_success(healed.state) is None
    late = decide.record_failure(failing, NOW + timedelta(hours=24), False, POLICY)
    assert late is not None
    assert late.state.status == "disabled"
    assert decide.record_failure(late.state, NOW, True, POLICY) is None
