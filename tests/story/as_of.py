"""The end of the demo: one dossier as it stood on two dates, rebuilt from the log (issue 16).

The first pre-selected dossier of the innovation-platforms call, read by the State through
``GET /dossiers/{id}?at=`` on 1 December 2008 (filed, the call still open) and on 1 June 2009
(after pre-selection and its study), with the changes that led there (``/changes``).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from tests.story.cast import Cast
from tests.story.platform import Platform, send

PARIS = ZoneInfo("Europe/Paris")
DATES = (datetime(2008, 12, 1, tzinfo=PARIS), datetime(2009, 6, 1, tzinfo=PARIS))


async def dossier_as_of(p: Platform, cast: Cast) -> list[str]:
    """Lines that show the dossier's status, votes and study on each date, and its changes."""
    plan = cast.preselected()[0]
    dossier_id = cast.dossier_id(plan)
    state = p.tokens("state")
    lines = [f"Dossier {dossier_id} ({plan.lead.id}) as the log shows it:"]
    for date in DATES:
        path = f"/dossiers/{dossier_id}?at={quote(date.isoformat())}"
        seen = await send(p.calls, "GET", path, state)
        votes = ", ".join(f"{who} {v['decision']}" for who, v in sorted(seen["votes"].items()))
        study = seen.get("study") or {}
        study_said = (
            "none" if not study else "completed" if study.get("completed_at") else "commissioned"
        )
        lines.append(
            f"  on {date:%d %B %Y}: {seen['status']} (version {seen['version']}), "
            f"votes: {votes or 'none'}, study: {study_said}"
        )
    changes = await send(p.calls, "GET", f"/dossiers/{dossier_id}/changes", state)
    for change in changes:
        lines.append(f"  {change['time']}  {change['type']}  by {change['who']}")
    return lines
