"""docker-compose.yml cannot run here (no Docker engine): check it against the Compose
specification's JSON schema and check that it names every part of the platform."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

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
    for variable in ("POLES_AUTH_SECRET", "MONGO_ROOT_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        assert f"${{{variable}" in text
        assert f"{variable}=" in example
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_every_file_the_compose_file_mounts_is_in_the_repository() -> None:
    for service in compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source
