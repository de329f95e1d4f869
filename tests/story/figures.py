"""The story's figures, read back from the platform once it is quiet: funding's envelope, the
call's statistics and dossiers, the contracts' signatures and ratings, the topics, notify's
own counters and what the story's receivers got."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from prometheus_client.parser import text_string_to_metric_families

from shared.clock import PARIS
from tests.story.call_plan import CALL_ID
from tests.story.cast import Cast
from tests.story.expectations import Expected
from tests.story.platform import Platform, send
from tests.story.rd_figures import AGENCY_CENTS, FUI_CALLS, PLAY_RATIO, RD_PLAYED_SHARE, M
from tests.story.rd_plan import fui_call
from tests.story.topics import TopicContents
from tests.support.sinks import Receivers

SELECTED = ("selected", "funded", "funding-refused")
PRESELECTED = {"preselected", "study-commissioned", "study-completed", "not-selected", *SELECTED}
YEARS = (2009, 2010, 2011, 2012)


@dataclass(frozen=True)
class Line:
    line_id: str
    depth: int
    amount: int
    committed: int
    paid: int
    committed_by_year: dict[int, int] = field(default_factory=dict)
    paid_by_year: dict[int, int] = field(default_factory=dict)

    @property
    def left(self) -> int:
        return self.amount - self.committed


@dataclass(frozen=True)
class Financer:
    financer: str
    committed: int
    paid: int
    committed_by_year: dict[int, int] = field(default_factory=dict)
    paid_by_year: dict[int, int] = field(default_factory=dict)

    @property
    def left(self) -> int:
        """Committed, not yet paid."""
        return self.committed - self.paid


class Money(Protocol):
    """A line's or a financer's AE and CP, by year and in total."""

    @property
    def committed(self) -> int: ...
    @property
    def paid(self) -> int: ...
    @property
    def committed_by_year(self) -> dict[int, int]: ...
    @property
    def paid_by_year(self) -> dict[int, int]: ...
    @property
    def left(self) -> int: ...


@dataclass(frozen=True)
class Source:
    what: str
    value: str
    source: str | None
    """None: simulated."""


@dataclass
class Figures:
    lines: list[Line] = field(default_factory=list)
    envelope: Line | None = None
    financers: list[Financer] = field(default_factory=list)
    funnel: list[tuple[str, int]] = field(default_factory=list)
    fui_funnel: list[tuple[str, int]] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    grants_by_year: dict[int, int] = field(default_factory=dict)
    money: dict[str, int] = field(default_factory=dict)
    contracts: dict[str, int] = field(default_factory=dict)
    ratings: dict[str, int] = field(default_factory=dict)
    notifications: dict[str, int] = field(default_factory=dict)
    notify_counts: dict[str, int] = field(default_factory=dict)
    topics: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Topic -> (messages: distinct events, or commands, records)."""


def _by_year(rows: list[dict[str, Any]], key: str) -> dict[int, int]:
    return {int(row["year"]): int(row[key]) for row in rows if row.get(key)}


def _line(row: dict[str, Any], depth: int) -> Line:
    return Line(
        row.get("line_id", "the envelope"),
        depth,
        row["amount_cents"],
        row["committed_cents"],
        row["paid_cents"],
        _by_year(row["by_year"], "committed_cents"),
        _by_year(row["by_year"], "paid_cents"),
    )


async def budget(p: Platform, figures: Figures) -> None:
    """The budget officers' tables: every line's AE and CP by year (``GET /budget/lines``),
    every financer's (``GET /budget/financers``)."""
    table = await send(p.funding, "GET", "/budget/lines", p.tokens("operator"))
    for row in table["lines"]:
        figures.lines.append(_line(row, 0))
        figures.lines += [_line(sub, 1) for sub in row.get("sub_lines", [])]
    figures.envelope = _line({**table["totals"], "line_id": "the envelope"}, 0)
    for row in await send(p.funding, "GET", "/budget/financers", p.tokens("operator")):
        figures.financers.append(
            Financer(
                row["financer"],
                row["committed_cents"],
                row["paid_cents"],
                _by_year(row["by_year"], "committed_cents"),
                _by_year(row["by_year"], "paid_cents"),
            )
        )


def sources() -> list[Source]:
    """What the money played comes from: sourced figures, or simulated ones."""
    found = []
    for fui in FUI_CALLS:
        found += [
            Source(f"{fui.call_id} projects selected", f"{fui.projects_selected.value}",
                   fui.projects_selected.source),
            Source(f"{fui.call_id} State (FUI)", f"{fui.state_cents.value / M:,.1f} M€",
                   fui.state_cents.source),
            Source(f"{fui.call_id} local authorities",
                   f"{fui.local_authorities_cents.value / M:,.1f} M€",
                   fui.local_authorities_cents.source),
            Source(f"{fui.call_id} FEDER", f"{fui.feder_cents.value / M:,.1f} M€",
                   fui.feder_cents.source),
        ]  # fmt: skip
    for agency, years in AGENCY_CENTS.items():
        for year, figure in years.items():
            found.append(
                Source(f"{agency.upper()} {year}", f"{figure.value / M:,.1f} M€", figure.source)
            )
    found.append(
        Source(
            "FUI amounts as committed",
            f"x {float(PLAY_RATIO):.3f} (R&D line {float(RD_PLAYED_SHARE):.0%} committed)",
            None,
        )
    )
    found += [
        Source("2012 animation credits (CIADT amendment)", "+15.0 M€ from platforms", None),
        Source("platforms' co-financing shares", "region 20%, FEDER 5%", None),
        Source("per-project figures", "each project stands for its share of its call", None),
    ]
    return found


async def call(p: Platform, cast: Cast, figures: Figures) -> None:
    state = p.tokens("state")
    stats = await send(p.calls, "GET", f"/calls/{CALL_ID}/statistics", state)
    dossiers = await send(p.calls, "GET", f"/calls/{CALL_ID}/dossiers?limit=500", state)
    status = Counter(d["status"] for d in dossiers)
    studied = [d for d in dossiers if d.get("study") and d["study"].get("completed_at")]
    selected = [d for d in dossiers if d["status"] in SELECTED]
    figures.funnel = [
        ("submitted in time", stats["dossiers_live"]),
        ("refused late (409)", len(cast.late_answers)),
        ("eligible", len(dossiers) - status["ineligible"]),
        ("pre-selected", sum(status[s] for s in PRESELECTED)),
        ("studied by the CDC", len(studied)),
        ("selected", len(selected)),
        ("funded", status["funded"]),
        ("funding refused", status["funding-refused"]),
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


async def fui(p: Platform, cast: Cast, topics: TopicContents, figures: Figures) -> None:
    """The FUI calls' funnel over every call the story played."""
    state = p.tokens("state")
    status: Counter[str] = Counter()
    for number in cast.scale.fui_calls:
        call_id = fui_call(number).call_id
        found = await send(p.calls, "GET", f"/calls/{call_id}/dossiers?limit=500", state)
        status.update(d["status"] for d in found)
    flags = topics.events.get("funding.financing", [])
    figures.fui_funnel = [
        ("FUI calls", len(cast.scale.fui_calls)),
        ("projects filed", sum(status.values())),
        ("projects they stand for", sum(pr.stands_for for pr in cast.projects)),
        ("selected", sum(status[s] for s in SELECTED)),
        ("funded", status["funded"]),
        ("funding refused", status["funding-refused"]),
        ("overlaps flagged", sum(e.type.endswith("overlap-flagged.v1") for e in flags)),
    ]


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
    await fui(p, cast, topics, figures)
    figures.sources = sources()
    await contracts(p, topics, figures)
    await notify_counters(p, figures)
    notifications(p.receivers, wanted, figures)
    topic_counts(topics, figures)
    return figures
