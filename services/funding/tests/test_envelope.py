"""The envelope file: its amounts, and the rules that stop a wrong file from being loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.funding.domain.envelope import DEFAULT_ENVELOPE, InvalidEnvelope, load_envelope
from services.funding.tests.support import M_EUR


def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_ENVELOPE.read_text(encoding="utf-8"))
    return data


def load(tmp_path: Path, data: dict[str, Any]) -> None:
    path = tmp_path / "envelope.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    load_envelope(path)


def test_the_phase_2_envelope_is_1500_million_euros_in_its_lines() -> None:
    envelope = load_envelope(DEFAULT_ENVELOPE)
    amounts = {spec.id: spec.amount_cents // M_EUR for spec in envelope.all_specs()}
    assert envelope.amount_cents == 1500 * M_EUR
    assert amounts == {
        "animation": 50,
        "intervention": 600,
        "intervention.rd": 495,
        "intervention.platforms": 105,
        "agencies": 850,
        "agencies.anr": 600,
        "agencies.oseo-cdc": 250,
    }
    assert [spec.id for spec in envelope.leaves] == [
        "animation",
        "intervention.rd",
        "intervention.platforms",
        "agencies.anr",
        "agencies.oseo-cdc",
    ]
    platforms = next(s for s in envelope.leaves if s.id == "intervention.platforms")
    assert [(c.year, c.amount_cents) for c in platforms.yearly_ceilings] == [
        (2009, 35 * M_EUR),
        (2010, 35 * M_EUR),
        (2011, 35 * M_EUR),
    ]


def test_sub_lines_that_do_not_add_up_to_their_line_are_refused(tmp_path: Path) -> None:
    data = raw()
    data["lines"][1]["sub_lines"][0]["amount_cents"] += 1
    with pytest.raises(InvalidEnvelope, match="sub-lines of intervention do not add up"):
        load(tmp_path, data)


def test_lines_that_do_not_add_up_to_the_envelope_are_refused(tmp_path: Path) -> None:
    data = raw()
    data["amount_cents"] += 1
    with pytest.raises(InvalidEnvelope, match="lines do not add up to the envelope"):
        load(tmp_path, data)


def test_a_yearly_ceiling_outside_the_envelope_years_is_refused(tmp_path: Path) -> None:
    data = raw()
    data["lines"][1]["sub_lines"][1]["yearly_ceilings"][0]["year"] = 2015
    with pytest.raises(InvalidEnvelope, match="year outside the envelope"):
        load(tmp_path, data)


def test_events_must_commit_on_a_line_that_takes_commitments(tmp_path: Path) -> None:
    data = raw()
    data["contract_state_financing_line"] = "intervention"
    with pytest.raises(InvalidEnvelope, match="intervention is not a line commitments go to"):
        load(tmp_path, data)


def test_two_lines_with_one_id_are_refused(tmp_path: Path) -> None:
    data = raw()
    data["lines"][2]["sub_lines"][1]["id"] = "agencies.anr"
    with pytest.raises(InvalidEnvelope, match="two lines share an id"):
        load(tmp_path, data)


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidEnvelope, match="cannot read"):
        load_envelope(tmp_path / "missing.json")
