"""The Kubernetes manifests agree with the code: every topic of the registry, with its partitions
and retention, and a Deployment with replicas, probes and a memory limit for every service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from shared.topics import ALL_TOPICS, SERVICES

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"


def documents(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def test_the_strimzi_topics_are_the_registrys_topics_with_their_partitions_and_retention() -> None:
    declared = {
        doc["spec"]["topicName"]: (doc["spec"]["partitions"], doc["spec"]["config"]["retention.ms"])
        for doc in documents("kafka-topics.yaml")
    }
    assert declared == {t.name: (t.partitions, str(t.retention_ms)) for t in ALL_TOPICS}


def test_every_service_has_several_replicas_probes_and_a_memory_limit() -> None:
    for service in SERVICES:
        deployment = next(d for d in documents(f"{service}.yaml") if d["kind"] == "Deployment")
        assert deployment["spec"]["replicas"] >= 2, service
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["resources"]["limits"]["memory"] == "192Mi"
    listed = documents("kustomization.yaml")[0]["resources"]
    assert all(f"{service}.yaml" in listed for service in SERVICES)
