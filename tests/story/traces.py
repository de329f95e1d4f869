"""Each step of the story and the trace of what it asked, for the report's links to the trace
viewer (Jaeger, started by ``deploy/local/jaeger.sh``; its UI shows a trace at ``/trace/<id>``).

The services answer every HTTP request with the W3C ``traceresponse`` header,
``00-<trace id>-<span id>-<flags>``: the demo's HTTP clients hand each answer to ``record``
(an httpx response hook), which keeps, for the step running in that task, the trace of its first
command (a request that changes something), else of its first request. An answer without the
header, or with a trace that was not sampled (so not exported), is counted and linked to nothing.
A command sent on the ``calls.command`` topic starts its own trace: ``command_traceparent`` gives
its Kafka header, which calls continues, and keeps that trace for the step.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import httpx

VIEWER = "http://127.0.0.1:16686"
READS = frozenset({"GET", "HEAD", "OPTIONS"})
_TRACERESPONSE = re.compile(r"00-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})")
_NO_TRACE = "0" * 32


def sampled_trace_id(traceresponse: str | None) -> str | None:
    """The trace id a ``traceresponse`` header names, if the trace was sampled (exported)."""
    found = _TRACERESPONSE.fullmatch((traceresponse or "").strip().lower())
    if found is None or found[1] == _NO_TRACE or not int(found[2], 16) & 1:
        return None
    return found[1]


@dataclass
class StepTrace:
    label: str = ""
    trace_id: str | None = None
    """Of the step's first command, else of its first request; None: no traced answer."""
    by_command: bool = False
    answers: int = 0
    traced: int = 0

    def keep(self, trace_id: str, command: bool) -> None:
        """The first command's trace wins, else the first read's."""
        if self.trace_id is None or (command and not self.by_command):
            self.trace_id, self.by_command = trace_id, command


_current: ContextVar[StepTrace | None] = ContextVar("story_step", default=None)


@dataclass
class StepTraces:
    """The story's steps in the order they started, each with its trace."""

    viewer: str | None = VIEWER
    """The viewer's base URL; None when it did not start (the report then links nothing)."""
    steps: list[StepTrace] = field(default_factory=list)

    @contextmanager
    def step(self) -> Iterator[StepTrace]:
        """The requests made in this block (and in the tasks it starts) belong to one step."""
        current = StepTrace()
        self.steps.append(current)
        token = _current.set(current)
        try:
            yield current
        finally:
            _current.reset(token)

    async def record(self, response: httpx.Response) -> None:
        """httpx response hook: the answer's trace, for the step that asked."""
        current = _current.get()
        if current is None:
            return
        current.answers += 1
        trace_id = sampled_trace_id(response.headers.get("traceresponse"))
        if trace_id is None:
            return
        current.traced += 1
        current.keep(trace_id, command=response.request.method not in READS)

    def command_traceparent(self) -> str:
        """The ``traceparent`` header of a command sent by Kafka: a new sampled trace, which the
        command topic continues (its span and what the command decides are in it), kept for the
        step that sends it as its command's trace."""
        trace_id = secrets.token_hex(16)
        current = _current.get()
        if current is not None:
            current.keep(trace_id, command=True)
        return f"00-{trace_id}-{secrets.token_hex(8)}-01"

    def url(self, trace_id: str) -> str | None:
        return None if self.viewer is None else f"{self.viewer}/trace/{trace_id}"

    def link(self, step: StepTrace) -> str:
        """Where to see the step's trace, or why there is none."""
        if self.viewer is None:
            return "no trace viewer"
        if step.trace_id is None:
            return "no traced answer" if step.answers else "no HTTP request"
        return f"{self.url(step.trace_id)}{'' if step.by_command else ' (a read)'}"

    def example(self) -> str | None:
        """The first step's trace of a command: where to start looking."""
        return next((self.url(s.trace_id) for s in self.steps if s.trace_id and s.by_command), None)

    def report(self) -> list[str]:
        """One line per step, with the viewer's URL of its trace."""
        title = "Traces of the story's steps (the first command of each; the trace viewer"
        if self.viewer is None:
            return [f"{title} did not start: no links)"]
        lines = [f"{title}: {self.viewer})"]
        for step in self.steps:
            lines.append(f"{step.label}\n    {self.link(step)}")
        return lines
