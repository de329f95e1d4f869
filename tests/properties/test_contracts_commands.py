"""The contracts service's commands, fed anything: a body is valid or a ValidationError; a valid
command from anyone on a contract at any stage is refused by the domain (a DomainError the edge
maps to 403/404/409/422) leaving the contract exactly as it was, or gives its events and a
contract that still reads back from its stored form."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from services.contracts.api.bodies import (
    AmendmentBody,
    DraftBody,
    EvaluationBody,
    LabelDecisionBody,
    ReportBody,
    SendBackBody,
    SignatureBody,
    TermsBody,
)
from services.contracts.domain import execution, signatures
from services.contracts.domain.contract import Contract
from services.contracts.domain.terms import Roadmap, to_parties
from services.contracts.tests import builders
from shared.decision import Decision
from shared.errors import DomainError
from tests.properties import strategies
from tests.properties.strategies import Model, any_body_is_valid_or_a_validation_error, quick

SAMPLES: dict[type[BaseModel], dict[str, Any]] = {
    DraftBody: {"pole_id": builders.POLE, "parties": builders.parties_json()},
    TermsBody: {"parties": builders.parties_json(), "terms": builders.terms_json()},
    Roadmap: builders.roadmap_json(),
    SignatureBody: {"party_id": "region:73", "signatory_name": "Martin Malvy"},
    ReportBody: {"period": 2009, "values": [{"indicator_id": "I1", "value": 320}]},
    SendBackBody: {"reason": "values missing"},
    AmendmentBody: {"reason": "CIADT", "period_end_year": 2012, "terms": builders.terms_json(2012)},
    EvaluationBody: {"rating": "performing", "comments": "good"},
    LabelDecisionBody: {"decision": "renewed", "decided_on": "2010-05-11", "reference": "CIADT"},
}


test_any_body_is_valid_or_a_validation_error = any_body_is_valid_or_a_validation_error(SAMPLES)


def valid(model: type[Model]) -> st.SearchStrategy[Model]:
    """Mostly the sample, sometimes a schema-shaped body that happens to be valid."""
    return strategies.valid(model, SAMPLES[model])


Decide = Callable[[Contract, frozenset[str], datetime], Decision[Contract]]
ROLES = [
    frozenset({"state"}),
    frozenset({f"pole:{builders.POLE}"}),
    frozenset({"pole:minalogic"}),
    frozenset({"region:73"}),
    frozenset({"cdc"}),
    frozenset({f"correspondent:{builders.POLE}"}),
]
STAGES = [builders.drafted, builders.open_contract, builders.active_contract]
NOW = builders.paris(2010, 3, 1)


def edit(body: TermsBody) -> Decide:
    def decide(c: Contract, roles: frozenset[str], now: datetime) -> Decision[Contract]:
        parties = to_parties(body.parties, c.pole_id, tuple(c.region_codes))
        return signatures.edit(c, parties, body.terms, roles, now)

    return decide


commands: st.SearchStrategy[tuple[str, Decide]] = st.one_of(
    valid(TermsBody).map(lambda b: ("edit", edit(b))),
    valid(Roadmap).map(lambda b: ("roadmap", lambda c, r, t: signatures.annex_roadmap(c, b, r, t))),
    st.just(("open", signatures.open_for_signature)),
    valid(SignatureBody).map(
        lambda b: ("sign", lambda c, r, t: signatures.sign(c, b.party_id, b.signatory_name, r, t))
    ),
    valid(ReportBody).map(
        lambda b: (
            "report",
            lambda c, r, t: execution.report_indicators(
                c, b.period, [v.wire() for v in b.values], r, t
            ),
        )
    ),
    st.integers(2005, 2020).map(
        lambda p: ("validate", lambda c, r, t: execution.validate_report(c, p, r, t))
    ),
    st.tuples(st.integers(2005, 2020), valid(SendBackBody)).map(
        lambda pb: (
            "send-back",
            lambda c, r, t: execution.send_back_report(c, pb[0], pb[1].reason, r, t),
        )
    ),
    st.sampled_from(["M1", "M2", "nope"]).map(
        lambda m: ("milestone", lambda c, r, t: execution.complete_milestone(c, m, r, t))
    ),
    valid(AmendmentBody).map(
        lambda b: (
            "amend",
            lambda c, r, t: execution.amend(c, b.terms, b.period_end_year, b.reason, t),
        )
    ),
    valid(EvaluationBody).map(
        lambda b: ("evaluate", lambda c, r, t: execution.evaluate(c, b.rating, b.comments, t))
    ),
    st.just(("close", lambda c, r, t: execution.close(c, t))),
)


@settings(quick, max_examples=150)
@given(
    stage=st.sampled_from(STAGES),
    steps=st.lists(st.tuples(st.sampled_from(ROLES), commands), min_size=1, max_size=5),
)
def test_each_command_is_refused_leaving_the_contract_as_it_was_or_applied(
    stage: Callable[[], Contract], steps: list[tuple[frozenset[str], tuple[str, Decide]]]
) -> None:
    contract = stage()
    for roles, (name, decide) in steps:
        before = contract.model_dump()
        outcome = attempt(decide, contract, roles)
        event(f"{name}: {type(outcome).__name__}")
        if isinstance(outcome, DomainError):
            assert str(outcome)
            assert contract.model_dump() == before, f"{name} refused but changed the contract"
            continue
        assert Contract.model_validate(contract.model_dump(mode="json")) == contract
        for applied in outcome.events:
            applied.model_dump_json()


def attempt(
    decide: Decide, contract: Contract, roles: frozenset[str]
) -> Decision[Contract] | DomainError:
    try:
        return decide(contract, roles, NOW)
    except DomainError as error:
        return error
