"""The contract calendar: when a signature, a report or a milestone becomes overdue.

Deadlines are read in Europe/Paris. A deadline is the last instant that is still in time
(``23:59:59`` on the day); the matching ``*_overdue_from`` is the first instant that is late.

Reporting rule (our choice, as the sources give none): the indicator values of a year are due
on 31 January of the following year, so the report for 2009 is overdue from 1 February 2010.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from shared.clock import PARIS

ONE_SECOND = timedelta(seconds=1)


def default_signature_deadline(start_year: int) -> datetime:
    """Phase 2: contracts were to be signed in the first half of the first year (30 June 2009)."""
    return datetime(start_year, 6, 30, 23, 59, 59, tzinfo=PARIS)


def signature_overdue_from(deadline: datetime) -> datetime:
    return deadline + ONE_SECOND


def year_start(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=PARIS)


def report_due_at(period: int) -> datetime:
    return datetime(period + 1, 1, 31, 23, 59, 59, tzinfo=PARIS)


def report_overdue_from(period: int) -> datetime:
    return report_due_at(period) + ONE_SECOND


def milestone_overdue_from(due_on: date) -> datetime:
    return datetime.combine(due_on + timedelta(days=1), time(0, 0), tzinfo=PARIS)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=PARIS)
