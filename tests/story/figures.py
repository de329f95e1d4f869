"""The story's figures, read back from the platform once it is quiet: funding's envelope, the
call's statistics and dossiers, the contracts' signatures and ratings, the topics, notify's
own counters and what the story's receivers got."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from shared.clock import PARIS
from tests.story.call_plan import CALL_ID
from tests.story.cast import Cast
from tests.story.expectations import Expected
from tests.story.platform import Platform, send
from tests.story.topics import TopicContents
from tests.support.sinks import Receivers

PRESELECTED = {"preselected", "study-commissioned", "study-completed", "selected", "not-selected"}


@dataclass(frozen=True)
class Line:
    line_id: str
    depth: int
    amount: int
    committed: int
    paid: int

    @property
    def left(self) -> int:
        return self.amount - self.committed


@dataclass
class Figures:
    lines: list[Line] = field(default_factory=list)
    promised: dict[str, int] = field(default_factory=dict)
    funnel: list[tuple[str, int]] = field(default_factory=list)
    grants_by_year: dict[int, int] = field(default_factory=dict)
    money: dict[str, int] = field(default_factory=dict)
    contracts: dict[str, int] = field(default_factory=dict)
    ratings: dict[str, int] = field(default_factory=dict)
    notifications: dict[str, int] = field(default_factory=dict)
    notify_counts: dict[str, int] = field(default_factory=dict)
    topics: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Topic -> (messages: distinct events, or commands, records)."""


async def budget(p: Platform, figures: Figures) -> None:
    envelope = await send(p.funding, "GET", "/envelope", p.tokens("operator"))

    def walk(line: dict[str, Any], depth: int) -> None:
        figures.lines.append(
            Line(
                line["line_id"],
                depth,
                line["amount_cents"],
                line["committed_cents"],
                line["paid_cents"],
            )
        )
        for sub in line.get("sub_lines", []):
            walk(sub, depth + 1)

    for line in envelope["lines"]:
        walk(line, 0)
    by_financer = await send(p.funding, "GET", "/consumption/financer", p.tokens("state"))
    for row in by_financer:
        if "promised_cents" in row:
            figures.promised[row["financer"]] = row["promised_cents"]


async def call(p: Platform, cast: Cast, figures: Figures) -> None:
    state = p.tokens("state")
    stats = await send(p.calls, "GET", f"/calls/{CALL_ID}/statistics", state)
    dossiers = await send(p.calls, "GET", f"/calls/{CALL_ID}/dossiers?limit=500", state)
    status = Counter(d["status"] for d in dossiers)
    studied = [d for d in dossiers if d.get("study") and d["study"].get("completed_at")]
    selected = [d for d in dossiers if d["status"] == "selected"]
    figures.funnel = [
        ("submitted in time", stats["dossiers_live"]),
        ("refused late (409)", len(cast.late_answers)),
        ("eligible", len(dossiers) - status["ineligible"]),
        ("pre-selected", sum(status[s] for s in PRESELECTED)),
        ("studied by the CDC", len(studied)),
        ("selected", len(selected)),
        ("not selected", status["not-selected"]),
    ]
    for d in selected:
        year = datetime.fromisoformat(d["decision"]["decided_at"]).astimezone(PARIS).year
        figures.grants_by_year[year] = (
            figures.grants_by_year.get(year, 0) + d["decision"]["state_grant_cents"]
        )
    figures.money = {
        "requested by live dossiers": stats["requested_total_cents"],
        "granted (State + CDC)": stats["granted_total_cents"],
        "CDC study shares": sum(d["study"]["cdc_share_cents"] for d in studied),
    }


async def contracts(p: Platform, topics: TopicContents, figures: Figures) -> None:
    board = await send(p.contracts, "GET", "/dashboards/signatures", p.tokens("operator"))
    on_time = late = 0
    for row in board["contracts"]:
        signed = [party["signed_at"] for party in row["parties"] if party["signed"]]
        if row["unsigned_party_ids"]:
            continue
        if max(datetime.fromisoformat(s) for s in signed) <= datetime.fromisoformat(
            row["signature_deadline"]
        ):
            on_time += 1
        else:
            late += 1
    types = Counter(e.type for e in topics.events.get("contracts.contract", []))
    figures.contracts = {
        "contracts": board["totals"]["contracts"],
        "signed by every party": board["totals"]["fully_signed"],
        "signed on time": on_time,
        "signed late": late,
        "signature-overdue events": types["contracts.contract.signature-overdue.v1"],
        "reports filed": types["contracts.contract.indicator-reported.v1"],
        "report-overdue events": types["contracts.contract.report-overdue.v1"],
        "amended (to 2012)": types["contracts.contract.amended.v1"],
    }
    pole_types = Counter(e.type.split(".")[2] for e in topics.events.get("contracts.pole", []))
    for kind in ("labelled", "renewed", "delabelled"):  # a fixed order: the topic's varies
        figures.contracts[f"pôles {kind} (May 2010)"] = pole_types[kind]
    summaries = await send(p.contracts, "GET", "/contracts", p.tokens("operator"))
    figures.ratings = dict(Counter(s["rating"] for s in summaries if s["rating"]))


async def notify_counters(p: Platform, figures: Figures) -> None:
    response = await p.notify.get("/metrics")
    for family in text_string_to_metric_families(response.text):
        if family.name == "poles_notifications":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    key = f"{sample.labels['channel']} {sample.labels['status']}"
                    figures.notify_counts[key] = int(sample.value)


def notifications(receivers: Receivers, wanted: Expected, figures: Figures) -> None:
    hooks = receivers.webhooks
    figures.notifications = {
        "webhooks expected": len(wanted.webhook_event_ids),
        "webhooks received and verified": len(hooks.by_webhook_id),
        "webhook retries received again": hooks.received - len(hooks.by_webhook_id),
        "webhooks refused (bad signature)": hooks.refused,
        "e-mails expected": sum(wanted.mails.values()),
        "e-mails received": sum(receivers.mail.by_recipient().values()),
        "e-mail addresses reached": len(receivers.mail.by_recipient()),
    }


def topic_counts(contents: TopicContents, figures: Figures) -> None:
    figures.topics = {
        name: (len(contents.events[name]) + contents.raw.get(name, 0), records)
        for name, records in contents.records.items()
    }


async def gather(p: Platform, cast: Cast, topics: TopicContents, wanted: Expected) -> Figures:
    figures = Figures()
    await budget(p, figures)
    await call(p, cast, figures)
    await contracts(p, topics, figures)
    await notify_counters(p, figures)
    notifications(p.receivers, wanted, figures)
    topic_counts(topics, figures)
    return figures
