"""The innovation-platforms call: opened by the State and the CDC on 1 October 2008, dossiers
from the pôles until 2 December, screening, joint pre-selection, CDC studies, selection.

Votes and final decisions come from the State's and the CDC's systems on the Kafka command
topic; everything else goes through the calls service's HTTP API."""

from __future__ import annotations

from typing import Any

from tests.story.call_plan import CALL_ID, DEADLINE, OPENS_AT, DossierPlan
from tests.story.cast import Cast
from tests.story.platform import Json, Platform, StoryError, eventually, send
from tests.story.steps.budget import millions
from tests.story.steps.financing import answer, opened

DOCUMENTS = [
    ("call-text", "Appel à projets « plates-formes d'innovation »"),
    ("specifications", "Cahier des charges"),
    ("dossier-form", "Dossier de candidature préliminaire"),
    ("convention", "Convention État - Caisse des Dépôts"),
    ("press-release", "Communiqué de presse du 1er octobre 2008"),
]


async def open_call(p: Platform, _: Cast) -> str:
    spec = {
        "call_id": CALL_ID,
        "kind": "innovation-platforms",
        "title": "Plates-formes d'innovation des pôles de compétitivité",
        "funders": ["state", "cdc"],
        "opens_at": OPENS_AT.isoformat(),
        "deadline": DEADLINE.isoformat(),
        "documents": [
            {"kind": kind, "title": title, "url": f"https://competitivite.gouv.fr/pf-2008/{kind}"}
            for kind, title in DOCUMENTS
        ],
        "budget_line_id": "intervention.platforms",
        "eligibility_rules": ["la plate-forme est ouverte aux PME"],
    }
    await send(p.calls, "POST", "/calls", p.tokens("state"), spec, "open-pf-2008")
    due = f"{DEADLINE.day} {DEADLINE:%B %Y}"
    return f"the State and the CDC open {CALL_ID}; dossiers are due before {due}"


async def _submit(p: Platform, plan: DossierPlan, expect: tuple[int, ...]) -> Any:
    headers = p.tokens(f"pole:{plan.lead.id}")
    path = f"/calls/{CALL_ID}/dossiers"
    return await send(p.calls, "POST", path, headers, plan.content(), plan.key, expect)


async def submit_dossiers(p: Platform, cast: Cast) -> str:
    """A few at once, as pôles file them: receipt numbers follow the order of arrival."""

    async def one(plan: DossierPlan) -> None:
        receipt = await _submit(p, plan, (201,))
        cast.dossier_ids[plan.rank] = receipt["dossier_id"]

    await p.each(cast.dossiers, one)
    return f"{len(cast.dossiers)} preliminary dossiers filed, each with its receipt"


async def open_and_collect(p: Platform, cast: Cast) -> str:
    return f"{await open_call(p, cast)}; {await submit_dossiers(p, cast)}"


async def refuse_late(p: Platform, cast: Cast) -> str:
    async def closed() -> bool:
        call = await send(p.calls, "GET", f"/calls/{CALL_ID}", p.tokens("state"))
        return bool(call["status"] == "closed")

    await eventually(closed, "the call to close at its deadline")
    answer = await _submit(p, cast.late, (409,))
    cast.late_answers.append(409)
    return f"the call closed by itself; a late dossier is refused (409: {answer['detail']})"


async def screen(p: Platform, cast: Cast) -> str:
    async def one(plan: DossierPlan) -> None:
        body: Json = {"eligible": plan.eligible}
        if not plan.eligible:
            body["reasons"] = ["la plate-forme n'est pas ouverte aux PME"]
        path = f"/dossiers/{cast.dossier_id(plan)}/screening"
        await send(p.calls, "POST", path, p.tokens("state"), body, f"screen-{plan.rank}")

    await p.each(cast.dossiers, one)
    eligible = sum(d.eligible for d in cast.dossiers)
    return f"the State screens: {eligible} eligible, {len(cast.dossiers) - eligible} not"


def _votes(plan: DossierPlan) -> list[tuple[str, Json]]:
    """The CDC votes first; when it says yes, the State decides."""
    if plan.preselected:
        return [("cdc", {"decision": "yes"}), ("state", {"decision": "yes"})]
    if plan.rank % 2:
        refusal = ["le modèle économique reste à construire"]
        return [("cdc", {"decision": "no", "reasons": refusal})]
    refusal = ["l'offre de services aux PME est insuffisante"]
    return [("cdc", {"decision": "yes"}), ("state", {"decision": "no", "reasons": refusal})]


async def _command_all(p: Platform, commands: list[tuple[Json, dict[str, str]]]) -> None:
    answers = await p.commands.run(commands)
    refused = [a for a in answers.values() if a["type"] != "calls.command.accepted.v1"]
    if refused:
        raise StoryError(f"{len(refused)} commands refused, e.g. {refused[0]}")


async def vote(p: Platform, cast: Cast) -> str:
    eligible = [d for d in cast.dossiers if d.eligible]
    for turn in (0, 1):
        commands = [
            (
                {
                    "command_id": f"vote-{plan.rank}-{voter}",
                    "type": "vote-preselection",
                    "dossier_id": cast.dossier_id(plan),
                    "vote": ballot,
                },
                p.tokens(voter),
            )
            for plan in eligible
            for voter, ballot in _votes(plan)[turn : turn + 1]
        ]
        await _command_all(p, commands)
    world = sum(d.lead.category != "national" for d in cast.preselected())
    return (
        f"the State and the CDC vote on {len(eligible)} dossiers (Kafka commands): "
        f"{len(cast.preselected())} pre-selected, {world} of them led by world-class pôles"
    )


async def commission_studies(p: Platform, cast: Cast) -> str:
    async def one(plan: DossierPlan) -> None:
        body = {"cost_cents": plan.study_cost_cents, "cdc_share_cents": plan.study_share_cents}
        path = f"/dossiers/{cast.dossier_id(plan)}/study"
        await send(p.calls, "POST", path, p.tokens("cdc"), body, f"study-{plan.rank}")

    await p.each(cast.preselected(), one)
    share = sum(d.study_share_cents for d in cast.preselected())
    return f"the CDC commissions {len(cast.preselected())} studies ({millions(share)} CDC share)"


async def complete_studies(p: Platform, cast: Cast) -> str:
    conclusions = {
        "business_model": "location d'équipements et prestations facturées aux utilisateurs",
        "legal_structure": "groupement d'intérêt économique",
        "business_plan": "équilibre d'exploitation la troisième année",
    }

    async def one(plan: DossierPlan) -> None:
        path = f"/dossiers/{cast.dossier_id(plan)}/study/completion"
        await send(p.calls, "POST", path, p.tokens("cdc"), conclusions, f"done-{plan.rank}")

    await p.each(cast.preselected(), one)
    return f"the CDC's {len(cast.preselected())} studies are delivered"


def _decision(plan: DossierPlan, year: int) -> Json | None:
    if plan.selection_year == year:
        return {
            "selected": True,
            "state_grant_cents": plan.state_ask_cents,
            "cdc_investment_cents": plan.cdc_investment_cents,
            "financing_plan": plan.financing_plan(year),
        }
    if plan.selection_year is None and year == 2010:
        return {"selected": False, "reasons": ["projet moins avancé que les lauréats"]}
    return None


def _decide(p: Platform, cast: Cast, decided: list[tuple[DossierPlan, Json]]) -> list[Any]:
    return [
        (
            {
                "command_id": f"decide-{plan.rank}",
                "type": "decide-dossier",
                "dossier_id": cast.dossier_id(plan),
                "decision": decision,
            },
            p.tokens("state"),
        )
        for plan, decision in decided
    ]


async def select(p: Platform, cast: Cast, year: int) -> str:
    """The State's decisions (Kafka commands); the one platform too big for what is left of
    the year's ceiling is decided once funding has committed the others."""
    decided = [(plan, d) for plan in cast.preselected() if (d := _decision(plan, year))]
    first = [(plan, d) for plan, d in decided if not plan.oversized_cents]
    await _command_all(p, _decide(p, cast, first))
    last = [(plan, d) for plan, d in decided if plan.oversized_cents]
    if last:
        for plan, d in first:
            if d["selected"]:
                await opened(p, cast.dossier_id(plan))
        await _command_all(p, _decide(p, cast, last))
    chosen = [plan for plan, d in decided if d["selected"]]
    granted = sum(plan.state_ask_cents for plan in chosen)
    refused = len(decided) - len(chosen)
    tail = f"; {refused} not selected" if refused else ""
    grants = f"{millions(granted)} of State grants proposed"
    return f"{year} selection (Kafka commands): {len(chosen)} platforms, {grants}{tail}"


async def co_finance(p: Platform, cast: Cast, year: int) -> str:
    """The CDC, the regions and FEDER answer for each platform selected in ``year``; one
    region withdraws. The line has refused the platform over its ceiling already."""
    chosen = cast.selected_in(year)

    async def one(plan: DossierPlan) -> str:
        declined = plan.region_financer if plan.declined_by_region else None
        return await answer(p, cast.dossier_id(plan), plan.co_financers(), declined)

    outcomes = await p.each(chosen, one)
    funded = outcomes.count("completed")
    refused = len(outcomes) - funded
    return (
        f"{year} co-financing: {funded} platforms funded (CDC, regions, FEDER commit), "
        f"{refused} refused (a region withdraws, or the line's yearly ceiling)"
    )
