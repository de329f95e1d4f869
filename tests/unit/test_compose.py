"""docker-compose.yml cannot run here (no Docker engine): check it against the Compose
specification's JSON schema and check that it names every part of the platform."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from shared.kafka_access import password_variable
from shared.kafka_acls import principals

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("calls", "funding", "contracts", "notify")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def compose_spec_schema() -> dict[str, Any]:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    loaded: dict[str, Any] = json.loads(schema_file.read_text())
    return loaded


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    jsonschema.validate(compose(), compose_spec_schema())


def test_the_compose_file_runs_the_whole_platform() -> None:
    services = compose()["services"]
    assert {*SERVICES, "kafka", "mongo", "prometheus", "grafana"} <= services.keys()
    assert services["kafka"]["image"].startswith("apache/kafka:4.1")


def test_each_service_is_its_own_image_with_its_own_port_and_database_user() -> None:
    services = compose()["services"]
    for port, name in enumerate(SERVICES, start=8001):
        service = services[name]
        assert service["build"]["args"]["SERVICE"] == name
        assert (ROOT / service["build"]["dockerfile"]).is_file()
        assert service["ports"] == [f"{port}:{port}"]
        assert f"mongodb://{name}:" in service["environment"]["POLES_MONGO_URL"]
        assert f"/poles_{name}?" in service["environment"]["POLES_MONGO_URL"]


def test_secrets_come_from_the_environment_and_the_example_names_them_all() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    example = (ROOT / "deploy/compose/example.env").read_text()
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    assert {"POLES_AUTH_SECRET", "MONGO_ROOT_PASSWORD", "GRAFANA_ADMIN_PASSWORD"} <= used
    assert {password_variable(name) for name in principals()} <= used
    named = dict(
        line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#")
    )
    assert named.keys() == used
    assert all(value.startswith("replace-") for value in named.values()), "a real secret?"
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_the_broker_authenticates_everyone_and_allows_only_what_acls_allow() -> None:
    kafka = compose()["services"]["kafka"]
    assert kafka["entrypoint"] == ["/bin/sh", "/poles/kafka-start.sh"]
    assert "./deploy/compose/kafka-start.sh:/poles/kafka-start.sh:ro" in kafka["volumes"]
    script = (ROOT / "deploy/compose/kafka-start.sh").read_text()
    for line in (
        "listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,CLIENT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms=SCRAM-SHA-512",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found=false",
        "super.users=User:admin",
    ):
        assert f"\n{line}\n" in script
    assert "--command-config /tmp/admin.properties" in kafka["healthcheck"]["test"][1]


def test_the_broker_makes_a_scram_user_for_every_principal_from_the_env_file() -> None:
    kafka = compose()["services"]["kafka"]
    script = (ROOT / "deploy/compose/kafka-start.sh").read_text()
    listed = re.search(r'PRINCIPALS="([^"]*)"', script)
    assert listed is not None
    expected = {f"{name}:{password_variable(name)}" for name in principals()}
    assert set(listed.group(1).split()) == expected
    for name in principals():
        variable = password_variable(name)
        assert kafka["environment"][variable] == f"${{{variable}:?set it in .env}}"


def test_acls_and_topics_are_set_up_as_admin_before_any_service_starts() -> None:
    services = compose()["services"]
    setup = services["kafka-setup"]
    assert "python -m shared.kafka_acls apply --bootstrap kafka:9092" in setup["command"][2]
    assert "python -m shared.topics create --bootstrap kafka:9092" in setup["command"][2]
    assert setup["environment"]["POLES_KAFKA_USERNAME"] == "admin"
    assert setup["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in SERVICES:
        condition = services[name]["depends_on"]["kafka-setup"]["condition"]
        assert condition == "service_completed_successfully"


def test_each_service_logs_in_to_kafka_as_its_own_principal() -> None:
    services = compose()["services"]
    for name in SERVICES:
        environment = services[name]["environment"]
        assert environment["POLES_KAFKA_USERNAME"] == f"poles-{name}"
        variable = password_variable(f"poles-{name}")
        assert environment["POLES_KAFKA_PASSWORD"] == f"${{{variable}:?set it in .env}}"


def test_every_file_the_compose_file_mounts_is_in_the_repository() -> None:
    for service in compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source
