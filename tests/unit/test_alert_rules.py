"""The alert rules are valid, each one is unit-tested by promtool (firing and not firing), says
what to do, and watches metrics the services really export; both Prometheus configs are valid."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.unit.test_dashboards import exported_metrics, metric_names, promtool

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy/prometheus"
RULES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.test.yml"))
RUNBOOK = ROOT / "deploy/RUNBOOK.md"


def promtool_ok(*args: str) -> None:
    result = subprocess.run(
        [promtool(), *args], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}{result.stderr}"


def alerts() -> list[dict[str, Any]]:
    return [
        rule
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def test_promtool_checks_the_rules() -> None:
    assert RULES
    promtool_ok("check", "rules", *map(str, RULES))


def test_promtool_runs_the_rules_unit_tests() -> None:
    assert RULE_TESTS
    promtool_ok("test", "rules", *map(str, RULE_TESTS))


def test_promtool_checks_both_prometheus_configs() -> None:
    promtool_ok("check", "config", str(PROMETHEUS / "prometheus.local.yml"))
    promtool_ok("check", "config", str(PROMETHEUS / "prometheus.compose.yml"))


def test_each_alert_has_a_unit_test_that_sees_it_fire_and_one_that_does_not() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for check in test.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alerts()}
    assert names - firing == set(), "alerts never seen firing"
    assert names - quiet == set(), "alerts never seen quiet"


def test_each_alert_has_a_severity_a_summary_a_description_and_its_runbook_section() -> None:
    anchors = {
        "#" + re.sub(r"[^\w-]", "", heading.strip().lower().replace(" ", "-"))
        for heading in re.findall(r"^#+ (.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    }
    for rule in alerts():
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        annotations = rule["annotations"]
        assert annotations["summary"], rule["alert"]
        assert annotations["description"], rule["alert"]
        path, _, anchor = annotations["runbook"].partition("#")
        assert ROOT / path == RUNBOOK, rule["alert"]
        assert f"#{anchor}" in anchors, f"{rule['alert']}: no section #{anchor} in the runbook"


def test_the_alerts_watch_metrics_the_services_export() -> None:
    unknown = {
        (rule["alert"], metric)
        for rule in alerts()
        for metric in metric_names(rule["expr"])
        if metric not in exported_metrics()
    }
    assert not unknown, f"metrics no service exports: {sorted(unknown)}"
