"""The SIRET check: 14 digits whose Luhn sum is a multiple of 10.

La Poste is the one exception: its establishments share the SIREN 356 000 000 and there are more
of them than the Luhn key leaves room for, so their digits must add up to a multiple of 5 instead;
only the head office, 356 000 000 00048, keeps the Luhn key.
"""

from __future__ import annotations

LA_POSTE_SIREN = "356000000"
LA_POSTE_HEAD_OFFICE = "35600000000048"


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def siret_valid(siret: str) -> bool:
    if len(siret) != 14 or not siret.isascii() or not siret.isdigit():
        return False
    if siret.startswith(LA_POSTE_SIREN) and siret != LA_POSTE_HEAD_OFFICE:
        return sum(int(char) for char in siret) % 5 == 0
    return luhn_valid(siret)
