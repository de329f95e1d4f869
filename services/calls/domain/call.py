"""A call for projects: opened by the State or the CDC, open from ``opens_at`` (inclusive) to
``deadline`` (exclusive) by the server's clock, then closed by itself."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from services.calls.domain.inputs import CallSpec
from shared.decision import Decision
from shared.errors import Conflict
from shared.events.calls import CallClosed, CallOpened


class CallState(CallSpec):
    status: Literal["open", "closed"] = "open"
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None = None


def ensure_in_window(opens_at: datetime, deadline: datetime, now: datetime, action: str) -> None:
    """No submission, replacement or withdrawal outside the window: the server's clock decides.

    The window alone decides, not the call's status: the call is closed only once its deadline
    has passed, so the two always agree.
    """
    if now < opens_at:
        raise Conflict(f"{action} refused: the call opens at {opens_at}", "window-closed")
    if now >= deadline:
        raise Conflict(f"{action} refused: the call's deadline was {deadline}", "window-closed")


def open_call(spec: CallSpec, now: datetime, opened_by: str) -> Decision[CallState]:
    state = CallState(**spec.model_dump(), opened_at=now, opened_by=opened_by)
    opened = CallOpened(**state.model_dump())  # the event's fields, read from the state
    return Decision.of(state, [opened])


def close_call(call: CallState, now: datetime, dossiers_live: int) -> Decision[CallState] | None:
    """The call closes once its deadline has passed; None if it is not due (or already closed)."""
    if call.status != "open" or now < call.deadline:
        return None
    state = call.model_copy(update={"status": "closed", "closed_at": now})
    closed = CallClosed(**state.model_dump(), dossiers_live=dossiers_live)
    return Decision.of(state, [closed])
