"""A transfer's dry run on the story's data (issue 16, part 3): after the story, a budget
officer of the State tries moving money from the R&D line to the innovation-platforms line for
the commitment that line refused (the oversized 2010 selection, over its 2010 ceiling). The dry
runs show both lines before and after and that commitment refused one cent short and accepted
with exactly what it lacks; they change nothing (the lines read the same, no event is
published); then the real transfer leaves the lines as the dry run said, and the refused
commitment, asked again, is committed."""

from __future__ import annotations

from typing import Any

from shared.topics import FUNDING_COMMITMENT, FUNDING_LINE
from tests.e2e.as_of_check import MONEY
from tests.story.cast import Cast
from tests.story.platform import Json, KafkaOptions, Platform, send
from tests.story.topics import read_topics

FROM, TO = "intervention.rd", "intervention.platforms"


def transfer(years: dict[int, int]) -> Json:
    return {
        "from_line_id": FROM,
        "to_line_id": TO,
        "amount_cents": sum(years.values()),
        "reason": "the platform refused over the 2010 ceiling",
        "years": [{"year": year, "amount_cents": cents} for year, cents in sorted(years.items())],
    }


async def read_lines(p: Platform) -> dict[str, Json]:
    """Each line's live view, with its yearly rows from the budget table."""
    state = p.tokens("state")
    table = await send(p.funding, "GET", "/budget/lines", state)
    rows = {sub["line_id"]: sub for line in table["lines"] for sub in line.get("sub_lines", [line])}
    lines = {}
    for line_id in (FROM, TO):
        view = await send(p.funding, "GET", f"/lines/{line_id}", state)
        lines[line_id] = {**view, "by_year": rows[line_id]["by_year"]}
    return lines


def as_read(figures: Json) -> Json:
    """What a dry run's ``before`` or ``after`` says, in the live views' terms."""
    return {
        **{key: figures[key] for key in MONEY},
        "yearly_ceilings_cents": figures["yearly_ceilings"],
        "thresholds_crossed": [t["percent"] for t in figures["thresholds"] if t["announced"]],
        "committed_by_year": {
            str(y["year"]): y["committed_cents"] for y in figures["by_year"] if y["committed_cents"]
        },
        "by_year": [
            (y["year"], y["ceiling_cents"], y["available_cents"]) for y in figures["by_year"]
        ],
    }


def live(line: Json) -> Json:
    """A line's live view (``read_lines``), in the same terms."""
    return {
        **{key: line[key] for key in (*MONEY, "yearly_ceilings_cents", "thresholds_crossed")},
        "committed_by_year": {year: c for year, c in line["committed_by_year"].items() if c},
        "by_year": [(y["year"], y["ceiling_cents"], y["available_cents"]) for y in line["by_year"]],
    }


async def dry_run(p: Platform, body: Json) -> Json:
    answer: Json = await send(p.funding, "POST", "/transfers/dry-run", p.tokens("state"), body)
    assert (answer["outcome"], answer["refusal"]) == ("transferable", None), answer
    return answer


def lacking(pending: Json, receiving: Json) -> dict[int, int]:
    """What each year of the refused commitment lacks on the receiving line."""
    available = {y["year"]: y["available_cents"] for y in receiving["before"]["by_year"]}
    lacks = {y["year"]: y["amount_cents"] - available.get(y["year"], 0) for y in pending["years"]}
    return {year: cents for year, cents in lacks.items() if cents > 0}


async def check_dry_run(p: Platform, cast: Cast, kafka: KafkaOptions, prefix: str) -> None:
    funding_topics = (FUNDING_LINE, FUNDING_COMMITMENT)
    published = (await read_topics(kafka, prefix, funding_topics)).records
    before = await read_lines(p)

    probe = await dry_run(p, transfer({2010: 1}))
    [sender, receiver] = probe["lines"]
    assert (sender["line_id"], receiver["line_id"]) == (FROM, TO)
    for line in probe["lines"]:  # its "before" is the line as read now
        assert live(before[line["line_id"]]) == as_read(line["before"]), line["line_id"]
    oversized = cast.dossier_id(next(d for d in cast.dossiers if d.oversized_cents))
    [pending] = probe["pending_commitments"]
    assert (pending["dossier_id"], pending["refused_for"]) == (oversized, "over-yearly-ceiling")
    assert pending["before"]["outcome"] == pending["after"]["outcome"] == "refused"

    needed = lacking(pending, receiver)
    assert needed, pending
    tightest = max(needed, key=lambda year: needed[year])
    short = await dry_run(p, transfer({**needed, tightest: needed[tightest] - 1}))
    assert [c["after"]["outcome"] for c in short["pending_commitments"]] == ["refused"]
    enough = await dry_run(p, transfer(needed))
    [retried] = enough["pending_commitments"]
    assert (retried["before"]["outcome"], retried["after"]["outcome"]) == ("refused", "committed")
    for line in enough["lines"]:
        moved = sum(needed.values())
        change = moved if line["line_id"] == TO else -moved
        assert line["after"]["amount_cents"] == line["before"]["amount_cents"] + change

    assert await read_lines(p) == before  # the dry runs changed nothing
    assert (await read_topics(kafka, prefix, funding_topics)).records == published

    state = p.tokens("state")
    await send(p.funding, "POST", "/transfers", state, transfer(needed), "after-the-dry-run")
    after = await read_lines(p)
    for line in enough["lines"]:
        assert live(after[line["line_id"]]) == as_read(line["after"]), line["line_id"]
        crossed = set(after[line["line_id"]]["thresholds_crossed"])
        newly = crossed - set(before[line["line_id"]]["thresholds_crossed"])
        assert set(line["thresholds_announced"]) == newly, line["line_id"]

    again: dict[str, Any] = {
        "beneficiary": retried["beneficiary"],
        "years": retried["years"],
        "dossier_id": retried["dossier_id"],
        "reason": "asked again after the transfer",
    }
    made = await send(p.funding, "POST", f"/lines/{TO}/commitments", state, again, "again")
    assert made["outcome"] == "committed", made
