"""Static consumer-group membership is asked for by a setting and names the member by its client
id, which tells replicas apart; without the setting the consumers join as dynamic members."""

from __future__ import annotations

from typing import Any

import pytest

from shared.settings import ServiceSettings


def settings(**values: Any) -> ServiceSettings:
    return ServiceSettings(service="calls", auth_secret="s" * 32, **values)


def test_a_static_member_is_named_by_its_service_and_instance() -> None:
    first = settings(kafka_static_membership=True, instance="1")
    pod = settings(kafka_static_membership=True, instance="calls-7f9c-x2")
    assert first.group_instance_id == "poles-calls-1"
    assert pod.group_instance_id == "poles-calls-calls-7f9c-x2"


def test_without_the_setting_the_consumers_join_as_dynamic_members() -> None:
    assert settings(kafka_static_membership=False, instance="2").group_instance_id is None


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLES_KAFKA_STATIC_MEMBERSHIP", "true")
    monkeypatch.setenv("POLES_INSTANCE", "2")
    assert settings().group_instance_id == "poles-calls-2"
