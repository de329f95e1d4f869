"""The funding service's commands, fed anything: a body is valid or a ValidationError; a valid
commitment, payment, de-commitment or transfer is refused by a rule (the line or the commitment
unchanged) or applied with the money still adding up; and whatever is applied can be stored and
published (BSON and the wire's JSON hold 64-bit integers)."""

from __future__ import annotations

from typing import Any

import bson
import orjson
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from services.funding.api.bodies import CommitBody, DecommitBody, PaymentBody, TransferBody
from services.funding.domain import commitment as rules
from services.funding.domain.line import LineState, decide_commitment, send_transfer
from services.funding.tests.support import NOW, line
from shared.decision import Decision
from shared.errors import Conflict
from shared.events.funding import CommitmentMade, CommitmentSource, CommitmentTerms, LineTransferred
from tests.properties.strategies import any_body_is_valid_or_a_validation_error, quick, valid

SAMPLES: dict[type[BaseModel], dict[str, Any]] = {
    CommitBody: {
        "beneficiary": {"kind": "pole", "id": "minalogic"},
        "years": [{"year": 2009, "amount_cents": 100_000}],
        "pole_id": "minalogic",
        "reason": "CIADT",
    },
    PaymentBody: {"year": 2009, "amount_cents": 50_000},
    DecommitBody: {"year": 2009, "amount_cents": 50_000, "reason": "project ended early"},
    TransferBody: {
        "from_line_id": "animation",
        "to_line_id": "intervention",
        "amount_cents": 1,
        "reason": "r",
    },
}


test_any_body_is_valid_or_a_validation_error = any_body_is_valid_or_a_validation_error(SAMPLES)


def storable(*events: BaseModel) -> None:
    for event in events:
        bson.encode(event.model_dump(mode="json"))
        orjson.dumps(event.model_dump(mode="json"))


def terms_of(body: CommitBody, line_id: str) -> CommitmentTerms:
    return CommitmentTerms(
        commitment_id="c-1",
        line_id=line_id,
        years=body.years,
        beneficiary=body.beneficiary,
        pole_id=body.pole_id,
        region_codes=body.region_codes or [],
        source=CommitmentSource(kind="manual", author="dge", reason=body.reason),
    )


def adds_up(state: LineState) -> None:
    assert 0 <= state.committed_cents <= state.amount_cents
    assert sum(state.committed_by_year.values()) == state.committed_cents


@quick
@given(
    body=valid(CommitBody),
    line_id=st.sampled_from(["animation", "intervention.platforms"]),
)
def test_a_commitment_is_refused_or_fits_its_line(body: CommitBody, line_id: str) -> None:
    before = line(line_id)
    change = decide_commitment(before, terms_of(body, line_id), NOW)
    storable(*change.events)
    if change.answer["outcome"] == "refused":
        assert change.state == before
    adds_up(change.state)


@quick
@given(
    commit=valid(CommitBody),
    payments=st.lists(valid(PaymentBody), max_size=3),
    decommitments=st.lists(valid(DecommitBody), max_size=3),
)
def test_payments_and_decommitments_never_exceed_the_commitment(
    commit: CommitBody, payments: list[PaymentBody], decommitments: list[DecommitBody]
) -> None:
    bodies: list[PaymentBody | DecommitBody] = [*payments, *decommitments]
    change = decide_commitment(line("animation"), terms_of(commit, "animation"), NOW)
    made = change.events[0]
    if not isinstance(made, CommitmentMade):
        return
    state = rules.commitment_from(made)
    for number, body in enumerate(bodies):
        try:
            decision = apply(state, f"change-{number}", body)
        except Conflict:
            continue
        storable(*decision.events)
        state = decision.state
        assert 0 <= state.remaining_cents <= state.amount_cents


def apply(
    state: rules.CommitmentState, change_id: str, body: PaymentBody | DecommitBody
) -> Decision[rules.CommitmentState]:
    if isinstance(body, PaymentBody):
        return rules.record_payment(
            state, rules.Payment(change_id, author="dge", **body.model_dump()), NOW
        )
    return rules.decommit(
        state, rules.Decommitment(change_id, author="dge", **body.model_dump()), NOW
    )


@quick
@given(body=valid(TransferBody))
def test_a_transfer_never_leaves_the_giving_line_below_its_commitments(body: TransferBody) -> None:
    giving = decide_commitment(
        line("animation"),
        terms_of(CommitBody.model_validate(SAMPLES[CommitBody]), "animation"),
        NOW,
    ).state
    transfer = LineTransferred(
        transfer_id="t-1", line_id="animation", from_line_id="animation", to_line_id="other",
        amount_cents=body.amount_cents, reason=body.reason, author="dge", transferred_at=NOW,
    )  # fmt: skip
    try:
        change = send_transfer(giving, transfer)
    except Conflict:
        return
    storable(*change.events)
    adds_up(change.state)
