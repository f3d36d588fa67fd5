"""Whose numbers and hours a caller hears: the case's own team, or the line's front door.

Before the PIN nobody's case may shape what is said, so every caller hears the line's
general numbers (settings `LINE_*`), which are right for every team.
"""

from __future__ import annotations

from functools import lru_cache

from sqlmodel import Session

from bot.config import Settings, parse_clock
from bot.models import Case, Team, Worker
from bot.phones import normalise
from bot.records.team_cache import get_team


def front_door(settings: Settings) -> Team:
    """The line's general numbers and hours, shaped as a team (never stored, never changed:
    one for each set of settings, since every turn before a PIN asks for it)."""
    return _front_door(settings.organisation_name, settings.line_duty_number,
                       settings.line_out_of_hours_number, settings.line_office_days,
                       settings.line_office_opens, settings.line_office_closes)


@lru_cache(maxsize=8)
def _front_door(name: str, duty: str, out_of_hours: str, days: str, opens: str,
                closes: str) -> Team:
    return Team(ref="line", name=name, duty_number=normalise(duty),
                out_of_hours_number=normalise(out_of_hours), office_days=days,
                office_opens=parse_clock(opens), office_closes=parse_clock(closes))


def team_of(session: Session, case: Case | None) -> Team | None:
    if case is None:
        return None
    worker = session.get(Worker, case.worker_id)
    return get_team(session, worker.team_id) if worker else None


def answering_team(session: Session, settings: Settings, case: Case | None) -> Team:
    """The case's team once we know the case, else the front door."""
    return team_of(session, case) or front_door(settings)
