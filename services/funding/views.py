"""The views of the budget that everyone with a role reads (``services.funding.api.reads``
serves them): the envelope, a line, a line's balance at an instant, and
consumption by line, sub-line, year, financer, pôle and region.

Committed totals come from the lines (the documents that decide), paid totals from the
commitments (the documents that take payments); consumption by pôle and region sums the
commitments and the other financers' promises. A commitment to pôles of several regions counts
in each of its regions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Literal

from services.funding.domain.commitment import CommitmentState
from services.funding.domain.envelope import Envelope
from services.funding.domain.line import LineState
from services.funding.domain.money import balance_at
from services.funding.store import FundingStore

Dimension = Literal["line", "sub-line", "year", "financer", "pole", "region"]
View = dict[str, Any]


class BudgetViews:
    def __init__(self, store: FundingStore, envelope: Envelope) -> None:
        self.store = store
        self.envelope = envelope

    async def envelope_view(self) -> View:
        lines, paid = await self._figures()
        return {
            "envelope_id": self.envelope.id,
            "title": self.envelope.title,
            "years": self.envelope.years,
            "amount_cents": sum(line.amount_cents for line in lines.values()),
            "lines": [self._line_view(spec.id, lines, paid) for spec in self.envelope.lines],
        }

    async def line(self, line_id: str) -> View | None:
        if not self.envelope.leaf_ids_under(line_id):
            return None
        lines, paid = await self._figures()
        return self._line_view(line_id, lines, paid)

    async def balance(self, line_id: str, at: datetime) -> View | None:
        """The line's balance at ``at``, folded from the movements of money its events made."""
        leaf_ids = self.envelope.leaf_ids_under(line_id)
        if not leaf_ids:
            return None
        balance = balance_at(await self.store.movements(leaf_ids), leaf_ids, at)
        return {
            "line_id": line_id,
            "at": at.isoformat(),
            "amount_cents": balance.amount_cents,
            "committed_cents": balance.committed_cents,
            "paid_cents": balance.paid_cents,
            "available_cents": balance.available_cents,
        }

    async def consumption(self, dimension: Dimension) -> list[View]:
        lines, paid = await self._figures()
        if dimension == "line":
            return [
                self._line_view(spec.id, lines, paid, nested=False) for spec in self.envelope.lines
            ]
        if dimension == "sub-line":
            return [self._line_view(spec.id, lines, paid) for spec in self.envelope.leaves]
        commitments = await self.store.find_commitments({})
        if dimension == "year":
            return self._by_year(lines.values(), commitments)
        promises = await self.store.ledger_entries({})
        if dimension == "financer":
            state = {
                "financer": "state",
                "committed_cents": sum(line.committed_cents for line in lines.values()),
                "paid_cents": sum(paid.values()),
            }
            promised = _sums((p.financer, p.amount_cents) for p in promises)
            return [state, *({"financer": f, "promised_cents": a} for f, a in promised.items())]
        keys: Callable[[Any], list[str]] = (
            (lambda item: [item.pole_id] if item.pole_id else [])
            if dimension == "pole"
            else (lambda item: list(item.region_codes))
        )
        return _by_key(dimension, commitments, promises, keys)

    async def financers(self) -> list[View]:
        """Every financer's commitments (AE) and payments (CP) by year, and what is left: the
        State's on the lines (every line summed), the others' in their ledgers."""
        lines = await self.store.all_lines([spec.id for spec in self.envelope.leaves])
        committed: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        paid: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for line in lines:
            _add_into(committed["state"], line.committed_by_year)
        for by_year in (await self.store.paid_by_line_and_year()).values():
            _add_into(paid["state"], by_year)
        for entry in await self.store.ledger_entries({}):
            _add_into(committed[entry.financer], entry.committed_by_year())
            _add_into(paid[entry.financer], entry.paid_by_year)
        return [
            _financer_view(financer, committed[financer], paid[financer])
            for financer in sorted(committed, key=lambda f: (f != "state", f))
        ]

    async def _figures(self) -> tuple[dict[str, LineState], dict[str, int]]:
        leaf_ids = [spec.id for spec in self.envelope.leaves]
        lines = {line.line_id: line for line in await self.store.all_lines(leaf_ids)}
        return lines, await self.store.paid_by_line()

    def _line_view(
        self, line_id: str, lines: dict[str, LineState], paid: dict[str, int], nested: bool = True
    ) -> View:
        leaves = [lines[i] for i in self.envelope.leaf_ids_under(line_id) if i in lines]
        spec = next(s for s in self.envelope.all_specs() if s.id == line_id)
        amount = sum(line.amount_cents for line in leaves)
        committed = sum(line.committed_cents for line in leaves)
        view: View = {
            "line_id": line_id,
            "title": spec.title,
            "parent_line_id": self.envelope.parent_of[line_id],
            "amount_cents": amount,
            "committed_cents": committed,
            "paid_cents": sum(paid.get(line.line_id, 0) for line in leaves),
            "available_cents": amount - committed,
            "committed_by_year": _sums(
                (year, cents) for line in leaves for year, cents in line.committed_by_year.items()
            ),
        }
        if len(leaves) == 1 and leaves[0].line_id == line_id:
            view["yearly_ceilings_cents"] = leaves[0].yearly_ceilings
            view["thresholds_crossed"] = leaves[0].thresholds_crossed
        elif nested:
            view["sub_lines"] = [self._line_view(leaf.line_id, lines, paid) for leaf in leaves]
        return view

    def _by_year(
        self, lines: Iterable[LineState], commitments: list[CommitmentState]
    ) -> list[View]:
        committed = _sums((y, c) for line in lines for y, c in line.committed_by_year.items())
        paid = _sums((y, c) for item in commitments for y, c in item.paid_by_year.items())
        years = sorted({*committed, *paid, *(str(year) for year in self.envelope.years)})
        return [
            {"year": int(y), "committed_cents": committed.get(y, 0), "paid_cents": paid.get(y, 0)}
            for y in years
        ]


def _sums(pairs: Iterable[tuple[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for key, cents in pairs:
        totals[key] += cents
    return dict(totals)


def _by_key(
    dimension: str,
    commitments: list[CommitmentState],
    promises: Iterable[Any],
    keys: Callable[[Any], list[str]],
) -> list[View]:
    committed = _sums(
        (key, c.amount_cents - c.decommitted_cents) for c in commitments for key in keys(c)
    )
    paid = _sums((key, c.paid_cents) for c in commitments for key in keys(c))
    promised = _sums((key, p.amount_cents) for p in promises for key in keys(p))
    return [
        {
            dimension: key,
            "state_committed_cents": committed.get(key, 0),
            "state_paid_cents": paid.get(key, 0),
            "others_promised_cents": promised.get(key, 0),
        }
        for key in sorted({*committed, *promised})
    ]


def _add_into(totals: dict[str, int], by_year: dict[str, int]) -> None:
    for year, cents in by_year.items():
        totals[year] += cents


def _financer_view(financer: str, committed: dict[str, int], paid: dict[str, int]) -> View:
    years = sorted({*committed, *paid}, key=int)
    by_year = [
        {
            "year": int(year),
            "committed_cents": committed.get(year, 0),
            "paid_cents": paid.get(year, 0),
            "left_cents": committed.get(year, 0) - paid.get(year, 0),
        }
        for year in years
    ]
    total_committed, total_paid = sum(committed.values()), sum(paid.values())
    return {
        "financer": financer,
        "committed_cents": total_committed,
        "paid_cents": total_paid,
        "left_cents": total_committed - total_paid,
        "by_year": by_year,
    }
