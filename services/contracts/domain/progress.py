"""Indicator progress: the values reported against the targets of a chosen version of the terms.

Validated values are the record; pending ones (filed, not yet validated) are shown only to
readers allowed to see unvalidated reports.
"""

from __future__ import annotations

from typing import Any

from services.contracts.domain.contract import Contract


def progress(contract: Contract, version: int | None, include_pending: bool) -> dict[str, Any]:
    chosen = contract.version(version)
    shown = [
        r
        for r in contract.reports
        if r.status == "validated" or (include_pending and r.status == "submitted")
    ]
    actual = {(v.indicator_id, r.period): (v.value, r.status) for r in shown for v in r.values}
    done = contract.done_milestones()
    programmes = []
    for programme in chosen.terms.programmes:
        indicators = []
        for indicator in programme.indicators:
            periods = sorted(set(indicator.targets) | {p for i, p in actual if i == indicator.id})
            rows = []
            for year in periods:
                value, status = actual.get((indicator.id, year), (None, None))
                target = indicator.targets.get(year)
                rows.append(
                    {
                        "year": year,
                        "target": target,
                        "actual": value,
                        "report_status": status,
                        "achieved_percent": _achieved(indicator.baseline, target, value),
                    }
                )
            indicators.append(
                {
                    "indicator_id": indicator.id,
                    "name": indicator.name,
                    "unit": indicator.unit,
                    "baseline": indicator.baseline,
                    "years": rows,
                }
            )
        milestones = [
            {
                "milestone_id": m.id,
                "title": m.title,
                "due_on": m.due_on.isoformat(),
                "done": m.id in done,
                "missed": m.id in contract.milestones_missed,
            }
            for m in programme.milestones
        ]
        programmes.append(
            {
                "programme_id": programme.id,
                "title": programme.title,
                "indicators": indicators,
                "milestones": milestones,
            }
        )
    return {
        "contract_id": contract.contract_id,
        "version": chosen.version,
        "latest_version": contract.current.version,
        "period_end_year": chosen.period_end_year,
        "programmes": programmes,
    }


def _achieved(baseline: float, target: float | None, value: float | None) -> float | None:
    """How far from the baseline to the target the value went, in percent."""
    if target is None or value is None or target == baseline:
        return None
    return round(100 * (value - baseline) / (target - baseline), 1)
