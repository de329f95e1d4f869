"""A transfer's dry run: the lines replayed from their chains equal the lines as saved; what the
dry run says the transfer does is what the real transfer then does; a refusal is the real
command's; refused commitments are decided again; nothing is saved or published."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.funding.domain.commitment import Decommitment, Payment
from services.funding.domain.envelope import Amendment
from services.funding.domain.line import LineState, decide_commitment, send_transfer
from services.funding.domain.transfer_trial import pending_commitments, replay, try_transfer
from services.funding.handlers.trial import TransferTrials, figures
from services.funding.tests.memory import Funding
from services.funding.tests.support import M_EUR, NOW, envelope, line, terms, transfer
from shared.errors import Conflict, Invalid
from shared.events.funding import CommitmentRefused

RD, PLATFORMS = "intervention.rd", "intervention.platforms"


async def funding() -> tuple[Funding, TransferTrials]:
    f = await Funding().loaded()
    return f, TransferTrials(f.books, envelope())


async def state(f: Funding, line_id: str) -> LineState:
    found = await f.books.lines.get(line_id)
    assert found is not None
    return found


def saved(f: Funding) -> tuple[int, int, int]:
    return len(f.lines.entries), len(f.commitments.entries), len(f.lines.published)


async def history(f: Funding) -> None:
    """A bit of everything a line's chain applies: commitments made and refused, a payment, a
    de-commitment, transfers both ways, an amendment, thresholds."""
    budget = f.budget
    await budget.commit(terms(PLATFORMS, (2009, 30 * M_EUR), (2010, 34 * M_EUR)))
    await budget.commit(terms(PLATFORMS, (2010, 2 * M_EUR), commitment_id="c-over"))
    await budget.commit(terms(RD, (2009, 400 * M_EUR), commitment_id="c-rd"))
    await budget.pay("c-1", Payment("p-1", 2009, 10 * M_EUR, "dge"))
    await budget.decommit("c-1", Decommitment("d-1", 2009, 5 * M_EUR, "dge", "smaller"))
    await budget.transfer(transfer(3 * M_EUR, transfer_id="t-1", year=2011))
    back = transfer(M_EUR, transfer_id="t-2", year=2011).model_copy(
        update={"line_id": PLATFORMS, "from_line_id": PLATFORMS, "to_line_id": RD}
    )
    await budget.transfer(back)
    await budget.amend(
        envelope().id,
        Amendment(
            amendment_id="a-1",
            decided_on=date(2009, 7, 1),
            reference="test",
            years=[2009, 2010, 2011],
            lines=[{"line_id": RD, "amount_cents": 480 * M_EUR}],
        ),
    )


async def test_the_replay_of_a_chain_is_the_line_as_saved() -> None:
    f, trials = await funding()
    await history(f)

    answer = await trials.try_transfer(transfer(M_EUR, at=NOW, year=2010))

    [rd, platforms] = answer["lines"]
    assert rd["before"] == figures(await state(f, RD), 0)
    assert platforms["before"] == figures(await state(f, PLATFORMS), 10 * M_EUR)
    assert (await state(f, RD)).thresholds_crossed == [80]
    assert (rd["before"]["amount_cents"], platforms["before"]["committed_cents"]) == (
        480 * M_EUR,  # amended, after 3 M€ given and 1 M€ received
        59 * M_EUR,  # 64 M€ committed, 5 M€ given back
    )
    assert platforms["before"]["yearly_ceilings"]["2011"] == 37 * M_EUR


async def test_the_dry_run_is_what_the_real_transfer_then_does_and_saves_nothing() -> None:
    f, trials = await funding()
    await history(f)
    moved = transfer(79 * M_EUR, transfer_id="t-3", year=2010)
    before = saved(f)

    answer = await trials.try_transfer(moved)

    assert saved(f) == before
    await f.budget.transfer(moved)
    [rd, platforms] = answer["lines"]
    assert answer["outcome"] == "transferable"
    assert answer["refusal"] is None
    assert rd["after"] == figures(await state(f, RD), 0)
    assert platforms["after"] == figures(await state(f, PLATFORMS), 10 * M_EUR)
    assert rd["thresholds_announced"] == [95]
    assert [t["percent"] for t in rd["after"]["thresholds"] if t["reached"]] == [80, 95]
    crossed = [e for e in f.lines.published if e.type == "funding.line.threshold-crossed.v1"]
    assert [(e.data["line_id"], e.data["threshold_percent"]) for e in crossed][-1] == (RD, 95)


@pytest.mark.parametrize(
    ("cents", "year", "error", "reason"),
    [(200 * M_EUR, 2010, Conflict, "over-line"), (M_EUR, 2012, Invalid, "invalid")],
)
async def test_a_refusal_is_the_real_commands(
    cents: int, year: int, error: type[Exception], reason: str
) -> None:
    f, trials = await funding()
    await f.budget.commit(terms(RD, (2009, 400 * M_EUR), commitment_id="c-rd"))
    moved = transfer(cents, year=year)

    answer = await trials.try_transfer(moved)

    with pytest.raises(error) as real:
        await f.budget.transfer(moved)
    assert answer["outcome"] == "refused"
    assert answer["refusal"]["reason"] == reason
    assert answer["refusal"]["detail"] == real.value.detail  # type: ignore[attr-defined]
    assert answer["refusal"]["status"] == (409 if error is Conflict else 422)
    assert all(line["before"] == line["after"] for line in answer["lines"])


async def test_refused_commitments_are_decided_again_before_and_after() -> None:
    f, trials = await funding()
    await f.budget.commit(terms(PLATFORMS, (2010, 34 * M_EUR), commitment_id="c-1"))
    for key, cents in (("c-2", 3 * M_EUR), ("c-3", 2 * M_EUR), ("c-4", 40 * M_EUR)):
        await f.budget.commit(terms(PLATFORMS, (2010, cents), commitment_id=key))

    answer = await trials.try_transfer(transfer(3 * M_EUR, year=2010))

    outcomes: dict[str, Any] = {
        p["commitment_id"]: (p["before"]["outcome"], p["after"]["outcome"], p["after"]["reason"])
        for p in answer["pending_commitments"]
        if "reason" in p["after"]
    }
    accepted = [
        p["commitment_id"]
        for p in answer["pending_commitments"]
        if p["after"]["outcome"] == "committed"
    ]
    assert [p["commitment_id"] for p in answer["pending_commitments"]] == ["c-2", "c-3", "c-4"]
    assert accepted == ["c-2"]  # c-2 takes the 3 M€; c-3 is then short again
    assert outcomes == {
        "c-3": ("refused", "refused", "over-yearly-ceiling"),
        "c-4": ("refused", "refused", "over-yearly-ceiling"),
    }
    assert [p["before"]["outcome"] for p in answer["pending_commitments"]] == ["refused"] * 3


def test_a_commitment_made_since_is_no_longer_pending() -> None:
    platforms = line(PLATFORMS)
    refused = decide_commitment(platforms, terms(PLATFORMS, (2009, 36 * M_EUR)), NOW)
    again = terms(PLATFORMS, (2009, 30 * M_EUR), commitment_id="c-2")
    other = terms(PLATFORMS, (2009, 36 * M_EUR), commitment_id="c-3")
    dossier = {"dossier_id": "D-1"}
    with_dossier = decide_commitment(platforms, other.model_copy(update=dossier), NOW)
    made = decide_commitment(platforms, again.model_copy(update=dossier), NOW)

    events = [*refused.events, *with_dossier.events, *made.events]

    assert [p.commitment_id for p in pending_commitments(PLATFORMS, events)] == ["c-1"]
    assert all(isinstance(e, CommitmentRefused) for e in [*refused.events, *with_dossier.events])


def test_the_domain_trial_runs_the_real_decisions() -> None:
    rd, platforms = line(RD), line(PLATFORMS)
    moved = transfer(5 * M_EUR)

    trial = try_transfer(rd, platforms, moved, [], NOW)

    assert trial.sender[1] == send_transfer(rd, moved, True).state
    assert trial.receiver[1].yearly_ceilings["2010"] == 40 * M_EUR
    assert trial.refusal is None
    assert trial.events == [moved]
    assert replay(rd, [[moved]]) == trial.sender[1]
    assert replay(platforms, [[moved]]) == trial.receiver[1]
