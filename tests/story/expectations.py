"""What the story's receivers should have got, worked out from the events on the topics: one
webhook per event the integrator subscribed to, one e-mail per event and recipient (notify's
default recipients as documented, plus the region's subscription within what it may see)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.cloudevents import CloudEvent
from tests.story.platform import StoryError
from tests.story.steps.notifications import INTEGRATOR_TYPES, REGION_MAIL, REGION_TYPES
from tests.story.topics import TopicContents
from tests.support.sinks import Receivers

if TYPE_CHECKING:
    from tests.story.figures import Figures

DOSSIER_CONTACT_TYPES = frozenset(
    f"calls.dossier.{what}.v1"
    for what in (
        "submitted",
        "found-eligible",
        "found-ineligible",
        "preselected",
        "not-preselected",
        "selected",
        "not-selected",
        "funded",
        "funding-refused",
    )
)
REGION_CODE = "82"


def _party_emails(data: dict[str, Any], keep: Iterable[str] | None = None) -> list[str]:
    wanted = None if keep is None else set(keep)
    return [
        str(party["contact_email"]).lower()
        for party in data.get("parties", [])
        if wanted is None or party["party_id"] in wanted
    ]


def default_recipients(event: CloudEvent) -> list[str]:
    data, kind = event.data, event.type
    if kind in DOSSIER_CONTACT_TYPES and data.get("contact_email"):
        found = [str(data["contact_email"]).lower()]
    elif kind == "contracts.contract.opened-for-signature.v1":
        found = _party_emails(data)
    elif kind == "contracts.contract.signature-overdue.v1":
        found = _party_emails(data, data.get("unsigned_party_ids", []))
    elif kind == "contracts.contract.report-overdue.v1":
        poles = [p["party_id"] for p in data.get("parties", []) if p.get("kind") == "pole"]
        found = _party_emails(data, poles)
    else:
        found = []
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Expected:
    webhook_event_ids: frozenset[str]
    mails: Counter[str]
    """Recipient -> e-mails expected."""


def expected(events: list[CloudEvent]) -> Expected:
    hooked = frozenset(e.id for e in events if e.type.startswith(tuple(INTEGRATOR_TYPES)))
    mails: Counter[str] = Counter()
    for event in events:
        mails.update(default_recipients(event))
        if event.type in REGION_TYPES and REGION_CODE in event.data.get("region_codes", []):
            mails[REGION_MAIL] += 1
    return Expected(hooked, mails)


async def settle(
    receivers: Receivers,
    read: Callable[[], Awaitable[TopicContents]],
    seconds: float = 120,
    quiet: float = 5,
) -> tuple[TopicContents, Expected]:
    """Wait until the receivers have everything the events call for and the topics have not
    grown for ``quiet`` seconds: a service may still hold the last step's events in its outbox
    for a moment after answering, longer on a busy machine. After ``seconds``, give up: the
    report then shows the gap."""
    deadline = time.monotonic() + seconds
    previous: dict[str, int] | None = None
    unchanged_since = time.monotonic()
    while True:
        contents = await read()
        wanted = expected([e for events in contents.events.values() for e in events])
        complete = wanted.webhook_event_ids <= receivers.webhooks.event_ids and all(
            receivers.mail.by_recipient()[address] >= count
            for address, count in wanted.mails.items()
        )
        if contents.records != previous:
            previous, unchanged_since = contents.records, time.monotonic()
        quiet_enough = time.monotonic() - unchanged_since >= quiet
        if (complete and quiet_enough) or time.monotonic() > deadline:
            return contents, wanted
        await asyncio.sleep(1)


def check_budget(figures: Figures, committed_share_at_least: float) -> list[str]:
    """No line over its amount, paid within committed, and by the end at least
    ``committed_share_at_least`` of the envelope committed: StoryError otherwise (the story
    fails loudly rather than print a budget that is wrong)."""
    wrong = [
        f"{line.line_id}: amount {line.amount}, committed {line.committed}, paid {line.paid}"
        for line in figures.lines
        if not 0 <= line.paid <= line.committed <= line.amount
    ]
    wrong += [
        f"{line.line_id} {year}: paid {paid} > committed {line.committed_by_year.get(year, 0)}"
        for line in figures.lines
        for year, paid in line.paid_by_year.items()
        if paid > line.committed_by_year.get(year, 0)
    ]
    envelope = figures.envelope
    if envelope is None:
        wrong.append("no envelope totals")
    elif envelope.committed < envelope.amount * committed_share_at_least:
        share = envelope.committed / envelope.amount if envelope.amount else 0.0
        wrong.append(
            f"only {share:.0%} of the envelope committed, {committed_share_at_least:.0%} expected"
        )
    if wrong:
        raise StoryError("the budget is not what phase 2 was: " + "; ".join(wrong))
    return [
        f"{line.line_id}: {line.committed / (line.amount or 1):.0%} committed"
        for line in figures.lines
    ]
