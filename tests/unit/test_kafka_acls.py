"""The broker's ACLs come from the topic registry; the registry must say what the services do.

Each service's AsyncAPI document lists the topics it really subscribes to and publishes on (the
app is built, which connects to nothing): the registry's consumers and owners must match it, or
a service would be refused by the broker (too few rights) or hold rights it does not use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import SecretStr

from shared.kafka_access import KafkaAccess, password_variable
from shared.kafka_acls import INTEGRATOR, PARTIES, Acl, acls, principal, principals
from shared.topics import ALL_TOPICS, COMMAND_SENDERS, SERVICES
from tests.support.infra import offline_app

ROOT = Path(__file__).resolve().parents[2]
ADDRESSES = {topic.name for topic in ALL_TOPICS}


def asyncapi(service: str) -> dict[str, Any]:
    document: dict[str, Any] = TestClient(offline_app(service)).get("/asyncapi.json").json()
    return document


def topics_of(document: dict[str, Any], action: str) -> set[str]:
    channels = document["channels"]
    return {
        channels[operation["channel"]["$ref"].rsplit("/", 1)[1]]["address"]
        for operation in document["operations"].values()
        if operation["action"] == action
    }


@pytest.mark.parametrize("service", SERVICES)
def test_the_registry_names_the_topics_each_service_reads_and_writes(service: str) -> None:
    document = asyncapi(service)
    assert topics_of(document, "receive") == {t.name for t in ALL_TOPICS if service in t.consumers}
    assert topics_of(document, "send") <= {t.name for t in ALL_TOPICS if t.owner == service}


def test_every_topic_has_one_known_writer_and_known_readers() -> None:
    for topic in ALL_TOPICS:
        assert topic.owner in PARTIES
        assert set(topic.consumers) <= set(PARTIES) - {INTEGRATOR}


def test_a_service_may_write_only_its_own_topics_and_its_dead_letters() -> None:
    for service in SERVICES:
        written = {
            a.name for a in acls() if a.principal == principal(service) and a.operation == "write"
        }
        assert f"deadletter.{service}" in written
        assert all(name.startswith((f"{service}.", "deadletter.")) for name in written)
        assert written == {t.name for t in ALL_TOPICS if t.owner == service}


def test_the_integrator_only_reads_and_never_commands_or_dead_letters() -> None:
    granted = [a for a in acls() if a.principal == principal(INTEGRATOR)]
    assert {a.operation for a in granted} == {"read"}
    topics = {a.name for a in granted if a.resource == "topic"}
    assert "calls.command" not in topics
    assert not any(name.startswith("deadletter.") for name in topics)
    assert topics == ADDRESSES - {"calls.command"} - {f"deadletter.{s}" for s in SERVICES}


def test_command_senders_write_commands_and_read_their_answers_only() -> None:
    granted = {(a.operation, a.name) for a in acls() if a.principal == principal(COMMAND_SENDERS)}
    assert granted == {
        ("write", "calls.command"),
        ("read", "calls.command-result"),
        ("read", "poles-command-senders"),
    }


def test_consumer_groups_are_prefixed_by_their_principal_and_topics_are_literal() -> None:
    for acl in acls():
        if acl.resource == "group":
            assert acl.prefixed
            assert acl.name == acl.principal
        else:
            assert not acl.prefixed


def test_a_prefix_makes_the_same_acls_for_private_topic_copies() -> None:
    assert [
        Acl(a.principal, a.resource, "t1." + a.name, a.operation, a.prefixed) for a in acls()
    ] == acls("t1.")


def test_every_principal_has_its_own_password_variable() -> None:
    names = principals()
    assert names[0] == "admin"
    assert len({password_variable(name) for name in names}) == len(names)
    assert password_variable("poles-command-senders") == "KAFKA_COMMAND_SENDERS_PASSWORD"


def test_client_options_log_in_only_when_a_login_is_given() -> None:
    assert KafkaAccess("h:1").options() == {"bootstrap_servers": "h:1"}
    login = KafkaAccess("h:1", "poles-calls", SecretStr("pw"))
    assert login.options()["security_protocol"] == "SASL_PLAINTEXT"
    assert login.options()["sasl_mechanism"] == "SCRAM-SHA-512"
    assert "sasl.password=pw" in login.kcat_config()
    assert "pw" not in repr(login)


def test_the_kubernetes_users_have_exactly_the_derived_acls() -> None:
    declared = set()
    users = yaml.safe_load_all((ROOT / "deploy/k8s/kafka-users.yaml").read_text())
    for user in users:
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        for acl in user["spec"]["authorization"]["acls"]:
            resource = acl["resource"]
            for operation in acl["operations"]:
                declared.add(
                    Acl(
                        user["metadata"]["name"],
                        resource["type"],
                        resource["name"],
                        operation.lower(),
                        resource["patternType"] == "prefix",
                    )
                )
    assert declared == set(acls())
