"""The report's budget tables, funnels and sources on made-up figures (no server), and the
budget check that makes the story fail loudly."""

from __future__ import annotations

import pytest

from tests.story.cast import Cast
from tests.story.expectations import check_budget
from tests.story.figures import Figures, Financer, Line, sources
from tests.story.platform import StoryError
from tests.story.rd_figures import AGENCY_LINE_CENTS, RD_LINE_CENTS
from tests.story.report_html import render_html
from tests.story.report_text import render_text
from tests.story.scale import SHORT, Scale

M = 100_000_000


def made_up(committed_rd: int = 455 * M) -> Figures:
    rd = Line("intervention.rd", 1, RD_LINE_CENTS, committed_rd, 100 * M,
              {2009: 200 * M, 2012: committed_rd - 200 * M}, {2009: 100 * M})  # fmt: skip
    anr = Line("agencies.anr", 1, AGENCY_LINE_CENTS["anr"], 550 * M, 330 * M,
               {2009: 550 * M}, {2009: 330 * M})  # fmt: skip
    envelope = Line("the envelope", 0, 1_045 * M, rd.committed + anr.committed, 430 * M,
                    {2009: 750 * M}, {2009: 430 * M})  # fmt: skip
    return Figures(
        lines=[rd, anr],
        envelope=envelope,
        financers=[Financer("state", 1_005 * M, 430 * M, {2009: 750 * M}, {2009: 430 * M}),
                   Financer("region:82", 12 * M, 3 * M, {2010: 12 * M}, {2010: 3 * M})],
        funnel=[("selected", 3), ("funded", 1), ("funding refused", 2)],
        fui_funnel=[("projects filed", 24), ("overlaps flagged", 3)],
        sources=sources(),
    )  # fmt: skip


def test_the_report_shows_every_line_and_financer_by_year_and_what_is_sourced() -> None:
    text = render_text(made_up())
    for wanted in ("Budget by line", "Budget by financer", "region:82", "SIMULATED", "sourced"):
        assert wanted in text
    rd_row = next(row for row in text.splitlines() if row.strip().startswith("intervention.rd"))
    assert rd_row.split()[1:4] == ["495.0", "200.0", "0.0"]  # amount, AE 2009, AE 2010
    for wanted in ("funding refused", "overlaps flagged"):
        assert wanted in text
    html = render_html(made_up())
    for wanted in ("AE and CP by year", "SIMULATED", "region:82"):
        assert wanted in html


def test_the_budget_check_fails_loudly_when_a_line_is_over_or_too_little_is_committed() -> None:
    check_budget(made_up(), 0.9)
    with pytest.raises(StoryError, match=r"intervention\.rd"):
        check_budget(made_up(committed_rd=RD_LINE_CENTS + 1), 0.0)
    with pytest.raises(StoryError, match="of the envelope committed"):
        check_budget(made_up(committed_rd=0), 0.9)


@pytest.mark.parametrize("scale", [Scale(), SHORT], ids=["full", "short"])
def test_the_cast_plays_money_that_fits_its_lines(scale: Scale) -> None:
    cast = Cast.of(scale)
    assert sum(p.state_cents for p in cast.projects) <= RD_LINE_CENTS
    for agency, line in AGENCY_LINE_CENTS.items():
        assert sum(a.amount_cents for a in cast.agencies if a.agency == agency) <= line
    assert sum(p.declined_by_region for p in cast.dossiers) == 1
    assert cast.agencies[0].project is not None  # the ANR also funds a FUI project: flagged
    for plan in cast.projects:
        shares = plan.financing_plan()
        assert sum(y["amount_cents"] for s in shares for y in s["years"]) == plan.total_cents
