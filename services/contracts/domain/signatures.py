"""From the draft to the signed contract: draft, edit, annex the roadmap, open, sign.

Who signs for whom (``signer_for``): the State for ``state``; ``region:<code>`` for that region;
``pole:<id>`` for its pôle's governance. Departments and cities have no role of their own on the
platform (tokens name only regions and pôles), so their signatures are made on paper and
recorded by the State with the signatory's name (``on_paper``); a region cannot sign for them.
"""

from __future__ import annotations

from datetime import datetime

from services.contracts.domain.calendar import year_start
from services.contracts.domain.contract import (
    EDITABLE,
    Contract,
    Signature,
    TermsVersion,
    decided,
)
from services.contracts.domain.terms import Roadmap, Terms, check_terms, incomplete
from shared.decision import Decision
from shared.errors import Conflict, Forbidden, invalid
from shared.events.base import EventData
from shared.events.contracts import (
    ContractActivated,
    ContractDrafted,
    ContractSigned,
    ContractTermsEdited,
    OpenedForSignature,
    Party,
    PartySigned,
    RoadmapAnnexed,
)

MAX_PERIOD_YEARS = 4


def check_period(start_year: int, end_year: int) -> None:
    if not 0 < end_year - start_year < MAX_PERIOD_YEARS:
        raise invalid(("period_end_year",), f"a contract runs 2 to {MAX_PERIOD_YEARS} years")


def draft(
    *,
    pole_id: str,
    pole_name: str,
    region_codes: list[str],
    start_year: int,
    end_year: int,
    signature_deadline: datetime,
    parties: list[Party],
    terms: Terms,
    now: datetime,
) -> Decision[Contract]:
    check_period(start_year, end_year)
    check_terms(terms, parties, start_year, end_year)
    contract = Contract(
        contract_id=Contract.id_for(pole_id, start_year),
        pole_id=pole_id,
        pole_name=pole_name,
        region_codes=region_codes,
        period_start_year=start_year,
        signature_deadline=signature_deadline,
        parties=parties,
        versions=[
            TermsVersion(
                version=1, period_end_year=end_year, terms=terms, effective_at=now, reason="drafted"
            )
        ],
    )
    event = ContractDrafted(
        **contract.facts(),
        period_start_year=start_year,
        period_end_year=end_year,
        signature_deadline=signature_deadline,
        drafted_at=now,
    )
    return decided(contract, event)


def edit(
    contract: Contract, parties: list[Party], terms: Terms, roles: frozenset[str], now: datetime
) -> Decision[Contract]:
    contract.require_author(roles)
    contract.require_status(*EDITABLE, doing="edit the terms (only an amendment changes them now)")
    check_terms(terms, parties, contract.period_start_year, contract.period_end_year)
    contract.parties = parties
    contract.versions = [contract.current.model_copy(update={"terms": terms, "effective_at": now})]
    return decided(contract, ContractTermsEdited(**contract.facts(), edited_at=now))


def annex_roadmap(
    contract: Contract, roadmap: Roadmap, roles: frozenset[str], now: datetime
) -> Decision[Contract]:
    contract.require_author(roles)
    contract.require_status(*EDITABLE, doing="annex a roadmap")
    contract.roadmap = roadmap
    contract.status = "roadmap-annexed"
    return decided(
        contract, RoadmapAnnexed(**contract.facts(), **roadmap.model_dump(), annexed_at=now)
    )


def open_for_signature(
    contract: Contract, roles: frozenset[str], now: datetime
) -> Decision[Contract]:
    contract.require_author(roles)
    if contract.status == "drafted":
        raise Conflict("annex the strategic roadmap before opening the contract for signature")
    contract.require_status("roadmap-annexed", doing="open the contract for signature")
    missing = incomplete(contract.terms)
    if missing:
        raise Conflict(
            "the draft is incomplete: "
            + "; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in missing)
        )
    contract.status = "open-for-signature"
    return decided(
        contract,
        OpenedForSignature(
            **contract.facts(),
            signature_deadline=contract.signature_deadline,
            period_start_year=contract.period_start_year,
            period_end_year=contract.period_end_year,
            financing=contract.terms.financing,
            opened_at=now,
        ),
    )


def signer_for(party: Party, roles: frozenset[str]) -> str | None:
    """The role with which these roles sign for ``party``, or None if they may not."""
    if party.kind in ("department", "city"):
        return "state" if "state" in roles else None
    return party.party_id if party.party_id in roles else None


def sign(
    contract: Contract, party_id: str, signatory_name: str, roles: frozenset[str], now: datetime
) -> Decision[Contract]:
    if contract.status in ("signed", "active", "evaluated", "closed"):
        raise Conflict(f"the contract is already signed by every party ({contract.status})")
    contract.require_status("open-for-signature", doing="sign")
    party = contract.party(party_id)
    if party is None:
        raise invalid(("party_id",), f"{party_id} is not a party to this contract")
    recorded_by = signer_for(party, roles)
    if recorded_by is None:
        raise Forbidden(f"these roles ({', '.join(sorted(roles))}) may not sign for {party_id}")
    if party_id not in contract.unsigned_party_ids():
        raise Conflict(f"{party_id} has already signed")
    signature = Signature(
        party_id=party_id,
        signatory_name=signatory_name,
        signed_at=now,
        recorded_by=recorded_by,
        on_paper=recorded_by != party_id,
    )
    contract.signatures.append(signature)
    unsigned = contract.unsigned_party_ids()
    events: list[EventData] = [
        PartySigned(**contract.facts(), **signature.model_dump(), unsigned_party_ids=unsigned)
    ]
    if not unsigned:
        contract.status = "signed"
        events.append(
            ContractSigned(
                **contract.facts(),
                period_start_year=contract.period_start_year,
                period_end_year=contract.period_end_year,
                signed_at=now,
                financing=contract.terms.financing,
            )
        )
        events += activate_if_due(contract, now)
    return decided(contract, *events)


def activate_if_due(contract: Contract, now: datetime) -> list[EventData]:
    """A signed contract becomes active when its period begins (at once if it already has)."""
    if contract.status != "signed" or now < year_start(contract.period_start_year):
        return []
    contract.status = "active"
    return [ContractActivated(**contract.facts(), activated_at=now)]
