"""Which pôles may lead or join a dossier: labelled pôles of the reference list, at the instant
of the submission (the 2010 ecotech pôles are not labelled in 2008; the six pôles that lost the
label on 11 May 2010 are not labelled after it)."""

from __future__ import annotations

from datetime import datetime

from shared.clock import PARIS
from shared.reference.poles import DELABELLED_2010, Pole, poles_by_id

DELABELLING_2010 = datetime(2010, 5, 11, tzinfo=PARIS)


def labelled_pole(pole_id: str, instant: datetime) -> Pole | None:
    """The pôle if it holds the label at ``instant``, else None."""
    pole = poles_by_id().get(pole_id)
    if pole is None or pole.labelled_year > instant.astimezone(PARIS).year:
        return None
    if pole.id in DELABELLED_2010 and instant >= DELABELLING_2010:
        return None
    return pole


def region_codes_of(poles: list[Pole]) -> list[str]:
    """The regions of the pôles, each once, in the order met (the lead pôle's seat first)."""
    codes: list[str] = []
    for pole in poles:
        codes.extend(code for code in pole.region_codes if code not in codes)
    return codes
