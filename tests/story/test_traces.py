"""The demo's links from each step to its trace: the ``traceresponse`` header read from the
answers (no server: httpx answers made here), the step a request belongs to (also from a task
the step starts), and the report's lines with and without the viewer."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.story.report_html import render_html
from tests.story.test_report import made_up
from tests.story.traces import VIEWER, StepTraces, sampled_trace_id

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER = "00f067aa0ba902b7a3ce929d0e0e4736"


def answer(method: str, trace_id: str | None, flags: str = "01") -> httpx.Response:
    header = f"00-{trace_id}-00f067aa0ba902b7-{flags}"
    headers = {} if trace_id is None else {"traceresponse": header}
    return httpx.Response(200, headers=headers, request=httpx.Request(method, "http://x/"))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"00-{TRACE}-00f067aa0ba902b7-01", TRACE),
        (f"00-{TRACE.upper()}-00F067AA0BA902B7-03", TRACE),
        (f"00-{TRACE}-00f067aa0ba902b7-00", None),  # not sampled: never exported
        (f"00-{'0' * 32}-00f067aa0ba902b7-01", None),
        (f"01-{TRACE}-00f067aa0ba902b7-01", None),
        ("garbage", None),
        (None, None),
    ],
)
def test_a_traceresponse_names_a_sampled_trace(header: str | None, expected: str | None) -> None:
    assert sampled_trace_id(header) == expected


async def test_a_step_keeps_the_trace_of_its_first_command_also_from_its_tasks() -> None:
    traces = StepTraces()
    with traces.step() as step:
        await traces.record(answer("GET", OTHER))
        await asyncio.create_task(traces.record(answer("POST", TRACE)))
        await traces.record(answer("POST", OTHER))
        await traces.record(answer("GET", None))
    await traces.record(answer("POST", OTHER))  # outside any step: nobody's
    assert (step.trace_id, step.by_command, step.answers, step.traced) == (TRACE, True, 4, 3)
    assert traces.link(step) == f"{VIEWER}/trace/{TRACE}"


async def test_a_step_without_a_command_links_its_first_read_or_says_why_not() -> None:
    traces = StepTraces()
    with traces.step() as reads:
        await traces.record(answer("GET", TRACE))
        await traces.record(answer("GET", OTHER))
    with traces.step() as untraced:
        await traces.record(answer("POST", None))
    with traces.step() as silent:
        pass
    assert traces.link(reads) == f"{VIEWER}/trace/{TRACE} (a read)"
    assert traces.link(untraced) == "no traced answer"
    assert traces.link(silent) == "no HTTP request"
    assert traces.example() is None


async def test_the_report_links_each_step_or_says_the_viewer_did_not_start() -> None:
    traces = StepTraces()
    with traces.step() as step:
        await traces.record(answer("POST", TRACE))
    step.label = "2008-10-01  86 dossiers filed"
    assert traces.report()[1:] == [f"2008-10-01  86 dossiers filed\n    {VIEWER}/trace/{TRACE}"]
    assert traces.example() == f"{VIEWER}/trace/{TRACE}"
    assert f'<a href="{VIEWER}/trace/{TRACE}">' in render_html(made_up(), traces)

    off = StepTraces(viewer=None)
    with off.step() as step:
        await off.record(answer("POST", TRACE))
    assert off.report() == [
        "Traces of the story's steps (the first command of each; the trace viewer did not "
        "start: no links)"
    ]
    assert off.link(step) == "no trace viewer"
    assert "The trace viewer did not start" in render_html(made_up(), off)


async def test_a_command_sent_by_kafka_starts_a_sampled_trace_kept_for_its_step() -> None:
    traces = StepTraces()
    with traces.step() as step:
        await traces.record(answer("GET", OTHER))
        header = traces.command_traceparent()
        await traces.record(answer("POST", TRACE))  # a later command: the first one's is kept
    assert sampled_trace_id(header) == step.trace_id
    assert step.by_command
    assert traces.command_traceparent() != header  # outside a step: a new trace, kept by none
