"""SIRET numbers for the story's carriers: 14 digits whose Luhn sum is a multiple of 10."""

from __future__ import annotations


def luhn_sum(digits: str) -> int:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 1 else 1)
        total += value - 9 if value > 9 else value
    return total


def siret_for(number: int) -> str:
    """A valid SIRET made from ``number`` (a SIREN of 9 digits, an establishment number of 4,
    then the key digit that makes the Luhn sum a multiple of 10)."""
    body = f"{400_000_000 + number * 10_007:09d}{number % 10_000:04d}"
    key = next(d for d in range(10) if luhn_sum(f"{body}{d}") % 10 == 0)
    return f"{body}{key}"
