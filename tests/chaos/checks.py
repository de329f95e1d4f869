"""The final count: every accepted command has exactly one effect, read back from the services'
own APIs and from the topics; notifications are counted at their receivers.

For each kind of effect: the effects expected (one per accepted command), those found, the
expected ones missing (lost), and the doubled ones (the same effect twice, or an effect no
command explains). An effect of a command that never got an answer may be there or not: it is
neither expected nor held against the platform.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from services.notify.domain.delivery import delivery_id
from services.notify.domain.recipients import default_recipients, default_target_id
from services.notify.recorder import CONSUMED_TOPICS
from shared.topics import CALLS_COMMAND_RESULT, CALLS_DOSSIER, CONTRACTS_CONTRACT, SERVICES
from tests.chaos.client import Platform
from tests.chaos.order import (
    CONTRACT_RANKS,
    DOSSIER_RANKS,
    DOSSIER_STEPS,
    Stream,
    dossier_effect,
)
from tests.chaos.tap import Tap
from tests.chaos.workload import COMMIT_LINE, Workload
from tests.support.sinks import SmtpSink, WebhookReceiver

PLATFORMS_LINE, CONTRACTS_LINE = "intervention.platforms", "animation"
EXAMPLES = 3


@dataclass(frozen=True)
class Row:
    effect: str
    expected: int
    found: int
    lost: int
    duplicated: int
    note: str = ""
    examples: tuple[str, ...] = ()
    """A few of the lost and of the doubled, to start the search from."""


def compare(
    effect: str,
    expected: Iterable[Hashable],
    observed: Counter[Any],
    unsure: Collection[Hashable] = (),
    note: str = "",
) -> Row:
    wanted = set(expected)
    twice = [key for key, n in observed.items() if n > 1]
    unexplained = [key for key in observed if key not in wanted and key not in unsure]
    missing = wanted - observed.keys()
    return Row(
        effect,
        len(wanted),
        len(wanted & observed.keys()),
        len(missing),
        sum(observed[key] - 1 for key in twice) + len(unexplained),
        note,
        tuple(
            [f"lost {key}" for key in sorted(missing, key=str)[:EXAMPLES]]
            + [f"twice {key}" for key in twice[:EXAMPLES]]
            + [f"unexplained {key}" for key in unexplained[:EXAMPLES]]
        ),
    )


@dataclass
class Findings:
    rows: list[Row] = field(default_factory=list)
    disordered: Counter[str] = field(default_factory=Counter)
    over_line: list[str] = field(default_factory=list)
    dead_letters: int = 0
    copies: int = 0

    @property
    def lost(self) -> int:
        return sum(row.lost for row in self.rows)

    @property
    def duplicated(self) -> int:
        return sum(row.duplicated for row in self.rows)


@dataclass(frozen=True)
class Count:
    w: Workload
    tap: Tap
    platform: Platform
    tokens: Any
    webhooks: WebhookReceiver
    mail: SmtpSink

    async def run(self) -> Findings:
        found = Findings()
        await self._dossiers(found)
        await self._contracts(found)
        await self._funding(found)
        self._notifications(found)
        self._command_answers(found)
        found.dead_letters = sum(len(self.tap.events(f"deadletter.{s}")) for s in SERVICES)
        return found

    async def _read(self, service: str, path: str) -> Any:
        return await self.platform.read(service, path, self.tokens.operator)

    async def _dossiers(self, found: Findings) -> None:
        names: Counter[str] = Counter()
        for call_id in self.w.calls:
            for view in await self._read("calls", f"/calls/{call_id}/dossiers?limit=500"):
                names[view["content"]["platform_name"]] += 1
        submitted = [d for d in self.w.dossiers if "submit" in d.accepted]
        unsure = {d.name for d in self.w.dossiers if d.pending == "submit"}
        found.rows.append(
            compare("dossiers (calls API)", (d.name for d in submitted), names, unsure)
        )

        stream = Stream.of(self.tap.events(CALLS_DOSSIER.name))
        found.copies += stream.copies
        expected: set[tuple[str, str]] = set()
        unsure_steps: set[tuple[str, str]] = set()
        steps: Counter[tuple[str, str]] = Counter()
        history_ids: set[str] = set()
        published: Counter[str] = Counter()
        for dossier in submitted:
            assert dossier.dossier_id is not None
            key = dossier.dossier_id
            history = await self._read("calls", f"/dossiers/{key}/history")
            steps.update((key, dossier_effect(e["type"], e["data"])) for e in history)
            expected.update((key, step) for step in dossier.accepted if step in DOSSIER_STEPS)
            if {"vote-state", "vote-cdc"} <= set(dossier.accepted):
                expected.add((key, "preselected"))
            if dossier.funded:
                expected.add((key, "funded"))
            if dossier.pending:
                unsure_steps.add((key, dossier.pending))
                unsure_steps.add((key, "preselected"))
                unsure_steps.add((key, "funded"))
            history_ids.update(e["event_id"] for e in history)
            published.update(stream.ids(key))
            if stream.disordered(key, DOSSIER_RANKS):
                found.disordered[CALLS_DOSSIER.name] += 1
        found.rows.append(compare("dossier decisions (history)", expected, steps, unsure_steps))
        found.rows.append(compare("dossier events on calls.dossier", history_ids, published))

    async def _contracts(self, found: Findings) -> None:
        stream = Stream.of(self.tap.events(CONTRACTS_CONTRACT.name))
        found.copies += stream.copies
        signed: Counter[tuple[str, str]] = Counter()
        expected: set[tuple[str, str]] = set()
        unsure: set[tuple[str, str]] = set()
        history_ids: set[str] = set()
        published: Counter[str] = Counter()
        for run in self.w.contracts:
            if "draft" not in run.accepted:
                continue
            key = run.contract_id
            view = await self._read("contracts", f"/contracts/{key}")
            signed.update((key, s["party_id"]) for s in view["signatures"])
            expected.update((key, s[5:]) for s in run.accepted if s.startswith("sign-"))
            if run.pending and run.pending.startswith("sign-"):
                unsure.add((key, run.pending[5:]))
            history = (await self._read("contracts", f"/contracts/{key}/history"))["events"]
            history_ids.update(e["id"] for e in history)
            published.update(stream.ids(key))
            if stream.disordered(key, CONTRACT_RANKS):
                found.disordered[CONTRACTS_CONTRACT.name] += 1
        found.rows.append(compare("contract signatures (contracts API)", expected, signed, unsure))
        found.rows.append(compare("contract events on contracts.contract", history_ids, published))

    async def _funding(self, found: Findings) -> None:
        by_line = {
            line: await self._read("funding", f"/commitments?line_id={line}&limit=1000")
            for line in (PLATFORMS_LINE, COMMIT_LINE, CONTRACTS_LINE)
        }
        decided = [d for d in self.w.dossiers if "decide" in d.accepted and d.dossier_id]
        found.rows.append(
            compare(
                "commitments for selected dossiers",
                (d.dossier_id for d in decided if d.grant_cents),
                Counter(c["dossier_id"] for c in by_line[PLATFORMS_LINE]),
                {d.dossier_id for d in self.w.dossiers if d.pending == "decide"},
            )
        )
        found.rows.append(
            compare(
                "manual commitments (funding API)",
                (m.commitment_id for m in self.w.commitments if m.outcome == "committed"),
                Counter(c["commitment_id"] for c in by_line[COMMIT_LINE]),
                {m.commitment_id for m in self.w.commitments if m.outcome == "unanswered"},
                note=f"{sum(m.outcome == 'refused' for m in self.w.commitments)} refused: "
                "line short",
            )
        )
        fully_signed = [
            r for r in self.w.contracts if sum(s.startswith("sign-") for s in r.accepted) == 3
        ]
        found.rows.append(
            compare(
                "commitments for signed contracts",
                (r.contract_id for r in fully_signed if r.state_years),
                Counter(c["contract_id"] for c in by_line[CONTRACTS_LINE]),
                {r.contract_id for r in self.w.contracts if (r.pending or "").startswith("sign-")},
            )
        )
        promised = (
            [("cdc", "dossier", d.dossier_id) for d in decided if "cdc-commit" in d.accepted]
            + [
                ("cdc", f"study:study-{d.dossier_id}", d.dossier_id)
                for d in self.w.dossiers
                if "study" in d.accepted
            ]
            + [(f"region:{r.region}", "contract", r.contract_id) for r in fully_signed]
        )
        ledgers = await self._read("funding", "/ledgers")
        found.rows.append(
            compare(
                "promises in the ledgers",
                promised,
                Counter(
                    (e["financer"], e["item"], e["dossier_id"] or e["contract_id"]) for e in ledgers
                ),
                {
                    ("cdc", "dossier", d.dossier_id)
                    for d in self.w.dossiers
                    if d.pending in ("decide", "cdc-commit")
                }
                | {
                    ("cdc", f"study:study-{d.dossier_id}", d.dossier_id)
                    for d in self.w.dossiers
                    if d.pending == "study"
                }
                | {
                    (f"region:{r.region}", "contract", r.contract_id)
                    for r in self.w.contracts
                    if (r.pending or "").startswith("sign-")
                },
            )
        )
        await self._lines(found, by_line)

    async def _lines(self, found: Findings, by_line: dict[str, list[dict[str, Any]]]) -> None:
        envelope = await self._read("funding", "/envelope")
        leaves: list[dict[str, Any]] = []
        pending = list(envelope["lines"])
        while pending:
            line = pending.pop()
            pending.extend(line.get("sub_lines", []))
            if not line.get("sub_lines"):
                leaves.append(line)
        for line in leaves:
            if line["committed_cents"] > line["amount_cents"]:
                found.over_line.append(line["line_id"])
            if line["line_id"] in by_line:
                held = sum(
                    c["amount_cents"] - c["decommitted_cents"] for c in by_line[line["line_id"]]
                )
                if held != line["committed_cents"]:
                    found.over_line.append(
                        f"{line['line_id']} (commitments {held} != {line['committed_cents']})"
                    )

    def _notifications(self, found: Findings) -> None:
        events = {
            seen.event.id: seen.event
            for topic in CONSUMED_TOPICS
            for seen in self.tap.events(topic.name)
            if seen.event is not None
        }
        delivered = Counter[str]()
        for event_id, webhook_ids in self.webhooks.webhook_ids_by_event.items():
            delivered[event_id] = len(webhook_ids)
        again = sum(self.webhooks.by_webhook_id.values()) - len(self.webhooks.by_webhook_id)
        found.rows.append(
            compare(
                "webhook notifications",
                events,
                delivered,
                note=f"{again} sent again, same webhook-id",
            )
        )
        mails = {
            f"<{delivery_id(default_target_id(address), event.id)}@notify.poles>"
            for event in events.values()
            for address in default_recipients(event.type, event.data)
        }
        again = sum(self.mail.by_message_id.values()) - len(self.mail.by_message_id)
        found.rows.append(
            compare(
                "e-mail notifications",
                mails,
                Counter(self.mail.by_message_id.keys()),
                note=f"{again} sent again, same Message-ID",
            )
        )

    def _command_answers(self, found: Findings) -> None:
        """A Kafka command answered twice must get the same answer (the same event id)."""
        answers: dict[str, set[str]] = {}
        for seen in self.tap.events(CALLS_COMMAND_RESULT.name):
            if seen.event is not None:
                answers.setdefault(str(seen.event.data.get("command_id")), set()).add(seen.event.id)
        sent = set(self.platform_commands())
        found.rows.append(
            compare(
                "answers to Kafka commands",
                sent,
                Counter({command: len(ids) for command, ids in answers.items() if command in sent}),
            )
        )

    def platform_commands(self) -> Iterable[str]:
        return self.w.bus.results.keys()
