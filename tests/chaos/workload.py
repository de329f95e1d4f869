"""The sustained, numbered stream of commands: calls opened and dossiers taken from submission to
the final decision (half over HTTP, half over the ``calls.command`` topic), performance contracts
taken from draft to the last signature, and manual commitments on a line too small for them all.

Each command has its own idempotency key (``<run>-<thing><number>-<step>``), so a retry is the
same command. What each command got as an answer is written down here; the final count compares
it with what the platform holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.funding.domain.ids import from_command
from shared.clock import PARIS
from shared.reference.poles import all_poles
from tests.chaos.client import CommandBus, Platform, Reply
from tests.chaos.plans import Step, contract_draft, dossier_content, dossier_steps, platform_call
from tests.chaos.stack import Tokens

SIM_START = datetime(2009, 9, 1, 9, 0, tzinfo=PARIS)
"""The platform's simulated time when the run starts: phase 2, contracts being signed."""
COMMIT_LINE, COMMIT_AGENCY = "agencies.oseo-cdc", "oseo"
COMMIT_CENTS = 500_000_000
"""5 M€ a commitment on a 250 M€ line: from the 51st on, the line refuses."""
PERIODS = 5
"""Contracts per pôle: 2009-2010, 2011-2012, ... 2017-2018 (one per pôle and period)."""
LAST_BUDGET_YEAR = 2011
"""The State finances contract years within the envelope (2009-2011) only."""


@dataclass(frozen=True)
class Pace:
    rounds: int = 40
    dossiers_per_round: int = 6
    round_every: float = 15.0
    window: float = 60.0
    contracts: int = 150
    contract_every: float = 6.0
    commitments: int = 150
    commitment_every: float = 4.0


@dataclass
class Dossier:
    number: int
    call_id: str
    name: str
    lead: str
    channel: str
    study: bool
    selected: bool
    grant_cents: int
    cdc_cents: int
    dossier_id: str | None = None
    accepted: list[str] = field(default_factory=list)
    pending: str | None = None
    """The step whose command never got an answer: its effect may or may not be there."""

    @property
    def funded(self) -> bool:
        """Whether every financer of its plan committed: the State's grant on the selection,
        the CDC's investment by its own command."""
        return (
            "decide" in self.accepted
            and self.grant_cents > 0
            and (not self.cdc_cents or "cdc-commit" in self.accepted)
        )


@dataclass
class ContractRun:
    number: int
    pole_id: str
    region: str
    start_year: int
    state_years: list[int]
    contract_id: str = ""
    accepted: list[str] = field(default_factory=list)
    pending: str | None = None


@dataclass
class ManualCommitment:
    number: int
    commitment_id: str
    """Derived by funding from the author and the idempotency key, whatever the answer."""
    outcome: str = "unanswered"


@dataclass
class Tally:
    """Per kind of command: how many were sent, accepted, refused, never answered."""

    sent: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    unanswered: Counter[str] = field(default_factory=Counter)
    refusals: list[str] = field(default_factory=list)

    def record(self, kind: str, reply: Reply, expected_refusal: bool = False) -> None:
        self.sent[kind] += 1
        if reply.ok:
            self.accepted[kind] += 1
        elif reply.status == 0:
            self.unanswered[kind] += 1
        else:
            self.refused[kind] += 1
            if not expected_refusal and len(self.refusals) < 20:
                self.refusals.append(f"{kind}: {reply.status} {str(reply.body)[:300]}")


@dataclass
class Workload:
    platform: Platform
    bus: CommandBus
    tokens: Tokens
    pace: Pace
    run_id: str
    anchor: float
    rng: random.Random
    tally: Tally = field(init=False, default_factory=Tally)
    calls: list[str] = field(init=False, default_factory=list)
    dossiers: list[Dossier] = field(init=False, default_factory=list)
    contracts: list[ContractRun] = field(init=False, default_factory=list)
    commitments: list[ManualCommitment] = field(init=False, default_factory=list)
    leads: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.leads = [p.id for p in all_poles() if p.labelled_year <= 2009 and not p.ecotech]

    def sim_now(self) -> datetime:
        return SIM_START + timedelta(seconds=time.time() - self.anchor)

    async def run(self, stop: asyncio.Event, contract_poles: list[tuple[str, str]]) -> None:
        await asyncio.gather(
            self._paced(stop, self.pace.rounds, self.pace.round_every, self._round),
            self._paced(
                stop,
                min(self.pace.contracts, PERIODS * len(contract_poles)),
                self.pace.contract_every,
                lambda n: self._contract(n, contract_poles),
            ),
            self._paced(stop, self.pace.commitments, self.pace.commitment_every, self._commit),
        )

    @staticmethod
    async def _paced(stop: asyncio.Event, count: int, every: float, start: Any) -> None:
        """Start item 0, 1, ... every ``every`` seconds until ``stop`` or ``count``; then wait
        for the items in flight to finish."""
        running = []
        for number in range(count):
            if stop.is_set():
                break
            running.append(asyncio.create_task(start(number)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
        await asyncio.gather(*running)

    # -- calls and dossiers -------------------------------------------------------------------

    async def _round(self, number: int) -> None:
        call_id = f"CHAOS-{number + 1:03d}"
        now = self.sim_now()
        deadline = now + timedelta(seconds=self.pace.window)
        spec = platform_call(call_id, now - timedelta(hours=1), deadline)
        key = f"{self.run_id}-call{number}"
        reply = await self.platform.call("calls", "POST", "/calls", self.tokens.state, key, spec)
        self.tally.record("open-call", reply)
        if not reply.ok:
            return
        self.calls.append(call_id)
        first = number * self.pace.dossiers_per_round
        batch = [self._plan(first + i, call_id) for i in range(self.pace.dossiers_per_round)]
        self.dossiers.extend(batch)
        await asyncio.gather(*(self._submit(dossier) for dossier in batch))
        wait = (deadline - self.sim_now()).total_seconds() + 1.0
        await asyncio.sleep(max(wait, 0.0))
        await asyncio.gather(*(self._decide(d) for d in batch if d.dossier_id is not None))

    def _plan(self, number: int, call_id: str) -> Dossier:
        selected = number % 5 != 4
        return Dossier(
            number=number,
            call_id=call_id,
            name=f"Plate-forme chaos {self.run_id} n°{number}",
            lead=self.rng.choice(self.leads),
            channel="kafka" if number % 2 else "http",
            study=number % 4 == 1,
            selected=selected,
            grant_cents=10_000_000 if selected else 0,
            cdc_cents=5_000_000 if selected and number % 3 == 0 else 0,
        )

    async def _submit(self, dossier: Dossier) -> None:
        content = dossier_content(dossier.name, dossier.lead, dossier.number)
        token = self.tokens.pole(dossier.lead)
        key = f"{self.run_id}-d{dossier.number}-submit"
        if dossier.channel == "http":
            path = f"/calls/{dossier.call_id}/dossiers"
            reply = await self.platform.call("calls", "POST", path, token, key, content)
        else:
            command = {"command_id": key, "type": "submit-dossier", "call_id": dossier.call_id}
            reply = await self.bus.send(token, {**command, "content": content})
        self.tally.record("submit-dossier", reply)
        if reply.status == 0:
            dossier.pending = "submit"
        if reply.ok:
            dossier.dossier_id = str(reply.body["dossier_id"])
            dossier.accepted.append("submit")

    async def _decide(self, dossier: Dossier) -> None:
        for step in dossier_steps(
            dossier.study, dossier.selected, dossier.grant_cents, dossier.cdc_cents
        ):
            reply = await self._dossier_command(dossier, step)
            self.tally.record(step.command, reply)
            if reply.status == 0:
                dossier.pending = step.name
            if not reply.ok:
                return
            dossier.accepted.append(step.name)
        if dossier.cdc_cents:
            await self._cdc_commits(dossier)

    async def _cdc_commits(self, dossier: Dossier) -> None:
        """The CDC commits the investment the selection proposed: the co-financing then
        completes (the ledger's promise, then calls' "funded"). Funding opens the financing
        when it reads the selection, so a 404 is asked again until the command's patience."""
        path = f"/financings/{dossier.dossier_id}/financers/cdc/commitment"
        key = f"{self.run_id}-d{dossier.number}-cdc-commit"
        deadline = time.monotonic() + self.platform.patience
        while True:
            reply = await self.platform.call("funding", "POST", path, self.tokens.cdc, key, {})
            if reply.status != 404 or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)
        self.tally.record("cdc-commit", reply)
        if reply.status == 0:
            dossier.pending = "cdc-commit"
        if reply.ok:
            dossier.accepted.append("cdc-commit")

    async def _dossier_command(self, dossier: Dossier, step: Step) -> Reply:
        key = f"{self.run_id}-d{dossier.number}-{step.name}"
        token = self.tokens.state if step.by == "state" else self.tokens.cdc
        if self.rng.random() < 0.5:
            path = step.path.format(id=dossier.dossier_id)
            return await self.platform.call("calls", "POST", path, token, key, step.body)
        command = {"command_id": key, "type": step.command, "dossier_id": dossier.dossier_id}
        return await self.bus.send(token, {**command, step.field: step.body})

    # -- contracts ----------------------------------------------------------------------------

    async def _contract(self, number: int, poles: list[tuple[str, str]]) -> None:
        pole_id, region = poles[number % len(poles)]
        start_year = 2009 + 2 * (number // len(poles))
        state_years = [y for y in (start_year, start_year + 1) if y <= LAST_BUDGET_YEAR]
        run = ContractRun(number, pole_id, region, start_year, state_years)
        self.contracts.append(run)
        body = contract_draft(pole_id, region, start_year, run.state_years)
        state, key = self.tokens.state, f"{self.run_id}-c{number}"
        reply = await self.platform.call(
            "contracts", "POST", "/contracts", state, f"{key}-draft", body
        )
        self.tally.record("draft-contract", reply)
        if reply.status == 0:
            run.pending = "draft"
        if not reply.ok:
            return
        run.contract_id = str(reply.body["contract_id"])
        run.accepted.append("draft")
        path = f"/contracts/{run.contract_id}"
        steps: list[tuple[str, str, str, str, Any]] = [
            ("roadmap", "PUT", "/roadmap", state, ROADMAP),
            ("open", "POST", "/open-for-signature", state, None),
        ]
        signers = [("state", state), (f"pole:{pole_id}", self.tokens.pole(pole_id)),
                   (f"region:{region}", self.tokens.region(region))]  # fmt: skip
        self.rng.shuffle(signers)
        for party, token in signers:
            body = {"party_id": party, "signatory_name": f"Signataire {party}"}
            steps.append((f"sign-{party}", "POST", "/signatures", token, body))
        for name, method, suffix, token, body in steps:
            reply = await self.platform.call(
                "contracts", method, path + suffix, token, f"{key}-{name}", body
            )
            self.tally.record(
                "sign-contract" if name.startswith("sign") else f"{name}-contract", reply
            )
            if reply.status == 0:
                run.pending = name
            if not reply.ok:
                return
            run.accepted.append(name)

    # -- manual commitments -------------------------------------------------------------------

    async def _commit(self, number: int) -> None:
        key = f"{self.run_id}-m{number}"
        subject = Tokens.subject_of(f"agency:{COMMIT_AGENCY}")
        item = ManualCommitment(number, from_command("commitment", subject, key))
        self.commitments.append(item)
        body = {
            "beneficiary": {"kind": "project", "id": f"chaos-project-{number}"},
            "years": [{"year": 2010, "amount_cents": COMMIT_CENTS}],
            "pole_id": self.leads[number % len(self.leads)],
            "reason": f"chaos run {self.run_id}, commitment n°{number}",
        }
        # The agencies' line is committed by the agency's own system (since issue 14).
        path = f"/agencies/{COMMIT_AGENCY}/commitments"
        token = self.tokens.agency(COMMIT_AGENCY)
        reply = await self.platform.call("funding", "POST", path, token, key, body)
        refused = (
            reply.status == 409
            and isinstance(reply.body, dict)
            and reply.body.get("outcome") == "refused"
        )
        self.tally.record("commit", reply, expected_refusal=refused)
        if reply.ok:
            item.outcome = "committed"
        elif refused:
            item.outcome = "refused"
        elif reply.status:
            item.outcome = "rejected"


ROADMAP = {
    "technology_ambition": "Des plates-formes ouvertes aux PME du pôle",
    "market_ambition": "Des marchés européens pour les produits des membres",
    "horizon_years": 4,
    "ecosystem_plan": "Relier les PME aux grands donneurs d'ordres",
}
