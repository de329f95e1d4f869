"""The story's figures as text for the terminal: tables and bars, nothing time-dependent, so
two runs print the same report."""

from __future__ import annotations

from tests.story.figures import YEARS, Figures, Money

WIDTH = 40
TOPICS_TITLE = "Events per topic (on calls.command: the commands)"


def m(cents: int) -> str:
    return f"{cents / 100_000_000:,.1f}"


def bar(value: int, top: int) -> str:
    return "█" * (round(WIDTH * value / top) if top else 0)


def _money_table(title: str, rows: list[tuple[str, int | None, Money]], left: str) -> list[str]:
    """One row per line or financer: its amount (if any), AE and CP by year and in total, and
    what is left (to commit on a line, to pay for a financer)."""
    years = "".join(f"{y:>7}" for y in YEARS)
    width = 7 * len(YEARS) + 9
    out = [
        title,
        f"{'':<36}{'AE (committed)':<{width}}{'CP (paid)':<{width}}",
        f"{'M€':<26}{'amount':>9} {years}{'total':>8} {years}{'total':>8}{left:>9}",
    ]
    for name, amount, row in rows:
        ae = "".join(f"{m(row.committed_by_year.get(y, 0)):>7}" for y in YEARS)
        cp = "".join(f"{m(row.paid_by_year.get(y, 0)):>7}" for y in YEARS)
        shown = "" if amount is None else m(amount)
        out.append(
            f"{name:<26}{shown:>9} {ae}{m(row.committed):>8} {cp}{m(row.paid):>8}{m(row.left):>9}"
        )
    return out


def _budget(f: Figures) -> list[str]:
    rows: list[tuple[str, int | None, Money]] = [
        ("  " * line.depth + line.line_id, line.amount, line) for line in f.lines
    ]
    if f.envelope is not None:
        rows.append(("the envelope", f.envelope.amount, f.envelope))
    return _money_table("Budget by line (GET /budget/lines)", rows, "left")


def _financers(f: Figures) -> list[str]:
    rows: list[tuple[str, int | None, Money]] = [(x.financer, None, x) for x in f.financers]
    title = "Budget by financer (GET /budget/financers; state: every line, agencies included)"
    return _money_table(title, rows, "to pay")


def budget_tables(f: Figures) -> list[str]:
    return [*_budget(f), "", *_financers(f)]


def _sources(f: Figures) -> list[str]:
    rows = ["Where the money played comes from (sourced: see shared/reference/FACTS.md)"]
    for item in f.sources:
        mark = "sourced  " if item.source else "SIMULATED"
        rows.append(f"  {mark} {item.what:<42}{item.value}")
    return rows


def _counts(title: str, counts: list[tuple[str, int]]) -> list[str]:
    top = max((n for _, n in counts), default=0)
    return [title] + [f"  {name:<32}{n:>6}  {bar(n, top)}" for name, n in counts]


def _call(f: Figures) -> list[str]:
    rows = _counts("Innovation-platforms call PF-2008 (1 Oct - 2 Dec 2008)", f.funnel)
    grants = ", ".join(f"{year}: {m(c)} M€" for year, c in sorted(f.grants_by_year.items()))
    rows.append(f"  State grants by decision year (35 M€ a year at most): {grants}")
    rows += [f"  {name}: {m(cents)} M€" for name, cents in f.money.items()]
    return rows


def render_text(f: Figures) -> str:
    ratings = sorted(f.ratings.items(), key=lambda item: item[0], reverse=True)
    sections = [
        ["Pôles 2.0, phase 2 (2009-2012), replayed from outside on the local platform"],
        _budget(f),
        _financers(f),
        _call(f),
        _counts(
            "FUI calls for collaborative R&D projects (played: a few projects per call)",
            f.fui_funnel,
        ),
        _sources(f),
        _counts("Performance contracts", list(f.contracts.items())),
        _counts("Evaluation 2012", ratings),
        _counts("Notifications (the story's receivers)", list(f.notifications.items())),
        _counts("Notify's own counters (delivery attempts)", sorted(f.notify_counts.items())),
        _counts(TOPICS_TITLE, [(t, messages) for t, (messages, _) in sorted(f.topics.items())]),
    ]
    duplicates = {t: r - e for t, (e, r) in f.topics.items() if r != e}
    if duplicates:
        sections[-1].append(f"  (records published twice, kept once by readers: {duplicates})")
    return "\n\n".join("\n".join(rows) for rows in sections) + "\n"
