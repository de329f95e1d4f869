"""The story's figures as text for the terminal: tables and bars, nothing time-dependent, so
two runs print the same report."""

from __future__ import annotations

from tests.story.figures import Figures

WIDTH = 40
TOPICS_TITLE = "Events per topic (on calls.command: the commands)"


def m(cents: int) -> str:
    return f"{cents / 100_000_000:,.1f}"


def bar(value: int, top: int) -> str:
    return "█" * (round(WIDTH * value / top) if top else 0)


def _budget(f: Figures) -> list[str]:
    rows = [f"{'Budget (M€)':<28}{'amount':>10}{'committed':>11}{'paid':>10}{'left':>10}"]
    for line in f.lines:
        name = "  " * line.depth + line.line_id
        amounts = (line.amount, line.committed, line.paid, line.left)
        rows.append(
            f"{name:<28}{m(amounts[0]):>10}{m(amounts[1]):>11}{m(amounts[2]):>10}{m(amounts[3]):>10}"
        )
    top = [line for line in f.lines if line.depth == 0]
    total = [sum(getattr(line, k) for line in top) for k in ("amount", "committed", "paid", "left")]
    rows.append(
        f"{'the envelope':<28}{m(total[0]):>10}{m(total[1]):>11}{m(total[2]):>10}{m(total[3]):>10}"
    )
    regions = sum(cents for who, cents in f.promised.items() if who.startswith("region:"))
    others = [f"regions {m(regions)} M€"] + [
        f"{who} {m(cents)} M€" for who, cents in sorted(f.promised.items()) if ":" not in who
    ]
    rows.append("other financers' promises: " + ", ".join(others))
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
        _call(f),
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
