"""The funding handlers on in-memory parts: each decision saved once with its events, what it
implies for another document completed once (at once, or by the sweep after a crash), refusals
raised as the kernel's errors."""

from __future__ import annotations

from typing import Any

import pytest

from services.funding.domain.commitment import Decommitment, Payment
from services.funding.tests.memory import Funding
from services.funding.tests.support import M_EUR, NOW, terms, transfer
from shared.errors import Conflict, NotFound

PLATFORMS = "intervention.platforms"


async def funding() -> Funding:
    return await Funding().loaded()


async def line(books: Funding, line_id: str) -> Any:
    return await books.books.lines.get(line_id)


async def test_a_commitment_is_decided_on_its_line_and_built_once_with_its_events() -> None:
    f = await funding()

    first = await f.budget.commit(terms("animation", (2009, 2 * M_EUR)))
    again = await f.budget.commit(terms("animation", (2009, 2 * M_EUR)))

    assert (
        first
        == again
        == {
            "outcome": "committed",
            "commitment_id": "c-1",
            "line_id": "animation",
            "amount_cents": 2 * M_EUR,
        }
    )
    assert (await line(f, "animation")).committed_cents == 2 * M_EUR
    built = await f.budget.commitment("c-1")
    assert built is not None
    assert built.amount_cents == 2 * M_EUR
    assert f.shown == ["c-1"]
    assert not [e for e in f.lines.entries.values() if "pending" in e]
    [made] = [e for e in f.lines.published if e.type == "funding.commitment.made.v1"]
    assert (made.source, made.key, made.time) == ("/poles/funding", "c-1", NOW)


async def test_a_refusal_commits_nothing_and_is_counted_once() -> None:
    f = await funding()
    ask = terms(PLATFORMS, (2009, 36 * M_EUR))

    answers = [await f.budget.commit(ask) for _ in range(2)]

    assert answers[0] == answers[1]
    assert answers[0]["reason"] == "over-yearly-ceiling"
    assert f.metrics.refused.labels(PLATFORMS)._value.get() == 1
    assert await f.budget.commitment("c-1") is None
    assert f.published_types().count("funding.commitment.refused.v1") == 1


async def test_payments_and_decommitments_apply_once_and_give_money_back_to_the_line() -> None:
    f = await funding()
    await f.budget.commit(terms("animation", (2009, 3 * M_EUR)))

    paid = await f.budget.pay("c-1", Payment("p-1", 2009, M_EUR, "dge"))
    paid_again = await f.budget.pay("c-1", Payment("p-1", 2009, M_EUR, "dge"))
    back = Decommitment("d-1", 2009, M_EUR, "dge", "smaller")
    given_back = [await f.budget.decommit("c-1", back) for _ in range(2)]
    with pytest.raises(Conflict) as over:
        await f.budget.pay("c-1", Payment("p-2", 2009, 2 * M_EUR, "dge"))

    assert paid == paid_again
    assert paid["remaining_cents"] == 2 * M_EUR
    assert given_back[0] == given_back[1]
    assert given_back[0]["remaining_cents"] == M_EUR
    assert over.value.reason == "over-commitment"
    animation = await line(f, "animation")
    assert (animation.committed_cents, animation.committed_by_year) == (
        2 * M_EUR,
        {"2009": 2 * M_EUR},
    )
    assert f.shown == ["c-1"] * 3


async def test_a_transfer_credits_the_receiving_line_once_and_never_overdraws() -> None:
    f = await funding()

    answers = [await f.budget.transfer(transfer(5 * M_EUR)) for _ in range(2)]
    with pytest.raises(Conflict, match="cannot give"):
        await f.budget.transfer(transfer(491 * M_EUR, transfer_id="t-2"))

    assert answers[0] == answers[1]
    assert (await line(f, "intervention.rd")).amount_cents == 490 * M_EUR
    assert (await line(f, PLATFORMS)).amount_cents == 110 * M_EUR


async def test_what_a_crash_left_pending_is_completed_once_by_the_sweep() -> None:
    f = await funding()
    real_follow_up = f.budget.follow_up

    async def crash(*_: Any) -> None:
        raise RuntimeError("the process died after the line's save")

    f.budget.follow_up = crash  # type: ignore[method-assign,assignment]
    with pytest.raises(RuntimeError):
        await f.budget.commit(terms("animation", (2009, 2 * M_EUR)))
    with pytest.raises(RuntimeError):
        await f.budget.transfer(transfer(5 * M_EUR))
    assert await f.budget.commitment("c-1") is None
    f.budget.follow_up = real_follow_up  # type: ignore[method-assign]

    assert await f.budget.sweep() == 2
    assert await f.budget.sweep() == 0

    assert [e["version"] for e in f.commitments.entries.values()] == [1]
    assert (await line(f, PLATFORMS)).amount_cents == 110 * M_EUR
    assert f.shown == ["c-1"]


async def test_a_missing_line_or_commitment_is_not_found() -> None:
    f = await funding()
    with pytest.raises(NotFound, match="no line nowhere"):
        await f.budget.commit(terms("nowhere", (2009, 1)))
    with pytest.raises(NotFound, match="no commitment c-9"):
        await f.budget.pay("c-9", Payment("p-1", 2009, 1, "dge"))
