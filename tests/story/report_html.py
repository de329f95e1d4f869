"""The story's figures as one HTML page with bar charts drawn in inline SVG: no script, no
stylesheet or font from elsewhere, so it opens anywhere, offline."""

from __future__ import annotations

from html import escape

from tests.story.figures import Figures, Line
from tests.story.report_text import TOPICS_TITLE, budget_tables, m
from tests.story.traces import StepTraces

LABEL_WIDTH, BAR_WIDTH, ROW = 260, 420, 24
PAID, COMMITTED, LEFT, BAR = "#1f6f8b", "#7fb3c8", "#e4e9ec", "#3b7d4f"


def _svg(rows: int, body: str) -> str:
    height = rows * ROW + 8
    width = LABEL_WIDTH + BAR_WIDTH + 140
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="13">{body}</svg>'
    )


def _label(y: int, text: str) -> str:
    return f'<text x="{LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end">{escape(text)}</text>'


def _rect(x: float, y: int, width: float, colour: str, title: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y + 4}" width="{max(width, 0):.1f}" height="{ROW - 8}" '
        f'fill="{colour}"><title>{escape(title)}</title></rect>'
    )


def bars(counts: list[tuple[str, int]]) -> str:
    """One horizontal bar per (label, count), scaled to the largest."""
    top = max((n for _, n in counts), default=0) or 1
    parts = []
    for index, (name, n) in enumerate(counts):
        y = index * ROW
        width = BAR_WIDTH * n / top
        parts += [
            _label(y, name),
            _rect(LABEL_WIDTH, y, width, BAR, f"{name}: {n}"),
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 16}">{n:,}</text>',
        ]
    return _svg(len(counts), "".join(parts))


def budget_bars(lines: list[Line]) -> str:
    """Each line as 100% of its amount: paid, committed but not paid, left."""
    parts = []
    for index, line in enumerate(lines):
        y, share = index * ROW, BAR_WIDTH / (line.amount or 1)
        paid, unpaid = line.paid * share, (line.committed - line.paid) * share
        parts += [
            _label(y, "  " * line.depth + line.line_id),
            _rect(LABEL_WIDTH, y, paid, PAID, f"paid {m(line.paid)} M€"),
            _rect(LABEL_WIDTH + paid, y, unpaid, COMMITTED, f"committed {m(line.committed)} M€"),
            _rect(LABEL_WIDTH + paid + unpaid, y, BAR_WIDTH - paid - unpaid, LEFT, "left"),
            f'<text x="{LABEL_WIDTH + BAR_WIDTH + 6}" y="{y + 16}">{m(line.amount)} M€</text>',
        ]
    return _svg(len(lines), "".join(parts))


def _table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _trace_links(traces: StepTraces) -> str:
    """Each step, linked to its trace in the viewer."""
    if traces.viewer is None:
        return "<p>The trace viewer did not start: no links.</p>"
    rows = []
    for step in traces.steps:
        url = traces.url(step.trace_id) if step.trace_id else None
        link = f'<a href="{escape(url)}">{escape(url)}</a>' if url else escape(traces.link(step))
        rows.append(f"<tr><th>{escape(step.label)}</th><td>{link}</td></tr>")
    return f"<table>{''.join(rows)}</table>"


def render_html(f: Figures, traces: StepTraces | None = None) -> str:
    budget_rows = [
        (line.line_id, f"{m(line.amount)} amount · {m(line.committed)} committed · "
         f"{m(line.paid)} paid · {m(line.left)} left (M€)")
        for line in f.lines
    ]  # fmt: skip
    grants = [
        (f"State grants {year}", f"{m(c)} M€") for year, c in sorted(f.grants_by_year.items())
    ]
    ratings = sorted(f.ratings.items(), reverse=True)
    sources = [
        (item.what, f"{item.value} · " + (item.source or "SIMULATED (no source gives it)"))
        for item in f.sources
    ]
    sections = [
        (
            "The 1,500 M€ envelope: paid, committed, left",
            budget_bars(f.lines) + _table(budget_rows),
        ),
        (
            "AE and CP by year, by line and by financer",
            f"<pre>{escape(chr(10).join(budget_tables(f)))}</pre>",
        ),
        ("Innovation-platforms call PF-2008", bars(f.funnel) + _table(grants)),
        ("FUI calls for collaborative R&D projects", bars(f.fui_funnel)),
        ("Sourced and simulated figures", _table(sources)),
        ("Performance contracts", bars(list(f.contracts.items()))),
        ("Evaluation 2012", bars(ratings)),
        ("Notifications", bars(list(f.notifications.items()))),
        ("Notify's own counters", bars(sorted(f.notify_counts.items()))),
        (TOPICS_TITLE, bars([(t, e) for t, (e, _) in sorted(f.topics.items())])),
    ]
    if traces is not None:
        sections.append(("Each step's trace (its first command)", _trace_links(traces)))
    body = "".join(
        f"<section><h2>{escape(title)}</h2>{chart}</section>" for title, chart in sections
    )
    legend = (
        f'<p><span style="color:{PAID}">■ paid</span> <span style="color:{COMMITTED}">'
        f'■ committed, not yet paid</span> <span style="color:#9aa">■ left</span></p>'
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Pôles 2.0: phase 2 replayed</title><style>"
        "body{font-family:sans-serif;margin:2em;color:#222}h2{margin-top:1.6em}"
        "table{border-collapse:collapse;margin-top:.5em}th,td{padding:2px 10px;text-align:left}"
        "th{font-weight:normal;color:#555}</style></head><body>"
        "<h1>Pôles 2.0, phase 2 (2009-2012), replayed from outside</h1>"
        f"{legend}{body}</body></html>\n"
    )
