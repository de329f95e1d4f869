"""Who listens: an integrator's webhook for every dossier and money event, and the Rhône-Alpes
region's e-mail for its contracts (contracts are public acts, ``shared.visibility``: its filter
keeps its own). The dossiers' and contracts' contacts need no subscription: notify e-mails them
the receipts, decisions and signature requests by default.

Both subscribe to events that only the story causes: funding's ``funding.line.loaded.v1`` comes
when funding starts, before anyone subscribes, and whether notify read it before or after the
subscription would change the figures from one run to the next."""

from __future__ import annotations

from typing import Any

from tests.story.cast import Cast
from tests.story.platform import Platform, send

INTEGRATOR_HOOK = "integrator"
INTEGRATOR_TYPES = [
    "calls.dossier.",
    "funding.line.threshold-crossed.v1",
    "funding.commitment.made.v1",
]
REGION_MAIL = "suivi.poles@region-82.example.fr"
REGION_ROLE = "region:82"
REGION_TYPES = [
    "contracts.contract.signed.v1",
    "contracts.contract.signature-overdue.v1",
    "contracts.contract.evaluated.v1",
]


async def subscribe(p: Platform, _: Cast) -> str:
    hooks = p.receivers.webhooks
    webhook: dict[str, Any] = {
        "channel": "webhook",
        "target": hooks.url_for(INTEGRATOR_HOOK),
        "event_types": INTEGRATOR_TYPES,
    }
    created = await send(
        p.notify, "POST", "/subscriptions", p.tokens("integrator"), webhook, "story-webhook"
    )
    hooks.trust(INTEGRATOR_HOOK, created["secret"])
    mail = {
        "channel": "email",
        "target": REGION_MAIL,
        "event_types": REGION_TYPES,
        "filters": {"region_codes": REGION_ROLE.removeprefix("region:")},
    }
    await send(p.notify, "POST", "/subscriptions", p.tokens(REGION_ROLE), mail, "story-mail")
    url = hooks.url_for(INTEGRATOR_HOOK)
    return (
        f"an integrator subscribes {url} to {', '.join(INTEGRATOR_TYPES)}; "
        f"the Rhône-Alpes region subscribes {REGION_MAIL} to its contracts' signatures"
    )


async def unsubscribe_webhook(p: Platform, _: Cast) -> str:
    """The demo's receiver stops with it: its subscription goes too, so nothing is sent to a
    port where nobody listens any more."""
    token = p.tokens("integrator")
    mine = await send(p.notify, "GET", "/subscriptions", token)
    for sub in mine:
        if sub["channel"] == "webhook" and sub["status"] != "deleted":
            await send(p.notify, "DELETE", f"/subscriptions/{sub['id']}", token)
    return "the integrator deletes its webhook subscription (the demo's receiver stops)"
