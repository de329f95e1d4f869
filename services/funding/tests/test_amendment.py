"""Envelope amendments (the 2012 extension as data): decided on the envelope against the lines'
commitments, applied to every line once, and the file's base never changed under a running
service."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.funding.domain.envelope import (
    Amendment,
    InvalidEnvelope,
    LineChange,
    amend,
    new_envelope,
)
from services.funding.domain.line import LineState, decide_commitment
from services.funding.tests.memory import Funding
from services.funding.tests.support import M_EUR, NOW, envelope, line, terms
from shared.errors import Conflict, Invalid
from shared.events.funding import EnvelopeAmended, YearAmount

PLATFORMS = "intervention.platforms"
YEARS_2012 = [2009, 2010, 2011, 2012]


def extension(**platforms: Any) -> Amendment:
    """The CIADT of 11 May 2010: the lines run to 2012, the platforms line gets a 2012 ceiling."""
    return Amendment(
        amendment_id="ciadt-2010-05-11",
        decided_on=date(2010, 5, 11),
        reference="CIADT du 11 mai 2010",
        years=YEARS_2012,
        lines=[
            LineChange(
                line_id=PLATFORMS,
                **{
                    "amount_cents": 140 * M_EUR,
                    "yearly_ceilings": [
                        YearAmount(year=year, amount_cents=35 * M_EUR) for year in YEARS_2012
                    ],
                    **platforms,
                },
            ),
            LineChange(line_id="intervention.rd", amount_cents=460 * M_EUR),
        ],
    )


def lines() -> dict[str, LineState]:
    return {spec.id: line(spec.id) for spec in envelope().leaves}


def test_an_amendment_extends_every_line_and_says_how_each_is_left() -> None:
    decided = amend(new_envelope(envelope()), lines(), extension(), NOW)
    [event] = decided.events
    assert isinstance(event, EnvelopeAmended)
    left = {item.line_id: item for item in event.lines}
    assert set(left) == {spec.id for spec in envelope().leaves}
    assert left[PLATFORMS].amount_cents == 140 * M_EUR
    assert [c.year for c in left[PLATFORMS].yearly_ceilings] == YEARS_2012
    assert left["animation"].amount_cents == 50 * M_EUR
    assert (event.years, event.amount_cents) == (YEARS_2012, 1500 * M_EUR)
    assert decided.state.years == YEARS_2012
    assert [a.amendment_id for a in decided.state.amendments] == ["ciadt-2010-05-11"]
    assert decided.answer["outcome"] == "amended"


def test_an_amendment_never_takes_a_line_below_what_it_committed() -> None:
    now = lines()
    now[PLATFORMS] = decide_commitment(
        now[PLATFORMS], terms(PLATFORMS, (2010, 30 * M_EUR)), NOW
    ).state
    low_year = [
        YearAmount(year=y, amount_cents=(20 if y == 2010 else 40) * M_EUR) for y in YEARS_2012
    ]
    with pytest.raises(Conflict) as year:
        amend(new_envelope(envelope()), now, extension(yearly_ceilings=low_year), NOW)
    with pytest.raises(Conflict) as total:
        amend(
            new_envelope(envelope()),
            now,
            extension(amount_cents=29 * M_EUR, yearly_ceilings=[]),
            NOW,
        )
    now["animation"] = decide_commitment(
        now["animation"], terms("animation", (2010, M_EUR)), NOW
    ).state
    dropped = extension().model_copy(update={"years": [2009, 2011, 2012], "lines": []})
    with pytest.raises(Conflict, match="animation has committed 100000000 cents in 2010"):
        amend(new_envelope(envelope()), now, dropped, NOW)
    assert year.value.reason == total.value.reason == "below-committed"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"line_id": "intervention"}, "not a line that takes commitments"),
        (
            {"line_id": PLATFORMS, "yearly_ceilings": [YearAmount(year=2013, amount_cents=1)]},
            "outside",
        ),
        ({"line_id": PLATFORMS, "amount_cents": 200 * M_EUR}, "cannot hold its amount"),
    ],
)
def test_a_malformed_amendment_is_invalid(change: dict[str, Any], message: str) -> None:
    bad = extension().model_copy(update={"lines": [LineChange(**change)]})
    with pytest.raises(Invalid, match=message):
        amend(new_envelope(envelope()), lines(), bad, NOW)


async def test_an_amendment_applies_to_every_line_once_then_2012_commits() -> None:
    f = await Funding().loaded()
    refused = await f.budget.commit(terms(PLATFORMS, (2012, 10 * M_EUR)))
    answers = [await f.budget.amend(envelope().id, extension()) for _ in range(2)]
    made = await f.budget.commit(terms(PLATFORMS, (2012, 10 * M_EUR), commitment_id="c-2"))

    assert refused["reason"] == "year-outside-envelope"
    assert answers[0] == answers[1]
    assert made["outcome"] == "committed"
    platforms = await f.books.lines.get(PLATFORMS)
    rd = await f.books.lines.get("intervention.rd")
    assert platforms is not None
    assert rd is not None
    assert (platforms.years, platforms.amount_cents, platforms.yearly_ceilings["2012"]) == (
        YEARS_2012, 140 * M_EUR, 35 * M_EUR,
    )  # fmt: skip
    assert (rd.years, rd.amount_cents) == (YEARS_2012, 460 * M_EUR)
    assert f.published_types().count("funding.line.envelope-amended.v1") == 1
    amended = [e for e in f.lines.entries.values() if e["decision_id"] == "ciadt-2010-05-11"]
    assert len(amended) == 1 + len(envelope().leaves)  # the envelope, then each line once
    with pytest.raises(Conflict, match="other terms"):
        await f.budget.amend(envelope().id, extension(amount_cents=150 * M_EUR))


async def test_the_file_amendments_are_applied_at_startup_once() -> None:
    f = await Funding().loaded()
    with_amendment = envelope().model_copy(update={"amendments": [extension()]})
    await f.budget.open_envelope(with_amendment)
    await f.budget.open_envelope(with_amendment)
    state = await f.budget.envelope(envelope().id)
    assert state is not None
    assert (state.years, [a.amendment_id for a in state.amendments]) == (
        YEARS_2012, ["ciadt-2010-05-11"],
    )  # fmt: skip
    assert f.published_types().count("funding.line.envelope-amended.v1") == 1


async def test_a_file_whose_base_changed_stops_the_service() -> None:
    f = await Funding().loaded()
    extended = envelope().model_copy(update={"years": YEARS_2012})
    with pytest.raises(InvalidEnvelope, match="write the change as an amendment"):
        await f.budget.open_envelope(extended)
