"""The FUI calls for collaborative R&D projects, two a year 2009-2012: the State opens each call,
the pôles label their projects and the consortia file them, the State screens them, experts
evaluate them, the State selects them with their financing plans (State through the FUI, the
lead pôle's region, FEDER, the companies), and the co-financers commit their shares."""

from __future__ import annotations

from tests.story.cast import Cast
from tests.story.platform import Platform, StoryError, eventually, send
from tests.story.rd_figures import FuiCall
from tests.story.rd_plan import ProjectPlan, paris_day
from tests.story.steps.budget import millions
from tests.story.steps.financing import answer


async def open_and_file(p: Platform, cast: Cast, call: FuiCall) -> str:
    spec = {
        "call_id": call.call_id,
        "kind": "fui-rd",
        "title": f"{call.number}e appel à projets de R&D collaborative du FUI",
        "funders": ["state", "region", "feder"],
        "opens_at": paris_day(call.opens_on, 0).isoformat(),
        "deadline": paris_day(call.deadline, 12).isoformat(),
        "budget_line_id": "intervention.rd",
        "eligibility_rules": ["projet labellisé par au moins un pôle avant son dépôt"],
    }
    state = p.tokens("state")
    await send(p.calls, "POST", "/calls", state, spec, f"open-{call.call_id}")
    projects = cast.projects_of(call.call_id)

    async def one(plan: ProjectPlan) -> None:
        path = f"/calls/{call.call_id}/dossiers"
        pole = p.tokens(f"pole:{plan.lead.id}")
        receipt = await send(p.calls, "POST", path, pole, plan.content(), plan.key, (201,))
        cast.project_ids[plan.key] = receipt["dossier_id"]

    await p.each(projects, one)
    return f"{call.call_id} opens; {len(projects)} labelled projects filed by their consortia"


async def screen_and_evaluate(p: Platform, cast: Cast, call: FuiCall) -> str:
    state = p.tokens("state")

    async def closed() -> bool:
        found = await send(p.calls, "GET", f"/calls/{call.call_id}", state)
        return bool(found["status"] == "closed")

    await eventually(closed, f"{call.call_id} to close at its deadline")
    projects = cast.projects_of(call.call_id)

    async def one(plan: ProjectPlan) -> None:
        dossier = cast.project_ids[plan.key]
        await send(
            p.calls, "POST", f"/dossiers/{dossier}/screening", state, {"eligible": True},
            f"screen-{plan.key}",
        )  # fmt: skip
        expertise = {"score": 14 + plan.index % 5, "opinion": "projet solide, consortium équilibré"}
        path = f"/dossiers/{dossier}/evaluation"
        await send(p.calls, "POST", path, state, expertise, f"evaluate-{plan.key}")

    await p.each(projects, one)
    return f"{call.call_id} closed: {len(projects)} projects screened and evaluated by experts"


async def select(p: Platform, cast: Cast, call: FuiCall) -> str:
    state = p.tokens("state")
    projects = cast.projects_of(call.call_id)

    async def one(plan: ProjectPlan) -> None:
        path = f"/dossiers/{cast.project_ids[plan.key]}/decision"
        await send(p.calls, "POST", path, state, plan.decision(), f"decide-{plan.key}")

    await p.each(projects, one)
    fui = sum(plan.state_cents for plan in projects)
    stands = sum(plan.stands_for for plan in projects)
    return (
        f"{call.call_id} selection: {len(projects)} projects standing for {stands}, "
        f"{millions(fui)} from the FUI"
    )


async def co_finance(p: Platform, cast: Cast, call: FuiCall) -> str:
    projects = cast.projects_of(call.call_id)

    async def one(plan: ProjectPlan) -> str:
        return await answer(p, cast.project_ids[plan.key], plan.co_financers())

    outcomes = await p.each(projects, one)
    if any(outcome != "completed" for outcome in outcomes):
        raise StoryError(f"{call.call_id}: financings ended {outcomes}")
    local = sum(plan.local_cents + plan.feder_cents for plan in projects)
    return f"{call.call_id}: regions and FEDER commit {millions(local)}; every project funded"
