"""The provisioned Grafana dashboards query only what the services really export.

The exported names come from the services themselves: each app is built (building one connects
to nothing) and its ``/metrics`` page read without starting it, which lists every metric its
registry holds, the kernel's, the service's own and faststream's middleware's alike.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.support.infra import offline_app

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy/grafana/dashboards"
SERVICES = ("calls", "funding", "contracts", "notify")
PROMETHEUS_OWN = {"up"}  # written by Prometheus itself for every target

# Series a family of each type exposes (the parser names counters without their _total).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}
PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left"}
PROMQL_WORDS |= {"group_right", "bool", "offset", "inf", "nan"}


def exported_by(service: str) -> set[str]:
    page = TestClient(offline_app(service)).get("/metrics")
    assert page.status_code == 200, f"{service}: /metrics answered {page.status_code}"
    return {
        family.name + suffix
        for family in text_string_to_metric_families(page.text)
        for suffix in SUFFIXES.get(family.type, ("",))
    }


@cache
def exported_metrics() -> frozenset[str]:
    """Every series name a scrape of the four services can hold, plus Prometheus' own ``up``."""
    names = set(PROMETHEUS_OWN)
    for service in SERVICES:
        names |= exported_by(service)
    return frozenset(names)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not its functions, keywords or labels)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings (label values, regexes)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\boffset\s+-?\w+", " ", text)
    text = re.sub(r"\$\w+", " ", text)  # Grafana variables
    names = re.findall(r"(?<![\w.:])([a-zA-Z_:][\w:]*)\b(?!\s*\()", text)
    return {name for name in names if name.lower() not in PROMQL_WORDS}


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        found += [panel, *panel.get("panels", [])]  # a collapsed row holds its panels
    return [panel for panel in found if panel["type"] != "row"]


def queries() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, expr) of every query."""
    return [
        (name, panel["title"], target["expr"])
        for name, dashboard in dashboards().items()
        for panel in panels(dashboard)
        for target in panel["targets"]
    ]


def test_the_two_dashboards_are_provisioned_with_distinct_uids() -> None:
    boards = dashboards()
    assert {"platform-health.json", "policy.json"} <= boards.keys()
    uids = [board["uid"] for board in boards.values()]
    assert len(set(uids)) == len(uids)
    provider = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/dashboards/poles.yml").read_text()
    )
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_every_panel_and_query_reads_the_provisioned_prometheus_datasource() -> None:
    datasources = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    uid = datasources["datasources"][0]["uid"]
    for name, dashboard in dashboards().items():
        for panel in panels(dashboard):
            assert panel["datasource"] == {"type": "prometheus", "uid": uid}, (name, panel["title"])
            assert panel["targets"], (name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == uid, (name, panel["title"])


def test_the_metric_name_parser_skips_functions_keywords_labels_and_variables() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (service, le) (rate(a_bucket{job="x", le!="+Inf"}'
        "[$__rate_interval]))) / on (service) group_left b_total offset 5m and bool c"
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "c"}


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query as a recording rule (Grafana's variables replaced by a range)."""
    rules = [
        {"record": f"dashboard:query_{n}", "expr": expr.replace("$__rate_interval", "1m")}
        for n, (_, _, expr) in enumerate(queries())
    ]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_query_names_only_metrics_the_services_export() -> None:
    unknown = {
        (name, title, metric)
        for name, title, expr in queries()
        for metric in metric_names(expr)
        if metric not in exported_metrics()
    }
    assert not unknown, f"metrics no service exports: {sorted(unknown)}"


def promtool() -> str:
    """Prometheus' checker (Debian package prometheus); its absence fails the tests, never skips."""
    found = shutil.which("promtool") or shutil.which("/usr/bin/promtool")
    if found is None:
        pytest.fail("promtool not found: `make setup` installs it (Debian package prometheus)")
    return found
